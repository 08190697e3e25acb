"""The region rule (issue #23): ``AWS_REGION`` is honoured wherever ``AWS_DEFAULT_REGION`` is.

boto3 alone reads only ``AWS_DEFAULT_REGION``; ddbkit follows the AWS CLI v2: explicit argument (or the
session's own region) > ``AWS_REGION`` > ``AWS_DEFAULT_REGION`` > the profile's region in the config file
(:func:`ddbkit.core.region.resolve_region`). Each test here sets ONLY ``AWS_REGION`` (conftest sets
``AWS_DEFAULT_REGION`` to the local region: it is removed) and checks the client reaches the table made in
that region on moto's server, which keeps tables per region.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from ddbkit import Table
from ddbkit.aio import AsyncTable
from ddbkit.core.region import resolve_region

ROOT = Path(__file__).resolve().parents[2]
ONLY = "eu-west-3"  # the region only AWS_REGION names
OTHER = "us-west-2"


@pytest.fixture
def only_aws_region(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", ONLY)
    return monkeypatch


def _make_table(endpoint: str, region: str, name: str | None = None) -> str:
    name = name or f"Region{uuid.uuid4().hex[:10]}"
    client = boto3.client("dynamodb", region_name=region, endpoint_url=endpoint)
    client.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
    client.put_item(TableName=name, Item={"pk": {"S": "a"}, "region": {"S": region}})
    return name


@pytest.fixture
def regional_table(moto_server: Any) -> Iterator[tuple[str, str]]:
    """A table in ONLY on moto's server (and none of that name elsewhere): (endpoint, name)."""
    endpoint = moto_server.endpoint_url
    name = _make_table(endpoint, ONLY)
    yield endpoint, name
    boto3.client("dynamodb", region_name=ONLY, endpoint_url=endpoint).delete_table(TableName=name)


