"""Synth and apply build the same audit-trail surroundings (issue 24, items 11 and 12): the KMS key, the log
bucket and its policy, the CloudWatch Logs group (retention, KMS) with the role CloudTrail delivers through,
and the trail, multi-region at the fedramp tiers (MULTI_REGION_CLOUD_TRAIL_ENABLED). Applied on moto; audit
checks the log delivery and the multi-region setting."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from moto_gaps import MotoGaps, effective, run

from ddbkit_infra.audit import audit_table
from ddbkit_infra.synth.cloudformation import synthesize
from ddbkit_infra.plan import make_plan

ORDERS: dict[str, Any] = {
    "tableName": "Orders",
    "attributeDefinitions": [{"attributeName": "id", "attributeType": "S"}],
    "keySchema": [{"attributeName": "id", "keyType": "HASH"}],
    "streamSpecification": {"streamEnabled": True, "streamViewType": "NEW_AND_OLD_IMAGES"},
}
GLOBAL: dict[str, Any] = {"regions": ["us-east-1", "us-west-2"], "replicationGroup": [
    {"region": "us-west-2", "kmsKeyId": "arn:aws:kms:us-west-2:123456789012:key/22345678-1234-1234-1234-123456789012"}]}
COMMERCIAL_TRAIL: dict[str, Any] = {**ORDERS, "auditTrail": {"enabled": True}}

#: what apply calls for each resource type synth writes around the trail
APPLY_OP_OF = {
    "AWS::KMS::Key": "kms.create_key", "AWS::KMS::Alias": "kms.create_alias",
    "AWS::S3::Bucket": "s3.create_bucket", "AWS::S3::BucketPolicy": "s3.put_bucket_policy",
    "AWS::Logs::LogGroup": "logs.create_log_group", "AWS::IAM::Role": "iam.create_role",
    "AWS::IAM::ManagedPolicy": "iam.create_policy", "AWS::CloudTrail::Trail": "cloudtrail.create_trail",
}
TRAIL_OPS = set(APPLY_OP_OF.values())


@pytest.fixture
def inprocess(monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoGaps]:
    from moto import mock_aws

    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    with mock_aws():
        yield MotoGaps()


def _trail_resources(template: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if k.startswith(("Trail", "AuditTrail"))}


@pytest.mark.parametrize("data,tier", [(ORDERS, "fedramp-moderate"), (ORDERS, "fedramp-high"),
                                       (COMMERCIAL_TRAIL, "commercial")])
def test_synth_and_apply_build_the_same_surroundings(data: dict[str, Any], tier: str, inprocess: MotoGaps) -> None:
    if tier == "fedramp-high":
        data = {**data, "globalTables": GLOBAL}
    eff = effective(copy.deepcopy(data), tier)
    synth_kinds = {APPLY_OP_OF[r["Type"]] for r in _trail_resources(synthesize(eff)).values()}
    plan = make_plan(eff, inprocess.clients())
    apply_ops = {f"{c.service}.{c.operation}" for ch in plan.changes for c in ch.calls} & TRAIL_OPS
    assert synth_kinds == apply_ops
    assert "logs.create_log_group" in apply_ops and "iam.create_role" in apply_ops
    shown = {ch.resource for ch in plan.changes}
    assert {"logs:log-group", "iam:role", "cloudtrail:trail"} <= shown  # plan shows them


@pytest.mark.parametrize("tier,multi", [("fedramp-moderate", True), ("commercial", False)])
def test_apply_delivers_the_trail_to_cloudwatch_logs_and_audit_checks_it(tier: str, multi: bool,
                                                                         inprocess: MotoGaps) -> None:
    eff = effective(copy.deepcopy(COMMERCIAL_TRAIL if tier == "commercial" else ORDERS), tier)
    run(eff, inprocess)
    logs = inprocess.raw_client("logs")
    [group] = logs.describe_log_groups(logGroupNamePrefix="/ddbkit/audit/Orders")["logGroups"]
    assert group["retentionInDays"] == (365 if tier == "commercial" else 365)
    assert group.get("kmsKeyId", "").startswith("arn:aws:kms:us-east-1:123456789012:key/")
    trail = inprocess.raw_client("cloudtrail").get_trail(Name="ddbkit-Orders")["Trail"]
    assert trail["CloudWatchLogsLogGroupArn"] == group["arn"]
    role = trail["CloudWatchLogsRoleArn"]
    iam = inprocess.raw_client("iam")
    role_name = role.rsplit("/", 1)[1]
    assert "cloudtrail.amazonaws.com" in str(iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"])
    assert iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]
    assert trail["IsMultiRegionTrail"] is multi
    assert make_plan(eff, inprocess.clients()).pending == []  # converged

    report = audit_table(inprocess.clients(), "Orders", tier, eff.config)
    by = {r.control: r for r in report.results}
    assert by["audit trail delivers to CloudWatch Logs"].status == "PASS"
    if multi:
        assert by["audit trail is multi-region"].status == "PASS"


def test_audit_fails_a_fedramp_trail_without_logs_or_multi_region(inprocess: MotoGaps) -> None:
    eff = effective(copy.deepcopy(COMMERCIAL_TRAIL), "commercial")
    run(eff, inprocess)
    ct = inprocess.raw_client("cloudtrail")
    ct.update_trail(Name="ddbkit-Orders", CloudWatchLogsLogGroupArn="", CloudWatchLogsRoleArn="")
    report = audit_table(inprocess.clients(), "Orders", "fedramp-moderate", eff.config)
    by = {r.control: r for r in report.results}
    assert by["audit trail delivers to CloudWatch Logs"].status == "FAIL"
    assert by["audit trail is multi-region"].status == "FAIL"


def test_an_existing_trail_without_log_delivery_is_updated(inprocess: MotoGaps) -> None:
    eff = effective(copy.deepcopy(ORDERS), "fedramp-moderate")
    run(eff, inprocess)
    ct = inprocess.raw_client("cloudtrail")
    ct.update_trail(Name="ddbkit-Orders", CloudWatchLogsLogGroupArn="", CloudWatchLogsRoleArn="",
                    IsMultiRegionTrail=False)
    plan = make_plan(eff, inprocess.clients())
    [change] = [c for c in plan.pending if c.resource == "cloudtrail:trail"]
    assert {f.path for f in change.fields} >= {"CloudWatchLogsLogGroupArn", "IsMultiRegionTrail"}
    run(eff, inprocess)
    trail = ct.get_trail(Name="ddbkit-Orders")["Trail"]
    assert trail["CloudWatchLogsLogGroupArn"] and trail["IsMultiRegionTrail"] is True


@pytest.mark.parametrize("tier,multi", [("commercial", False), ("fedramp-moderate", True), ("fedramp-high", True)])
def test_synth_trail_is_multi_region_at_the_fedramp_tiers(tier: str, multi: bool) -> None:
    data = COMMERCIAL_TRAIL if tier == "commercial" else ORDERS
    if tier == "fedramp-high":
        data = {**data, "globalTables": GLOBAL}
    trail = synthesize(effective(copy.deepcopy(data), tier))["Resources"]["AuditTrail"]
    assert trail["Properties"]["IsMultiRegionTrail"] is multi
    assert trail["Properties"]["IncludeGlobalServiceEvents"] is multi  # CloudTrail requires it with multi-region
    suppressed = trail.get("Metadata", {}).get("guard", {}).get("SuppressedRules", [])
    assert "MULTI_REGION_CLOUD_TRAIL_ENABLED" not in suppressed


def test_every_suppression_in_a_generated_template_says_why() -> None:
    """cfn-lint, cfn-guard and checkov suppressions carry a reason in the template (Metadata.ddbkit.suppressions,
    or checkov's own comment) and in docs/cloudformation.md."""
    from pathlib import Path

    from test_cloudformation import CASES
    from test_cloudformation import effective as case_effective

    doc = (Path(__file__).resolve().parents[2] / "docs" / "cloudformation.md").read_text()
    seen: set[str] = set()
    for _name, data, tier in CASES:
        for res in synthesize(case_effective(data, tier))["Resources"].values():
            meta = res.get("Metadata", {})
            rules = [*meta.get("guard", {}).get("SuppressedRules", []),
                     *meta.get("cfn-lint", {}).get("config", {}).get("ignore_checks", []),
                     *(c["id"] for c in meta.get("checkov", {}).get("skip", []))]
            reasons = meta.get("ddbkit", {}).get("suppressions", {}) if isinstance(meta.get("ddbkit"), dict) else {}
            for rule in rules:
                assert len(reasons.get(rule, "")) > 20, (rule, res["Type"])
                assert f"`{rule}`" in doc, rule
                seen.add(rule)
            for skip in meta.get("checkov", {}).get("skip", []):
                assert skip.get("comment")
    assert {"E3514", "S3_BUCKET_LOGGING_ENABLED", "S3_BUCKET_REPLICATION_ENABLED",
            "CLOUDTRAIL_S3_DATAEVENTS_ENABLED"} <= seen
