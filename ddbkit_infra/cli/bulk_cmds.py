"""``ddbkit bulk``: run, watch and resume bulk jobs (ddbkit.bulk) from the terminal.

``ddbkit bulk run JOB.py --table T`` loads ``transform(item)`` from JOB.py (or a ``job`` object it
defines), scans T in ``--segments`` segments on the chosen ``--runner``, and writes changed items back
conditionally. Progress is a live rich bar on a terminal and JSON lines on stderr otherwise.
Checkpoints go to ``--checkpoint-table`` (created when missing), so ``ddbkit bulk status JOB_ID`` and
``ddbkit bulk resume JOB_ID`` work from any machine. Exit codes: 0 every segment done, 1 some failed
(resume retries them), 2 usage.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from ddbkit_infra.cli.common import EXIT_CODES_HELP, aws_options, fail, resolve_region, session

DEFAULT_CHECKPOINTS = "BulkCheckpoints"


def register(group: click.Group) -> None:
    group.add_command(bulk)


def _aws_options(fn: Any) -> Any:
    fn = click.option("--endpoint-url", default=None, help="DynamoDB endpoint (local backends).")(fn)
    fn = click.option("--checkpoint-table", default=DEFAULT_CHECKPOINTS, show_default=True,
                      help="DynamoDB table of checkpoints and leases (created when missing).")(fn)
    return aws_options(fn)


def _session(region: str | None, profile: str | None) -> Any:
    """The session for --profile in the one region rule's region (exit 2 naming --region when none)."""
    found = resolve_region(region, profile)
    if profile:
        import boto3

        boto3.setup_default_session(profile_name=profile, region_name=found)  # workers' Tables use it
    return session(found, profile)


def _checkpoints(session: Any, name: str, endpoint_url: str | None, create: bool) -> Any:
    from ddbkit.bulk import TableCheckpoints, TableSpec, create_checkpoint_table

    client = session.client("dynamodb", endpoint_url=endpoint_url)
    try:
        client.describe_table(TableName=name)
    except client.exceptions.ResourceNotFoundException:
        if not create:
            fail(f"checkpoint table {name}: not found (no job has run with it)")
        create_checkpoint_table(client, name)
    return TableCheckpoints(TableSpec(name, key=("jobId", "segment"), endpoint_url=endpoint_url,
                                      region_name=session.region_name))


def _terminal(as_json: bool) -> Any:
    """A rich Console on stderr when stderr is a terminal and --json is off; None for JSON lines."""
    if as_json or not sys.stderr.isatty():
        return None
    from rich.console import Console

    return Console(stderr=True)


def _json_line(r: Any) -> None:
    import json
    from dataclasses import asdict

    click.echo(json.dumps({"event": "bulk.progress", **asdict(r)}, default=str), err=True)


def _run_and_report(job: Any, runner: str, workers: int, address: str | None, interval: float,
                    as_json: bool) -> None:
    from contextlib import nullcontext

    from ddbkit.bulk import ProgressMonitor, RichProgress, run

    if runner == "dask" and address:
        where = f"the Dask cluster at {address} ({_cluster_workers(address)} workers)"
    else:
        where = f"{runner} ({workers} workers)"
    click.echo(f"job {job.job_id}: {job.source.segment_count()} segments on {where}", err=True)
    console = _terminal(as_json)
    view = RichProgress(console) if console is not None else None
    with view or nullcontext(), ProgressMonitor(job.checkpoints, job.job_id, job.source.segment_count(),
                                                view or _json_line, interval):
        result = run(job, runner, workers=workers, address=address)
    c = result.counts
    click.echo(f"job {job.job_id}: {len([s for s in result.segments if s.status == 'DONE'])} segments done this run, "
               f"{c.read:,} items read, {c.changed:,} changed, {c.dropped:,} dropped, {c.emitted:,} emitted, "
               f"{c.skipped:,} skipped, {c.conflicts:,} conflicts, {c.throttles:,} throttles in {result.seconds:.1f}s")
    failed = result.failed()
    by_error: dict[tuple[str, str], list[int]] = {}  # the same error in every segment is said once
    for s in failed:
        by_error.setdefault((s.status, "; ".join(s.errors[-1:]) or "stopped"), []).append(s.segment)
    for (status, why), segs in by_error.items():
        which = f"segment {segs[0]}" if len(segs) == 1 else f"segments {', '.join(map(str, segs))}"
        click.echo(f"error: {which}: {status}: {why}", err=True)
    if failed:
        if any(s.status == "DONE" or s.counts.read for s in result.segments):  # something to resume from
            click.echo(f"resume with: ddbkit bulk resume {job.job_id}", err=True)
        sys.exit(1)


