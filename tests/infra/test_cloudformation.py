"""CloudFormation synth: every example under every tier lints clean, fedramp templates pass checkov.

cfn-lint and checkov run offline, each ONCE over a directory holding every template (module fixtures).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from ddbkit.config import ConfigError, load_component_file, parse_table_config
from ddbkit_infra.synth.alarms import alarm_specs
from ddbkit_infra.cli import cli
from ddbkit_infra.synth.cloudformation import render, synthesize
from ddbkit_infra.compliance import TIERS, EffectiveConfig, resolve
from ddbkit_infra.resources import scaling_specs

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EXAMPLES = sorted((ROOT / "examples").glob("*/component.yaml"))
TIER_NAMES = [t.value for t in TIERS]
WEST_KEY = "arn:aws:kms:us-west-2:123456789012:key/22345678-1234-1234-1234-123456789012"
FEDRAMP_CHECKS = {"CKV_AWS_28", "CKV_AWS_119", "CKV_AWS_165", "CKV_AWS_47", "CKV_AWS_7", "CKV_AWS_33", "CKV_AWS_166"}

# The spec's DAX snippet on a small table: the examples have no DAX, and CKV_AWS_47 needs one.
DAX_TABLE: dict[str, Any] = {
    "tableName": "CachedSessions",
    "attributeDefinitions": [{"attributeName": "sessionId", "attributeType": "S"}],
    "keySchema": [{"attributeName": "sessionId", "keyType": "HASH"}],
    "daxCluster": {"enabled": True, "clusterName": "user-sessions-dax", "nodeType": "dax.r5.large",
                   "replicationFactor": 3, "subnetIds": ["subnet-0a1b2c3d", "subnet-1a2b3c4d"],
                   "securityGroupIds": ["sg-0123456789abcdef0"], "parameterGroupName": "custom-dax-params"},
    # issue 16's features ride on this case so every linter sees them on every tier
    "vpcEndpoints": {"vpcId": "vpc-0a1b2c3d4e5f60718", "routeTableIds": ["rtb-0a1b2c3d4e5f60718"], "interface": True,
                     "subnetIds": ["subnet-0a1b2c3d"], "securityGroupIds": ["sg-0123456789abcdef0"]},
    "resourcePolicy": {"crossAccountPrincipals": ["210987654321"], "access": "read",
                       "denyOutsideVpcEndpoints": True},
    "auditTrail": {"kind": "event-data-store"},
}


def adapt(data: dict[str, Any], tier: str) -> dict[str, Any]:
    """An example's config adjusted the way a user moving it to ``tier`` would: what the tier forbids is
    raised to its minimum (monitoring, backup retention), and fedramp-high gets a second region."""
    d = copy.deepcopy(data)
    policy = TIERS[next(t for t in TIERS if t.value == tier)]
    level = d.get("monitoring", {}).get("level")
    if level and ["basic", "enhanced", "comprehensive"].index(level) < policy.min_monitoring.rank:
        d.pop("monitoring")
    for rule in [d.get("backupPolicy", {}).get("backupPlan"), *d.get("backupPolicy", {}).get("scheduledBackups", [])]:
        if rule and policy.backup_min_retention_days and rule["retention"] < policy.backup_min_retention_days:
            rule["retention"] = policy.backup_min_retention_days
    if policy.min_regions > 1 and "globalTables" not in d:
        d["globalTables"] = {"regions": ["us-east-1", "us-west-2"],
                             "replicationGroup": [{"region": "us-west-2", "kmsKeyId": WEST_KEY}]}
        if d.get("streamSpecification"):
            d["streamSpecification"] = {"streamEnabled": True, "streamViewType": "NEW_AND_OLD_IMAGES"}
    return d


def _cases() -> list[tuple[str, dict[str, Any], str]]:
    out = []
    for path in EXAMPLES:
        data = yaml.safe_load(path.read_text())
        for comp in data["components"]:
            if comp["type"] == "dynamodb-table":
                for tier in TIER_NAMES:
                    out.append((f"{path.parent.name}-{tier}", comp["config"], tier))
    out += [(f"dax-{tier}", DAX_TABLE, tier) for tier in TIER_NAMES]
    return out


CASES = _cases()


def effective(data: dict[str, Any], tier: str) -> EffectiveConfig:
    return resolve(parse_table_config(adapt(data, tier)), tier)


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Every case's template, also written to one directory (``_dir``) for the linters."""
    out: dict[str, dict[str, Any]] = {}
    d = tmp_path_factory.mktemp("templates")
    for name, data, tier in CASES:
        out[name] = synthesize(effective(data, tier))
        (d / f"{name}.yaml").write_text(render(out[name], "yaml"))
    out["_dir"] = {"path": str(d)}
    return out


