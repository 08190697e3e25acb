"""Configuration without the config stack: `ddbkit bind`'s environment -> Table.from_env / AsyncTable.from_env.

The env format (ddbkit.core.envconfig) round-trips the component's key schema, indexes and TTL; values are real
or absent (no ${AWS::...} placeholders, no /stream/* wildcards); a handler builds a working Table from it
with neither pydantic nor PyYAML imported (a fresh interpreter against moto's server checks sys.modules).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from backends import Backend, create_example_table
from click.testing import CliRunner

from ddbkit import KeySchema, Table
from ddbkit.aio import AsyncTable
from ddbkit.config import load_component_file, load_component_text
from ddbkit.core.envconfig import EnvConfigError, env_prefix, read_table_env, table_env_vars
from ddbkit_infra.cli import cli
from ddbkit_infra.iam.binds import ArnContext, arn_context, bind_outputs

ROOT = Path(__file__).resolve().parents[2]
SESSION_STORE = ROOT / "examples/session-store/component.yaml"
CTX = ArnContext("us-east-1", "111122223333", "aws")


def session_env(ctx: ArnContext = CTX) -> dict[str, str]:
    return bind_outputs(load_component_file(SESSION_STORE), "session-manager", ctx).environment


# -- the format ---------------------------------------------------------------------------------------


def test_bind_env_round_trips_the_key_schema_indexes_and_ttl() -> None:
    cfg = load_component_file(SESSION_STORE).tables["user-sessions"]
    env = read_table_env("user-sessions", session_env())
    assert env.prefix == "USER_SESSIONS" and env.table_name == "UserSessions"
    assert env.key == KeySchema.from_config(cfg)  # names, types, every index, complete
    assert env.ttl_attribute == "expiresAt" == cfg.ttl_attribute
    assert env.index_names == ("UserIdIndex", "ExpirationIndex", "SessionTypeIndex")
    assert env.table_arn == "arn:aws:dynamodb:us-east-1:111122223333:table/UserSessions"
    assert env.region == "us-east-1"
    assert env.stream_arn is None  # not known before the table exists: left out


def test_table_env_vars_format() -> None:
    env = table_env_vars("orders", "Orders", "pk", "sk", types={"pk": "S", "sk": "N", "g": "S"},
                         indexes={"ByG": ("g", None), "ByGSk": ("g", "sk")}, ttl_attribute="exp")
    assert env == {"ORDERS_TABLE": "Orders", "ORDERS_KEY": "pk,sk", "ORDERS_KEY_TYPES": "pk:S,sk:N,g:S",
                   "ORDERS_INDEXES": "ByG,ByGSk", "ORDERS_INDEX_KEYS": "ByG:g;ByGSk:g,sk", "ORDERS_TTL": "exp"}
    back = read_table_env("ORDERS", env)
    assert back.key == KeySchema("pk", "sk", {"pk": "S", "sk": "N", "g": "S"},
                                 {"ByG": ("g", None), "ByGSk": ("g", "sk")}, complete=True)
    # only the table name: the key schema is described on first use
    minimal = read_table_env("orders", {"ORDERS_TABLE_NAME": "Orders"})
    assert minimal.key is None and minimal.ttl_attribute is None
    assert env_prefix("sensor.data v2") == "SENSOR_DATA_V2"


@pytest.mark.parametrize(("env", "var", "rule"), [
    ({}, "ORDERS_TABLE", "env.missing"),
    ({"ORDERS_TABLE": "x"}, "ORDERS_TABLE", "env.format"),
    ({"ORDERS_TABLE": "Orders", "ORDERS_KEY": "a,b,c"}, "ORDERS_KEY", "env.format"),
    ({"ORDERS_TABLE": "Orders", "ORDERS_KEY": "pk", "ORDERS_KEY_TYPES": "pk:Q"}, "ORDERS_KEY_TYPES", "env.format"),
    ({"ORDERS_TABLE": "Orders", "ORDERS_KEY": "pk", "ORDERS_INDEX_KEYS": "ByG"}, "ORDERS_INDEX_KEYS", "env.format"),
    ({"ORDERS_TABLE": "Orders", "ORDERS_KEY": "pk", "ORDERS_INDEX_KEYS": "ByG:g;ByG:h"}, "ORDERS_INDEX_KEYS",
     "env.format"),
    ({"ORDERS_TABLE": "Orders", "ORDERS_INDEX_KEYS": "ByG:g"}, "ORDERS_KEY", "env.missing"),
    ({"ORDERS_TABLE": "Orders", "ORDERS_TABLE_ARN": "arn:${AWS::Partition}:dynamodb:x"}, "ORDERS_TABLE_ARN",
     "env.format"),
    ({"ORDERS_TABLE": "Orders", "ORDERS_STREAM_ARN": "arn:aws:dynamodb:r:1:table/Orders/stream/*"},
     "ORDERS_STREAM_ARN", "env.format"),
])
def test_bad_environment_is_refused_naming_the_variable(env: dict[str, str], var: str, rule: str) -> None:
    with pytest.raises(EnvConfigError) as exc:
        Table.from_env("orders", env)
    assert exc.value.path == var and exc.value.rule == rule
    assert var in str(exc.value)


# -- bind: real values or none ------------------------------------------------------------------------


def test_bind_env_without_account_has_no_placeholders() -> None:
    class FailingSts:
        def get_caller_identity(self) -> dict[str, str]:
            raise RuntimeError("no network")

    ctx = arn_context(None, None, FailingSts())
    assert ctx.has_placeholders
    env = session_env(ctx)
    assert "USER_SESSIONS_TABLE_ARN" not in env and "USER_SESSIONS_STREAM_ARN" not in env
    assert not [v for v in env.values() if "${" in v or v.endswith("/*")]
    assert env["USER_SESSIONS_TABLE"] == "UserSessions" and env["USER_SESSIONS_KEY"] == "sessionId"


def test_bind_env_stream_arn_only_when_live() -> None:
    live = "arn:aws:dynamodb:us-east-1:111122223333:table/UserSessions/stream/2026-11-29T10:00:00.000"
    env = session_env(ArnContext("us-east-1", "111122223333", "aws", stream_arn=live))
    assert env["USER_SESSIONS_STREAM_ARN"] == live
    assert read_table_env("USER_SESSIONS", env).stream_arn == live


def test_consumer_variable_naming_an_unknown_arn_is_omitted_with_the_reason() -> None:
    text = (SESSION_STORE.read_text()
            .replace("USER_ID_INDEX: UserIdIndex", "USER_ID_INDEX: UserIdIndex\n          FEED: ${user-sessions.streamArn}"))
    report = bind_outputs(load_component_text(text, "c.yaml"), "session-manager", CTX)
    assert "FEED" not in report.environment
    assert "stream" in report.omitted["FEED"]
    assert report.to_dict()["omitted"] == report.omitted


def test_cli_bind_yaml_has_no_anchors_or_aliases(monkeypatch: pytest.MonkeyPatch) -> None:
    from ddbkit_infra.cli import provision_cmds

    monkeypatch.setattr(provision_cmds, "_quick_sts", lambda region, endpoint: None)
    res = CliRunner().invoke(cli, ["bind", str(SESSION_STORE), "--component", "session-manager", "--format", "yaml",
                                   "--account-id", "111122223333", "--region", "us-east-1"])
    assert res.exit_code == 0, res.output
    # the policy repeats the table ARN list in several statements: a plain SafeDumper writes &id001/*id001
    assert "&id" not in res.output and "*id" not in res.output
    out = yaml.safe_load(res.output)
    assert out["environment"]["USER_SESSIONS_INDEX_KEYS"].startswith("UserIdIndex:userId,createdAt")
    js = CliRunner().invoke(cli, ["bind", str(SESSION_STORE), "--component", "session-manager",
                                  "--account-id", "111122223333", "--region", "us-east-1"])
    assert json.loads(js.output)["environment"] == out["environment"]


# -- from_env builds a working table ------------------------------------------------------------------

HANDLER = textwrap.dedent("""
    import sys
    from ddbkit import Key, Table

    table = Table.from_env("USER_SESSIONS", endpoint_url=sys.argv[1], region_name="us-east-1")
    table.put({"sessionId": "s1", "userId": "u1", "createdAt": 5, "expiresAt": 99, "status": "ACTIVE"})
    got = table.get({"sessionId": "s1"})
    page = table.query(Key("userId").eq("u1"), index="UserIdIndex")
    heavy = sorted(m for m in ("pydantic", "yaml", "click", "rich", "ddbkit.config") if m in sys.modules)
    print(got["status"], len(page.items), table.ttl_attribute, table.key_schema.indexes["UserIdIndex"], heavy)