def _cluster_workers(address: str) -> int:
    """How many workers the Dask scheduler at ``address`` has now (what the job runs on, not --workers)."""
    import importlib

    distributed: Any = importlib.import_module("distributed")
    with distributed.Client(address, timeout=30) as client:
        return len(client.nthreads())


def _preflight(session: Any, table: str, index: str | None, endpoint_url: str | None) -> None:
    """Before any checkpoint or worker: the table exists, has a key schema (and ``index``, if given) and one
    item can be read, so a wrong name or a missing permission is one error line, exit 1, nothing created."""
    from botocore.exceptions import BotoCoreError, ClientError

    from ddbkit_infra.cli.common import explain

    client = session.client("dynamodb", endpoint_url=endpoint_url)
    try:
        described = client.describe_table(TableName=table)["Table"]
        if not any(k.get("KeyType") == "HASH" for k in described.get("KeySchema") or []):
            fail(f"bulk job on {table}: the table has no key schema (DescribeTable answered without one)")
        indexes = [i["IndexName"] for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes")
                   for i in described.get(kind) or []]
        if index is not None and index not in indexes:
            fail(f"bulk job on {table}: --index {index}: no such index (the table has: "
                 f"{', '.join(indexes) or 'none'})")
        client.scan(TableName=table, Limit=1, **({"IndexName": index} if index else {}))
    except (ClientError, BotoCoreError) as err:
        fail(f"bulk job on {table}: {explain(err, session.region_name)}; nothing was started")


@click.group(epilog=EXIT_CODES_HELP)
def bulk() -> None:
    """Bulk jobs over a table: backfill, transform, copy, delete by predicate (ddbkit.bulk)."""


@bulk.command("run")
@click.argument("job_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--table", required=True, help="The table to scan (and write back to).")
@click.option("--function", "function", default="transform", show_default=True,
              help="The per-item function JOB_FILE defines: item -> None (keep), dict (changed), DROP, Put/Delete.")
@click.option("--runner", type=click.Choice(["local", "processes", "dask"]), default="local", show_default=True,
              help="Where segments run: threads, a process pool, or a Dask cluster.")
@click.option("--workers", type=int, default=4, show_default=True, help="Segments run at once.")
@click.option("--address", default=None, help="Dask scheduler address (runner dask); default: a local cluster.")
@click.option("--segments", type=int, default=8, show_default=True, help="Parallel scan segments (resume units).")
@click.option("--index", default=None, help="Scan this index instead of the table.")
@click.option("--rate-wcu", type=float, default=None, help="Write capacity units per second for the whole job.")
@click.option("--rate-rcu", type=float, default=None, help="Read capacity units per second for the whole job.")
@click.option("--marker", default=None, help="Attribute set to the job id on every write; items carrying it are skipped.")
@click.option("--job-id", default=None, help="Job id (default: random); the same id resumes a job.")
@click.option("--dry-run", is_flag=True, help="Report items, bytes, capacity and cost; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Progress as JSON lines on stderr.")
@click.option("--interval", type=float, default=2.0, show_default=True, help="Seconds between progress reports.")
@_aws_options
def run_cmd(job_file: str, table: str, function: str, runner: str, workers: int, address: str | None,
            segments: int, index: str | None, rate_wcu: float | None, rate_rcu: float | None, marker: str | None,
            job_id: str | None, dry_run: bool, as_json: bool, interval: float, region: str | None,
            profile: str | None, endpoint_url: str | None, checkpoint_table: str) -> None:
    """Run JOB_FILE's function over every item of --table."""
    from ddbkit.bulk import FileFunction, Job, ScanSource, TableSpec, UpdateSink, estimate
    from ddbkit.errors import DdbkitError

    session = _session(region, profile)
    spec = TableSpec(table, endpoint_url=endpoint_url, region_name=session.region_name)
    try:
        fn = FileFunction(job_file, function)
        fn.load_module()
        source = ScanSource(spec, segments=segments, index=index)
        job = Job(source, fn, UpdateSink(marker=marker), job_id=job_id or "",
                  rate_rcu=rate_rcu, rate_wcu=rate_wcu,
                  meta={"job_file": os.path.abspath(job_file), "function": function, "table": table,
                        "index": index, "marker": marker, "endpoint_url": endpoint_url})
        _preflight(session, table, index, endpoint_url)
        if dry_run:
            for line in estimate(job).lines():
                click.echo(line)
            return
        job.checkpoints = _checkpoints(session, checkpoint_table, endpoint_url, create=True)
        _run_and_report(job, runner, workers, address, interval, as_json)
    except DdbkitError as err:
        fail(f"bulk job on {table}: {err}")


