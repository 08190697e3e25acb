"""Bulk jobs: scan, transform, backfill, copy, load — on threads, processes or a Dask cluster.

A job is (source segments) -> (a function per item) -> (a sink), with per-segment checkpoints and
leases in a DynamoDB table so a killed job resumes where it stopped and two runs never run one
segment at once. See docs/bulk.md.

>>> from ddbkit.bulk import Job, ScanSource, TableCheckpoints, run     # doctest: +SKIP
>>> def backfill(item):                                               # doctest: +SKIP
...     if "sensorType" in item:
...         return None                      # keep as is
...     return {**item, "sensorType": item["deviceId"].split("-")[0]}
>>> job = Job(ScanSource("SensorData", segments=16), backfill, job_id="backfill-sensor-type",
...           checkpoints=TableCheckpoints("BulkCheckpoints"), rate_wcu=500)  # doctest: +SKIP
>>> run(job, "dask", workers=8)                                       # doctest: +SKIP
"""

from typing import Any

from ddbkit.bulk.checkpoints import (CHECKPOINT_KEY, CheckpointStore, LeaseLost, MemoryCheckpoints, SegmentState,
                                     TableCheckpoints)
from ddbkit.bulk.estimate import Estimate, estimate
from ddbkit.bulk.job import FileFunction, Job, RateLimiter, run_segment
from ddbkit.bulk.progress import ProgressMonitor, ProgressReport, RichProgress, log_progress
from ddbkit.bulk.runners import RUNNERS, JobResult, run
from ddbkit.bulk.sinks import BatchSink, FileSink, ImportSink, UpdateSink
from ddbkit.bulk.sources import ExportSource, FileSource, S3Spec, ScanSource
from ddbkit.bulk.spec import DROP, Counts, Delete, Put, SegmentResult, TableSpec

__all__ = ["Job", "run", "RUNNERS", "JobResult", "run_segment", "RateLimiter", "FileFunction",
           "ScanSource", "ExportSource", "FileSource", "S3Spec", "UpdateSink", "BatchSink", "FileSink", "ImportSink",
           "TableCheckpoints", "MemoryCheckpoints", "CheckpointStore", "SegmentState", "LeaseLost", "CHECKPOINT_KEY",
           "TableSpec", "Put", "Delete", "DROP", "Counts", "SegmentResult", "Estimate", "estimate",
           "ProgressMonitor", "ProgressReport", "RichProgress", "log_progress", "create_checkpoint_table"]


def create_checkpoint_table(client: Any, name: str = "BulkCheckpoints") -> None:
    """Create the checkpoint table with a boto3 DynamoDB ``client`` (tests, laptops; provision it from
    ``ddbkit/bulk/checkpoints.component.yaml`` elsewhere). Waits until it is ACTIVE."""
    c = client
    c.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "jobId", "AttributeType": "S"},
                              {"AttributeName": "segment", "AttributeType": "N"}],
        KeySchema=[{"AttributeName": "jobId", "KeyType": "HASH"}, {"AttributeName": "segment", "KeyType": "RANGE"}])
    c.get_waiter("table_exists").wait(TableName=name)
