"""Issue 28: ``ddbkit plan`` on DynamoDB Local, which implements DynamoDB's tables and items and no more.

DynamoDB Local answers every other call the plan reads (DescribeContinuousBackups, ListTagsOfResource,
contributor insights, resource policies; KMS, Application Auto Scaling, CloudWatch, AWS Backup, IAM, SNS,
STS...) with an error, and keeps no SSE or table class. Each such read is "not checked locally": never a
change, never a crash. Driven through the real CLI against the ``dynamodb_local`` fixture, for every
example: before its tables exist the plan creates the table only; after ``apply`` the plan has settled.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from example_files import EXAMPLE_NAMES, example_path, example_tables, off_loopback

from ddbkit_infra.cli import cli
from ddbkit_infra.local import DynamoDBLocal

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = EXAMPLE_NAMES
_path, _tables, _off_loopback = example_path, example_tables, off_loopback


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def clean(dynamodb_local: DynamoDBLocal) -> Iterator[str]:
    """The endpoint, with the example tables deleted before and after (DynamoDB Local is shared)."""
    import boto3

    client = boto3.client("dynamodb", endpoint_url=dynamodb_local.endpoint_url, region_name="us-east-1")

    def wipe() -> None:
        for example in EXAMPLES:
            for table in _tables(example):
                try:
                    client.update_table(TableName=table, DeletionProtectionEnabled=False)
                    client.delete_table(TableName=table)
                except client.exceptions.ResourceNotFoundException:
                    pass

    wipe()
    yield dynamodb_local.endpoint_url
    wipe()


@pytest.mark.parametrize("example", EXAMPLES)
def test_plan_on_dynamodb_local_creates_the_table_and_checks_nothing_else_it_cannot_read(
        clean: str, example: str) -> None:
    result = _run("plan", _path(example), "--endpoint-url", clean, "--region", "us-east-1")
    assert result.exit_code == 0, result.output
    assert not [line for line in result.output.splitlines() if line.startswith("error")], result.output
    assert "Traceback" not in result.output, result.output
    for table in _tables(example):
        assert f"+ create dynamodb:table {table}" in result.output, result.output
    creates = [line for line in result.output.splitlines() if line.strip().startswith("+ create")]
    assert all("dynamodb:table " in line or "dynamodb:ttl " in line for line in creates), result.output
    assert "not checked locally" in result.output, result.output


@pytest.mark.parametrize("example", EXAMPLES)
def test_plan_on_dynamodb_local_settles_after_apply(clean: str, example: str) -> None:
    applied = _run("apply", _path(example), "--endpoint-url", clean, "--region", "us-east-1", "--yes",
                   "--poll", "0")
    assert applied.exit_code == 0, applied.output
    result = _run("plan", _path(example), "--endpoint-url", clean, "--region", "us-east-1", "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    assert "0 to create, 0 to update, 0 to delete" in result.output, result.output
    assert "not checked locally" in result.output and "<unknown>" not in result.output, result.output


@pytest.mark.parametrize("example", EXAMPLES)
def test_audit_on_dynamodb_local_skips_what_it_cannot_read(clean: str, example: str) -> None:
    """``ddbkit audit`` there: each control DynamoDB Local cannot answer (tags, PITR, KMS, Backup,
    autoscaling, CloudTrail, resource policies...) is SKIP "not checked locally", never FAIL or a crash."""
    applied = _run("apply", _path(example), "--endpoint-url", clean, "--region", "us-east-1", "--yes",
                   "--poll", "0")
    assert applied.exit_code == 0, applied.output
    result = _run("audit", _path(example), "--endpoint-url", clean, "--region", "us-east-1")
    assert result.exit_code == 0, result.output
    assert not [line for line in result.output.splitlines() if line.startswith("error")], result.output
    assert "FAIL " not in result.output and "not checked locally" in result.output, result.output
    for table in _tables(example):
        assert f"Audit of {table} in us-east-1" in result.output, result.output


def test_the_emulator_answers_are_a_gap_only_on_a_local_endpoint() -> None:
    """What DynamoDB Local answers for a service it lacks would, from AWS, be a real failure: it must
    propagate there (a plan against AWS never hides a failed read as "not checked")."""
    from botocore.exceptions import ClientError
    from botocore.parsers import ResponseParserError

    from ddbkit_infra.plan import emulator_gap

    invalid = ClientError({"Error": {"Code": "InvalidAction", "Message": "x"}}, "DescribeKey")
    internal = ClientError({"Error": {"Code": "InternalFailure", "Message": "x"}}, "ListBackupPlans")
    unknown = ClientError({"Error": {"Code": "UnknownOperationException", "Message": "x"}}, "ListTagsOfResource")
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "x"}}, "DescribeKey")
    for err in (invalid, internal, ResponseParserError("unparsable")):
        assert emulator_gap(err, local=True) and not emulator_gap(err, local=False)
    assert emulator_gap(unknown, local=False)  # no AWS service answers this for an operation it has
    assert not emulator_gap(denied, local=True)


POLICY_COMPONENT = """\
complianceFramework: commercial
components:
  - name: shared
    type: dynamodb-table
    config:
      tableName: SharedOrders
      billingMode: ON_DEMAND
      attributeDefinitions: [{attributeName: pk, attributeType: S}]
      keySchema: [{attributeName: pk, keyType: HASH}]
      streamSpecification: {streamEnabled: true, streamViewType: NEW_IMAGE}
      resourcePolicy:
        crossAccountPrincipals: ["210987654321"]
        denyInsecureTransport: true
