"""``ddbkit audit``: a live moto table against its tier, one line per control, exit 1 on failure.

moto lacks AWS Backup selections and contributor insights; the end-to-end audits run with the same
emulator as the plan/apply tests (``MotoGaps``, which answers exactly those operations).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from moto_gaps import MotoGaps, effective, run

from ddbkit_infra.audit import audit_table
from ddbkit_infra.cli import cli, provision_cmds
from ddbkit_infra.plan import AwsClients

TABLE: dict[str, Any] = {
    "tableName": "Audited",
    "attributeDefinitions": [{"attributeName": "id", "attributeType": "S"}],
    "keySchema": [{"attributeName": "id", "keyType": "HASH"}],
    "tags": {"owner": "payments"},
}


@pytest.fixture
def managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS Backup's role attaches AWS-managed policies, which moto loads only with this (slow) setting."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


@pytest.fixture
def gaps(monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoGaps]:
    """moto in-process + the emulator; the CLI builds its clients through it too."""
    from moto import mock_aws

    with mock_aws():
        g = MotoGaps()
        monkeypatch.setattr(provision_cmds, "make_clients",
                            lambda region, endpoint_url: g.clients(region or "us-east-1"))
        yield g


def status(report: Any) -> dict[str, str]:
    return {(r.security_hub or r.control): r.status for r in report.results}


def component_file(tmp_path: Path, data: dict[str, Any], tier: str) -> Path:
    path = tmp_path / "component.yaml"
    path.write_text(yaml.safe_dump({"complianceFramework": tier, "components": [
        {"name": "audited", "type": "dynamodb-table", "config": data}]}))
    return path


def test_table_provisioned_by_ddbkit_passes_its_tier(managed_policies: None, gaps: MotoGaps, tmp_path: Path) -> None:
    eff = effective(TABLE, "fedramp-moderate")
    run(eff, gaps)
    report = audit_table(gaps.clients(), "Audited", cfg=eff.config)
    assert report.passed, report.render()
    assert status(report) == {
        "DynamoDB.1": "PASS", "DynamoDB.2": "PASS", "customer-managed KMS key with rotation": "PASS",
        "DynamoDB.4": "PASS", "DynamoDB.6": "PASS", "DynamoDB.5": "PASS", "global table replicas": "N/A",
        "contributor insights": "N/A", "DynamoDB.3": "N/A", "DynamoDB.7": "N/A",
        # issue 16: the tier's trail records the table's data events; its resource policy denies plain HTTP
        "audit trail (CloudTrail data events)": "PASS", "resource policy denies requests without TLS": "PASS",
        "VPC endpoint for the table": "N/A",
        # issue 24: apply delivers the trail to CloudWatch Logs as synth does, multi-region at fedramp tiers
        "audit trail delivers to CloudWatch Logs": "PASS", "audit trail is multi-region": "PASS"}
    assert "kept 365 days" in report.render()

    result = CliRunner().invoke(cli, ["audit", str(component_file(tmp_path, TABLE, "fedramp-moderate"))])
    assert result.exit_code == 0, result.output
    assert "PASS  DynamoDB.2" in result.output and "PASSED" in result.output


def test_non_compliant_table_fails_with_exit_code_1(gaps: MotoGaps, tmp_path: Path) -> None:
    # created by hand: on-demand, AWS-owned key, no PITR, no backups, no deletion protection, no tags
    gaps.raw_client("dynamodb").create_table(
        TableName="Audited", AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    result = CliRunner().invoke(cli, ["audit", str(component_file(tmp_path, TABLE, "fedramp-moderate"))])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    for expected in ("FAIL  DynamoDB.2", "FAIL  DynamoDB.4", "FAIL  DynamoDB.5", "FAIL  DynamoDB.6",
                     "FAIL  -           customer-managed KMS key with rotation", "PASS  DynamoDB.1",
                     "FAIL  -           audit trail (CloudTrail data events)",
                     "FAIL  -           resource policy denies requests without TLS"):
        assert any(line.strip().startswith(expected) for line in lines), (expected, result.output)
    assert "FAILED (7 control(s))" in result.output

    # the same table against commercial: only the tags (every tier) fail; the rest are advisory
    report = audit_table(gaps.clients(), "Audited", "commercial", effective(TABLE, "commercial").config)
    assert [r.security_hub for r in report.results if r.status == "FAIL"] == ["DynamoDB.5"]
    assert status(report)["DynamoDB.6"] == "WARN"


def test_audit_by_table_name_uses_tier_tag_or_option(gaps: MotoGaps) -> None:
    ddb = gaps.raw_client("dynamodb")
    ddb.create_table(TableName="Loose", AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST",
                     Tags=[{"Key": "compliance-framework", "Value": "fedramp-moderate"}])
    result = CliRunner().invoke(cli, ["audit", "--table", "Loose"])
    assert result.exit_code == 1 and "against fedramp-moderate" in result.output
    result = CliRunner().invoke(cli, ["audit", "--table", "Loose", "--tier", "commercial", "--json"])
    assert result.exit_code == 1  # tagged for fedramp-moderate, not for commercial: DynamoDB.5 fails
    assert '"framework": "commercial"' in result.output
    assert CliRunner().invoke(cli, ["audit"]).exit_code == 2  # usage error: no FILE nor --table


def test_provisioned_without_autoscaling_fails_dynamodb_1_under_fedramp(gaps: MotoGaps) -> None:
    ddb = gaps.raw_client("dynamodb")
    ddb.create_table(TableName="Fixed", AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
    gaps.raw_client("application-autoscaling").register_scalable_target(
        ServiceNamespace="dynamodb", ResourceId="table/Fixed", ScalableDimension="dynamodb:table:ReadCapacityUnits",
        MinCapacity=5, MaxCapacity=50)
    fedramp = audit_table(gaps.clients(), "Fixed", "fedramp-moderate")
    cap = next(r for r in fedramp.results if r.security_hub == "DynamoDB.1")
    assert cap.status == "FAIL" and "table/Fixed WriteCapacityUnits" in cap.detail
    assert "ReadCapacityUnits" not in cap.detail
    commercial = audit_table(gaps.clients(), "Fixed", "commercial")
    assert status(commercial)["DynamoDB.1"] == "WARN"


def test_dax_encryption_and_tls_controls(gaps: MotoGaps) -> None:
    data = {**TABLE, "daxCluster": {"enabled": True, "clusterName": "audited-dax"}}
    eff = effective(data, "fedramp-moderate")
    gaps.raw_client("dynamodb").create_table(
        TableName="Audited", AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    gaps.raw_client("dax").create_cluster(ClusterName="audited-dax", NodeType="dax.r5.large", ReplicationFactor=1,
                                          IamRoleArn="arn:aws:iam::123456789012:role/dax",
                                          SSESpecification={"Enabled": False}, ClusterEndpointEncryptionType="NONE")
    s = status(audit_table(gaps.clients(), "Audited", cfg=eff.config))
    assert (s["DynamoDB.3"], s["DynamoDB.7"]) == ("FAIL", "FAIL")


def test_fedramp_high_global_table_passes(managed_policies: None, gaps: MotoGaps) -> None:
    """Replicas (emulated on moto, with real per-region tables), per-region PITR, cross-region backup copies."""
    west_key = gaps.raw_client("kms", "us-west-2").create_key()["KeyMetadata"]["Arn"]
    data = copy.deepcopy(TABLE)
    data["globalTables"] = {"regions": ["us-east-1", "us-west-2"],
                            "replicationGroup": [{"region": "us-west-2", "kmsKeyId": west_key}]}
    eff = effective(data, "fedramp-high")
    run(eff, gaps)
    report = audit_table(gaps.clients(), "Audited", cfg=eff.config)
    assert report.passed, report.render()
    s = status(report)
    assert s["global table replicas"] == "PASS" and s["contributor insights"] == "PASS"
    assert "copied cross-region" in report.render() and "kept 3650 days" in report.render()

    # PITR off in the replica region: the replica control fails
    gaps.raw_client("dynamodb", "us-west-2").update_continuous_backups(
        TableName="Audited", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False})
    failed = audit_table(AwsClients("us-east-1", customize=gaps.install, session=gaps.session), "Audited",
                         cfg=eff.config)
    replica = next(r for r in failed.results if r.control == "global table replicas")
    assert replica.status == "FAIL" and "us-west-2: PITR off" in replica.detail
