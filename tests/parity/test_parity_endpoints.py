"""Parity rows for region and endpoint resolution (issue 13 item 7, and item 1's profile FIPS).

Each row compares where a transport would send a data-plane call (host, path, signing region) with
where plain boto3 sends it: boto3's request is captured in ``before-send`` and never leaves the process;
the fast transports report their resolved wire settings. No row talks to AWS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from parity_harness import Target, boto3_resolved, resolved

CONFIG = """
[default]
region = us-east-1
[profile fips]
region = us-east-2
use_fips_endpoint = true
[profile dual]
region = eu-west-1
use_dualstack_endpoint = true
[profile local]
region = eu-central-1
endpoint_url = http://127.0.0.1:8000/from-profile
[profile svc]
region = eu-central-1
services = svc-endpoints
[services svc-endpoints]
dynamodb =
  endpoint_url = http://127.0.0.1:8001
"""

ROWS: dict[str, tuple[dict[str, str], dict[str, Any]]] = {
    # name: (environment, client kwargs)
    "standard": ({}, {"region_name": "us-west-2"}),
    "env-region": ({"AWS_DEFAULT_REGION": "ap-northeast-1"}, {}),
    "fips-env": ({"AWS_USE_FIPS_ENDPOINT": "true"}, {"region_name": "us-east-1"}),
    "fips-config": ({}, {"region_name": "us-west-2", "config": Config(use_fips_endpoint=True)}),
    "fips-profile": ({"AWS_PROFILE": "fips"}, {}),
    "dualstack-env": ({"AWS_USE_DUALSTACK_ENDPOINT": "true"}, {"region_name": "eu-west-3"}),
    "dualstack-profile": ({"AWS_PROFILE": "dual"}, {}),
    "govcloud": ({}, {"region_name": "us-gov-west-1"}),
    "govcloud-fips": ({"AWS_USE_FIPS_ENDPOINT": "true"}, {"region_name": "us-gov-west-1"}),
    "govcloud-east-fips": ({"AWS_USE_FIPS_ENDPOINT": "true"}, {"region_name": "us-gov-east-1"}),
    "china": ({}, {"region_name": "cn-north-1"}),
    "china-northwest": ({}, {"region_name": "cn-northwest-1"}),
    "iso": ({}, {"region_name": "us-iso-east-1"}),
    "account-preferred": ({"AWS_ACCOUNT_ID": "123456789012"}, {"region_name": "us-east-1"}),
    "account-required": ({"AWS_ACCOUNT_ID": "123456789012", "AWS_ACCOUNT_ID_ENDPOINT_MODE": "required"},
                         {"region_name": "eu-west-1"}),
    "account-disabled": ({"AWS_ACCOUNT_ID": "123456789012", "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled"},
                         {"region_name": "eu-west-1"}),
    "account-fips": ({"AWS_ACCOUNT_ID": "123456789012", "AWS_USE_FIPS_ENDPOINT": "true"},
                     {"region_name": "us-east-1"}),
    "endpoint-env": ({"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}, {"region_name": "us-east-1"}),
    "endpoint-env-dynamodb": ({"AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_ENDPOINT_URL_DYNAMODB":
                               "http://127.0.0.1:4567/ddb"}, {"region_name": "us-east-1"}),
    "endpoint-profile": ({"AWS_PROFILE": "local"}, {}),
    "endpoint-services-section": ({"AWS_PROFILE": "svc"}, {}),
    "endpoint-ignored": ({"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
                         {"region_name": "us-east-1"}),
    "explicit-endpoint-path": ({}, {"region_name": "us-east-1", "endpoint_url": "http://127.0.0.1:9/base/path"}),
}


_REFERENCE: dict[str, Target] = {}


@pytest.mark.parametrize("row", list(ROWS))
def test_resolution_matches_boto3(row: str, transport: str, aws_files: Callable[..., None],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    aws_files(config=CONFIG)
    env, kwargs = ROWS[row]
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if row not in _REFERENCE:  # boto3's answer once per row (client creation dominates the suite's time)
        _REFERENCE[row] = boto3_resolved(**kwargs)
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    expected = _REFERENCE[row]
    assert resolved(transport, **kwargs) == expected


def test_some_rows_are_what_aws_documents(aws_files: Callable[..., None], monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference itself, for a few rows (so a botocore regression cannot make every row agree on a
    wrong answer silently)."""
    aws_files(config=CONFIG)
    monkeypatch.setenv("AWS_ACCOUNT_ID", "123456789012")
    assert resolved("fast", region_name="us-east-1") == Target("123456789012.ddb.us-east-1.amazonaws.com", "/",
                                                               "us-east-1")
    monkeypatch.delenv("AWS_ACCOUNT_ID")
    monkeypatch.setenv("AWS_USE_FIPS_ENDPOINT", "true")
    assert resolved("fast", region_name="us-gov-west-1") == Target("dynamodb.us-gov-west-1.amazonaws.com", "/",
                                                                   "us-gov-west-1")
    assert resolved("fast", region_name="us-east-1").host == "dynamodb-fips.us-east-1.amazonaws.com"
    monkeypatch.delenv("AWS_USE_FIPS_ENDPOINT")
    assert resolved("fast", region_name="cn-north-1").host == "dynamodb.cn-north-1.amazonaws.com.cn"
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    boto3.setup_default_session(profile_name="fips")  # item 1: the default session's profile decides
    assert resolved("fast") == Target("dynamodb-fips.us-east-2.amazonaws.com", "/", "us-east-2")


def test_default_session_profile_fips(transport: str, aws_files: Callable[..., None],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Item 1: boto3.setup_default_session(profile_name=...) with use_fips_endpoint=true in the profile: every
    transport sends to that profile's FIPS endpoint and region, as boto3.client(...) does."""
    aws_files(config=CONFIG, credentials="[fips]\naws_access_key_id = AKFIPS\naws_secret_access_key = s\n")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    boto3.setup_default_session(profile_name="fips")
    expected = boto3_resolved()
    assert expected == Target("dynamodb-fips.us-east-2.amazonaws.com", "/", "us-east-2")
    assert resolved(transport) == expected
