"""Issue 16 on the provisioning side: alarm routing, managed DAX policy, KMS grants by ARN, backup IAM.

Plan/apply run on moto in-process (it has KMS, SNS, IAM, CloudWatch); synth output is checked here and
linted by tests/infra/test_cloudformation.py and tests/infra/test_security_guard.py.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto_gaps import MotoGaps, effective, run

from ddbkit.config import load_component_text, parse_table_config
from ddbkit_infra.synth.alarms import alarm_specs, alarm_topic_name
from ddbkit_infra.synth.cloudformation import synthesize
from ddbkit_infra.compliance import resolve
from ddbkit_infra.iam.binds import ArnContext, backup_function_policy, bind_outputs, policy_for_access
from ddbkit_infra.plan import make_plan

CTX = ArnContext(region="us-east-1", account="123456789012", partition="aws")
ORDERS: dict[str, Any] = {
    "tableName": "Orders",
    "attributeDefinitions": [{"attributeName": "id", "attributeType": "S"}],
    "keySchema": [{"attributeName": "id", "keyType": "HASH"}],
}


@pytest.fixture
def inprocess(monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoGaps]:
    from moto import mock_aws

    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")  # AWS Backup's role attaches managed policies
    with mock_aws():
        yield MotoGaps()


# -- alarms route somewhere on FedRAMP tiers ---------------------------------------------------------


def test_monitoring_block_with_only_a_topic_gets_the_tier_level() -> None:
    topic = "arn:aws:sns:us-east-1:123456789012:oncall"
    for tier, level in (("fedramp-moderate", "enhanced"), ("fedramp-high", "comprehensive")):
        data = {**ORDERS, "monitoring": {"alarmTopicArn": topic}}
        if tier == "fedramp-high":
            data["globalTables"] = {"regions": ["us-east-1", "us-west-2"], "replicationGroup": [
                {"region": "us-west-2", "kmsKeyId": "arn:aws:kms:us-west-2:123456789012:key/22345678-1234-1234-1234-123456789012"}]}
        eff = resolve(parse_table_config(data), tier)
        assert eff.config.monitoring is not None and eff.config.monitoring.level.value == level
        assert "monitoring.level" in eff.default_paths()
    with pytest.raises(Exception, match="below the required"):  # an explicit low level is still refused
        resolve(parse_table_config({**ORDERS, "monitoring": {"level": "basic", "alarmTopicArn": topic}}),
                "fedramp-moderate")


def test_fedramp_synth_routes_every_alarm_to_a_kms_encrypted_topic() -> None:
    eff = resolve(parse_table_config(copy.deepcopy(ORDERS)), "fedramp-moderate")
    res = synthesize(eff)["Resources"]
    alarms = [r["Properties"] for r in res.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert alarms and all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] == a["OKActions"] for a in alarms)
    topic = res["AlarmTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": ["AlarmTopicKey", "Arn"]}
    assert res["AlarmTopicKey"]["Properties"]["EnableKeyRotation"] is True
    grants = res["AlarmTopicKey"]["Properties"]["KeyPolicy"]["Statement"]
    assert any(s["Principal"] == {"Service": "cloudwatch.amazonaws.com"} for s in grants)
    assert "monitoring.alarmTopicArn" in eff.default_paths()

    given = resolve(parse_table_config({**ORDERS, "monitoring": {
        "alarmTopicArn": "arn:aws:sns:us-east-1:123456789012:oncall"}}), "fedramp-moderate")
    res = synthesize(given)["Resources"]
    assert "AlarmTopic" not in res
    assert all(r["Properties"]["AlarmActions"] == ["arn:aws:sns:us-east-1:123456789012:oncall"]
               for r in res.values() if r["Type"] == "AWS::CloudWatch::Alarm")
    commercial = synthesize(resolve(parse_table_config(copy.deepcopy(ORDERS)), "commercial"))["Resources"]
    assert "AlarmTopic" not in commercial


def test_fedramp_apply_creates_the_topic_and_points_every_alarm_at_it(inprocess: MotoGaps) -> None:
    eff = effective(ORDERS, "fedramp-moderate")
    run(eff, inprocess)
    sns = inprocess.raw_client("sns")
    arn = f"arn:aws:sns:us-east-1:123456789012:{alarm_topic_name('Orders')}"
    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    key = inprocess.raw_client("kms").describe_key(KeyId="alias/ddbkit/Orders-alarms")["KeyMetadata"]
    assert attrs["KmsMasterKeyId"] == key["Arn"]
    policy = json.loads(inprocess.raw_client("kms").get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    assert any(s["Principal"] == {"Service": "cloudwatch.amazonaws.com"} for s in policy["Statement"])
    alarms = inprocess.raw_client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert len(alarms) == len(alarm_specs(eff.config)) and all(a["AlarmActions"] == [arn] == a["OKActions"]
                                                               for a in alarms)
    assert [c for c in make_plan(eff, inprocess.clients()).pending] == []  # converged


# -- KMS: a created key is granted by ARN once it exists ---------------------------------------------


COMPONENTS = """
components:
  - name: orders
    type: dynamodb-table
    config:
      tableName: Orders
      attributeDefinitions: [{attributeName: id, attributeType: S}]
      keySchema: [{attributeName: id, keyType: HASH}]
      sseSpecification: {sseEnabled: true, createKey: true}
  - name: api
    type: lambda
    binds: [{to: orders, access: read}]
