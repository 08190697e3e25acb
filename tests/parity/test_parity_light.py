"""Parity of the fast transports' light settings path (issue #26, cold start) with botocore.

When the environment alone says where and as whom to send (no session, credentials in AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY, no AWS config file, a region from the argument or the environment, no variable that
moves endpoints), the fast transports resolve without importing botocore
(:func:`ddbkit.transport.wire.environment_settings`). Each row runs the transport's setup in a fresh
interpreter (botocore is already loaded in this one, which switches the light path off) and compares its
endpoint, signing region, credentials and app id with plain boto3's in this process; it also checks whether
botocore was imported, so a row the light path must decline cannot pass by accident.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from botocore.config import Config
from parity_harness import Target, boto3_resolved

ROOT = Path(__file__).resolve().parents[2]

KEYS = {"AWS_ACCESS_KEY_ID": "AKLIGHT", "AWS_SECRET_ACCESS_KEY": "light-secret"}

# name: (environment beyond KEYS, transport kwargs, whether the light path answers)
ROWS: dict[str, tuple[dict[str, str], dict[str, Any], bool]] = {
    "explicit-endpoint": ({}, {"region_name": "us-east-1", "endpoint_url": "http://127.0.0.1:9/base"}, True),
    "env-region-endpoint": ({"AWS_DEFAULT_REGION": "eu-west-1"}, {"endpoint_url": "http://127.0.0.1:9"}, True),
    "session-token": ({"AWS_SESSION_TOKEN": "tok"}, {"region_name": "us-east-1", "endpoint_url": "http://h:1"},
                      True),
    "security-token-first": ({"AWS_SECURITY_TOKEN": "old", "AWS_SESSION_TOKEN": "new"},
                             {"region_name": "us-east-1", "endpoint_url": "http://h:1"}, True),
    "app-id": ({"AWS_SDK_UA_APP_ID": "my-app"}, {"region_name": "us-east-1", "endpoint_url": "http://h:1"}, True),
    "timeouts-config": ({}, {"region_name": "us-east-1", "endpoint_url": "http://h:1",
                             "config": Config(connect_timeout=2, read_timeout=3, max_pool_connections=4)}, True),
    "standard-us-east-1": ({}, {"region_name": "us-east-1"}, True),
    "standard-us-west-2": ({"AWS_DEFAULT_REGION": "us-west-2"}, {}, True),
    "standard-eu-central-2": ({}, {"region_name": "eu-central-2"}, True),
    "standard-ap-southeast-4": ({}, {"region_name": "ap-southeast-4"}, True),
    "standard-ca-west-1": ({}, {"region_name": "ca-west-1"}, True),
    "standard-me-central-1": ({}, {"region_name": "me-central-1"}, True),
    "standard-af-south-1": ({}, {"region_name": "af-south-1"}, True),
    "standard-il-central-1": ({}, {"region_name": "il-central-1"}, True),
    "standard-mx-central-1": ({}, {"region_name": "mx-central-1"}, True),
    "standard-sa-east-1": ({}, {"region_name": "sa-east-1"}, True),
    # botocore decides these
    "china": ({}, {"region_name": "cn-north-1"}, False),
    "govcloud": ({}, {"region_name": "us-gov-west-1"}, False),
    "iso": ({}, {"region_name": "us-iso-east-1"}, False),
    "fips-env": ({"AWS_USE_FIPS_ENDPOINT": "true"}, {"region_name": "us-east-1"}, False),
    "dualstack-env": ({"AWS_USE_DUALSTACK_ENDPOINT": "true"}, {"region_name": "eu-west-3"}, False),
    "account-id": ({"AWS_ACCOUNT_ID": "123456789012"}, {"region_name": "us-east-1"}, False),
    "endpoint-env": ({"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:4567"}, {"region_name": "us-east-1"}, False),
    "fips-config": ({}, {"region_name": "us-west-2", "config": Config(use_fips_endpoint=True)}, False),
    "config-file": ({"CONFIG": "[default]\nregion = eu-west-2\n"}, {"endpoint_url": "http://h:1"}, False),
    "no-keys": ({"NO_KEYS": "1", "CREDENTIALS": "[default]\naws_access_key_id = AKFILE\n"
                 "aws_secret_access_key = s\n"}, {"region_name": "us-east-1", "endpoint_url": "http://h:1"}, False),
    "profile-env": ({"AWS_PROFILE": "other", "CONFIG": "[profile other]\nregion = eu-west-1\n"},
                    {"endpoint_url": "http://h:1"}, False),
}

SCRIPT = r"""
import asyncio, json, sys
from urllib.parse import urlsplit
kind, kwargs = sys.argv[1], json.loads(sys.argv[2])
config = kwargs.pop("config", None)
if config is not None:
    from botocore.config import Config
    kwargs["config"] = Config(**config)
