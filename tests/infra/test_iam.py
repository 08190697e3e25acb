"""Binds -> least-privilege IAM policies (CDK's grant action sets) and environment variables."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from ddbkit.config import load_component_file, load_component_text, parse_table_config
from ddbkit_infra.cli import cli
from ddbkit_infra.compliance import resolve
from ddbkit_infra.iam.binds import (
    ArnContext,
    BindError,
    arn_context,
    bind_outputs,
    env_prefix,
    policy_for_access,
    resolve_references,
)

ROOT = Path(__file__).resolve().parents[2]
CTX = ArnContext(region="us-east-1", account="111122223333", partition="aws")
KEY = "arn:aws:kms:us-east-1:111122223333:key/12345678-1234-1234-1234-123456789012"
WEST_KEY = "arn:aws:kms:us-west-2:111122223333:key/22345678-1234-1234-1234-123456789012"
TABLE_ARN = "arn:aws:dynamodb:us-east-1:111122223333:table/Things"

PLAIN: dict[str, Any] = {
    "tableName": "Things",
    "attributeDefinitions": [{"attributeName": "id", "attributeType": "S"}],
    "keySchema": [{"attributeName": "id", "keyType": "HASH"}],
}
INDEXED: dict[str, Any] = {
    **PLAIN,
    "attributeDefinitions": [{"attributeName": "id", "attributeType": "S"},
                             {"attributeName": "owner", "attributeType": "S"}],
    "globalSecondaryIndexes": [{"indexName": "ByOwner", "keySchema": [{"attributeName": "owner", "keyType": "HASH"}]}],
    "streamSpecification": {"streamEnabled": True, "streamViewType": "NEW_IMAGE"},
    "sseSpecification": {"sseEnabled": True, "kmsMasterKeyId": KEY},
}

READ = {"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan",
        "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable"}
WRITE = {"dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
         "dynamodb:DescribeTable"}
STREAM = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}


def cfg(data: dict[str, Any], tier: str = "commercial") -> Any:
    return resolve(parse_table_config(copy.deepcopy(data)), tier).config


def actions(policy: dict[str, Any], prefix: str = "dynamodb:") -> set[str]:
    return {a for s in policy["Statement"] for a in s["Action"] if a.startswith(prefix)}


def statement(policy: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(s for s in policy["Statement"] if s["Sid"] == sid)


def resources(policy: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for s in policy["Statement"]:
        out += [s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"]
    return out


@pytest.mark.parametrize("access,expected", [("read", READ), ("write", WRITE), ("read-write", READ | WRITE),
                                             ("stream-read", STREAM)])
def test_each_access_level_has_exactly_the_cdk_actions(access: str, expected: set[str]) -> None:
    assert actions(policy_for_access(cfg(INDEXED), access, CTX)) == expected


@pytest.mark.parametrize("access", ["read", "write", "read-write", "stream-read"])
def test_no_wildcard_action_and_no_wildcard_resource_except_list_streams(access: str) -> None:
    policy = policy_for_access(cfg(INDEXED), access, CTX)
    assert all("*" not in a or a in ("kms:ReEncrypt*", "kms:GenerateDataKey*")
               for s in policy["Statement"] for a in s["Action"])
    for s in policy["Statement"]:
        res = [s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"]
        if "*" in res:
            assert s["Action"] == ["dynamodb:ListStreams"]
    assert ("*" in resources(policy)) == (access == "stream-read")


def test_index_arns_only_for_query_and_scan_and_only_when_indexes_exist() -> None:
    with_indexes = policy_for_access(cfg(INDEXED), "read-write", CTX)
    idx = statement(with_indexes, "Indexes")
    assert idx["Action"] == ["dynamodb:Query", "dynamodb:Scan"]
    assert idx["Resource"] == [f"{TABLE_ARN}/index/*"]
    assert statement(with_indexes, "TableItems")["Resource"] == [TABLE_ARN]
    without = policy_for_access(cfg(PLAIN), "read-write", CTX)
    assert not any("/index/" in r for r in resources(without))
    write_only = policy_for_access(cfg(INDEXED), "write", CTX)
    assert not any("/index/" in r for r in resources(write_only))  # no Query/Scan, no index ARN


def test_stream_read_uses_the_stream_arn_and_the_live_one_when_known() -> None:
    policy = policy_for_access(cfg(INDEXED), "stream-read", CTX)
    assert statement(policy, "ReadStream")["Resource"] == [f"{TABLE_ARN}/stream/*"]
    assert statement(policy, "ListStreams")["Resource"] == "*"
    live = ArnContext("us-east-1", "111122223333", "aws", stream_arn=f"{TABLE_ARN}/stream/2024-01-01T00:00:00.000")
    assert statement(policy_for_access(cfg(INDEXED), "stream-read", live), "ReadStream")["Resource"] == [
        f"{TABLE_ARN}/stream/2024-01-01T00:00:00.000"]


def test_kms_actions_on_the_customer_key() -> None:
    read = statement(policy_for_access(cfg(INDEXED), "read", CTX), "TableKey")
    assert read["Action"] == ["kms:Decrypt", "kms:DescribeKey"] and read["Resource"] == [KEY]
    write = statement(policy_for_access(cfg(INDEXED), "write", CTX), "TableKey")
    assert set(write["Action"]) == {"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ReEncrypt*",
                                    "kms:GenerateDataKey*"}
    stream = statement(policy_for_access(cfg(INDEXED), "stream-read", CTX), "TableKey")
    assert stream["Action"] == ["kms:Decrypt", "kms:DescribeKey"]
    # AWS-managed / AWS-owned keys: no KMS statement (the key policy allows DynamoDB already)
    assert actions(policy_for_access(cfg(PLAIN), "read-write", CTX), "kms:") == set()


def test_created_key_is_matched_by_its_alias_until_known() -> None:
    created = cfg(PLAIN, "fedramp-moderate")
    stmt = statement(policy_for_access(created, "read", CTX), "TableKey")
    assert stmt["Resource"] == ["arn:aws:kms:us-east-1:111122223333:key/*"]
    via = {"StringEquals": {"kms:ViaService": ["dynamodb.us-east-1.amazonaws.com"]}}
    assert stmt["Condition"] == {"ForAnyValue:StringEquals": {"kms:ResourceAliases": ["alias/ddbkit/Things"]}, **via}
    known = ArnContext("us-east-1", "111122223333", "aws", created_key_arn=KEY)
    stmt = statement(policy_for_access(created, "read", known), "TableKey")
    assert stmt["Resource"] == [KEY] and stmt["Condition"] == via


def test_replica_region_arns_and_keys() -> None:
    glob = cfg({**INDEXED, "streamSpecification": {"streamEnabled": True, "streamViewType": "NEW_AND_OLD_IMAGES"},
                "globalTables": {"regions": ["us-east-1", "us-west-2"],
                                 "replicationGroup": [{"region": "us-west-2", "kmsKeyId": WEST_KEY}]}})
    policy = policy_for_access(glob, "read", CTX)
    assert statement(policy, "TableItems")["Resource"] == [
        TABLE_ARN, "arn:aws:dynamodb:us-west-2:111122223333:table/Things"]
    assert statement(policy, "Indexes")["Resource"] == [
        f"{TABLE_ARN}/index/*", "arn:aws:dynamodb:us-west-2:111122223333:table/Things/index/*"]
    assert statement(policy, "TableKey")["Resource"] == [KEY, WEST_KEY]
    stream = policy_for_access(glob, "stream-read", CTX)
    assert statement(stream, "ReadStream")["Resource"] == [
        f"{TABLE_ARN}/stream/*", "arn:aws:dynamodb:us-west-2:111122223333:table/Things/stream/*"]


def test_leading_keys_condition_for_per_tenant_access() -> None:
    policy = policy_for_access(cfg(INDEXED), "read-write", CTX, leading_keys=["${aws:PrincipalTag/tenant}"])
    cond = {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:PrincipalTag/tenant}"]}}
    assert statement(policy, "TableItems")["Condition"] == cond
    assert statement(policy, "Indexes")["Condition"] == cond
    assert "Condition" not in statement(policy, "DescribeTable")
    assert "dynamodb:Scan" not in actions(policy)  # a Scan has no partition key to check
    assert "dynamodb:Scan" in actions(policy_for_access(cfg(INDEXED), "read-write", CTX))


def test_unknown_access_level_is_an_error() -> None:
    with pytest.raises(BindError, match="unknown access level 'admin'"):
        policy_for_access(cfg(PLAIN), "admin", CTX)


def test_unknown_access_in_a_file_is_a_config_error(tmp_path: Path) -> None:
    text = (ROOT / "examples/session-store/component.yaml").read_text().replace("access: read-write", "access: admin")
    path = tmp_path / "c.yaml"
    path.write_text(text)
    result = CliRunner().invoke(cli, ["bind", str(path), "--component", "session-manager", "--account-id",
                                      "111122223333", "--region", "us-east-1"])
    assert result.exit_code == 1 and "admin" in result.output


def test_policies_are_valid_iam_documents() -> None:
    """moto validates IAM policy grammar on CreatePolicy: every level's document must pass it."""
    from moto import mock_aws

    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        for access in ("read", "write", "read-write", "stream-read"):
            for data in (PLAIN, INDEXED):
                doc = policy_for_access(cfg(data), access, CTX, leading_keys=["tenant-1"] if access != "stream-read"
                                        else None)
                iam.create_policy(PolicyName=f"p-{access}-{len(data)}", PolicyDocument=json.dumps(doc))
        assert len(iam.list_policies(Scope="Local")["Policies"]) == 8