@bulk.command("status")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="Print the job and its segments as JSON.")
@_aws_options
def status_cmd(job_id: str, as_json: bool, region: str | None, profile: str | None, endpoint_url: str | None,
               checkpoint_table: str) -> None:
    """Show each segment of JOB_ID: status, items, errors (exit 1 if any failed)."""
    import json

    session = _session(region, profile)
    store = _checkpoints(session, checkpoint_table, endpoint_url, create=False)
    header = store.get_job(job_id)
    if header is None:
        fail(f"job {job_id}: not found in {checkpoint_table}")
    states = store.status(job_id)
    if as_json:
        click.echo(json.dumps({"job": header, "segments": [
            {"segment": s.segment, "status": s.status, "counts": s.counts.as_dict(), "errors": s.errors}
            for s in states]}, default=str))
    else:
        click.echo(f"job {job_id}: {header.get('source', {}).get('table')} ({len(states)}/{header.get('segments')} "
                   "segments started)")
        for s in states:
            err = f"  {s.errors[-1]}" if s.errors and s.status == "FAILED" else ""
            click.echo(f"  segment {s.segment:>4}  {s.status:<8} read {s.counts.read:>9,}  "
                       f"changed {s.counts.changed:>9,}{err}")
    done = sum(s.status == "DONE" for s in states)
    click.echo(f"{done}/{header.get('segments')} segments done", err=True)
    if any(s.status == "FAILED" for s in states):
        sys.exit(1)


@bulk.command("resume")
@click.argument("job_id")
@click.option("--runner", type=click.Choice(["local", "processes", "dask"]), default="local", show_default=True,
              help="Where segments run: threads, a process pool, or a Dask cluster.")
@click.option("--workers", type=int, default=4, show_default=True, help="Segments run at once.")
@click.option("--address", default=None, help="Dask scheduler address (runner dask); default: a local cluster.")
@click.option("--json", "as_json", is_flag=True, help="Progress as JSON lines on stderr.")
@click.option("--interval", type=float, default=2.0, show_default=True, help="Seconds between progress reports.")
@_aws_options
def resume_cmd(job_id: str, runner: str, workers: int, address: str | None, as_json: bool, interval: float,
               region: str | None, profile: str | None, endpoint_url: str | None, checkpoint_table: str) -> None:
    """Run what JOB_ID has not finished, from each segment's last checkpoint, with its recorded settings."""
    from ddbkit.bulk import FileFunction, Job, ScanSource, TableSpec, UpdateSink
    from ddbkit.errors import DdbkitError

    session = _session(region, profile)
    store = _checkpoints(session, checkpoint_table, endpoint_url, create=False)
    header = store.get_job(job_id)
    if header is None:
        fail(f"job {job_id}: not found in {checkpoint_table}")
    if not header.get("job_file") or not os.path.exists(header["job_file"]):
        fail(f"job {job_id}: its job file {header.get('job_file')!r} is not on this machine")
    endpoint = endpoint_url or header.get("endpoint_url")
    spec = TableSpec(header["table"], endpoint_url=endpoint, region_name=session.region_name)
    try:
        job = Job(ScanSource(spec, segments=int(header["segments"]), index=header.get("index")),
                  FileFunction(header["job_file"], header.get("function") or "transform"),
                  UpdateSink(marker=header.get("marker")), job_id=job_id, checkpoints=store,
                  rate_rcu=header.get("rate_rcu"), rate_wcu=header.get("rate_wcu"),
                  meta={k: header.get(k) for k in ("job_file", "function", "table", "index", "marker", "endpoint_url")})
        _run_and_report(job, runner, workers, address, interval, as_json)
    except DdbkitError as err:
        fail(f"bulk job {job_id}: {err}")
