"""Issue 23 item 8: ``ddbkit bind`` writes real ARNs whenever the region is known (``--region``, ``AWS_REGION`` /
``AWS_DEFAULT_REGION``, the profile's region); ``${AWS::...}`` placeholders only in ``--format cloudformation``.
An account id that cannot be known without AWS is an error saying how it is resolved (``--account-id``, or STS
GetCallerIdentity when credentials are available), never a placeholder in the JSON/YAML policy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ddbkit_infra.cli import cli, provision_cmds
from ddbkit_infra.local import MotoServer

ROOT = Path(__file__).resolve().parents[2]
SESSION_STORE = str(ROOT / "examples/session-store/component.yaml")
ACCOUNT = "111122223333"


@pytest.fixture
def no_region(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No region anywhere (conftest sets both variables), an empty AWS config; returns the config's path."""
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    config = tmp_path / "aws-config"
    config.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    return config


def _bind(*args: str) -> Any:
    return CliRunner().invoke(cli, ["bind", SESSION_STORE, "--component", "session-manager", *args])


def _table_arns(output: str) -> set[str]:
    report = json.loads(output)
    return {r for b in report["binds"] for s in b["policy"]["Statement"] for r in s["Resource"]
            if ":dynamodb:" in r}


def _assert_real(output: str, region: str, account: str = ACCOUNT) -> None:
    assert "${" not in output, output
    assert _table_arns(output) == {f"arn:aws:dynamodb:{region}:{account}:table/UserSessions",
                                   f"arn:aws:dynamodb:{region}:{account}:table/UserSessions/index/*"}
    assert json.loads(output)["environment"]["USER_SESSIONS_TABLE_ARN"] == \
        f"arn:aws:dynamodb:{region}:{account}:table/UserSessions"


def test_region_from_aws_region_only(no_region: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    result = _bind("--account-id", ACCOUNT)
    assert result.exit_code == 0, result.output
    _assert_real(result.output, "eu-west-1")


def test_region_from_aws_default_region(no_region: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    result = _bind("--account-id", ACCOUNT)
    assert result.exit_code == 0, result.output
    _assert_real(result.output, "eu-central-1")


def test_region_flag_wins_over_the_environment(no_region: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    result = _bind("--account-id", ACCOUNT, "--region", "us-west-2")
    assert result.exit_code == 0, result.output
    _assert_real(result.output, "us-west-2")


def test_region_from_the_profile(no_region: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    no_region.write_text("[profile dev]\nregion = ap-southeast-2\n")
    result = _bind("--account-id", ACCOUNT, "--profile", "dev")
    assert result.exit_code == 0, result.output
    _assert_real(result.output, "ap-southeast-2")
    monkeypatch.setenv("AWS_PROFILE", "dev")  # the same profile chosen by the environment
    result = _bind("--account-id", ACCOUNT)
    assert result.exit_code == 0, result.output
    _assert_real(result.output, "ap-southeast-2")


def test_unknown_region_is_an_error_naming_the_ways_to_set_it(no_region: Path) -> None:
    result = _bind("--account-id", ACCOUNT)
    assert result.exit_code == 2, result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith("error: ") and "--region" in line and "AWS_REGION" in line and "cloudformation" in line
    assert "${" not in result.output


def test_unknown_account_is_an_error_saying_how_it_is_resolved(no_region: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setattr(provision_cmds, "_quick_sts", lambda region, endpoint: None)  # no credentials, no AWS
    result = _bind()
    assert result.exit_code == 2, result.output
    [line] = result.output.strip().splitlines()
    assert "--account-id" in line and "STS GetCallerIdentity" in line and "cloudformation" in line, line
    assert "${" not in result.output


def test_account_from_sts_when_credentials_are_available(no_region: Path, monkeypatch: pytest.MonkeyPatch,
                                                         moto_server: MotoServer) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    result = _bind("--endpoint-url", moto_server.endpoint_url)  # moto's STS answers account 123456789012
    assert result.exit_code == 0, result.output
    _assert_real(result.output, "eu-west-1", "123456789012")


def test_cloudformation_keeps_placeholders_even_with_a_region(no_region: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    result = _bind("--format", "cloudformation")
    assert result.exit_code == 0, result.output
    assert "${AWS::Region}" in result.output and "${AWS::AccountId}" in result.output