# --- the rule itself ----------------------------------------------------------------------------------------
def test_precedence_is_the_aws_cli_v2s(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # one made earlier has read another config file
    config = tmp_path / "config"
    config.write_text("[profile dev]\nregion = ap-south-1\n[default]\nregion = sa-east-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "dev")
    monkeypatch.setenv("AWS_REGION", ONLY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", OTHER)
    assert resolve_region("ca-central-1") == "ca-central-1"                     # explicit argument
    assert resolve_region(None, boto3.Session(region_name="eu-north-1")) == "eu-north-1"  # the session's own
    assert resolve_region() == ONLY                                             # AWS_REGION
    assert resolve_region(None, boto3.Session()) == ONLY
    monkeypatch.delenv("AWS_REGION")
    assert resolve_region() == OTHER                                            # AWS_DEFAULT_REGION
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    assert resolve_region() == "ap-south-1"                                     # the profile's region
    assert resolve_region(None, boto3.Session(profile_name="default")) == "sa-east-1"
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.delenv("AWS_PROFILE")
    assert resolve_region(None, boto3.Session()) is None                        # none: the caller fails


# --- every client -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("transport", ["fast", "botocore"])
def test_table_with_only_aws_region(only_aws_region: pytest.MonkeyPatch, regional_table: tuple[str, str],
                                    transport: str) -> None:
    endpoint, name = regional_table
    table = Table(name, key="pk", endpoint_url=endpoint, transport=transport)
    assert table.get({"pk": "a"}) == {"pk": "a", "region": ONLY}


@pytest.mark.parametrize("transport", ["fast", "botocore"])
def test_precedence_aws_region_over_aws_default_region(only_aws_region: pytest.MonkeyPatch,
                                                       regional_table: tuple[str, str], transport: str) -> None:
    only_aws_region.setenv("AWS_DEFAULT_REGION", OTHER)  # the table is not there
    endpoint, name = regional_table
    assert Table(name, key="pk", endpoint_url=endpoint, transport=transport).get({"pk": "a"}) is not None
    # and an explicit region wins over both
    from ddbkit.errors import ResourceNotFound

    with pytest.raises(ResourceNotFound):
        Table(name, key="pk", endpoint_url=endpoint, transport=transport, region_name=OTHER).get({"pk": "a"})


@pytest.mark.parametrize("transport", ["fast", "botocore"])
def test_async_table_with_only_aws_region(only_aws_region: pytest.MonkeyPatch, regional_table: tuple[str, str],
                                          transport: str) -> None:
    endpoint, name = regional_table

    async def main() -> Any:
        async with AsyncTable(name, key="pk", endpoint_url=endpoint, transport=transport) as table:
            return await table.get({"pk": "a"})

    assert asyncio.run(main()) == {"pk": "a", "region": ONLY}


def test_from_env_with_only_aws_region(only_aws_region: pytest.MonkeyPatch, regional_table: tuple[str, str]) -> None:
    endpoint, name = regional_table
    only_aws_region.setenv("SESSIONS_TABLE", name)
    only_aws_region.setenv("SESSIONS_KEY", "pk")
    assert Table.from_env("SESSIONS", endpoint_url=endpoint).get({"pk": "a"}) is not None

    async def main() -> Any:
        async with AsyncTable.from_env("SESSIONS", endpoint_url=endpoint) as table:
            return await table.get({"pk": "a"})

    assert asyncio.run(main()) is not None


def test_cli_plan_with_only_aws_region(moto_server: Any) -> None:
    """``ddbkit plan`` in a shell that sets only AWS_REGION: no 'no AWS region' error; the plan is for it."""
    env = {k: v for k, v in os.environ.items() if k != "AWS_DEFAULT_REGION"}
    env.update(AWS_REGION=ONLY, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "ddbkit_infra.cli", "plan", "examples/session-store/component.yaml",
                          "--endpoint-url", moto_server.endpoint_url], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "no AWS region" not in out.stderr and "create" in out.stdout


def test_bulk_process_workers_with_only_aws_region(only_aws_region: pytest.MonkeyPatch,
                                                   regional_table: tuple[str, str], tmp_path: Path) -> None:
    """Worker processes get the environment and resolve the same region (the spec names none)."""
    from ddbkit.bulk import FileFunction, Job, ScanSource, TableCheckpoints, TableSpec, create_checkpoint_table, run

    endpoint, name = regional_table
    checkpoints = f"Checkpoints{uuid.uuid4().hex[:8]}"
    create_checkpoint_table(boto3.client("dynamodb", region_name=ONLY, endpoint_url=endpoint), checkpoints)
    fn = tmp_path / "job.py"
    fn.write_text("def transform(item):\n    return {**item, 'seen': True}\n")
    job = Job(ScanSource(TableSpec(name, key="pk", endpoint_url=endpoint), segments=2), FileFunction(str(fn)),
              job_id="only-aws-region",
              checkpoints=TableCheckpoints(TableSpec(checkpoints, key=("jobId", "segment"), endpoint_url=endpoint)))
    result = run(job, "processes", workers=2)
    assert result.ok and result.counts.read == 1 and result.counts.changed == 1
    assert Table(name, key="pk", endpoint_url=endpoint, region_name=ONLY).get({"pk": "a"})["seen"] is True


def test_backup_lambda_entrypoint_with_only_aws_region(only_aws_region: pytest.MonkeyPatch) -> None:
    """The Lambda runtime sets AWS_REGION; the entrypoint's clients must be in it."""
    from moto import mock_aws

    from ddbkit.ops.backup import lambda_handler

    with mock_aws():
        client = boto3.client("dynamodb", region_name=ONLY)
        client.create_table(TableName="Orders", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST")
        only_aws_region.setenv("TABLE_NAME", "Orders")
        summary = lambda_handler({}, None)
        assert "failed_step" not in summary, summary
        assert f":{ONLY}:" in client.list_backups(TableName="Orders")["BackupSummaries"][0]["TableArn"]
