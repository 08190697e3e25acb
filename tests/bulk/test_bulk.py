"""ddbkit.bulk: backfills, copies and loads with checkpoints, leases, resume and rate limits.

Integration tests run on AWS's DynamoDB Local (real conditional writes, parallel scan segments) and,
for S3 exports, moto's server; throttles come from tests/support/fault_proxy.py in front of DynamoDB Local.
"""

from __future__ import annotations

import importlib.util
import json

import time
import tracemalloc
from decimal import Decimal
from pathlib import Path
from typing import Any

import bulk_jobs
import pytest
from backends import Backend, create_example_table
from click.testing import CliRunner
from fault_proxy import FaultProxy, ProxyFaults

from ddbkit import Table
from ddbkit.bulk import (DROP, BatchSink, Counts, FileFunction, FileSink, FileSource, Job, LeaseLost,
                         MemoryCheckpoints, RateLimiter, ScanSource, TableCheckpoints, TableSpec, UpdateSink,
                         create_checkpoint_table, estimate, run)
from ddbkit.errors import ClientValidationError

ROOT = Path(__file__).resolve().parents[2]
BACKFILL = ROOT / "examples" / "iot-time-series" / "backfill_job.py"

pytestmark = pytest.mark.integration


def _load_backfill() -> Any:
    spec = importlib.util.spec_from_file_location("backfill_job", BACKFILL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sensor_table(backend: Backend, n: int = 240) -> tuple[Table, TableSpec, int]:
    """SensorData with ``n`` readings; every other one lacks sensorType. Returns (table, spec, legacy)."""
    create_example_table(backend.client(), "iot-time-series")
    spec = TableSpec("SensorData", key=("deviceId", "timestamp"), endpoint_url=backend.endpoint_url,
                     region_name=backend.region)
    table = Table("SensorData", key=("deviceId", "timestamp"), endpoint_url=backend.endpoint_url,
                  region_name=backend.region)
    prefixes = ["thermo", "hygro", "baro"]
    items = []
    for i in range(n):
        item: dict[str, Any] = {"deviceId": f"{prefixes[i % 3]}-{i % 7:04d}", "timestamp": 1_700_000_000 + i,
                                "value": Decimal("20.5") + i}
        if i % 2:
            item["sensorType"] = {"thermo": "temperature", "hygro": "humidity", "baro": "pressure"}[prefixes[i % 3]]
        items.append(item)
    table.batch_write(items)
    return table, spec, n // 2


def _checkpoints(backend: Backend, name: str = "BulkCheckpoints") -> TableCheckpoints:
    create_checkpoint_table(backend.client(), name)
    return TableCheckpoints(TableSpec(name, key=("jobId", "segment"), endpoint_url=backend.endpoint_url,
                                      region_name=backend.region))


def _all(table: Table) -> list[dict[str, Any]]:
    return list(table.scan_iter(consistent=True))


# --- the example job, on the in-process runner -------------------------------------------------------------
def test_backfill_example_on_local_runner(ddb_local_backend: Backend) -> None:
    table, spec, legacy = _sensor_table(ddb_local_backend)
    store = _checkpoints(ddb_local_backend)
    job = Job(ScanSource(spec, segments=4, page_size=25), _load_backfill().transform, job_id="backfill-1",
              checkpoints=store)
    result = run(job, "local", workers=4)
    assert result.ok and len(result.segments) == 4
    assert result.counts.read == 240 and result.counts.changed == legacy and result.counts.unchanged == 240 - legacy
    items = _all(table)
    assert all("sensorType" in i for i in items)
    from ddbkit import Key

    assert table.count(Key("sensorType").eq("temperature"), index="SensorTypeIndex") == 80
    # status: every segment DONE with its counts; the job's description is recorded for resume
    states = store.status("backfill-1")
    assert [s.status for s in states] == ["DONE"] * 4
    assert sum(s.counts.changed for s in states) == legacy
    assert store.get_job("backfill-1")["source"]["table"] == "SensorData"
    # running the same job id again does nothing: every segment is DONE
    again = run(job, "local", workers=4)
    assert [s.status for s in again.segments] == ["SKIPPED"] * 4 and again.counts.read == 0


def test_conditional_sink_never_overwrites_a_concurrent_write(ddb_local_backend: Backend) -> None:
    table, spec, _ = _sensor_table(ddb_local_backend, n=6)
    victim = {"deviceId": "thermo-0000", "timestamp": 1_700_000_000}
    raced: list[bool] = []

    def backfill_with_race(item: dict[str, Any]) -> dict[str, Any] | None:
        if item["deviceId"] == victim["deviceId"] and item["timestamp"] == victim["timestamp"] and not raced:
            raced.append(True)
            table.update(victim, set={"value": Decimal("99")})   # another writer, between read and write
        if "sensorType" in item:
            return None
        return {**item, "sensorType": "temperature", "derived": item["value"] * 2}

    job = Job(ScanSource(spec, segments=1), backfill_with_race, UpdateSink(concurrency=1))
    result = run(job, "local", workers=1)
    assert result.ok and result.counts.conflicts == 1
    stored = table.get(victim, consistent=True)
    assert stored is not None
    # the concurrent write survived, and the function ran again on it (derived from 99, not 20.5)
    assert stored["value"] == 99 and stored["derived"] == 198 and stored["sensorType"] == "temperature"


def test_kill_and_resume_processes_every_item_exactly_once(ddb_local_backend: Backend) -> None:
    table, spec, _ = _sensor_table(ddb_local_backend, n=200)
    store = _checkpoints(ddb_local_backend)
    job = Job(ScanSource(spec, segments=2, page_size=30), bulk_jobs.count_up_then_die, UpdateSink(marker="bulkJob"),
              job_id="count-once", checkpoints=store, lease_seconds=1.0)
    bulk_jobs.KILL_AFTER["job"] = 70           # die mid-page, after 70 writes, leases held
    with pytest.raises(bulk_jobs.Killed):
        run(job, "local", workers=2)
    bulk_jobs.KILL_AFTER["job"] = -1
    # a second run now cannot take the killed segments: their leases are live
    early = run(job, "local", workers=2)
    assert {s.status for s in early.segments} <= {"SKIPPED", "DONE"}
    time.sleep(1.2)                            # the dead workers' leases expire
    resumed = run(job, "local", workers=2)
    assert resumed.ok
    items = _all(table)
    assert len(items) == 200 and all(i["n"] == 1 for i in items), sorted(i["n"] for i in items)
    assert all(i["bulkJob"] == "count-once" for i in items)
    assert sum(s.counts.changed for s in store.status("count-once")) + resumed.counts.skipped >= 200


def test_a_lease_keeps_a_segment_from_running_twice(ddb_local_backend: Backend) -> None:
    _, spec, _ = _sensor_table(ddb_local_backend, n=20)
    store = _checkpoints(ddb_local_backend)
    held = store.acquire("lease-job", 0, "other-worker", lease_seconds=60)
    assert held is not None and held.status == "RUNNING"
    assert store.acquire("lease-job", 0, "me", lease_seconds=60) is None
    job = Job(ScanSource(spec, segments=2), _load_backfill().transform, job_id="lease-job", checkpoints=store)
    result = run(job, "local", workers=2)
    assert [s.status for s in result.segments] == ["SKIPPED", "DONE"]
    # the holder still owns segment 0; a worker whose lease was taken over stops at its next checkpoint
    taker = store.acquire("lease-job", 0, "taker", lease_seconds=0.01)
    assert taker is None
    stale = store.acquire("lease-job", 5, "slow", lease_seconds=0.01)
    assert stale is not None
    time.sleep(0.05)
    assert store.acquire("lease-job", 5, "fast", lease_seconds=60) is not None
    with pytest.raises(LeaseLost):
        store.save(stale, 60)


def test_throttles_mid_job_are_retried_and_counted(ddb_local_backend: Backend) -> None:
    table, _, legacy = _sensor_table(ddb_local_backend, n=120)
    with FaultProxy(ddb_local_backend.endpoint_url or "", ProxyFaults(seed=3, throttle=0.15)) as proxy:
        spec = TableSpec("SensorData", key=("deviceId", "timestamp"), endpoint_url=proxy.endpoint_url,
                         region_name=ddb_local_backend.region)
        job = Job(ScanSource(spec, segments=3, page_size=20), _load_backfill().transform, job_id="throttled")
        result = run(job, "local", workers=3)
        assert proxy.counts["throttled"] > 0
    assert result.ok and result.counts.changed == legacy
    assert result.counts.throttles > 0 or proxy.counts["throttled"] > 0
    assert all("sensorType" in i for i in _all(table))


def test_reset_after_apply_mid_job_loses_and_doubles_nothing(ddb_local_backend: Backend) -> None:
    table, _, _ = _sensor_table(ddb_local_backend, n=120)
    with FaultProxy(ddb_local_backend.endpoint_url or "",
                    ProxyFaults(seed=5, reset_after=0.1, operations=frozenset({"UpdateItem"}))) as proxy:
        spec = TableSpec("SensorData", key=("deviceId", "timestamp"), endpoint_url=proxy.endpoint_url,
                         region_name=ddb_local_backend.region)
        job = Job(ScanSource(spec, segments=2, page_size=20), bulk_jobs.count_up, UpdateSink(marker="bulkJob"),
                  job_id="resets")
        result = run(job, "local", workers=2)
        assert proxy.counts["reset"] > 0
    assert result.ok
    items = _all(table)
    # an update applied whose reply was lost is retried: the retry finds the marker (condition fails,
    # re-read, skipped) or the item unchanged; never n == 2
    assert len(items) == 120 and all(i["n"] == 1 for i in items), sorted(i["n"] for i in items)


# --- other runners -----------------------------------------------------------------------------------------
def test_backfill_on_a_process_pool(ddb_local_backend: Backend) -> None:
    table, spec, legacy = _sensor_table(ddb_local_backend, n=90)
    store = _checkpoints(ddb_local_backend)
    job = Job(ScanSource(spec, segments=3), FileFunction(str(BACKFILL)), job_id="procs", checkpoints=store)
    result = run(job, "processes", workers=2)
    assert result.ok and result.counts.changed == legacy
    assert len({s.owner.split(":")[1] for s in result.segments}) >= 1
    assert all("sensorType" in i for i in _all(table))


def test_backfill_on_a_dask_local_cluster(ddb_local_backend: Backend) -> None:
    pytest.importorskip("distributed")
    table, spec, legacy = _sensor_table(ddb_local_backend, n=120)
    store = _checkpoints(ddb_local_backend)
    job = Job(ScanSource(spec, segments=4), FileFunction(str(BACKFILL)), job_id="dask", checkpoints=store)
    result = run(job, "dask", workers=2)
    assert result.ok and result.counts.changed == legacy
    assert all("sensorType" in i for i in _all(table))
    assert [s.status for s in store.status("dask")] == ["DONE"] * 4


# --- files and exports -------------------------------------------------------------------------------------
def test_file_source_segments_cover_every_line_once(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"pk": f"k{i}", "name": f"n{i}", "v": 1.5}) + "\n" for i in range(1000)))
    job = Job(FileSource(str(src), segments=7, page_lines=50), bulk_jobs.upper_name, FileSink(tmp_path / "out"),
              job_id="files")
    result = run(job, "local", workers=3)
    assert result.ok and result.counts.read == 1000 and result.counts.changed == 1000
    back = Job(FileSource(str(tmp_path / "out" / "files-00000.jsonl"), format="ddb-json"), lambda i: None,
               FileSink(tmp_path / "again"))
    rows = []
    for seg in range(7):
        rows += [json.loads(line) for line in (tmp_path / "out" / f"files-{seg:05d}.jsonl").read_text().splitlines()]
    names = sorted(r["Item"]["name"]["S"] for r in rows)
    assert names == sorted(f"N{i}" for i in range(1000))
    assert rows[0]["Item"]["v"] == {"N": "1.5"}   # exact numbers in DynamoDB JSON
    assert back.source.segment_count() == 1


