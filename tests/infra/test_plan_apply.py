"""plan / apply / destroy against moto (in-process and server), and botocore's Stubber where moto falls short.

moto 5.2 lacks some of what provisioning uses (see :class:`MotoGaps`); those operations are emulated
in front of moto for the end-to-end tests, and their exact requests are checked with botocore's
Stubber in the tests marked "moto lacks ...".
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.stub import ANY, Stubber
from click.testing import CliRunner
from moto_gaps import MotoGaps, effective, run

from ddbkit.config import load_component_file
from ddbkit_infra.apply import apply_plan, destroy
from ddbkit_infra.cli import cli, provision_cmds
from ddbkit_infra.compliance import resolve
from ddbkit_infra.plan import (
    Action,
    AwsClients,
    LiveState,
    Plan,
    ProvisioningError,
    diff,
    make_plan,
    read_live_state,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*/component.yaml"))
REGION = "us-east-1"

# ==================================================================================================
# Fixtures and helpers
# ==================================================================================================


@pytest.fixture
def managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto knows AWS-managed IAM policies (AWS Backup's role attaches two) only with this variable, read
    when its IAM backend is (re)built; request it before ``moto``/``inprocess``. It costs ~0.5 s a test."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


@pytest.fixture(params=["moto-inprocess", pytest.param("moto-server", marks=pytest.mark.integration)])
def moto(request: pytest.FixtureRequest) -> Iterator[MotoGaps]:
    """moto in-process or moto's server, fronted by :class:`MotoGaps`; empty at the start."""
    if request.param == "moto-inprocess":
        from moto import mock_aws

        with mock_aws():
            yield MotoGaps()
        return
    server = request.getfixturevalue("moto_server")
    server.reset()
    try:
        yield MotoGaps(server.endpoint_url)
    finally:
        server.reset()


@pytest.fixture
def inprocess() -> Iterator[MotoGaps]:
    """moto in-process only (fast; for the change-by-change tests)."""
    from moto import mock_aws

    with mock_aws():
        yield MotoGaps()


BASE: dict[str, Any] = {
    "tableName": "Orders",
    "billingMode": "PROVISIONED",
    "provisionedThroughput": {"readCapacityUnits": 5, "writeCapacityUnits": 5},
    "attributeDefinitions": [{"attributeName": "pk", "attributeType": "S"},
                             {"attributeName": "sk", "attributeType": "S"}],
    "keySchema": [{"attributeName": "pk", "keyType": "HASH"}, {"attributeName": "sk", "keyType": "RANGE"}],
    "tags": {"team": "orders", "stale": "x"},
    "monitoring": {"level": "basic"},
}




