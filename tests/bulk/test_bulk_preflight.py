"""``ddbkit bulk run`` checks the table before it creates anything or starts a worker (issue #23).

A wrong table name used to print the same error once per segment, create the ``BulkCheckpoints`` table
anyway and suggest a pointless ``bulk resume``. Now: one ``error:`` line, exit 1, no checkpoint table, no
resume hint. With ``--address`` (a Dask scheduler) the job line reports the cluster's worker count, which
is what the job runs on, rather than ``--workers``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"


@pytest.fixture
def job_file(tmp_path: Path) -> str:
    path = tmp_path / "job.py"
    path.write_text("def transform(item):\n    return {**item, 'seen': True}\n")
    return str(path)


def _client(endpoint: str) -> Any:
    return boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)


def test_no_such_table_is_one_error_line_and_nothing_is_created(moto_server: Any, job_file: str) -> None:
    endpoint = moto_server.endpoint_url
    checkpoints = f"Checkpoints{uuid.uuid4().hex[:8]}"
    out = subprocess.run([sys.executable, "-m", "ddbkit_infra.cli", "bulk", "run", job_file, "--table", "NoSuchTable",
                          "--endpoint-url", endpoint, "--checkpoint-table", checkpoints, "--segments", "8"],
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "AWS_REGION": REGION},
                         capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert out.returncode == 1, out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, out.stderr
    assert errors[0].startswith("error: bulk job on NoSuchTable: not found in us-east-1") and "nothing was started" in errors[0]
    assert "resume" not in out.stderr and "Traceback" not in out.stderr
    assert checkpoints not in _client(endpoint).list_tables()["TableNames"]


def test_missing_index_is_one_error_line(moto_server: Any, job_file: str) -> None:
    from ddbkit_infra.cli import cli

    endpoint = moto_server.endpoint_url
    table, checkpoints = f"Bulk{uuid.uuid4().hex[:8]}", f"Checkpoints{uuid.uuid4().hex[:8]}"
    _client(endpoint).create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                   AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                                   BillingMode="PAY_PER_REQUEST")
    try:
        result = CliRunner().invoke(cli, ["bulk", "run", job_file, "--table", table, "--index", "NoSuchIndex",
                                          "--endpoint-url", endpoint, "--checkpoint-table", checkpoints])
        assert result.exit_code == 1
        assert [ln for ln in result.stderr.splitlines() if ln.startswith("error:")] == [
            f"error: bulk job on {table}: --index NoSuchIndex: no such index (the table has: none)"]
        assert checkpoints not in _client(endpoint).list_tables()["TableNames"]
    finally:
        _client(endpoint).delete_table(TableName=table)


@pytest.fixture
def scheduler() -> Iterator[str]:
    """A Dask LocalCluster of 2 workers in this process: its scheduler's address."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp",
                                       host="127.0.0.1",
                                       dashboard_address=None)
    try:
        yield str(cluster.scheduler_address)
    finally:
        cluster.close()


def test_dask_address_reports_the_clusters_workers(moto_server: Any, job_file: str, scheduler: str) -> None:
    from ddbkit_infra.cli import cli

    endpoint = moto_server.endpoint_url
    table, checkpoints = f"Bulk{uuid.uuid4().hex[:8]}", f"Checkpoints{uuid.uuid4().hex[:8]}"
    client = _client(endpoint)
    client.create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
    for i in range(4):
        client.put_item(TableName=table, Item={"pk": {"S": f"k{i}"}})
    try:
        result = CliRunner().invoke(cli, ["bulk", "run", job_file, "--table", table, "--runner", "dask",
                                          "--address", scheduler, "--workers", "7", "--segments", "2", "--json",
                                          "--endpoint-url", endpoint, "--checkpoint-table", checkpoints])
        assert result.exit_code == 0, result.output
        assert f"segments on the Dask cluster at {scheduler} (2 workers)" in result.stderr
        assert "7 workers" not in result.stderr
    finally:
        client.delete_table(TableName=table)
        if checkpoints in client.list_tables()["TableNames"]:
            client.delete_table(TableName=checkpoints)