def test_file_sink_resume_truncates_what_came_after_the_checkpoint(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"pk": f"k{i}", "name": "x"}) + "\n" for i in range(100)))
    store = MemoryCheckpoints()
    bulk_jobs.KILL_AFTER["job"] = 35

    def die_later(item: dict[str, Any]) -> Any:
        bulk_jobs.count_up_then_die(item)
        return item

    job = Job(FileSource(str(src), page_lines=10), die_later, FileSink(tmp_path / "out", format="jsonl"),
              job_id="trunc", checkpoints=store, lease_seconds=0.01)
    with pytest.raises(bulk_jobs.Killed):
        run(job, "local", workers=1)
    bulk_jobs.KILL_AFTER["job"] = -1
    time.sleep(0.05)
    assert run(job, "local", workers=1).ok
    lines = (tmp_path / "out" / "trunc-00000.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["pk"] for line in lines) == sorted(f"k{i}" for i in range(100))


def test_csv_source_with_types_loads_into_a_table(ddb_local_backend: Backend, tmp_path: Path) -> None:
    client = ddb_local_backend.client()
    client.create_table(TableName="Loaded", BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    src = tmp_path / "in.csv"
    src.write_text("pk,n,name\n" + "".join(f"k{i},{i},{'' if i % 5 == 0 else 'v' + str(i)}\n" for i in range(300)))
    spec = TableSpec("Loaded", key="pk", endpoint_url=ddb_local_backend.endpoint_url,
                     region_name=ddb_local_backend.region)
    job = Job(FileSource(str(src), format="csv", segments=3, types={"n": int}), lambda i: i, BatchSink(spec))
    assert run(job, "local", workers=3).ok
    table = spec.open()
    items = {i["pk"]: i for i in table.scan_iter()}
    assert len(items) == 300 and items["k7"] == {"pk": "k7", "n": 7, "name": "v7"} and "name" not in items["k5"]


def test_export_source_reads_an_s3_export_into_another_table(moto_backend: Backend) -> None:
    from ddbkit.bulk import ExportSource, S3Spec

    ddb = moto_backend.client()
    for name in ("Src", "Dst"):
        ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    ddb.update_continuous_backups(TableName="Src", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    src = Table("Src", key="pk", endpoint_url=moto_backend.endpoint_url, region_name=moto_backend.region)
    src.batch_write({"pk": f"k{i}", "value": i, "tags": {"a", "b"}} for i in range(50))
    s3 = moto_backend.client("s3")
    s3.create_bucket(Bucket="exports")
    arn = ddb.describe_table(TableName="Src")["Table"]["TableArn"]
    export = ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket="exports", S3Prefix="snap",
                                               ExportFormat="DYNAMODB_JSON")["ExportDescription"]["ExportArn"]
    for _ in range(50):
        if ddb.describe_export(ExportArn=export)["ExportDescription"]["ExportStatus"] != "IN_PROGRESS":
            break
        time.sleep(0.1)
    dst = TableSpec("Dst", key="pk", endpoint_url=moto_backend.endpoint_url, region_name=moto_backend.region)
    source = ExportSource("exports", "snap", S3Spec(moto_backend.endpoint_url, moto_backend.region))
    assert source.segment_count() >= 1
    result = run(Job(source, lambda i: i, BatchSink(dst)), "local", workers=2)
    assert result.ok and result.counts.read == 50
    copied = {i["pk"]: i for i in dst.open().scan_iter()}
    assert len(copied) == 50 and copied["k3"] == {"pk": "k3", "value": 3, "tags": {"a", "b"}}


# --- capacity, dry run, memory --------------------------------------------------------------------------------
def test_rate_limiter_spreads_units_and_backs_off_on_throttles() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    limiter = RateLimiter(wcu=50, clock=lambda: now[0], sleep=sleep)
    limiter.charge(0, 100)
    assert slept == [pytest.approx(2.0)]
    limiter.throttled()
    assert limiter.factor == pytest.approx(0.5)
    limiter.charge(0, 25)                       # 25 units at 25/s
    assert slept[-1] == pytest.approx(1.0)
    with pytest.raises(ClientValidationError):
        RateLimiter(wcu=0)


def test_dry_run_reports_items_capacity_and_cost_and_writes_nothing(ddb_local_backend: Backend) -> None:
    table, spec, legacy = _sensor_table(ddb_local_backend, n=100)
    before = _all(table)
    est = estimate(Job(ScanSource(spec, segments=4), _load_backfill().transform, rate_wcu=10), exact=True)
    assert est.items == 100 and est.sampled > 0
    assert 0.2 < est.change_ratio < 0.8 and est.write_units >= 20 and est.read_units >= 1
    assert est.on_demand_cost_usd > 0 and est.seconds_at_rate is not None
    assert _all(table) == before


def test_memory_per_worker_is_flat_in_the_number_of_items(tmp_path: Path) -> None:
    def peak(n: int) -> int:
        src = tmp_path / f"in{n}.jsonl"
        src.write_text("".join(json.dumps({"pk": f"k{i}", "name": "abcdefgh" * 4}) + "\n" for i in range(n)))
        job = Job(FileSource(str(src), page_lines=200), bulk_jobs.upper_name, FileSink(tmp_path / f"o{n}"))
        tracemalloc.start()
        assert run(job, "local", workers=1).ok
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(5_000), peak(20_000)
    assert large < small * 1.5 + 256 * 1024, (small, large)


def test_bad_outcomes_and_settings_are_clear_errors(ddb_local_backend: Backend) -> None:
    _, spec, _ = _sensor_table(ddb_local_backend, n=4)
    result = run(Job(ScanSource(spec, segments=1), lambda item: 42), "local", workers=1)
    assert not result.ok and "bulk.outcome" in result.segments[0].errors[0]
    rekey = run(Job(ScanSource(spec, segments=1), lambda item: {**item, "timestamp": 1}), "local", workers=1)
    assert not rekey.ok and "Put/Delete to re-key" in rekey.segments[0].errors[0]
    with pytest.raises(ClientValidationError, match="runner"):
        run(Job(ScanSource(spec), lambda i: None), "spark")
    with pytest.raises(ClientValidationError, match="needs a sink"):
        Job(FileSource(__file__), lambda i: None)
    assert DROP is pickle_roundtrip(DROP)
    assert Counts.from_dict(Counts(read=3).as_dict()) == Counts(read=3)


def pickle_roundtrip(value: Any) -> Any:
    import pickle

    return pickle.loads(pickle.dumps(value))


# --- the command line ------------------------------------------------------------------------------------
def test_cli_run_status_resume(ddb_local_backend: Backend) -> None:
    from ddbkit_infra.cli import cli

    table, _, legacy = _sensor_table(ddb_local_backend, n=60)
    common = ["--endpoint-url", ddb_local_backend.endpoint_url or "", "--region", ddb_local_backend.region]
    runner = CliRunner()
    dry = runner.invoke(cli, ["bulk", "run", str(BACKFILL), "--table", "SensorData", "--dry-run", *common])
    assert dry.exit_code == 0, dry.output
    assert "write units" in dry.output and "on-demand cost" in dry.output
    out = runner.invoke(cli, ["bulk", "run", str(BACKFILL), "--table", "SensorData", "--segments", "3",
                              "--job-id", "cli-job", "--json", "--interval", "0.2", *common])
    assert out.exit_code == 0, out.output
    assert f"{legacy} changed" in out.output
    status = runner.invoke(cli, ["bulk", "status", "cli-job", "--json", *common])
    assert status.exit_code == 0, status.output
    data = json.loads(status.output.splitlines()[0])
    assert [s["status"] for s in data["segments"]] == ["DONE"] * 3
    resumed = runner.invoke(cli, ["bulk", "resume", "cli-job", *common])
    assert resumed.exit_code == 0 and "0 segments done this run" in resumed.output
    missing = runner.invoke(cli, ["bulk", "status", "no-such-job", *common])
    assert missing.exit_code == 1 and "error: job no-such-job: not found" in missing.output
    assert all("sensorType" in i for i in _all(table))




# --- ImportTable sink ------------------------------------------------------------------------------------------
def test_import_sink_writes_pages_to_s3_and_imports_a_new_table_after_a_resume(moto_backend: Backend,
                                                                               tmp_path: Path) -> None:
    import gzip

    from ddbkit.bulk import ImportSink, S3Spec

    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"pk": f"k{i}", "v": i, "blob": "x" * (i % 5)}) + "\n" for i in range(120)))
    s3 = moto_backend.client("s3")
    s3.create_bucket(Bucket="loads")
    sink = ImportSink("loads", "staging", TableSpec("Imported", key="pk", endpoint_url=moto_backend.endpoint_url,
                                                     region_name=moto_backend.region),
                      s3=S3Spec(moto_backend.endpoint_url, moto_backend.region))
    job = Job(FileSource(str(src), segments=3, page_lines=10), bulk_jobs.count_up_then_die, sink, job_id="imp",
              checkpoints=MemoryCheckpoints(), lease_seconds=0.01)
    bulk_jobs.KILL_AFTER["job"] = 55            # dies mid-page: some pages written, no import yet
    try:
        with pytest.raises(bulk_jobs.Killed):
            run(job, "local", workers=1)
    finally:
        bulk_jobs.KILL_AFTER["job"] = -1
    ddb = moto_backend.client()
    assert "Imported" not in ddb.list_tables()["TableNames"]
    time.sleep(0.05)
    result = run(job, "local", workers=3)       # resume: the re-read page overwrites its object
    assert result.ok and result.finished is not None
    assert result.finished["ImportStatus"] == "COMPLETED", result.finished
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="loads", Prefix="staging/")["Contents"])
    assert keys[0] == "staging/imp/00000/00000000.json.gz" and len(keys) == len(set(keys))
    lines = [json.loads(line) for k in keys
             for line in gzip.decompress(s3.get_object(Bucket="loads", Key=k)["Body"].read()).splitlines()]
    assert sorted(r["Item"]["pk"]["S"] for r in lines) == sorted(f"k{i}" for i in range(120))   # none doubled
    imported = {i["pk"]: i for i in Table("Imported", key="pk", endpoint_url=moto_backend.endpoint_url,
                                          region_name=moto_backend.region).scan_iter()}
    assert len(imported) == 120 and imported["k7"] == {"pk": "k7", "v": 7, "blob": "xx", "n": 1}


