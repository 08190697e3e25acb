"""KMS grants of binds only through DynamoDB (issue 24, item 7): ``kms:ViaService dynamodb.<region>.amazonaws.com``
on every policy ddbkit writes that grants the table's customer-managed key (JSON, CloudFormation, apply's IAM)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from ddbkit.config import load_component_text, parse_table_config
from ddbkit_infra.cli import cli
from ddbkit_infra.synth.cloudformation import synthesize
from ddbkit_infra.compliance import resolve
from ddbkit_infra.iam.binds import ArnContext, backup_function_policy, bind_template, policy_for_access
from ddbkit_infra.plan import LiveState, diff

CTX = ArnContext(region="us-east-1", account="111122223333", partition="aws")
KEY = "arn:aws:kms:us-east-1:111122223333:key/12345678-1234-1234-1234-123456789012"
WEST_KEY = "arn:aws:kms:us-west-2:111122223333:key/22345678-1234-1234-1234-123456789012"
VIA = {"kms:ViaService": ["dynamodb.us-east-1.amazonaws.com"]}

TABLE: dict[str, Any] = {
    "tableName": "Things",
    "attributeDefinitions": [{"attributeName": "id", "attributeType": "S"}],
    "keySchema": [{"attributeName": "id", "keyType": "HASH"}],
    "streamSpecification": {"streamEnabled": True, "streamViewType": "NEW_AND_OLD_IMAGES"},
    "sseSpecification": {"sseEnabled": True, "kmsMasterKeyId": KEY},
}
ACCESSES = ["read", "write", "read-write", "stream-read"]


def cfg(data: dict[str, Any], tier: str = "commercial") -> Any:
    return resolve(parse_table_config(copy.deepcopy(data)), tier).config


def kms_statement(policy: dict[str, Any]) -> dict[str, Any]:
    (stmt,) = [s for s in policy["Statement"] if any(str(a).startswith("kms:") for a in s["Action"])]
    return stmt


@pytest.mark.parametrize("access", ACCESSES)
def test_json_policy_grants_the_key_only_via_dynamodb(access: str) -> None:
    stmt = kms_statement(policy_for_access(cfg(TABLE), access, CTX))
    assert stmt["Resource"] == [KEY]
    assert stmt["Condition"] == {"StringEquals": VIA}


@pytest.mark.parametrize("access", ACCESSES)
def test_created_key_keeps_its_alias_condition_and_adds_via_service(access: str) -> None:
    data = {**TABLE, "sseSpecification": {"sseEnabled": True, "createKey": True}}
    stmt = kms_statement(policy_for_access(cfg(data), access, CTX))
    assert stmt["Condition"] == {"ForAnyValue:StringEquals": {"kms:ResourceAliases": ["alias/ddbkit/Things"]},
                                 "StringEquals": VIA}


def test_global_table_lists_every_replica_region() -> None:
    data = {**TABLE, "globalTables": {"regions": ["us-east-1", "us-west-2"],
                                      "replicationGroup": [{"region": "us-west-2", "kmsKeyId": WEST_KEY}]}}
    for access in ACCESSES:
        stmt = kms_statement(policy_for_access(cfg(data), access, CTX))
        assert stmt["Condition"]["StringEquals"]["kms:ViaService"] == [
            "dynamodb.us-east-1.amazonaws.com", "dynamodb.us-west-2.amazonaws.com"]


def test_backup_function_policy_uses_the_key_via_dynamodb() -> None:
    assert kms_statement(backup_function_policy(cfg(TABLE), CTX))["Condition"] == {"StringEquals": VIA}


def component_file(access: str) -> str:
    return yaml.safe_dump({"components": [
        {"name": "things", "type": "dynamodb-table", "config": TABLE},
        {"name": "api", "type": "lambda-api", "binds": [{"to": "things", "access": access}]}]})


@pytest.mark.parametrize("access", ACCESSES)
def test_cloudformation_bind_template_uses_fn_sub_region(access: str) -> None:
    template = bind_template(load_component_text(component_file(access)), "api")
    (res,) = template["Resources"].values()
    stmt = kms_statement(res["Properties"]["PolicyDocument"])
    assert stmt["Condition"] == {"StringEquals": {
        "kms:ViaService": [{"Fn::Sub": "dynamodb.${AWS::Region}.amazonaws.com"}]}}


@pytest.mark.parametrize("access", ACCESSES)
def test_cli_bind_json_and_cloudformation(access: str, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(component_file(access))
    res = CliRunner().invoke(cli, ["bind", str(path), "-c", "api", "--account-id", "111122223333",
                                   "--region", "us-east-1"])
    assert res.exit_code == 0, res.output
    policy = json.loads(res.output)["binds"][0]["policy"]
    assert kms_statement(policy)["Condition"] == {"StringEquals": VIA}
    res = CliRunner().invoke(cli, ["bind", str(path), "-c", "api", "--format", "cloudformation"])
    assert res.exit_code == 0, res.output
    assert "dynamodb.${AWS::Region}.amazonaws.com" in res.output and "kms:ViaService" in res.output


DAX: dict[str, Any] = {**TABLE, "daxCluster": {"enabled": True, "clusterName": "things",
                                               "subnetIds": ["subnet-12345678"]}}


def test_synth_dax_policy_uses_the_key_via_dynamodb() -> None:
    template = synthesize(resolve(parse_table_config(copy.deepcopy(DAX)), "commercial"))
    stmt = kms_statement(template["Resources"]["DaxPolicy"]["Properties"]["PolicyDocument"])
    assert stmt["Condition"] == {"StringEquals": {
        "kms:ViaService": [{"Fn::Sub": "dynamodb.${AWS::Region}.amazonaws.com"}]}}


def test_apply_dax_policy_uses_the_key_via_dynamodb() -> None:
    plan = diff(cfg(DAX), LiveState(region="us-east-1", account="111122223333"))
    calls = [c for ch in plan.changes for c in ch.calls if c.operation == "create_policy"]
    assert calls
    for call in calls:
        doc = call.params["PolicyDocument"]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        assert kms_statement(doc)["Condition"] == {"StringEquals": VIA}