""")


@pytest.mark.integration
def test_from_env_builds_a_working_table_without_pydantic_or_yaml(moto_backend: Backend) -> None:
    create_example_table(moto_backend.client(), "session-store")
    env = {k: v for k, v in os.environ.items() if not k.startswith("USER_SESSIONS_")}
    env.update(session_env())
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    res = subprocess.run([sys.executable, "-c", HANDLER, str(moto_backend.endpoint_url)], env=env,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["ACTIVE", "1", "expiresAt", "('userId',", "'createdAt')", "[]"]


@pytest.mark.integration
def test_async_table_from_env(moto_backend: Backend) -> None:
    create_example_table(moto_backend.client(), "session-store")

    async def run() -> tuple[Any, Any]:
        async with AsyncTable.from_env("user-sessions", session_env(), endpoint_url=moto_backend.endpoint_url,
                                       region_name=moto_backend.region) as table:
            assert table.ttl_attribute == "expiresAt"
            await table.put({"sessionId": "s2", "userId": "u2", "createdAt": 1, "expiresAt": 2})
            # an index the environment does not list is refused client-side (the env schema is complete)
            with pytest.raises(Exception, match="no index named 'Nope'"):
                await table.query({"userId": "u2"}, index="Nope")
            return await table.get({"sessionId": "s2"}), await table.key_schema()

    item, key = asyncio.run(run())
    assert item is not None and item["userId"] == "u2"
    assert key.range_key is None and key.indexes["SessionTypeIndex"] == ("userId", "sessionType")


# -- the console script without its extra -------------------------------------------------------------


def test_console_names_the_missing_extra(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util

    from ddbkit_infra import launcher as console
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in ("click", "yaml") else real(name))
    with pytest.raises(SystemExit) as exc:
        console.main(["--help"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "pip install 'ddbkit[cli]'" in err and "click, PyYAML" in err


def test_cli_bind_cloudformation_keeps_placeholders_in_the_template_only(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["bind", str(SESSION_STORE), "--component", "session-manager",
                                   "--format", "cloudformation"])
    assert res.exit_code == 0, res.output
    assert "&id" not in res.output and "*id" not in res.output
    template = yaml.safe_load(res.output)
    variables = template["Metadata"]["ddbkit"]["Environment"]["Variables"]
    # a placeholder only inside Fn::Sub, which CloudFormation fills at deploy time
    assert variables["USER_SESSIONS_TABLE_ARN"] == {
        "Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/UserSessions"}
    assert not [v for v in variables.values() if isinstance(v, str) and "${" in v]
    assert "USER_SESSIONS_STREAM_ARN" not in variables
    [policy] = template["Resources"].values()
    assert policy["Type"] == "AWS::IAM::ManagedPolicy"
    f = tmp_path / "bind.yaml"
    f.write_text(res.output)
    lint = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), str(f)], capture_output=True, text=True,
                          timeout=120)
    assert lint.returncode == 0, lint.stdout + lint.stderr


@pytest.mark.integration
def test_cli_bind_describe_writes_the_live_stream_arn(moto_backend: Backend) -> None:
    client = moto_backend.client()
    create_example_table(client, "session-store")
    live = client.describe_table(TableName="UserSessions")["Table"]["LatestStreamArn"]
    args = ["bind", str(SESSION_STORE), "--component", "session-manager", "--account-id", "123456789012",
            "--region", moto_backend.region, "--endpoint-url", str(moto_backend.endpoint_url)]
    without = json.loads(CliRunner().invoke(cli, args).output)["environment"]
    assert "USER_SESSIONS_STREAM_ARN" not in without
    res = CliRunner().invoke(cli, [*args, "--describe"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["environment"]["USER_SESSIONS_STREAM_ARN"] == live
    assert read_table_env("USER_SESSIONS", json.loads(res.output)["environment"]).stream_arn == live