def with_(data: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    out.update(changes)
    return out




def by_resource(plan: Plan, resource: str) -> list[Any]:
    return [c for c in plan.changes if c.resource == resource]


def fields_of(plan: Plan, resource: str) -> dict[str, tuple[Any, Any]]:
    return {f.path: (f.old, f.new) for c in by_resource(plan, resource) for f in c.fields}


def write_component(tmp_path: Path, data: dict[str, Any], tier: str = "commercial") -> Path:
    path = tmp_path / "component.yaml"
    path.write_text(yaml.safe_dump({"complianceFramework": tier, "components": [
        {"name": "orders", "type": "dynamodb-table", "config": data}]}))
    return path


# ==================================================================================================
# Examples end to end
# ==================================================================================================


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.parent.name for p in EXAMPLES])
def test_example_plans_create_applies_and_second_plan_is_noop(managed_policies: None, moto: MotoGaps,
                                                             example: Path) -> None:
    loaded = load_component_file(example)
    for eff in (resolve(t) for t in loaded.tables.values()):
        cfg = eff.config
        clients = moto.clients()
        first = make_plan(eff, clients)
        actions = {c.action for c in first.changes}
        assert actions == {Action.CREATE}, first.render()
        table_change = next(c for c in first.changes if c.resource == "dynamodb:table")
        assert {f.path for f in table_change.fields} >= {"KeySchema", "AttributeDefinitions", "BillingMode"}

        apply_plan(first, clients, poll=0, rich=False)

        ddb = moto.raw_client("dynamodb")
        desc = ddb.describe_table(TableName=cfg.table_name)["Table"]
        assert [k["AttributeName"] for k in desc["KeySchema"]] == [k.attribute_name for k in cfg.key_schema]
        assert {g["IndexName"] for g in desc.get("GlobalSecondaryIndexes", [])} == {
            g.index_name for g in cfg.global_secondary_indexes}
        pitr = ddb.describe_continuous_backups(TableName=cfg.table_name)["ContinuousBackupsDescription"]
        assert (pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED") == cfg.pitr_enabled
        alarms = moto.raw_client("cloudwatch").describe_alarms(AlarmNamePrefix=f"ddbkit-{cfg.table_name}-")
        assert len(alarms["MetricAlarms"]) == len(by_resource(first, "cloudwatch:alarm"))

        second = make_plan(eff, moto.clients())
        assert second.pending == [] and second.refused == [], second.render()
        assert {c.action for c in second.changes} == {Action.NOOP}

    if example.parent.name == "global-leaderboard":
        # moto lacks replicas and contributor insights: they went through the emulator, per region
        assert "UpdateTable.ReplicaUpdates" in moto.calls and "UpdateContributorInsights" in moto.calls
        assert {r for (r, _t, _i) in moto.insights} == {"us-east-1", "us-west-2", "eu-west-1"}
        west = moto.raw_client("dynamodb", "us-west-2")
        assert west.describe_continuous_backups(TableName="GlobalLeaderboard")[
            "ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
        assert west.describe_table(TableName="GlobalLeaderboard")["Table"]["DeletionProtectionEnabled"] is True
        vaults = moto.raw_client("backup", "us-west-2").list_backup_vaults()["BackupVaultList"]
        assert [v["BackupVaultName"] for v in vaults] == ["ddbkit-GlobalLeaderboard"]  # cross-region copy target
    if example.parent.name == "iot-time-series":
        kms = moto.raw_client("kms")
        key = kms.describe_key(KeyId="alias/ddbkit/SensorData")["KeyMetadata"]
        assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True
        desc = moto.raw_client("dynamodb").describe_table(TableName="SensorData")["Table"]
        assert desc["SSEDescription"]["KMSMasterKeyArn"] == key["Arn"]
        targets = moto.raw_client("application-autoscaling").describe_scalable_targets(
            ServiceNamespace="dynamodb")["ScalableTargets"]
        assert {(t["ResourceId"], t["ScalableDimension"]) for t in targets} == {
            ("table/SensorData", "dynamodb:table:ReadCapacityUnits"),
            ("table/SensorData", "dynamodb:table:WriteCapacityUnits"),
            ("table/SensorData/index/SensorTypeIndex", "dynamodb:index:ReadCapacityUnits"),
            ("table/SensorData/index/SensorTypeIndex", "dynamodb:index:WriteCapacityUnits")}


# ==================================================================================================
# In-place changes
# ==================================================================================================


def test_in_place_changes_are_planned_field_by_field_and_applied(moto: MotoGaps) -> None:
    run(effective(BASE), moto)
    changed = with_(BASE,
                    provisionedThroughput={"readCapacityUnits": 10, "writeCapacityUnits": 5},
                    attributeDefinitions=[*BASE["attributeDefinitions"], {"attributeName": "status",
                                                                          "attributeType": "S"}],
                    globalSecondaryIndexes=[{"indexName": "ByStatus",
                                             "keySchema": [{"attributeName": "status", "keyType": "HASH"}],
                                             "provisionedThroughput": {"readCapacityUnits": 2,
                                                                       "writeCapacityUnits": 2}}],
                    timeToLiveSpecification={"enabled": True, "attributeName": "expiresAt"},
                    pointInTimeRecoveryEnabled=True,
                    tags={"team": "payments"})
    eff = effective(changed)
    plan = make_plan(eff, moto.clients())

    table = fields_of(plan, "dynamodb:table")
    assert table["ProvisionedThroughput.ReadCapacityUnits"] == (5, 10)
    assert "ProvisionedThroughput.WriteCapacityUnits" not in table
    assert table["GlobalSecondaryIndexes.ByStatus"][0] is None
    assert fields_of(plan, "dynamodb:ttl")["TimeToLiveSpecification"] == (
        {"Enabled": False, "AttributeName": None}, {"Enabled": True, "AttributeName": "expiresAt"})
    assert fields_of(plan, "dynamodb:point-in-time-recovery")["PointInTimeRecoveryEnabled"] == (False, True)
    tags = fields_of(plan, "dynamodb:tags")
    assert tags["Tags.team"] == ("orders", "payments") and tags["Tags.stale"] == ("x", None)
    # one UpdateTable per change DynamoDB accepts at once: throughput, then the new index
    table_change = by_resource(plan, "dynamodb:table")[0]
    assert table_change.action is Action.UPDATE
    updates = [c.params for c in table_change.calls]
    assert [sorted(k for k in u if k != "TableName") for u in updates] == [
        ["ProvisionedThroughput"], ["AttributeDefinitions", "GlobalSecondaryIndexUpdates"]]
    assert "CreateTable" not in plan.render() and "delete_table" not in str(plan.to_dict())

    apply_plan(plan, moto.clients(), poll=0, rich=False)
    ddb = moto.raw_client("dynamodb")
    desc = ddb.describe_table(TableName="Orders")["Table"]
    assert desc["ProvisionedThroughput"]["ReadCapacityUnits"] == 10
    assert [g["IndexName"] for g in desc["GlobalSecondaryIndexes"]] == ["ByStatus"]
    assert ddb.describe_time_to_live(TableName="Orders")["TimeToLiveDescription"]["AttributeName"] == "expiresAt"
    tags = {t["Key"]: t["Value"] for t in ddb.list_tags_of_resource(ResourceArn=desc["TableArn"])["Tags"]}
    assert tags == {"team": "payments", "compliance-framework": "commercial"}
    assert make_plan(eff, moto.clients()).pending == []


def test_gsi_delete_and_billing_switch_are_separate_updates(inprocess: MotoGaps) -> None:
    with_gsi = with_(BASE, attributeDefinitions=[*BASE["attributeDefinitions"],
                                                 {"attributeName": "status", "attributeType": "S"}],
                     globalSecondaryIndexes=[{"indexName": "ByStatus",
                                              "keySchema": [{"attributeName": "status", "keyType": "HASH"}],
                                              "provisionedThroughput": {"readCapacityUnits": 2,
                                                                        "writeCapacityUnits": 2}}])
    run(effective(with_gsi), inprocess)
    on_demand = with_(BASE, billingMode="PAY_PER_REQUEST")
    on_demand.pop("provisionedThroughput")
    plan = make_plan(effective(on_demand), inprocess.clients())
    change = by_resource(plan, "dynamodb:table")[0]
    assert {f.path: (f.old, f.new) for f in change.fields} == {
        "BillingMode": ("PROVISIONED", "PAY_PER_REQUEST"), "GlobalSecondaryIndexes.ByStatus": ("present", None)}
    assert [c.params.get("BillingMode") or c.params["GlobalSecondaryIndexUpdates"] for c in change.calls] == [
        "PAY_PER_REQUEST", [{"Delete": {"IndexName": "ByStatus"}}]]
    apply_plan(plan, inprocess.clients(), poll=0, rich=False)
    desc = inprocess.raw_client("dynamodb").describe_table(TableName="Orders")["Table"]
    assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST" and not desc.get("GlobalSecondaryIndexes")


def test_autoscaling_policy_change_is_an_update_of_that_field(inprocess: MotoGaps) -> None:
    scaled = with_(BASE, autoScaling={"readCapacity": {"minCapacity": 5, "maxCapacity": 50}})
    run(effective(scaled), inprocess)
    scaled["autoScaling"]["readCapacity"]["targetTrackingScalingPolicyConfiguration"] = {
        "targetValue": 50.0, "scaleInCooldown": 120}
    plan = make_plan(effective(scaled), inprocess.clients())
    change = next(c for c in plan.pending if c.resource == "application-autoscaling:target")
    assert change.action is Action.UPDATE
    assert {f.path: (f.old, f.new) for f in change.fields} == {
        "TargetTracking.TargetValue": (70.0, 50.0), "TargetTracking.ScaleInCooldown": (60, 120)}
    assert [c.operation for c in change.calls] == ["put_scaling_policy"]
    apply_plan(plan, inprocess.clients(), poll=0, rich=False)
    assert make_plan(effective(scaled), inprocess.clients()).pending == []


# ==================================================================================================
# Refusals, destroy, dry run
# ==================================================================================================


def test_key_schema_change_is_refused_and_the_table_kept(moto: MotoGaps) -> None:
    run(effective(BASE), moto)
    ddb = moto.raw_client("dynamodb")
    ddb.put_item(TableName="Orders", Item={"pk": {"S": "a"}, "sk": {"S": "1"}})
    rekeyed = with_(BASE, keySchema=[{"attributeName": "sk", "keyType": "HASH"},
                                     {"attributeName": "pk", "keyType": "RANGE"}])
    plan = make_plan(effective(rekeyed), moto.clients())
    [refused] = plan.refused
    assert refused.resource == "dynamodb:table" and "key schema" in refused.reason
    assert "never deletes a table" in refused.reason
    with pytest.raises(ProvisioningError, match="key schema"):
        apply_plan(plan, moto.clients(), poll=0)
    assert ddb.get_item(TableName="Orders", Key={"pk": {"S": "a"}, "sk": {"S": "1"}}).get("Item")


def test_lsi_change_is_refused(inprocess: MotoGaps) -> None:
    run(effective(BASE), inprocess)
    with_lsi = with_(BASE, attributeDefinitions=[*BASE["attributeDefinitions"],
                                                 {"attributeName": "created", "attributeType": "N"}],
                     localSecondaryIndexes=[{"indexName": "ByCreated", "keySchema": [
                         {"attributeName": "pk", "keyType": "HASH"}, {"attributeName": "created", "keyType": "RANGE"}]}])
    [refused] = make_plan(effective(with_lsi), inprocess.clients()).refused
    assert "local secondary indexes" in refused.reason
    assert refused.fields[0].path == "LocalSecondaryIndexes" and refused.fields[0].new == ["ByCreated"]


def test_cli_apply_refusal_exits_1_without_touching_the_table(inprocess: MotoGaps, tmp_path: Path) -> None:
    run(effective(BASE), inprocess)
    rekeyed = with_(BASE, keySchema=[{"attributeName": "pk", "keyType": "HASH"}])
    rekeyed["attributeDefinitions"] = [{"attributeName": "pk", "attributeType": "S"}]
    result = CliRunner().invoke(cli, ["apply", str(write_component(tmp_path, rekeyed)), "--poll", "0"])
    assert result.exit_code == 1
    assert "error: dynamodb:table Orders: refused:" in result.output
    desc = inprocess.raw_client("dynamodb").describe_table(TableName="Orders")["Table"]
    assert len(desc["KeySchema"]) == 2


def test_destroy_refuses_with_deletion_protection_then_deletes(moto: MotoGaps) -> None:
    protected = with_(BASE, deletionProtectionEnabled=True)
    run(effective(protected), moto)
    with pytest.raises(ProvisioningError, match="deletion protection"):
        destroy(effective(protected).config, moto.clients(), poll=0)
    assert moto.raw_client("dynamodb").describe_table(TableName="Orders")["Table"]["TableStatus"] == "ACTIVE"

    unprotected = with_(BASE, deletionProtectionEnabled=False)
    plan = run(effective(unprotected), moto)
    assert fields_of(plan, "dynamodb:table") == {"DeletionProtectionEnabled": (True, False)}
    done = destroy(effective(unprotected).config, moto.clients(), poll=0)
    assert done[-1].startswith("delete table Orders")
    assert moto.raw_client("dynamodb").list_tables()["TableNames"] == []
    assert moto.raw_client("cloudwatch").describe_alarms(AlarmNamePrefix="ddbkit-Orders-")["MetricAlarms"] == []


def test_cli_destroy_with_protection_exits_1(inprocess: MotoGaps, tmp_path: Path) -> None:
    protected = with_(BASE, deletionProtectionEnabled=True)
    run(effective(protected), inprocess)
    result = CliRunner().invoke(cli, ["destroy", str(write_component(tmp_path, protected)), "--poll", "0", "--yes"])
    assert result.exit_code == 1 and "deletion protection is on" in result.output
    assert inprocess.raw_client("dynamodb").list_tables()["TableNames"] == ["Orders"]


def test_dry_run_changes_nothing(inprocess: MotoGaps, tmp_path: Path) -> None:
    path = write_component(tmp_path, BASE)
    result = CliRunner().invoke(cli, ["apply", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "(dry run) create dynamodb:table Orders: dynamodb.create_table" in result.output
    assert inprocess.raw_client("dynamodb").list_tables()["TableNames"] == []
    assert inprocess.raw_client("cloudwatch").describe_alarms()["MetricAlarms"] == []

    result = CliRunner().invoke(cli, ["destroy", str(path), "--dry-run"])
    assert "nothing to destroy" in result.output


def test_cli_plan_then_apply_then_plan(inprocess: MotoGaps, tmp_path: Path) -> None:
    path = write_component(tmp_path, BASE)
    result = CliRunner().invoke(cli, ["plan", str(path), "--detailed-exitcode"])
    assert result.exit_code == 2, result.output
    assert "+ create dynamodb:table Orders" in result.output and "BillingMode" in result.output
    result = CliRunner().invoke(cli, ["apply", str(path), "--poll", "0"])
    assert result.exit_code == 0, result.output
    assert "creating dynamodb:table Orders: dynamodb.create_table" in result.output
    result = CliRunner().invoke(cli, ["plan", str(path), "--detailed-exitcode"])
    assert result.exit_code == 0, result.output
    assert "0 to create, 0 to update, 0 to delete" in result.output
    result = CliRunner().invoke(cli, ["apply", str(path)])
    assert "Orders: nothing to do" in result.output


def test_moto_gaps_without_emulation_are_reported_as_unknown(inprocess: MotoGaps) -> None:
    """Plain moto (no emulator): contributor insights cannot be read; plan says "not checked locally" instead of
    crashing, and does not propose (as pending) a change it cannot check (issue 23)."""
    data = with_(BASE, contributorInsightsSpecification={"enabled": True})
    run(effective(with_(BASE)), inprocess)
    live = read_live_state(AwsClients(REGION), effective(data).config)
    assert live.unsupported == ["dynamodb:DescribeContributorInsights"]
    plan = diff(effective(data).config, live)
    [ci] = by_resource(plan, "dynamodb:contributor-insights")
    assert ci.action is Action.UNCHECKED and ci not in plan.pending
    assert "does not implement dynamodb:DescribeContributorInsights" in ci.reason
    assert "? not checked locally dynamodb:contributor-insights Orders" in plan.render()


# ==================================================================================================
# DAX (moto has clusters, not subnet/parameter groups: emulated)
# ==================================================================================================

DAX = with_(BASE, billingMode="PAY_PER_REQUEST", provisionedThroughput=None,  # fedramp: autoscaled or on-demand
            monitoring={"level": "enhanced"}, daxCluster={"enabled": True, "clusterName": "orders-dax", "nodeType": "dax.r5.large",
                              "replicationFactor": 3, "subnetIds": ["subnet-1", "subnet-2"],
                              "securityGroupIds": ["sg-1"], "parameterGroupName": "orders-params"})


def test_dax_cluster_is_created_with_role_and_groups_and_node_type_change_refused(managed_policies: None,
                                                                                 inprocess: MotoGaps) -> None:
    plan = run(effective(DAX, "fedramp-moderate"), inprocess)
    assert [c.resource for c in plan.changes if c.resource.startswith(("dax:", "iam:role"))
            and not c.name.startswith("ddbkit-trail-logs-")] == [  # (the audit trail's delivery role)
        "iam:role", "iam:role", "dax:subnet-group", "dax:parameter-group", "dax:cluster"]
    cluster = inprocess.raw_client("dax").describe_clusters(ClusterNames=["orders-dax"])["Clusters"][0]
    assert cluster["SSEDescription"]["Status"] == "ENABLED" and cluster["ClusterEndpointEncryptionType"] == "TLS"
    assert cluster["IamRoleArn"].endswith(":role/ddbkit-dax-Orders")
    iam = inprocess.raw_client("iam")
    assert iam.list_role_policies(RoleName="ddbkit-dax-Orders")["PolicyNames"] == []  # no inline policy
    [attached] = iam.list_attached_role_policies(RoleName="ddbkit-dax-Orders")["AttachedPolicies"]
    version = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=version)["PolicyVersion"]["Document"]
    assert "dynamodb:GetItem" in str(document)
    assert inprocess.subnet_groups["orders-dax-subnets"]["Subnets"] == [
        {"SubnetIdentifier": "subnet-1"}, {"SubnetIdentifier": "subnet-2"}]
    assert make_plan(effective(DAX, "fedramp-moderate"), inprocess.clients()).pending == []

    bigger = copy.deepcopy(DAX)
    bigger["daxCluster"]["nodeType"] = "dax.r5.xlarge"
    [refused] = make_plan(effective(bigger, "fedramp-moderate"), inprocess.clients()).refused
    assert refused.resource == "dax:cluster" and refused.fields[0].path == "NodeType"


# ==================================================================================================
# What moto lacks, checked request by request with botocore's Stubber
# ==================================================================================================

WEST_KEY = "arn:aws:kms:us-west-2:123456789012:key/22345678-1234-1234-1234-123456789012"
HOME_KEY = "arn:aws:kms:us-east-1:123456789012:key/12345678-1234-1234-1234-123456789012"
GLOBAL = with_(BASE, billingMode="PAY_PER_REQUEST", tags={"team": "orders"},
               sseSpecification={"sseEnabled": True, "kmsMasterKeyId": HOME_KEY},
               pointInTimeRecoveryEnabled=True,
               contributorInsightsSpecification={"enabled": True},
               globalTables={"regions": ["us-east-1", "us-west-2"],
                             "replicationGroup": [{"region": "us-west-2", "kmsKeyId": WEST_KEY}]})
GLOBAL.pop("provisionedThroughput")


def _live_table(cfg: Any) -> dict[str, Any]:
    return {"TableName": cfg.table_name, "TableArn": f"arn:aws:dynamodb:us-east-1:123456789012:table/{cfg.table_name}",
            "TableStatus": "ACTIVE", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                                   {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                     {"AttributeName": "sk", "AttributeType": "S"}],
            "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
            "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            "SSEDescription": {"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": HOME_KEY}}


class Stubs:
    """One Stubber per (service, region), attached as clients are created (AwsClients ``customize``)."""

    def __init__(self) -> None:
        self.expected: dict[tuple[str, str], list[tuple[str, dict[str, Any], dict[str, Any]]]] = {}
        self.stubbers: list[Stubber] = []

    def expect(self, service: str, region: str, op: str, params: dict[str, Any],
               response: dict[str, Any] | None = None) -> None:
        self.expected.setdefault((service, region), []).append((op, params, response or {}))

    def install(self, client: Any, service: str, region: str) -> None:
        stubber = Stubber(client)
        for op, params, response in self.expected.get((service, region), []):
            stubber.add_response(op, response, params)
        stubber.activate()
        self.stubbers.append(stubber)

    def verify(self) -> None:
        for s in self.stubbers:
            s.assert_no_pending_responses()


def test_contributor_insights_requests_with_stubber() -> None:
    """moto lacks UpdateContributorInsights/DescribeContributorInsights: the exact requests, via Stubber."""
    cfg = effective(GLOBAL).config
    live = LiveState(region=REGION, account="123456789012", table=_live_table(cfg), pitr=True,
                     tags=dict(cfg.tags), contributor_insights="DISABLED")
    plan = diff(cfg, live)
    [ci] = by_resource(plan, "dynamodb:contributor-insights")
    assert ci.action is Action.UPDATE and ci.fields[0].old is False and ci.fields[0].new is True

    stubs = Stubs()
    stubs.expect("dynamodb", REGION, "update_contributor_insights",
                 {"TableName": "Orders", "ContributorInsightsAction": "ENABLE"},
                 {"TableName": "Orders", "ContributorInsightsStatus": "ENABLING"})
    clients = AwsClients(REGION, session=boto3.Session(region_name=REGION), customize=stubs.install)
    result = apply_plan(Plan(plan.table, plan.region, [ci]), clients, poll=0, rich=False)
    assert result.calls == ["dynamodb.update_contributor_insights"]
    stubs.verify()

    # reading it: DescribeContributorInsights answers ENABLED -> no change
    stubs = Stubs()
    stubs.expect("dynamodb", REGION, "describe_contributor_insights", {"TableName": "Orders"},
                 {"TableName": "Orders", "ContributorInsightsStatus": "ENABLED"})
    from ddbkit_infra.plan import contributor_insights_status

    clients = AwsClients(REGION, session=boto3.Session(region_name=REGION), customize=stubs.install)
    assert contributor_insights_status(live, clients.client("dynamodb"), "Orders", "ci") == "ENABLED"
    stubs.verify()


def test_replica_updates_with_per_region_kms_and_pitr_with_stubber() -> None:
    """moto lacks replicas (accepts ReplicaUpdates, creates nothing): the exact requests, via Stubber."""
    cfg = effective(GLOBAL).config
    live = LiveState(region=REGION, account="123456789012", table=_live_table(cfg), pitr=True,
                     tags=dict(cfg.tags), contributor_insights="ENABLED")
    plan = diff(cfg, live)
    [replica] = by_resource(plan, "dynamodb:replica")
    assert replica.action is Action.CREATE and replica.region == "us-west-2"
    assert {f.path: f.new for f in replica.fields} == {"Region": "us-west-2", "KMSMasterKeyId": WEST_KEY}
    [settings] = by_resource(plan, "dynamodb:replica-settings")
    assert {f.path for f in settings.fields} == {"PointInTimeRecoveryEnabled", "ContributorInsightsEnabled",
                                                  "Tags.team", "Tags.compliance-framework"}

    stubs = Stubs()
    creating = {**_live_table(cfg), "Replicas": [{"RegionName": "us-west-2", "ReplicaStatus": "CREATING"}]}
    active = {**_live_table(cfg), "Replicas": [{"RegionName": "us-west-2", "ReplicaStatus": "ACTIVE",
                                                "KMSMasterKeyId": WEST_KEY}]}
    stubs.expect("dynamodb", REGION, "update_table",
                 {"TableName": "Orders", "ReplicaUpdates": [{"Create": {"RegionName": "us-west-2",
                                                                        "KMSMasterKeyId": WEST_KEY}}]},
                 {"TableDescription": creating})
    stubs.expect("dynamodb", REGION, "describe_table", {"TableName": "Orders"}, {"Table": creating})
    stubs.expect("dynamodb", REGION, "describe_table", {"TableName": "Orders"}, {"Table": active})
    # apply checks the replica is listed (a local emulator accepts ReplicaUpdates and creates nothing)
    stubs.expect("dynamodb", REGION, "describe_table", {"TableName": "Orders"}, {"Table": active})
    # per-region PITR: UpdateTable's ReplicaUpdates has no PITR field, so it is the replica region's own call
    stubs.expect("dynamodb", "us-west-2", "update_continuous_backups",
                 {"TableName": "Orders", "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}},
                 {"ContinuousBackupsDescription": {"ContinuousBackupsStatus": "ENABLED"}})
    stubs.expect("dynamodb", "us-west-2", "update_contributor_insights",
                 {"TableName": "Orders", "ContributorInsightsAction": "ENABLE"}, {"TableName": "Orders"})
    stubs.expect("dynamodb", "us-west-2", "tag_resource",
                 {"ResourceArn": "arn:aws:dynamodb:us-west-2:123456789012:table/Orders", "Tags": ANY})
    clients = AwsClients(REGION, session=boto3.Session(region_name=REGION), customize=stubs.install)
    result = apply_plan(Plan(plan.table, plan.region, [replica, settings]), clients, poll=0, rich=False)
    assert result.calls == ["dynamodb.update_table", "dynamodb.update_continuous_backups [us-west-2]",
                            "dynamodb.update_contributor_insights [us-west-2]", "dynamodb.tag_resource [us-west-2]"]
    stubs.verify()


def test_replica_removal_is_refused() -> None:
    cfg = effective(with_(GLOBAL, globalTables={"regions": ["us-east-1", "us-west-2"], "replicationGroup": [
        {"region": "us-west-2", "kmsKeyId": WEST_KEY}]})).config
    from ddbkit_infra.plan import ReplicaState

    live = LiveState(region=REGION, account="123456789012", table=_live_table(cfg), pitr=True,
                     replicas={"us-west-2": ReplicaState("us-west-2", "ACTIVE", WEST_KEY, True, "ENABLED", None,
                                                         dict(cfg.tags)),
                               "eu-west-1": ReplicaState("eu-west-1", "ACTIVE")})
    [refused] = diff(cfg, live).refused
    assert refused.region == "eu-west-1" and "deletes that region's copy" in refused.reason


def test_home_region_outside_global_regions_is_an_error() -> None:
    cfg = effective(GLOBAL).config
    with pytest.raises(ProvisioningError, match="home region eu-central-1"):
        diff(cfg, LiveState(region="eu-central-1", account="123456789012"))


def test_cli_uses_the_client_factory(inprocess: MotoGaps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI builds clients through provision_cmds.make_clients (how the audit tests add the emulator)."""
    seen: list[tuple[str | None, str | None]] = []

    def factory(region: str | None, endpoint_url: str | None) -> AwsClients:
        seen.append((region, endpoint_url))
        return inprocess.clients(region or REGION)

    monkeypatch.setattr(provision_cmds, "make_clients", factory)
    result = CliRunner().invoke(cli, ["plan", str(write_component(tmp_path, BASE)), "--region", "us-east-1"])
    assert result.exit_code == 0, result.output
    assert seen == [("us-east-1", None)]


# ==================================================================================================
# Pure diffs (no backend): changes moto cannot show (it does not record UpdateTable's SSE)
# ==================================================================================================


def test_sse_key_change_is_an_update_table_with_the_new_key() -> None:
    cfg = effective(GLOBAL).config
    table = {**_live_table(cfg), "SSEDescription": {"Status": "ENABLED", "SSEType": "KMS",
                                                    "KMSMasterKeyArn": HOME_KEY.replace("1234-1234-1234", "9999-9999-9999")}}
    plan = diff(cfg, LiveState(region=REGION, account="123456789012", table=table, pitr=True, tags=dict(cfg.tags),
                               contributor_insights="ENABLED"))
    [change] = by_resource(plan, "dynamodb:table")
    assert change.action is Action.UPDATE and [f.path for f in change.fields] == ["SSESpecification"]
    assert change.calls[0].params == {"TableName": "Orders", "SSESpecification": {
        "Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": HOME_KEY}}


def test_stream_view_type_change_is_disable_then_enable() -> None:
    cfg = effective(with_(BASE, streamSpecification={"streamEnabled": True, "streamViewType": "NEW_IMAGE"})).config
    table = {**_live_table(cfg), "BillingModeSummary": {"BillingMode": "PROVISIONED"},
             "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
             "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}}
    [change] = by_resource(diff(cfg, LiveState(region=REGION, account="1", table=table)), "dynamodb:table")
    assert [c.params["StreamSpecification"] for c in change.calls] == [
        {"StreamEnabled": False}, {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}]
    assert [f.path for f in change.fields] == ["StreamSpecification"]


def test_ttl_attribute_rename_is_refused() -> None:
    cfg = effective(with_(BASE, timeToLiveSpecification={"enabled": True, "attributeName": "expiresAt"})).config
    live = LiveState(region=REGION, account="1", table=_live_table(cfg),
                     ttl={"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"})
    [refused] = [c for c in diff(cfg, live).refused if c.resource == "dynamodb:ttl"]
    assert refused.fields[0].old == "ttl" and "disable it first" in refused.reason


def test_endpoint_without_an_operation_fails_clearly(managed_policies: None, inprocess: MotoGaps) -> None:
    """Plain moto (no emulator) lacks CreateBackupSelection: apply stops there, naming it."""
    from ddbkit_infra.plan import UnsupportedOperationError

    data = with_(BASE, backupPolicy={"backupPlan": {"ruleName": "Daily", "schedule": "cron(0 2 * * ? *)",
                                                    "retention": 7}})
    clients = AwsClients(REGION, session=inprocess.session)
    with pytest.raises(UnsupportedOperationError, match="backup.create_backup_selection"):
        apply_plan(make_plan(effective(data), clients), clients, poll=0, rich=False)
    assert inprocess.raw_client("dynamodb").list_tables()["TableNames"] == ["Orders"]  # earlier calls applied


def test_progress_plain_lines_or_rich_bar(inprocess: MotoGaps) -> None:
    lines: list[str] = []
    plan = make_plan(effective(BASE), inprocess.clients())
    result = apply_plan(plan, inprocess.clients(), poll=0, rich=False, echo=lines.append)
    assert lines[0] == "creating dynamodb:table Orders: dynamodb.create_table"
    assert len(lines) == len(result.calls) == sum(len(c.calls) for c in plan.pending)

    changed = make_plan(effective(with_(BASE, tags={"team": "x"})), inprocess.clients())
    quiet: list[str] = []
    result = apply_plan(changed, inprocess.clients(), poll=0, rich=True, echo=quiet.append)
    assert quiet == [] and result.calls == ["dynamodb.tag_resource", "dynamodb.untag_resource"]


def test_unsupported_operation_detection() -> None:
    from botocore.exceptions import ClientError

    from ddbkit_infra.plan import unsupported

    def err(code: str, status: int) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                           "Op")

    assert unsupported(NotImplementedError("moto in-process"))
    assert unsupported(err("500", 500)) and unsupported(err("404", 404))  # moto server's HTML answers
    assert not unsupported(err("InternalServerError", 500))  # DynamoDB's own 500 is a real failure
    assert not unsupported(err("ResourceNotFoundException", 400))


# ==================================================================================================
# local emulators: skip what the endpoint lacks, on request only
# ==================================================================================================


def test_apply_on_plain_moto_server_skips_unsupported_only_when_asked(managed_policies: None, moto_backend: Any) -> None:
    from ddbkit_infra.plan import UnsupportedOperationError

    eff = resolve(load_component_file(ROOT / "examples/session-store/component.yaml").table())
    eff.config.sse_specification = None  # the example's KMS key ARN does not exist in moto
    clients = AwsClients(region=REGION, endpoint_url=moto_backend.endpoint_url)
    with pytest.raises(UnsupportedOperationError, match="create_backup_selection"):
        apply_plan(make_plan(eff, clients), clients, poll=0.05)
    # moto cannot read selections back: plan says "not checked locally" and does not propose the selection
    # again (issue 23); the rest (the alarms after it) is applied
    second = make_plan(eff, clients)
    assert [c.action for c in second.changes if c.resource == "backup:selection"] == [Action.UNCHECKED]
    result = apply_plan(second, clients, poll=0.05, skip_unsupported=True)
    assert result.skipped == [] and result.calls
    desc = moto_backend.client("dynamodb").describe_table(TableName="UserSessions")["Table"]
    assert desc["TableStatus"] == "ACTIVE"
    third = make_plan(eff, clients)
    assert third.pending == [] and "1 not checked locally" in third.render()