"""


def test_a_resource_policy_is_not_checked_on_dynamodb_local(dynamodb_local: DynamoDBLocal, tmp_path: Path) -> None:
    """DynamoDB Local has no GetResourcePolicy/PutResourcePolicy: the policies are "not checked locally",
    neither a create before the table exists nor after apply (which would fail on PutResourcePolicy)."""
    import boto3

    path = tmp_path / "shared.yaml"
    path.write_text(POLICY_COMPONENT)
    url = dynamodb_local.endpoint_url
    try:
        before = _run("plan", str(path), "--endpoint-url", url, "--region", "us-east-1")
        assert before.exit_code == 0, before.output
        assert "+ create dynamodb:table SharedOrders" in before.output
        assert "? not checked locally dynamodb:resource-policy SharedOrders table" in before.output, before.output
        applied = _run("apply", str(path), "--endpoint-url", url, "--region", "us-east-1", "--yes", "--poll", "0")
        assert applied.exit_code == 0, applied.output
        after = _run("plan", str(path), "--endpoint-url", url, "--region", "us-east-1", "--detailed-exitcode")
        assert after.exit_code == 0, after.output
        assert "? not checked locally dynamodb:resource-policy SharedOrders table" in after.output, after.output
        assert "? not checked locally dynamodb:resource-policy SharedOrders stream" in after.output, after.output
    finally:
        client = boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1")
        try:
            client.delete_table(TableName="SharedOrders")
        except client.exceptions.ResourceNotFoundException:
            pass


def test_plan_on_dynamodb_local_off_loopback(clean: str) -> None:
    """An endpoint that is not AWS's (no amazonaws.com host) is an emulator wherever it runs: its
    missing calls are gaps there too."""
    url = _off_loopback(clean)
    example = "iot-time-series"
    applied = _run("apply", _path(example), "--endpoint-url", url, "--region", "us-east-1", "--yes", "--poll", "0")
    assert applied.exit_code == 0, applied.output
    result = _run("plan", _path(example), "--endpoint-url", url, "--region", "us-east-1", "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    assert "not checked locally" in result.output, result.output


@pytest.mark.parametrize("url,emulator", [
    (None, False), ("https://dynamodb.us-east-1.amazonaws.com", False),
    ("https://vpce-0a1b-c2d3.dynamodb.us-east-1.vpce.amazonaws.com", False),
    ("https://dynamodb.cn-north-1.amazonaws.com.cn", False), ("https://dynamodb.us-east-1.api.aws", False),
    ("http://127.0.0.1:8000", True), ("http://localhost:4566", True), ("http://dynamodb-local:8000", True),
    ("http://10.0.0.7:8000", True)])
def test_which_endpoints_are_emulators(url: str | None, emulator: bool) -> None:
    from ddbkit_infra.plan import AwsClients

    assert AwsClients("us-east-1", endpoint_url=url).emulator_endpoint is emulator