# -- environment --------------------------------------------------------------------------------------


def test_env_prefix() -> None:
    assert env_prefix("user-sessions") == "USER_SESSIONS"
    assert env_prefix("sensor.data v2") == "SENSOR_DATA_V2"


def test_bind_outputs_env_and_reference_resolution() -> None:
    loaded = load_component_file(ROOT / "examples/session-store/component.yaml")
    report = bind_outputs(loaded, "session-manager", CTX)
    assert report.environment == {
        "USER_SESSIONS_TABLE": "UserSessions",
        "USER_SESSIONS_TABLE_ARN": "arn:aws:dynamodb:us-east-1:111122223333:table/UserSessions",
        # no USER_SESSIONS_STREAM_ARN: the stream's label is unknown until the table exists, and a
        # `/stream/*` wildcard is no value for a program (tests/core/test_envconfig.py has the live case)
        "USER_SESSIONS_INDEXES": "UserIdIndex,ExpirationIndex,SessionTypeIndex",
        # the schema Table.from_env reads (ddbkit.core.envconfig)
        "USER_SESSIONS_KEY": "sessionId",
        "USER_SESSIONS_KEY_TYPES": "sessionId:S,userId:S,createdAt:N,expiresAt:N,sessionType:S",
        "USER_SESSIONS_INDEX_KEYS": "UserIdIndex:userId,createdAt;ExpirationIndex:expiresAt;SessionTypeIndex:userId,sessionType",
        "USER_SESSIONS_TTL": "expiresAt",
        "SESSIONS_TABLE": "UserSessions",  # ${user-sessions.tableName}
        "USER_ID_INDEX": "UserIdIndex",
    }
    [b] = report.binds
    assert b.target == "user-sessions" and b.access == "read-write"
    assert actions(b.policy) == READ | WRITE

    stream = bind_outputs(loaded, "session-processor", CTX)
    assert actions(stream.binds[0].policy) == STREAM