def test_import_sink_request_and_a_failed_import_is_an_error(tmp_path: Path) -> None:
    from botocore.stub import Stubber

    from ddbkit.bulk import ImportSink, JobResult
    from ddbkit.errors import DdbkitError

    params = {"TableName": "New", "BillingMode": "PAY_PER_REQUEST",
              "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
              "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}
    sink = ImportSink("b", "p/", params, region_name="us-east-1", endpoint_url="http://127.0.0.1:9")
    client = sink.dynamodb()
    sink.dynamodb = lambda: client  # type: ignore[method-assign]
    job = Job(FileSource(__file__), lambda i: None, sink, job_id="j1")
    with Stubber(client) as stub:
        arn = "arn:aws:dynamodb:us-east-1:123456789012:table/New/import/01234567"
        stub.add_response("import_table", {"ImportTableDescription": {"ImportArn": arn, "ImportStatus": "FAILED",
                                                                      "FailureCode": "ItemValidationError"}},
                          {"S3BucketSource": {"S3Bucket": "b", "S3KeyPrefix": "p/j1/"}, "InputFormat": "DYNAMODB_JSON",
                           "InputCompressionType": "GZIP", "TableCreationParameters": params,
                           "ClientToken": sink.request("j1")["ClientToken"]})
        with pytest.raises(DdbkitError, match="ItemValidationError"):
            sink.finish(job, JobResult("j1"))
    with pytest.raises(ClientValidationError, match="key"):
        ImportSink("b", "p", TableSpec("New"))


# --- ION exports -----------------------------------------------------------------------------------------------
def _ion_export(s3: Any, bucket: str, prefix: str, items: list[dict[str, Any]]) -> str:
    """An export-shaped ION export in S3 (moto exports only DYNAMODB_JSON): data/*.ion.gz of
    ``$ion_1_0 {Item:{...}}`` values as ExportFormat=ION writes them, and a manifest-files.json naming them."""
    import gzip

    from amazon.ion import simpleion
    from amazon.ion.core import IonType
    from amazon.ion.simple_types import IonPyList

    def ion(value: Any) -> Any:
        if isinstance(value, (set, frozenset)):
            first = next(iter(value))
            note = "$dynamodb_BS" if isinstance(first, bytes) else "$dynamodb_SS" if isinstance(first, str) \
                else "$dynamodb_NS"
            return IonPyList.from_value(IonType.LIST, [ion(v) for v in sorted(value)], annotations=(note,))
        if isinstance(value, dict):
            return {k: ion(v) for k, v in value.items()}
        if isinstance(value, list):
            return [ion(v) for v in value]
        return value

    folder = f"{prefix}/AWSDynamoDB/01700000000000-abcdef12"
    manifest = []
    for n, start in enumerate(range(0, len(items), 40)):
        key = f"{folder}/data/part{n}.ion.gz"
        text = simpleion.dumps([{"Item": ion(i)} for i in items[start:start + 40]], binary=False,
                               sequence_as_stream=True)
        s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(text.encode()))
        manifest.append(json.dumps({"itemCount": len(items[start:start + 40]), "dataFileS3Key": key}))
    s3.put_object(Bucket=bucket, Key=f"{folder}/manifest-files.json", Body="\n".join(manifest).encode())
    return folder


