"""Issue 16's features: config, tier defaults, synth shape, IAM for attribute-level permissions.

Linting of the same resources (cfn-lint, checkov, cfn-guard) runs in test_cloudformation.py and
test_security_guard.py (the DAX case there carries vpcEndpoints, resourcePolicy and auditTrail).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ddbkit.config import ConfigError, load_component_text, parse_table_config
from ddbkit_infra.synth.cloudformation import synthesize
from ddbkit_infra.compliance import resolve
from ddbkit_infra.iam.binds import ArnContext, bind_outputs, policy_for_access
from ddbkit_infra.iam.security import endpoint_policy, table_resource_policy

CTX = ArnContext(region="us-east-1", account="123456789012", partition="aws")
BASE: dict[str, Any] = {
    "tableName": "Orders",
    "attributeDefinitions": [{"attributeName": "id", "attributeType": "S"},
                             {"attributeName": "owner", "attributeType": "S"}],
    "keySchema": [{"attributeName": "id", "keyType": "HASH"}],
    "globalSecondaryIndexes": [{"indexName": "ByOwner", "keySchema": [{"attributeName": "owner", "keyType": "HASH"}]}],
    "streamSpecification": {"streamEnabled": True, "streamViewType": "NEW_AND_OLD_IMAGES"},
}
VPC = {"vpcId": "vpc-0a1b2c3d4e5f60718", "routeTableIds": ["rtb-0a1b2c3d4e5f60718"]}


def eff(data: dict[str, Any], tier: str) -> Any:
    return resolve(parse_table_config(copy.deepcopy(data)), tier)


# -- tier defaults -----------------------------------------------------------------------------------


@pytest.mark.parametrize("tier,days", [("fedramp-moderate", 365), ("fedramp-high", 3650)])
def test_fedramp_tiers_fill_audit_trail_and_tls_deny(tier: str, days: int) -> None:
    data = copy.deepcopy(BASE)
    if tier == "fedramp-high":
        data["globalTables"] = {"regions": ["us-east-1", "us-west-2"], "replicationGroup": [
            {"region": "us-west-2", "kmsKeyId": "arn:aws:kms:us-west-2:123456789012:key/22345678-1234-1234-1234-123456789012"}]}
    e = eff(data, tier)
    at, rp = e.config.audit_trail, e.config.resource_policy
    assert at and at.enabled and at.retention_days == days and at.object_lock is True
    assert rp and rp.deny_insecure_transport is True
    assert {"auditTrail.enabled", "auditTrail.retentionDays", "resourcePolicy.denyInsecureTransport"} <= \
        e.default_paths()
    commercial = eff(BASE, "commercial").config
    assert commercial.audit_trail is None and commercial.resource_policy is None


@pytest.mark.parametrize("over,where", [
    ({"auditTrail": {"enabled": False}}, "auditTrail.enabled"),
    ({"auditTrail": {"retentionDays": 30}}, "auditTrail.retentionDays"),
    ({"auditTrail": {"objectLock": False}}, "auditTrail.objectLock"),
    ({"resourcePolicy": {"denyInsecureTransport": False}}, "resourcePolicy.denyInsecureTransport"),
])
def test_fedramp_refuses_weaker_settings(over: dict[str, Any], where: str) -> None:
    with pytest.raises(ConfigError) as exc:
        eff({**BASE, **over}, "fedramp-moderate")
    assert where in str(exc.value)


@pytest.mark.parametrize("over,rule", [
    ({"resourcePolicy": {"crossAccountPrincipals": ["*"]}}, "security.principal"),
    ({"resourcePolicy": {"denyOutsideVpcEndpoints": True}}, "security.vpc-endpoints"),
    ({"vpcEndpoints": {"vpcId": "my-vpc", "routeTableIds": ["rtb-0a1b2c3d4e5f60718"]}}, "security.vpc-endpoints"),
    ({"vpcEndpoints": {**VPC, "interface": True}}, "security.vpc-endpoints"),
    ({"auditTrail": {"kind": "event-data-store", "retentionDays": 5000}}, "security.audit-trail"),
    ({"auditTrail": {"bucketName": "Bad_Bucket"}}, "security.audit-trail"),
])
def test_validate_names_the_field_and_rule(over: dict[str, Any], rule: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_table_config({**BASE, **over})
    assert exc.value.issues[0].rule == rule


# -- resource policy ---------------------------------------------------------------------------------


def test_resource_policy_on_table_and_stream_with_cross_account_tls_and_vpce_denies() -> None:
    data = {**BASE, "vpcEndpoints": VPC, "resourcePolicy": {
        "crossAccountPrincipals": ["210987654321", "arn:aws:iam::210987654321:role/reader"],
        "denyOutsideVpcEndpoints": True}}
    res = synthesize(eff(data, "fedramp-moderate"))["Resources"]
    table = res["Table"]["Properties"]
    doc = table["ResourcePolicy"]["PolicyDocument"]
    sids = {s["Sid"]: s for s in doc["Statement"]}
    assert sids["CrossAccountAccess"]["Principal"]["AWS"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::210987654321:root"}, "arn:aws:iam::210987654321:role/reader"]
    assert "dynamodb:PutItem" not in sids["CrossAccountAccess"]["Action"]  # access: read
    assert sids["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert sids["DenyOutsideVpcEndpoints"]["Condition"] == {
        "StringNotEquals": {"aws:SourceVpce": [{"Ref": "DynamoDbGatewayEndpoint"}]}}
    assert "dynamodb:DescribeTable" not in sids["DenyOutsideVpcEndpoints"]["Action"]  # control plane stays
    stream = table["StreamSpecification"]["ResourcePolicy"]["PolicyDocument"]
    assert {s["Sid"] for s in stream["Statement"]} == {"CrossAccountStreamRead", "DenyInsecureTransport",
                                                      "DenyOutsideVpcEndpoints"}


def test_global_table_replicas_each_carry_the_policy() -> None:
    data = {**BASE, "globalTables": {"regions": ["us-east-1", "us-west-2"], "replicationGroup": [
        {"region": "us-west-2", "kmsKeyId": "arn:aws:kms:us-west-2:123456789012:key/22345678-1234-1234-1234-123456789012"}]}}
    replicas = synthesize(eff(data, "fedramp-high"))["Resources"]["Table"]["Properties"]["Replicas"]
    for rep in replicas:
        [deny] = rep["ResourcePolicy"]["PolicyDocument"]["Statement"]
        assert deny["Sid"] == "DenyInsecureTransport" and f":dynamodb:{rep['Region']}:" in deny["Resource"][0]["Fn::Sub"]


def test_resource_policy_with_real_arns_for_apply() -> None:
    cfg = eff({**BASE, "resourcePolicy": {"crossAccountPrincipals": ["210987654321"], "access": "read-write"}},
              "commercial").config
    doc = table_resource_policy(cfg, "arn:aws:dynamodb:us-east-1:123456789012:table/Orders")
    assert doc is not None
    [allow] = doc["Statement"]
    assert allow["Principal"] == {"AWS": ["arn:aws:iam::210987654321:root"]} and "dynamodb:PutItem" in allow["Action"]
    assert allow["Resource"] == ["arn:aws:dynamodb:us-east-1:123456789012:table/Orders",
                                 "arn:aws:dynamodb:us-east-1:123456789012:table/Orders/index/*"]


# -- VPC endpoints -----------------------------------------------------------------------------------


def test_endpoint_policy_is_limited_to_this_table_and_the_binds_actions() -> None:
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/Orders"
    doc = endpoint_policy([arn], ["read"])
    [item] = doc["Statement"]
    assert item["Resource"] == [arn, f"{arn}/index/*"] and "dynamodb:PutItem" not in item["Action"]
    assert "dynamodb:DeleteTable" not in str(doc) and "dynamodb:*" not in str(doc)
    both = endpoint_policy([arn], ["write", "stream-read"])
    assert {s["Sid"] for s in both["Statement"]} == {"ThisTable", "ThisStream", "ListStreams"}
    res = synthesize(eff({**BASE, "vpcEndpoints": {**VPC, "interface": True, "subnetIds": ["subnet-0a1b2c3d"]}},
                         "commercial"))["Resources"]
    gw, itf = res["DynamoDbGatewayEndpoint"]["Properties"], res["DynamoDbInterfaceEndpoint"]["Properties"]
    assert gw["VpcEndpointType"] == "Gateway" and gw["RouteTableIds"] == VPC["routeTableIds"]
    assert itf["VpcEndpointType"] == "Interface" and itf["SubnetIds"] == ["subnet-0a1b2c3d"]
    assert gw["PolicyDocument"] == itf["PolicyDocument"]
    assert "ThisStream" in {s["Sid"] for s in gw["PolicyDocument"]["Statement"]}  # the table has a stream


# -- audit trail -------------------------------------------------------------------------------------


def test_trail_synth_logs_this_tables_data_events_to_a_hardened_bucket() -> None:
    res = synthesize(eff(BASE, "fedramp-high" if False else "fedramp-moderate"))["Resources"]
    trail = res["AuditTrail"]["Properties"]
    assert trail["EnableLogFileValidation"] is True and trail["IsLogging"] is True
    assert trail["KMSKeyId"] == "alias/ddbkit/Orders-trail"
    sel = trail["AdvancedEventSelectors"]
    assert [f["Equals"] for f in sel[0]["FieldSelectors"]][1:] == [
        ["AWS::DynamoDB::Table"], [{"Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/Orders"}]]
    assert sel[1]["FieldSelectors"][1]["Equals"] == ["AWS::DynamoDB::Stream"]
    bucket = res["TrailBucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {"Mode": "COMPLIANCE", "Days": 365}
    assert bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 365
    policy = res["TrailBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert {"Action": "s3:*", "Effect": "Deny", "Principal": "*", "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": False}}} in policy
    assert res["AuditTrailLogs"]["Properties"]["RetentionInDays"] == 365
    assert "Policies" not in res["AuditTrailLogsRole"]["Properties"]  # managed policy, not inline


def test_event_data_store_kind() -> None:
    res = synthesize(eff({**BASE, "auditTrail": {"kind": "event-data-store"}}, "fedramp-high" if False else
                         "fedramp-moderate"))["Resources"]
    store = res["AuditEventDataStore"]["Properties"]
    assert store["RetentionPeriod"] == 365 and store["KmsKeyId"] == {"Fn::GetAtt": ["TrailKey", "Arn"]}
    assert store["TerminationProtectionEnabled"] is True and "AuditTrail" not in res and "TrailBucket" not in res


# -- attribute-level permissions ("data masking") ----------------------------------------------------


FILE = """
components:
  - name: orders
    type: dynamodb-table
    config:
      tableName: Orders
      attributeDefinitions: [{attributeName: id, attributeType: S}, {attributeName: owner, attributeType: S}]
      keySchema: [{attributeName: id, keyType: HASH}]
      globalSecondaryIndexes: [{indexName: ByOwner, keySchema: [{attributeName: owner, keyType: HASH}]}]
  - name: reporting
    type: lambda
    binds: [{to: orders, access: read, attributes: [status, total]}]
  - name: updater
    type: lambda
    binds: [{to: orders, access: read-write, attributes: [status]}]