"""


def test_bind_grants_the_created_key_by_arn_once_it_exists() -> None:
    from moto import mock_aws

    loaded = load_component_text(COMPONENTS)
    before = bind_outputs(loaded, "api", CTX).binds[0].policy
    [kms_stmt] = [s for s in before["Statement"] if s["Sid"] == "TableKey"]
    assert kms_stmt["Resource"] == ["arn:aws:kms:us-east-1:123456789012:key/*"] and "Condition" in kms_stmt
    with mock_aws():
        kms = boto3.client("kms", region_name="us-east-1")
        arn = kms.create_key()["KeyMetadata"]["Arn"]
        kms.create_alias(AliasName="alias/ddbkit/Orders", TargetKeyId=arn)
        after = bind_outputs(loaded, "api", CTX, kms=kms).binds[0].policy
    [kms_stmt] = [s for s in after["Statement"] if s["Sid"] == "TableKey"]
    assert kms_stmt["Resource"] == [arn]
    assert kms_stmt["Condition"] == {"StringEquals": {"kms:ViaService": ["dynamodb.us-east-1.amazonaws.com"]}}


def test_synth_grants_the_created_key_by_its_arn() -> None:
    dax = {**ORDERS, "daxCluster": {"enabled": True, "clusterName": "orders-dax", "nodeType": "dax.r5.large",
                                    "replicationFactor": 3, "subnetIds": ["subnet-1"]}}
    res = synthesize(resolve(parse_table_config(dax), "fedramp-moderate"))["Resources"]
    doc = res["DaxPolicy"]["Properties"]["PolicyDocument"]
    [kms_stmt] = [s for s in doc["Statement"] if s["Sid"] == "TableKey"]
    assert kms_stmt["Resource"] == [{"Fn::Sub": "${TableKey.Arn}"}]
    assert kms_stmt["Condition"] == {"StringEquals": {"kms:ViaService": [
        {"Fn::Sub": "dynamodb.${AWS::Region}.amazonaws.com"}]}}
    assert "key/*" not in json.dumps(doc)


# -- backup Lambda IAM: list calls without a resource type take "*" ------------------------------------


def test_backup_function_policy_lists_backups_on_star() -> None:
    eff = resolve(parse_table_config(copy.deepcopy(ORDERS)), "fedramp-moderate")
    doc = backup_function_policy(eff.config, CTX, export_bucket="dr", copy_role_arn="arn:aws:iam::123456789012:role/c")
    by_action = {a: s["Resource"] for s in doc["Statement"] for a in s["Action"]}
    # Service Authorization Reference: no resource type for these two -> "*"
    assert by_action["dynamodb:ListBackups"] == "*" and by_action["backup:ListRecoveryPointsByResource"] == "*"
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/Orders"
    assert by_action["dynamodb:DeleteBackup"] == [f"{table}/backup/*"]
    assert by_action["dynamodb:CreateBackup"] == [table]
    assert by_action["s3:PutObject"] == ["arn:aws:s3:::dr/*"] and "kms:Decrypt" in by_action


def test_read_policy_is_unchanged_for_a_given_key() -> None:
    data = {**ORDERS, "sseSpecification": {"sseEnabled": True, "kmsMasterKeyId":
                                           "arn:aws:kms:us-east-1:123456789012:key/12345678-1234-1234-1234-123456789012"}}
    doc = policy_for_access(resolve(parse_table_config(data), "commercial").config, "read", CTX)
    [kms_stmt] = [s for s in doc["Statement"] if s["Sid"] == "TableKey"]
    assert kms_stmt["Resource"] == ["arn:aws:kms:us-east-1:123456789012:key/12345678-1234-1234-1234-123456789012"]


# -- one autoscaling rule for validate, synth and audit (Security Hub DynamoDB.1) ---------------------


def test_fixed_gsi_capacity_fails_validate_and_audit_with_the_same_finding(inprocess: MotoGaps) -> None:
    from pathlib import Path

    import yaml

    from ddbkit.config import ConfigError
    from ddbkit_infra.audit import audit_table
    from ddbkit_infra.resources import autoscaling_gaps

    root = Path(__file__).resolve().parents[2]
    iot = yaml.safe_load((root / "examples/iot-time-series/component.yaml").read_text())["components"][0]["config"]
    iot["complianceFramework"] = "commercial"
    del iot["globalSecondaryIndexes"][0]["autoScaling"]["readCapacity"]  # the example as it was: fixed 20 RCU
    cfg = parse_table_config(iot)
    [(path, label)] = autoscaling_gaps(cfg)
    assert label == "table/SensorData/index/SensorTypeIndex ReadCapacityUnits"
    with pytest.raises(ConfigError) as exc:  # validate / synth (synth renders only resolved configs)
        resolve(cfg, "fedramp-moderate")
    assert [i.path for i in exc.value.issues] == [path] and label in str(exc.value)
    run(resolve(cfg, "commercial"), inprocess)  # a live table built from it
    report = audit_table(inprocess.clients(), "SensorData", "fedramp-moderate")
    [capacity] = [r for r in report.results if r.security_hub == "DynamoDB.1"]
    assert capacity.status == "FAIL" and capacity.detail.endswith(label)