def test_export_source_reads_an_ion_export_with_every_type(moto_backend: Backend) -> None:
    pytest.importorskip("amazon.ion")
    from ddbkit.bulk import ExportSource, S3Spec

    ddb = moto_backend.client()
    ddb.create_table(TableName="FromIon", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    items = [{"pk": f"k{i}", "n": i, "price": Decimal("19.99") + i, "blob": bytes([i % 256, 0, 255]),
              "ok": i % 2 == 0, "none": None, "tags": {"a", f"t{i}"}, "nums": {Decimal(1), Decimal("2.5")},
              "bins": {b"\x00", b"\x01"}, "list": [Decimal("1.5"), "x", {"deep": [True]}],
              "map": {"k": "v", "n": Decimal("-3")}} for i in range(100)]
    s3 = moto_backend.client("s3")
    s3.create_bucket(Bucket="exports")
    folder = _ion_export(s3, "exports", "ion-snap", items)
    source = ExportSource("exports", "ion-snap", S3Spec(moto_backend.endpoint_url, moto_backend.region))
    assert source.segment_count() == 3 and all(f.startswith(folder) for f in source.files())
    # resume inside a file: position = values done
    resumed = [i["pk"] for page in source.pages(0, 35) for i in page.items]
    assert resumed == [f"k{i}" for i in range(35, 40)]
    dst = TableSpec("FromIon", key="pk", endpoint_url=moto_backend.endpoint_url, region_name=moto_backend.region)
    result = run(Job(source, lambda i: i, BatchSink(dst)), "local", workers=2)
    assert result.ok and result.counts.read == 100
    copied = {i["pk"]: i for i in dst.open().scan_iter()}
    assert len(copied) == 100
    got = copied["k7"]
    assert got == items[7], got
    assert isinstance(got["price"], Decimal) and isinstance(got["blob"], bytes) and isinstance(got["tags"], set)


# --- progress on a terminal ------------------------------------------------------------------------------------
def test_cli_progress_on_a_terminal_is_a_rich_bar(ddb_local_backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    from io import StringIO

    from rich.console import Console

    from ddbkit_infra.cli import bulk_cmds, cli

    _sensor_table(ddb_local_backend, n=60)
    screen = StringIO()
    monkeypatch.setattr(bulk_cmds, "_terminal",
                        lambda as_json: None if as_json else Console(file=screen, force_terminal=True, width=200))
    common = ["--endpoint-url", ddb_local_backend.endpoint_url or "", "--region", ddb_local_backend.region]
    out = CliRunner().invoke(cli, ["bulk", "run", str(BACKFILL), "--table", "SensorData", "--segments", "3",
                                   "--job-id", "tty-job", "--interval", "0.1", *common])
    assert out.exit_code == 0, out.output
    import re

    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())   # the terminal's control codes
    final = text.splitlines()[-1] if text.splitlines() else text
    assert "job tty-job" in final and "3/3 segments" in final, text
    assert "60 items (30 changed)" in final and "items/s" in final and "ETA 0:00:00" in final
    assert "━" in final                                                  # the bar
    assert '"event": "bulk.progress"' not in out.output                   # no JSON lines on a terminal
    # not a terminal: JSON lines, as before
    piped = CliRunner().invoke(cli, ["bulk", "run", str(BACKFILL), "--table", "SensorData", "--segments", "3",
                                     "--job-id", "piped-job", "--json", "--interval", "0.1", *common])
    assert piped.exit_code == 0 and '"event": "bulk.progress"' in piped.output


# --- a real worker kill ----------------------------------------------------------------------------------------
def test_sigkilled_worker_process_is_reported_and_resume_processes_every_item_once(
        ddb_local_backend: Backend, tmp_path: Path) -> None:
    table, spec, _ = _sensor_table(ddb_local_backend, n=200)
    store = _checkpoints(ddb_local_backend)
    marker = tmp_path / "killed-once"
    job = Job(ScanSource(spec, segments=4, page_size=20), bulk_jobs.SigkillOnce(str(marker), after=45),
              UpdateSink(marker="bulkJob"), job_id="sigkill", checkpoints=store, lease_seconds=3.0)
    first = run(job, "processes", workers=2)       # a worker SIGKILLs itself mid-page, in its third page
    assert marker.exists()
    assert not first.ok and len(first.segments) == 4
    lost = [s for s in first.segments if s.status == "STOPPED"]
    assert lost and all("worker process died" in s.errors[0] for s in lost), first.segments
    stored = {s.segment: s.status for s in store.status("sigkill")}
    assert any(status == "RUNNING" for status in stored.values())   # the dead worker's lease still held
    time.sleep(3.2)                                                    # the lease expires
    resumed = run(job, "processes", workers=2)
    assert resumed.ok, resumed.segments
    states = store.status("sigkill")
    assert [s.status for s in states] == ["DONE"] * 4
    items = _all(table)
    assert len(items) == 200 and all(i["n"] == 1 for i in items), sorted(i["n"] for i in items)
    assert all(i["bulkJob"] == "sigkill" for i in items)
    # counts match: every item read once in the checkpoints, and changed once or found done (marker) on resume
    total = Counts()
    for s in states:
        total.add(s.counts)
    assert total.read == 200 and total.changed + total.skipped == 200, total


def test_file_function_loads_its_file_once_when_threads_call_it_at_once(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "slow_job.py"
    path.write_text("import time\nLOADS = []\nLOADS.append(1)\ntime.sleep(0.3)\n\n"
                    "def transform(item):\n    return {**item, 'loads': len(LOADS)}\n")
    fn = pickle_roundtrip(FileFunction(str(path)))
    with ThreadPoolExecutor(8) as pool:
        out = list(pool.map(fn, [{"pk": str(i)} for i in range(8)]))
    assert [o["loads"] for o in out] == [1] * 8
