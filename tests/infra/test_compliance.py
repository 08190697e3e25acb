"""Compliance tiers: defaults are filled and reported; contradictions are errors, never overridden."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ddbkit.config import BillingMode, ComplianceFramework, ConfigError, MonitoringLevel, parse_table_config
from ddbkit_infra.cli import cli
from ddbkit_infra.compliance import TIERS, resolve

ROOT = Path(__file__).resolve().parents[2]
KEY = "arn:aws:kms:us-east-1:123456789012:key/12345678-1234-1234-1234-123456789012"
WEST_KEY = "arn:aws:kms:us-west-2:123456789012:key/22345678-1234-1234-1234-123456789012"

MINIMAL: dict[str, Any] = {
    "tableName": "Things",
    "attributeDefinitions": [{"attributeName": "id", "attributeType": "S"}],
    "keySchema": [{"attributeName": "id", "keyType": "HASH"}],
}
HIGH_OK: dict[str, Any] = {
    **MINIMAL,
    "sseSpecification": {"sseEnabled": True, "kmsMasterKeyId": KEY},
    "globalTables": {
        "regions": ["us-east-1", "us-west-2"],
        "replicationGroup": [{"region": "us-west-2", "kmsKeyId": WEST_KEY}],
    },
}


def cfg(**over: Any) -> Any:
    data = copy.deepcopy(MINIMAL)
    data.update(over)
    return parse_table_config(data)


def conflicts(data: Any, tier: str) -> dict[str, str]:
    with pytest.raises(ConfigError) as exc:
        resolve(data, tier)
    return {i.where: i.message for i in exc.value.issues}


def test_commercial_defaults_are_reported() -> None:
    eff = resolve(cfg())
    assert eff.framework is ComplianceFramework.COMMERCIAL
    c = eff.config
    assert c.billing_mode is BillingMode.PAY_PER_REQUEST
    assert c.sse_specification is not None and c.sse_specification.sse_enabled
    assert not c.sse_specification.customer_managed
    assert c.deletion_protection_enabled is None and not c.pitr_enabled
    paths = eff.default_paths()
    assert {"billingMode", "sseSpecification", "monitoring.level", "complianceFramework"} <= paths


def test_resolve_does_not_mutate_input() -> None:
    original = cfg()
    before = original.model_dump()
    resolve(original, "fedramp-moderate")
    assert original.model_dump() == before


def test_commercial_allows_aws_owned_key() -> None:
    eff = resolve(cfg(sseSpecification={"sseEnabled": False}))
    assert eff.config.sse_specification is not None and not eff.config.sse_specification.sse_enabled


def test_moderate_fills_every_control() -> None:
    eff = resolve(cfg(), "fedramp-moderate")
    c = eff.config
    assert (
        c.sse_specification is not None
        and c.sse_specification.create_key
        and c.sse_specification.customer_managed
    )
    assert c.pitr_enabled and c.deletion_protection_enabled is True
    assert c.monitoring is not None and c.monitoring.level is MonitoringLevel.ENHANCED
    rules = c.backup_policy.rules if c.backup_policy else []
    assert [(r.schedule, r.retention) for r in rules] == [("cron(0 2 * * ? *)", 365)]
    assert c.tags["compliance-framework"] == "fedramp-moderate"
    assert {
        "pointInTimeRecoveryEnabled",
        "deletionProtectionEnabled",
        "backupPolicy.scheduledBackups",
        "monitoring.level",
        "sseSpecification",
    } <= eff.default_paths()


def test_moderate_keeps_a_given_customer_key() -> None:
    eff = resolve(cfg(sseSpecification={"sseEnabled": True, "kmsMasterKeyId": KEY}), "fedramp-moderate")
    sse = eff.config.sse_specification
    assert sse is not None and sse.kms_master_key_id == KEY and not sse.create_key


@pytest.mark.parametrize("tier", ["fedramp-moderate", "fedramp-high"])
@pytest.mark.parametrize(
    "over,where",
    [
        ({"pointInTimeRecoveryEnabled": False}, "pointInTimeRecoveryEnabled"),
        ({"backupPolicy": {"pointInTimeRecoveryEnabled": False}}, "backupPolicy.pointInTimeRecoveryEnabled"),
        ({"deletionProtectionEnabled": False}, "deletionProtectionEnabled"),
        ({"sseSpecification": {"sseEnabled": False}}, "sseSpecification.sseEnabled"),
        (
            {"sseSpecification": {"sseEnabled": True, "kmsMasterKeyId": "alias/aws/dynamodb"}},
            "sseSpecification.kmsMasterKeyId",
        ),
        ({"monitoring": {"level": "basic"}}, "monitoring.level"),
        (
            {
                "backupPolicy": {
                    "backupPlan": {"ruleName": "D", "schedule": "cron(0 2 * * ? *)", "retention": 30}
                }
            },
            "backupPolicy.backupPlan.retention",
        ),
        (
            {
                "backupPolicy": {
                    "backupPlan": {"ruleName": "W", "schedule": "cron(0 2 ? * SUN *)", "retention": 4000}
                }
            },
            "backupPolicy",
        ),
        (
            {"daxCluster": {"enabled": True, "clusterName": "c", "clusterEndpointEncryptionType": "NONE"}},
            "daxCluster.clusterEndpointEncryptionType",
        ),
        (
            {"daxCluster": {"enabled": True, "clusterName": "c", "sseSpecification": {"enabled": False}}},
            "daxCluster.sseSpecification.enabled",
        ),
    ],
)
def test_contradictions_are_errors(tier: str, over: dict[str, Any], where: str) -> None:
    data = copy.deepcopy(HIGH_OK)
    data.update(over)
    got = conflicts(parse_table_config(data), tier)
    assert where in got, got
    assert tier in got[where]


def test_commercial_accepts_what_fedramp_rejects() -> None:
    eff = resolve(
        cfg(pointInTimeRecoveryEnabled=False, deletionProtectionEnabled=False, monitoring={"level": "basic"})
    )
    assert eff.config.point_in_time_recovery_enabled is False


def test_high_needs_two_regions() -> None:
    got = conflicts(cfg(sseSpecification={"sseEnabled": True, "kmsMasterKeyId": KEY}), "fedramp-high")
    assert "globalTables.regions" in got and "2 regions" in got["globalTables.regions"]


def test_high_fills_replicas_insights_and_cross_region_copy() -> None:
    eff = resolve(parse_table_config(HIGH_OK), "fedramp-high")
    c = eff.config
    assert c.global_tables is not None
    home = c.global_tables.replica("us-east-1")
    assert home.kms_key_id == KEY and home.point_in_time_recovery_enabled
    assert c.global_tables.replica("us-west-2").point_in_time_recovery_enabled
    assert c.contributor_insights_specification is not None and c.contributor_insights_specification.enabled
    assert c.monitoring is not None and c.monitoring.level is MonitoringLevel.COMPREHENSIVE
    rule = c.backup_policy.rules[0] if c.backup_policy else None
    assert rule is not None and rule.retention == 3650 and [a.region for a in rule.copy_to] == ["us-west-2"]


def test_high_rejects_replica_without_key_in_its_region() -> None:
    data = copy.deepcopy(HIGH_OK)
    data["globalTables"] = {"regions": ["us-east-1", "us-west-2"]}
    got = conflicts(parse_table_config(data), "fedramp-high")
    assert "globalTables.replicationGroup[1].kmsKeyId" in got


def test_high_rejects_disabled_contributor_insights_and_replica_pitr() -> None:
    data = copy.deepcopy(HIGH_OK)
    data["contributorInsightsSpecification"] = {"enabled": False}
    data["globalTables"]["replicationGroup"][0]["pointInTimeRecoveryEnabled"] = False
    got = conflicts(parse_table_config(data), "fedramp-high")
    assert "contributorInsightsSpecification.enabled" in got
    assert "globalTables.replicationGroup[0].pointInTimeRecoveryEnabled" in got


def test_tier_from_config_and_argument_override() -> None:
    assert (
        resolve(cfg(complianceFramework="fedramp-moderate")).framework is ComplianceFramework.FEDRAMP_MODERATE
    )
    assert (
        resolve(cfg(complianceFramework="commercial"), "fedramp-moderate").framework.value
        == "fedramp-moderate"
    )


def test_tier_table_covers_spec_controls() -> None:
    high = TIERS[ComplianceFramework.FEDRAMP_HIGH]
    moderate = TIERS[ComplianceFramework.FEDRAMP_MODERATE]
    assert moderate.backup_min_retention_days == 365 and high.backup_min_retention_days == 3650
    assert high.min_regions >= 2 and high.contributor_insights and not moderate.contributor_insights


# --------------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------------


def test_cli_validate_marks_defaults() -> None:
    res = CliRunner().invoke(cli, ["validate", str(ROOT / "examples/iot-time-series/component.yaml")])
    assert res.exit_code == 0, res.output
    assert "deletionProtectionEnabled: true  # <- fedramp-moderate default" in res.output


def test_cli_validate_reports_spec_errors_with_exit_1(tmp_path: Path) -> None:
    # the component spec's first example, copied into the repo (origin noted in the file)
    f = tmp_path / "spec.yaml"
    f.write_text((ROOT / "tests/fixtures/spec/first-example.yaml").read_text())
    res = CliRunner().invoke(cli, ["validate", str(f)])
    assert res.exit_code == 1
    assert "localSecondaryIndexes[0]" in res.output and "sessionType" in res.output and "line " in res.output


def test_cli_validate_tier_conflict_exit_1(tmp_path: Path) -> None:
    import yaml

    f = tmp_path / "t.yaml"
    f.write_text(
        yaml.safe_dump(
            {**MINIMAL, "pointInTimeRecoveryEnabled": False, "complianceFramework": "fedramp-high"}
        )
    )
    res = CliRunner().invoke(cli, ["validate", str(f)])
    assert res.exit_code == 1 and "pointInTimeRecoveryEnabled" in res.output


def test_cli_schema_prints_json_schema() -> None:
    import json

    res = CliRunner().invoke(cli, ["schema"])
    assert res.exit_code == 0
    schema = json.loads(res.output)
    assert "tableName" in schema["properties"] and "tableName" in schema["required"]
