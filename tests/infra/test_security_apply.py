"""Plan/apply of issue 16's features on moto (in-process): DynamoDB resource policies (moto implements
PutResourcePolicy/GetResourcePolicy), EC2 VPC endpoints, S3 + CloudTrail trail; the CloudTrail Lake event
data store, which moto lacks, is checked with botocore's Stubber. Then ``audit`` on the same live state."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto_gaps import MotoGaps, effective, run

from ddbkit_infra.apply import apply_plan
from ddbkit_infra.audit import audit_table
from ddbkit_infra.plan import diff, make_plan
from ddbkit_infra.plan.security import SecurityState, trail_bucket_name

ORDERS: dict[str, Any] = {
    "tableName": "Orders",
    "attributeDefinitions": [{"attributeName": "id", "attributeType": "S"}],
    "keySchema": [{"attributeName": "id", "keyType": "HASH"}],
    "streamSpecification": {"streamEnabled": True, "streamViewType": "NEW_AND_OLD_IMAGES"},
}


@pytest.fixture
def inprocess(monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoGaps]:
    from moto import mock_aws

    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    with mock_aws():
        yield MotoGaps()


def _vpc(gaps: MotoGaps) -> tuple[str, str]:
    ec2 = gaps.raw_client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    rtb = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    return vpc, rtb


def test_fedramp_apply_creates_trail_policies_and_endpoint_then_converges(inprocess: MotoGaps) -> None:
    vpc, rtb = _vpc(inprocess)
    subnet = inprocess.raw_client("ec2").create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    data = {**ORDERS, "vpcEndpoints": {"vpcId": vpc, "routeTableIds": [rtb], "interface": True, "subnetIds": [subnet]},
            "resourcePolicy": {"crossAccountPrincipals": ["210987654321"], "denyOutsideVpcEndpoints": True}}
    eff = effective(data, "fedramp-moderate")
    run(eff, inprocess)

    ddb = inprocess.raw_client("dynamodb")
    desc = ddb.describe_table(TableName="Orders")["Table"]
    policy = json.loads(ddb.get_resource_policy(ResourceArn=desc["TableArn"])["Policy"])
    sids = {s["Sid"]: s for s in policy["Statement"]}
    endpoints = {e["VpcEndpointType"]: e for e in inprocess.raw_client("ec2").describe_vpc_endpoints()["VpcEndpoints"]}
    endpoint, interface = endpoints["Gateway"], endpoints["Interface"]
    assert endpoint["RouteTableIds"] == [rtb] and interface["SubnetIds"] == [subnet]
    assert sids["DenyOutsideVpcEndpoints"]["Condition"]["StringNotEquals"]["aws:SourceVpce"] == [
        endpoint["VpcEndpointId"], interface["VpcEndpointId"]]
    assert sids["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert sids["CrossAccountAccess"]["Principal"] == {"AWS": ["arn:aws:iam::210987654321:root"]}
    ep_policy = json.loads(endpoint["PolicyDocument"])
    assert all(desc["TableArn"] in json.dumps(s["Resource"]) or s["Resource"] == "*"
               for s in ep_policy["Statement"])
    stream_policy = json.loads(inprocess.stream_policies[desc["LatestStreamArn"]])  # emulated: moto lacks it
    assert "CrossAccountStreamRead" in {s["Sid"] for s in stream_policy["Statement"]}

    ct = inprocess.raw_client("cloudtrail")
    trail = ct.get_trail(Name="ddbkit-Orders")["Trail"]
    assert trail["LogFileValidationEnabled"] is True and trail["KmsKeyId"]
    assert ct.get_trail_status(Name="ddbkit-Orders")["IsLogging"] is True
    selectors = ct.get_event_selectors(TrailName="ddbkit-Orders")["AdvancedEventSelectors"]
    assert desc["TableArn"] in json.dumps(selectors)
    s3 = inprocess.raw_client("s3")
    bucket = trail_bucket_name(eff.config, "123456789012", "us-east-1")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
    retention = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert (retention["Mode"], retention["Days"]) == ("COMPLIANCE", 365)
    assert "aws:SecureTransport" in s3.get_bucket_policy(Bucket=bucket)["Policy"]

    assert make_plan(eff, inprocess.clients()).pending == []  # converged: reads back what it wrote

    report = audit_table(inprocess.clients(), "Orders", "fedramp-moderate", eff.config)
    by = {r.control: r for r in report.results}
    assert by["audit trail (CloudTrail data events)"].status == "PASS"
    assert by["resource policy denies requests without TLS"].status == "PASS"
    assert by["VPC endpoint for the table"].status == "PASS"


def test_audit_fails_a_fedramp_table_without_trail_or_tls_policy(inprocess: MotoGaps) -> None:
    eff = effective(ORDERS, "commercial")
    run(eff, inprocess)
    report = audit_table(inprocess.clients(), "Orders", "fedramp-moderate")
    by = {r.control: r for r in report.results}
    assert by["audit trail (CloudTrail data events)"].status == "FAIL"
    assert by["resource policy denies requests without TLS"].status == "FAIL"
    assert by["VPC endpoint for the table"].status == "N/A"


def test_event_data_store_apply_checked_with_stubber() -> None:
    """moto has no CloudTrail Lake: the create call is checked against botocore's model with Stubber."""
    eff = effective({**ORDERS, "auditTrail": {"kind": "event-data-store"}}, "fedramp-moderate")
    from ddbkit_infra.plan import LiveState

    live = LiveState(region="us-east-1", account="123456789012", security=SecurityState(
        trail_key_arn="arn:aws:kms:us-east-1:123456789012:key/12345678-1234-1234-1234-123456789012"))
    plan = diff(copy.deepcopy(eff.config), live)
    [change] = [c for c in plan.changes if c.resource == "cloudtrail:event-data-store"]
    [call] = change.calls
    client = boto3.client("cloudtrail", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(client) as stub:
        stub.add_response("create_event_data_store", {"EventDataStoreArn": "arn:aws:cloudtrail:us-east-1:"
                                                      "123456789012:eventdatastore/abc"}, {
            "Name": "ddbkit-Orders", "AdvancedEventSelectors": ANY, "RetentionPeriod": 365, "KmsKeyId": ANY,
            "MultiRegionEnabled": False, "OrganizationEnabled": False, "TerminationProtectionEnabled": True})
        params = {k: v for k, v in call.params.items()}
        client.create_event_data_store(**json.loads(json.dumps(params, default=str)))
        stub.assert_no_pending_responses()
    assert apply_plan  # the same ApiCall objects apply sends


def test_plan_carries_bind_grants_and_accesses(inprocess: MotoGaps) -> None:
    vpc, rtb = _vpc(inprocess)
    eff = effective({**ORDERS, "vpcEndpoints": {"vpcId": vpc, "routeTableIds": [rtb]},
                     "resourcePolicy": {}}, "commercial")
    plan = make_plan(eff, inprocess.clients(), bind_accesses=["read"], bind_grants=[("210987654321", "write")])
    apply_plan(plan, inprocess.clients(), poll=0.0)
    ddb = inprocess.raw_client("dynamodb")
    arn = ddb.describe_table(TableName="Orders")["Table"]["TableArn"]
    [grant] = json.loads(ddb.get_resource_policy(ResourceArn=arn)["Policy"])["Statement"]
    assert grant["Sid"] == "BindWrite" and "dynamodb:PutItem" in grant["Action"]
    [endpoint] = inprocess.raw_client("ec2").describe_vpc_endpoints()["VpcEndpoints"]
    actions = json.loads(endpoint["PolicyDocument"])["Statement"][0]["Action"]
    assert "dynamodb:GetItem" in actions and "dynamodb:PutItem" not in actions