def test_resolve_references() -> None:
    tables = {"user-sessions": cfg(INDEXED)}
    assert resolve_references("${user-sessions.tableArn}|${user-sessions.streamArn}", tables, CTX) == \
        f"{TABLE_ARN}|{TABLE_ARN}/stream/*"
    with pytest.raises(BindError, match="'nope' is not a dynamodb-table component"):
        resolve_references("${nope.tableName}", tables, CTX)
    with pytest.raises(BindError, match="unknown attribute 'tableArm'"):
        resolve_references("${user-sessions.tableArm}", tables, CTX)


def test_component_without_binds_is_an_error() -> None:
    loaded = load_component_file(ROOT / "examples/session-store/component.yaml")
    with pytest.raises(BindError, match="has no binds"):
        bind_outputs(loaded, "user-sessions", CTX)


def test_arn_context_sources() -> None:
    assert arn_context("111122223333", "us-gov-west-1").partition == "aws-us-gov"

    class FailingSts:
        def get_caller_identity(self) -> dict[str, str]:
            raise RuntimeError("no network")

    ctx = arn_context(None, None, FailingSts())
    assert (ctx.account, ctx.region, ctx.partition) == ("${AWS::AccountId}", "${AWS::Region}", "${AWS::Partition}")
    assert ctx.has_placeholders
    assert ctx.table_arn("T") == "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/T"

    from moto import mock_aws

    with mock_aws():
        live = arn_context(None, "eu-west-1", boto3.client("sts", region_name="eu-west-1"))
    assert (live.account, live.region, live.partition) == ("123456789012", "eu-west-1", "aws")


def test_cli_bind_prints_policy_and_env() -> None:
    path = ROOT / "examples/iot-time-series/component.yaml"
    result = CliRunner().invoke(cli, ["bind", str(path), "--component", "ingest", "--account-id", "111122223333",
                                      "--region", "us-east-1"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    policy = out["binds"][0]["policy"]
    assert actions(policy) == WRITE
    # fedramp-moderate: the tier creates the key, so KMS access is by ddbkit's alias
    assert statement(policy, "TableKey")["Condition"]["ForAnyValue:StringEquals"]["kms:ResourceAliases"] == [
        "alias/ddbkit/SensorData"]
    assert out["environment"]["SENSOR_DATA_TABLE"] == "SensorData"
    assert out["environment"]["SENSOR_DATA_INDEXES"] == "SensorTypeIndex"


def test_cli_bind_without_account_says_how_to_give_it_and_cloudformation_keeps_placeholders(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Placeholders only in --format cloudformation (issue 23): YAML/JSON with no known account is an error."""
    from ddbkit_infra.cli import provision_cmds

    monkeypatch.setattr(provision_cmds, "_quick_sts", lambda region, endpoint: None)
    path = ROOT / "examples/session-store/component.yaml"
    result = CliRunner().invoke(cli, ["bind", str(path), "--component", "session-processor", "--format", "yaml"])
    assert result.exit_code == 2, result.output
    assert "--account-id" in result.output and "${" not in result.output
    result = CliRunner().invoke(cli, ["bind", str(path), "--component", "session-processor",
                                      "--format", "cloudformation"])
    assert result.exit_code == 0, result.output
    assert "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/UserSessions/stream/*" in result.output


def test_bind_to_table_with_unknown_target_is_rejected_at_load() -> None:
    text = """
components:
  - name: t
    type: dynamodb-table
    config: {tableName: Things, attributeDefinitions: [{attributeName: id, attributeType: S}],
             keySchema: [{attributeName: id, keyType: HASH}]}
  - name: app
    type: lambda-api
    binds: [{to: missing, access: read}]
"""
    with pytest.raises(Exception, match="bind target 'missing'"):
        load_component_text(text)