from ddbkit.transport import make_async_transport, make_transport
if kind == "fast":
    t = make_transport("fast", **kwargs)
    wire = t._setup()
    creds = t._credentials.get_frozen_credentials()
else:
    t = make_async_transport("fast", **kwargs)
    async def setup():
        wire = await t._setup()
        creds = await t._frozen()
        await t.close()
        return wire, creds
    wire, creds = asyncio.run(setup())
parts = urlsplit(wire.url)
print(json.dumps({"host": parts.netloc, "path": parts.path or "/", "region": wire.signer.region,
                  "credentials": [creds.access_key, creds.secret_key, creds.token], "user_agent": wire.user_agent,
                  "botocore": "botocore.client" in sys.modules, "boto3": "boto3" in sys.modules}))
"""


def _environment(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The child's environment: no AWS_* of this process, the row's, config/credentials files if given."""
    child = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in ("HTTP_PROXY", "HTTPS_PROXY")}
    child["PYTHONPATH"] = os.pathsep.join([str(ROOT), child.get("PYTHONPATH", "")])
    if "NO_KEYS" not in env:
        child.update(KEYS)
    config, credentials = tmp_path / "config", tmp_path / "credentials"
    config.write_text(env.get("CONFIG", ""))
    credentials.write_text(env.get("CREDENTIALS", ""))
    child["AWS_CONFIG_FILE"], child["AWS_SHARED_CREDENTIALS_FILE"] = str(config), str(credentials)
    child["AWS_EC2_METADATA_DISABLED"] = "true"
    child.update({k: v for k, v in env.items() if k.startswith("AWS_")})
    return child


def _child(kind: str, kwargs: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    plain = dict(kwargs)
    if isinstance(plain.get("config"), Config):
        plain["config"] = dict(plain["config"]._user_provided_options)
    out = subprocess.run([sys.executable, "-c", SCRIPT, kind, json.dumps(plain)], capture_output=True, text=True,
                         env=env, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("kind", ["fast", "fast-async"])
@pytest.mark.parametrize("row", list(ROWS))
def test_light_path_sends_where_and_as_boto3_does(row: str, kind: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    env, kwargs, light = ROWS[row]
    child_env = _environment(env, tmp_path)
    got = _child(kind, kwargs, child_env)
    # the reference: plain boto3 in this process, under the same environment (boto3 has no AWS_REGION rule;
    # no row sets it)
    for name in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(name)
    for name, value in child_env.items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    session = boto3.Session()
    frozen = session.get_credentials().get_frozen_credentials()
    expected = boto3_resolved(**kwargs)
    assert Target(got["host"], got["path"], got["region"]) == expected
    assert got["credentials"] == [frozen.access_key, frozen.secret_key, frozen.token]
    appid = session._session.get_config_variable("user_agent_appid")
    assert got["user_agent"].endswith(f" app/{appid}") == bool(appid)
    # the light path never imports botocore; every other row is botocore's answer
    assert got["botocore"] is not light, f"light path {'not ' if light else ''}taken for {row}"


def test_light_path_steps_aside_for_instrumentation_loaded_before(tmp_path: Path) -> None:
    """A process that loaded an instrumentation package (here wrapt, on which X-Ray and older ddtrace hook
    botocore's import) takes botocore's path, which checks for instrumented clients."""
    env = _environment({}, tmp_path)
    code = ("import wrapt, sys\nfrom ddbkit.transport import make_transport\n"
            "make_transport('fast', region_name='us-east-1', endpoint_url='http://h:1')._setup()\n"
            "print('botocore.client' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "True"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_app_id_sanitized_as_botocore_does(value: str) -> None:
    from botocore.useragent import sanitize_user_agent_string_component

    from ddbkit.transport.wire import WireProtocol

    wire = WireProtocol("http://127.0.0.1:9", "us-east-1", value or "x")
    assert wire.user_agent.rsplit(" app/", 1)[1] == sanitize_user_agent_string_component(value or "x", allow_hash=True)