"""


def test_bind_attributes_become_attribute_select_and_return_values_conditions() -> None:
    loaded = load_component_text(FILE)
    read = bind_outputs(loaded, "reporting", CTX).binds[0].policy
    items = next(s for s in read["Statement"] if s["Sid"] == "TableItems")
    assert items["Condition"] == {
        "ForAllValues:StringEquals": {"dynamodb:Attributes": ["id", "owner", "status", "total"]},
        "StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"}}
    idx = next(s for s in read["Statement"] if s["Sid"] == "Indexes")
    assert idx["Condition"] == items["Condition"]
    rw = bind_outputs(loaded, "updater", CTX).binds[0].policy
    cond = next(s for s in rw["Statement"] if s["Sid"] == "TableItems")["Condition"]["StringEqualsIfExists"]
    assert cond == {"dynamodb:Select": "SPECIFIC_ATTRIBUTES",
                    "dynamodb:ReturnValues": ["NONE", "UPDATED_OLD", "UPDATED_NEW"]}
    plain = policy_for_access(loaded.tables["orders"], "read", CTX)
    assert all("Condition" not in s for s in plain["Statement"])


def test_bind_attributes_rule() -> None:
    bad = FILE.replace("access: read, attributes: [status, total]", "access: stream-read, attributes: [status]")
    with pytest.raises(ConfigError) as exc:
        load_component_text(bad)
    assert any(i.rule == "bind.attributes" for i in exc.value.issues)


def test_endpoint_policy_follows_the_binds_of_the_file() -> None:
    from ddbkit_infra.iam.security import bind_accesses

    loaded = load_component_text(FILE.replace("tableName: Orders", "tableName: Orders\n      vpcEndpoints: "
                                              "{vpcId: vpc-0a1b2c3d4e5f60718, routeTableIds: [rtb-0a1b2c3d4e5f60718]}"))
    accesses = bind_accesses(loaded, "orders")
    assert accesses == ["read", "read-write"]
    res = synthesize(resolve(loaded.tables["orders"], "commercial"), bind_accesses=["read"])["Resources"]
    actions = res["DynamoDbGatewayEndpoint"]["Properties"]["PolicyDocument"]["Statement"][0]["Action"]
    assert "dynamodb:GetItem" in actions and "dynamodb:PutItem" not in actions


def test_binds_of_other_accounts_become_resource_policy_grants() -> None:
    from ddbkit_infra.iam.security import bind_grants

    text = FILE.replace("binds: [{to: orders, access: read, attributes: [status, total]}]",
                        "binds: [{to: orders, access: read, account: '210987654321'}]")
    loaded = load_component_text(text)
    grants = bind_grants(loaded, "orders")
    assert grants == [("210987654321", "read")]
    res = synthesize(resolve(loaded.tables["orders"], "commercial"), bind_grants=grants)["Resources"]
    [stmt] = res["Table"]["Properties"]["ResourcePolicy"]["PolicyDocument"]["Statement"]
    assert stmt["Sid"] == "BindRead" and stmt["Principal"] == {
        "AWS": [{"Fn::Sub": "arn:${AWS::Partition}:iam::210987654321:root"}]}
    assert "dynamodb:PutItem" not in stmt["Action"]
    with pytest.raises(ConfigError) as exc:
        load_component_text(text.replace("'210987654321'", "'acct-1'"))
    assert any(i.rule == "bind.account" for i in exc.value.issues)


def test_cli_synth_and_plan_carry_the_files_binds(tmp_path: Any) -> None:
    """`ddbkit synth` / `ddbkit plan` pass the file's binds: other accounts' grants reach the resource policy,
    and the endpoint policy allows only what the binds need (not the read-write default)."""
    import json

    from click.testing import CliRunner
    from moto import mock_aws

    from ddbkit_infra.cli import cli

    text = FILE.replace("binds: [{to: orders, access: read, attributes: [status, total]}]",
                        "binds: [{to: orders, access: read, account: '210987654321'}]")
    text = text.replace("access: read-write, attributes: [status]", "access: read")
    text = text.replace("tableName: Orders", "tableName: Orders\n      vpcEndpoints: "
                        "{vpcId: vpc-0a1b2c3d4e5f60718, routeTableIds: [rtb-0a1b2c3d4e5f60718]}")
    path = tmp_path / "orders.yaml"
    path.write_text(text)
    out = CliRunner().invoke(cli, ["synth", str(path), "--format", "json"])
    assert out.exit_code == 0, out.output
    res = json.loads(out.output)["Resources"]
    [grant] = [s for s in res["Table"]["Properties"]["ResourcePolicy"]["PolicyDocument"]["Statement"]
               if s.get("Sid") == "BindRead"]
    assert "210987654321" in json.dumps(grant["Principal"])
    actions = res["DynamoDbGatewayEndpoint"]["Properties"]["PolicyDocument"]["Statement"][0]["Action"]
    assert "dynamodb:GetItem" in actions and "dynamodb:PutItem" not in actions
    # apply through the CLI: the other account's grant reaches the live table's resource policy
    path.write_text(text.replace("\n      vpcEndpoints: {vpcId: vpc-0a1b2c3d4e5f60718, routeTableIds: [rtb-0a1b2c3d4e5f60718]}",
                                 ""))
    with mock_aws():
        applied = CliRunner().invoke(cli, ["apply", str(path), "--region", "us-east-1", "--yes"])
        assert applied.exit_code == 0, applied.output
        import boto3

        ddb = boto3.client("dynamodb", region_name="us-east-1")
        arn = ddb.describe_table(TableName="Orders")["Table"]["TableArn"]
        assert "210987654321" in ddb.get_resource_policy(ResourceArn=arn)["Policy"]