@pytest.fixture(scope="module")
def cfn_lint(templates: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    files = sorted(Path(templates["_dir"]["path"]).glob("*.yaml"))
    proc = subprocess.run([str(BIN / "cfn-lint"), "--format", "json", *map(str, files)],
                          capture_output=True, text=True, timeout=300)
    assert proc.stdout.strip(), proc.stderr
    return list(json.loads(proc.stdout))


@pytest.fixture(scope="module")
def checkov(templates: dict[str, dict[str, Any]]) -> Iterator[dict[str, Any]]:
    proc = subprocess.run([str(BIN / "checkov"), "-d", templates["_dir"]["path"], "--framework", "cloudformation",
                           "--skip-download", "--compact", "-o", "json"], capture_output=True, text=True, timeout=300)
    data = json.loads(proc.stdout)
    yield data[0] if isinstance(data, list) else data


# ==================================================================================================


def test_every_example_adapts_to_every_tier() -> None:
    names = {n for n, _d, _t in CASES}
    assert len(names) == 3 * (len(EXAMPLES) + 1) and len(EXAMPLES) >= 3
    for _name, data, tier in CASES:
        effective(data, tier)  # raises ConfigError if the adaptation is not enough


def test_adapt_is_needed_where_the_tier_forbids_the_example() -> None:
    session = yaml.safe_load((ROOT / "examples/session-store/component.yaml").read_text())["components"][0]["config"]
    with pytest.raises(ConfigError, match="at least 365 required"):
        resolve(parse_table_config(session), "fedramp-moderate")


@pytest.mark.parametrize("name,data,tier", CASES, ids=[c[0] for c in CASES])
def test_template_shape(templates: dict[str, dict[str, Any]], name: str, data: dict[str, Any], tier: str) -> None:
    t = templates[name]
    cfg = effective(data, tier).config
    res = t["Resources"]
    table = res["Table"]
    multi = bool(cfg.global_tables and len(cfg.global_tables.all_regions()) > 1)
    assert table["Type"] == ("AWS::DynamoDB::GlobalTable" if multi else "AWS::DynamoDB::Table")
    assert table["Properties"]["TableName"] == cfg.table_name
    for stateful in ("Table", "TableKey", "BackupVault"):
        if stateful in res:
            assert res[stateful]["DeletionPolicy"] == "Retain" and res[stateful]["UpdateReplacePolicy"] == "Retain"
    assert set(t["Outputs"]) >= {"TableName", "TableArn"}
    if cfg.stream_specification and cfg.stream_specification.stream_enabled:
        assert t["Outputs"]["StreamArn"]["Value"] == {"Fn::GetAtt": ["Table", "StreamArn"]}
    assert ("TableKey" in res) == bool(cfg.sse_specification and cfg.sse_specification.create_key)
    alarms = [r for r in res.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert len(alarms) == len(alarm_specs(cfg, home_region="us-east-1" if multi else None))
    if tier != "commercial":
        assert {"BackupVault", "BackupPlan", "BackupSelection"} <= set(res)
        assert res["BackupVault"]["Properties"]["EncryptionKeyArn"]
        props = table["Properties"]
        if multi:
            assert all(r["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] for r in props["Replicas"])
            assert all(r["DeletionProtectionEnabled"] for r in props["Replicas"])
        else:
            assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
            assert props["DeletionProtectionEnabled"] is True
            assert props["SSESpecification"]["SSEEnabled"] is True and props["SSESpecification"]["KMSMasterKeyId"]


def test_cfn_lint_reports_no_errors(templates: dict[str, dict[str, Any]], cfn_lint: list[dict[str, Any]]) -> None:
    errors = [f"{Path(m['Filename']).name}: {m['Rule']['Id']} {m['Message']}" for m in cfn_lint
              if m["Level"] == "Error"]
    assert errors == []
    linted = {Path(m["Filename"]).stem for m in cfn_lint}
    assert linted <= {n for n in templates if n != "_dir"}  # the matches are about our templates


def test_cfn_lint_catches_a_broken_template(tmp_path: Path, templates: dict[str, dict[str, Any]]) -> None:
    """The lint fixture would see errors: a template with a bad BillingMode fails."""
    broken = copy.deepcopy(templates["session-store-commercial"])
    broken["Resources"]["Table"]["Properties"]["BillingMode"] = "ON_DEMAND"
    path = tmp_path / "broken.yaml"
    path.write_text(render(broken))
    proc = subprocess.run([str(BIN / "cfn-lint"), "--format", "json", str(path)], capture_output=True, text=True)
    assert any(m["Level"] == "Error" for m in json.loads(proc.stdout))


def test_fedramp_templates_pass_the_checkov_checks(templates: dict[str, dict[str, Any]],
                                                   checkov: dict[str, Any]) -> None:
    fedramp = {f"/{n}.yaml" for n, _d, t in CASES if t != "commercial"}
    failed = [(c["check_id"], c["file_path"], c["resource"]) for c in checkov["results"]["failed_checks"]
              if c["check_id"] in FEDRAMP_CHECKS and c["file_path"] in fedramp]
    assert failed == []
    passed: dict[str, set[str]] = {}
    for c in checkov["results"]["passed_checks"]:
        passed.setdefault(c["check_id"], set()).add(c["file_path"].lstrip("/").removesuffix(".yaml"))
    # every check really ran where it applies (no vacuous pass)
    assert {"iot-time-series-fedramp-moderate", "dax-fedramp-moderate"} <= passed["CKV_AWS_28"] & passed["CKV_AWS_119"]
    assert {"global-leaderboard-fedramp-high", "iot-time-series-fedramp-high"} <= passed["CKV_AWS_165"]
    assert {"dax-fedramp-moderate", "dax-fedramp-high"} <= passed["CKV_AWS_47"]
    assert {"iot-time-series-fedramp-moderate", "dax-fedramp-high"} <= passed["CKV_AWS_7"] & passed["CKV_AWS_33"]
    assert {n.strip("/").removesuffix(".yaml") for n in fedramp} <= passed["CKV_AWS_166"]


def test_fedramp_templates_fail_no_checkov_check_at_all(checkov: dict[str, Any]) -> None:
    """Beyond the named checks: CloudTrail, S3, KMS, VPC endpoint, IAM... every failed check is a finding
    (two are skipped in the template with a reason: CKV_AWS_18 and CKV_AWS_67 on the audit trail)."""
    fedramp = {f"/{n}.yaml" for n, _d, t in CASES if t != "commercial"}
    failed = [(c["check_id"], c["file_path"], c["resource"]) for c in checkov["results"]["failed_checks"]
              if c["file_path"] in fedramp]
    assert failed == []
    passed = {c["check_id"] for c in checkov["results"]["passed_checks"] if c["file_path"] in fedramp}
    assert {"CKV_AWS_35", "CKV_AWS_36", "CKV_AWS_21", "CKV_AWS_53", "CKV_AWS_158"} <= passed


def test_global_table_shape(templates: dict[str, dict[str, Any]]) -> None:
    props = templates["global-leaderboard-fedramp-high"]["Resources"]["Table"]["Properties"]
    assert [r["Region"] for r in props["Replicas"]] == ["us-east-1", "us-west-2", "eu-west-1"]
    keys = {r["Region"]: r["SSESpecification"]["KMSMasterKeyId"] for r in props["Replicas"]}
    assert keys["us-west-2"].startswith("arn:aws:kms:us-west-2:") and keys["eu-west-1"].startswith("arn:aws:kms:eu-west-1:")
    assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
    assert all(r["ContributorInsightsSpecification"] == {"Enabled": True} for r in props["Replicas"])
    assert all({"Key": "compliance-framework", "Value": "fedramp-high"} in r["Tags"] for r in props["Replicas"])
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    res = templates["global-leaderboard-fedramp-high"]["Resources"]
    copies = [c for rule in res["BackupPlan"]["Properties"]["BackupPlan"]["BackupPlanRule"] for c in rule["CopyActions"]]
    assert copies and all(":backup:us-west-2:" in c["DestinationBackupVaultArn"]["Fn::Sub"] for c in copies)
    assert "ReplicationLatency" in str([r for r in res.values() if r["Type"] == "AWS::CloudWatch::Alarm"])

    # provisioned global table: autoscaled writes on the table and GSI, reads per replica
    iot = templates["iot-time-series-fedramp-high"]["Resources"]
    iot_props = iot["Table"]["Properties"]
    assert not [r for r in iot.values() if r["Type"].startswith("AWS::ApplicationAutoScaling")]
    wset = iot_props["WriteProvisionedThroughputSettings"]["WriteCapacityAutoScalingSettings"]
    assert (wset["MinCapacity"], wset["MaxCapacity"]) == (10, 4000)
    assert iot_props["GlobalSecondaryIndexes"][0]["WriteProvisionedThroughputSettings"][
        "WriteCapacityAutoScalingSettings"]["MaxCapacity"] == 2000
    west = next(r for r in iot_props["Replicas"] if r["Region"] == "us-west-2")
    assert west["ReadProvisionedThroughputSettings"]["ReadCapacityAutoScalingSettings"]["MaxCapacity"] == 1000
    # the GSI's reads are autoscaled per replica too (fedramp: DynamoDB.1 on every GSI, issue 16)
    [gsi] = west["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "SensorTypeIndex" and gsi["ReadProvisionedThroughputSettings"][
        "ReadCapacityAutoScalingSettings"]["MaxCapacity"] == 1000
    home = next(r for r in iot_props["Replicas"] if r["Region"] == "us-east-1")
    assert home["SSESpecification"]["KMSMasterKeyId"] == {"Fn::GetAtt": ["TableKey", "Arn"]}


def test_plain_table_autoscaling_shares_the_policy_config_with_apply(templates: dict[str, dict[str, Any]]) -> None:
    res = templates["iot-time-series-commercial"]["Resources"]
    cfg = effective(yaml.safe_load((ROOT / "examples/iot-time-series/component.yaml").read_text())[
        "components"][0]["config"], "commercial").config
    specs = scaling_specs(cfg)
    targets = {k: r for k, r in res.items() if r["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget"}
    policies = [r for r in res.values() if r["Type"] == "AWS::ApplicationAutoScaling::ScalingPolicy"]
    assert len(targets) == len(policies) == len(specs) == 4
    got = {(r["Properties"]["ResourceId"]["Fn::Sub"], r["Properties"]["ScalableDimension"]) for r in targets.values()}
    assert got == {("table/${Table}", "dynamodb:table:ReadCapacityUnits"),
                   ("table/${Table}", "dynamodb:table:WriteCapacityUnits"),
                   ("table/${Table}/index/SensorTypeIndex", "dynamodb:index:ReadCapacityUnits"),
                   ("table/${Table}/index/SensorTypeIndex", "dynamodb:index:WriteCapacityUnits")}
    assert sorted(json.dumps(p["Properties"]["TargetTrackingScalingPolicyConfiguration"], sort_keys=True)
                  for p in policies) == sorted(json.dumps(s.target_tracking(), sort_keys=True) for s in specs)
    assert all(p["Properties"]["ScalingTargetId"]["Ref"] in targets for p in policies)


def test_created_key_has_rotation_and_root_principal(templates: dict[str, dict[str, Any]]) -> None:
    res = templates["iot-time-series-fedramp-moderate"]["Resources"]
    key = res["TableKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    principals = [s["Principal"] for s in key["KeyPolicy"]["Statement"]]
    assert principals == [{"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}]
    assert res["TableKeyAlias"]["Properties"]["AliasName"] == "alias/ddbkit/SensorData"
    assert res["Table"]["Properties"]["SSESpecification"]["KMSMasterKeyId"] == {"Fn::GetAtt": ["TableKey", "Arn"]}
    assert res["BackupVault"]["Properties"]["EncryptionKeyArn"] == {"Fn::GetAtt": ["TableKey", "Arn"]}
    assert "TableKey" not in templates["iot-time-series-commercial"]["Resources"]


def test_dax_resources(templates: dict[str, dict[str, Any]]) -> None:
    res = templates["dax-fedramp-high"]["Resources"]
    cluster = res["DaxCluster"]["Properties"]
    assert cluster["SSESpecification"] == {"SSEEnabled": True} and cluster["ClusterEndpointEncryptionType"] == "TLS"
    assert cluster["IAMRoleARN"] == {"Fn::GetAtt": ["DaxRole", "Arn"]}
    assert cluster["SubnetGroupName"] == {"Ref": "DaxSubnetGroup"}
    assert cluster["ParameterGroupName"] == {"Ref": "DaxParameterGroup"}
    assert "Policies" not in res["DaxRole"]["Properties"]  # no inline policy (IAM_NO_INLINE_POLICY_CHECK)
    assert res["DaxPolicy"]["Type"] == "AWS::IAM::ManagedPolicy" and res["DaxPolicy"]["Properties"]["Roles"] == [
        {"Ref": "DaxRole"}] and res["DaxCluster"]["DependsOn"] == ["DaxPolicy"]
    policy = res["DaxPolicy"]["Properties"]["PolicyDocument"]
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert "dynamodb:GetItem" in actions and "kms:Decrypt" in actions and "dynamodb:DeleteTable" not in actions


def test_alarm_properties_are_the_put_metric_alarm_parameters(templates: dict[str, dict[str, Any]]) -> None:
    cfg = effective(DAX_TABLE, "fedramp-moderate").config
    spec = next(s for s in alarm_specs(cfg) if s.key == "SystemErrors")
    assert templates["dax-fedramp-moderate"]["Resources"]["AlarmSystemErrors"]["Properties"] == \
        spec.put_metric_alarm_params([{"Ref": "AlarmTopic"}])  # fedramp: the created topic


def test_yaml_and_json_render_the_same_template(templates: dict[str, dict[str, Any]]) -> None:
    t = templates["global-leaderboard-fedramp-high"]
    assert yaml.safe_load(render(t, "yaml")) == json.loads(render(t, "json")) == t


def test_cli_synth(tmp_path: Path) -> None:
    path = ROOT / "examples/global-leaderboard/component.yaml"
    result = CliRunner().invoke(cli, ["synth", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    t = json.loads(result.output)
    assert t["Resources"]["Table"]["Type"] == "AWS::DynamoDB::GlobalTable"
    out = tmp_path / "t.yaml"
    result = CliRunner().invoke(cli, ["synth", str(path), "--tier", "fedramp-moderate", "-o", str(out)])
    assert result.exit_code == 0 and yaml.safe_load(out.read_text())["Description"].endswith("(fedramp-moderate)")
    loaded = load_component_file(path)
    assert list(loaded.tables) == ["leaderboard"]
    result = CliRunner().invoke(cli, ["synth", str(ROOT / "examples/session-store/component.yaml"),
                                      "--tier", "fedramp-high"])
    assert result.exit_code == 1 and "at least 3650 required" in result.output
