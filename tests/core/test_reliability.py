"""Nothing lost under faults: a fault-injecting server (real in-memory store) behind the real client.

Figures from these tests are quoted in docs/reliability.md; they are printed (-s), never asserted as
timings.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fault_server import FaultPlan, FaultyStore, start_faulty_server

from ddbkit import Table
from ddbkit.core import transactions as tx
from ddbkit.errors import BatchGetError, BatchWriteError, DynamoDBError
from ddbkit.core.expressions import Update
from ddbkit.transport.fast import FastTransport
from ddbkit.core.retry import RetryPolicy

PATIENT = RetryPolicy(max_attempts=40, base_delay=0.001, max_delay=0.02, seed=7)


@pytest.fixture
def faulty() -> Iterator[tuple[str, FaultyStore]]:
    server, store = start_faulty_server({"Things": ("pk",), "Ledger": ("pk",)})
    try:
        yield server.endpoint_url, store
    finally:
        server.stop()


def table(endpoint: str, name: str = "Things", policy: RetryPolicy = PATIENT, **kw: Any) -> Table:
    transport = FastTransport(endpoint_url=endpoint, region_name="us-east-1", read_timeout=kw.pop("read_timeout", 5.0))
    return Table(name, key="pk", transport=transport, retry=policy, **kw)


def stored(store: FaultyStore, name: str = "Things") -> dict[str, dict[str, Any]]:
    return {k[0][1]: v for k, v in store.items[name].items()}


@pytest.mark.slow
def test_100k_items_through_throttles_unprocessed_and_5xx(faulty: tuple[str, FaultyStore]) -> None:
    endpoint, store = faulty
    store.set_plan(FaultPlan(seed=1, throttle=0.20, server_error=0.02, unprocessed=0.30,
                             operations=frozenset({"BatchWriteItem"})))
    t = table(endpoint, concurrency=16)
    items = [{"pk": f"item-{i:06d}", "n": i, "payload": "x" * 20} for i in range(100_000)]
    t0 = time.perf_counter()
    result = t.batch_write(items)
    seconds = time.perf_counter() - t0
    usage = t.usage
    print(f"\n100k batch_write under 20% throttles + 2% 5xx + 30% unprocessed: {seconds:.1f} s, "
          f"{usage.calls['BatchWriteItem']} calls, {usage.total_retries} call retries, {result.rounds} "
          f"unprocessed rounds, server: {dict(store.counters)}")
    assert result.written == 100_000
    store.set_plan(FaultPlan())
    scanned = {it["pk"]: it["n"] for it in t.scan_iter(limit=1000)}
    assert scanned == {it["pk"]: it["n"] for it in items}
    assert store.counters["throttles"] > 0 and store.counters["unprocessed"] > 0 and store.counters["server_errors"] > 0


def test_capped_attempts_report_exactly_the_unwritten_items(faulty: tuple[str, FaultyStore]) -> None:
    endpoint, store = faulty
    store.set_plan(FaultPlan(seed=3, unprocessed=0.5, throttle=0.1, operations=frozenset({"BatchWriteItem"})))
    t = table(endpoint, policy=RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0))
    items = [{"pk": f"k{i:04d}", "v": i} for i in range(2000)]
    with pytest.raises(BatchWriteError) as exc:
        t.batch_write(items)
    written = set(stored(store))
    lost = {it["pk"] for it in exc.value.items}
    assert lost and written and not written & lost and written | lost == {it["pk"] for it in items}
    assert exc.value.written == len(written)


def test_batch_get_under_faults(faulty: tuple[str, FaultyStore]) -> None:
    endpoint, store = faulty
    t = table(endpoint)
    t.batch_write([{"pk": f"k{i:04d}"} for i in range(1000)])
    store.set_plan(FaultPlan(seed=4, unprocessed=0.4, throttle=0.1, server_error=0.05,
                             operations=frozenset({"BatchGetItem"})))
    got = t.batch_get([{"pk": f"k{i:04d}"} for i in range(1100)])
    assert len(got.items) == 1000 and len(got.missing) == 100
    capped = table(endpoint, policy=RetryPolicy(max_attempts=1))
    with pytest.raises(BatchGetError) as exc:
        capped.batch_get([{"pk": f"k{i:04d}"} for i in range(1000)])
    assert {it["pk"] for it in exc.value.items} | {k["pk"] for k in exc.value.unprocessed} == {
        f"k{i:04d}" for i in range(1000)}


def test_query_pages_resume_from_the_cursor_without_duplicates_or_gaps(faulty: tuple[str, FaultyStore]) -> None:
    endpoint, store = faulty
    t = table(endpoint)
    t.batch_write([{"pk": f"k{i:04d}"} for i in range(450)])
    store.set_plan(FaultPlan(seed=5, throttle=0.3, server_error=0.1, reset_after_apply=0.1,
                             operations=frozenset({"Scan"})))
    fragile = table(endpoint, policy=RetryPolicy(max_attempts=1))
    seen: list[str] = []
    cursor, failures = None, 0
    while True:
        try:
            page = fragile.scan(limit=20, cursor=cursor)
        except DynamoDBError:
            failures += 1  # the page failed mid-iteration: ask again from the same cursor
            continue
        seen += [it["pk"] for it in page.items]
        cursor = page.cursor
        if cursor is None:
            break
    assert failures > 0
    assert seen == [f"k{i:04d}" for i in range(450)]  # every item once, in order


def test_retried_transaction_is_applied_once(faulty: tuple[str, FaultyStore]) -> None:
    endpoint, store = faulty
    store.set_plan(FaultPlan(seed=6, reset_after_apply=0.4, slow=0.1, slow_seconds=0.6,
                             operations=frozenset({"TransactWriteItems"})))
    t = table(endpoint, name="Ledger", read_timeout=0.3)
    for _ in range(40):
        t.transact_write([tx.Update({"pk": "balance"}, Update().add("n", 1))])
    assert store.counters["resets"] + store.counters["slow"] > 0
    assert store.counters["idempotent_replays"] > 0  # the same token was sent again and not re-applied
    assert stored(store, "Ledger")["balance"]["n"] == {"N": "40"}


def test_slow_responses_past_the_read_timeout_are_retried(faulty: tuple[str, FaultyStore]) -> None:
    endpoint, store = faulty
    store.set_plan(FaultPlan(seed=8, slow=0.3, slow_seconds=0.5, operations=frozenset({"PutItem"})))
    t = table(endpoint, read_timeout=0.2)
    for i in range(30):
        t.put({"pk": f"p{i}", "v": i})
    assert len(stored(store)) == 30 and store.counters["slow"] > 0
    assert t.usage.retries.get("PutItem", 0) >= store.counters["slow"]


def test_stream_redelivery_repeats_only_the_failed_record_and_later() -> None:
    """Lambda resumes from the reported sequence number: simulate its redelivery loop."""
    from ddbkit.streams.records import StreamRecord
    from ddbkit.streams.processors import StreamProcessor

    def record(seq: int) -> dict[str, Any]:
        return {"eventID": str(seq), "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/T/stream/2026-01-01T00:00:00.000",
                "dynamodb": {"Keys": {"pk": {"S": f"k{seq}"}}, "NewImage": {"pk": {"S": f"k{seq}"}},
                             "SequenceNumber": str(100 + seq), "SizeBytes": 10, "StreamViewType": "NEW_IMAGE"}}

    calls: list[int] = []
    fail_once = {5}

    class Proc(StreamProcessor):
        def on_insert(self, r: StreamRecord) -> None:
            seq = r.sequence - 100
            calls.append(seq)
            if seq in fail_once:
                fail_once.discard(seq)
                raise RuntimeError("poison, once")

    batch = [record(i) for i in range(10)]
    response = Proc().handler({"Records": batch})
    failed = response["batchItemFailures"]
    assert failed == [{"itemIdentifier": "105"}]
    redelivered = [r for r in batch if int(r["dynamodb"]["SequenceNumber"]) >= 105]
    assert Proc().handler({"Records": redelivered}) == {"batchItemFailures": []}
    assert calls == list(range(0, 6)) + list(range(5, 10))  # 0-4 once, 5 twice, 6-9 once


def test_batch_write_error_lists_what_is_not_known_written_and_resending_it_is_safe(
        faulty: tuple[str, FaultyStore]) -> None:
    """A reset *after* the store applied a chunk: its requests are reported unprocessed although some were
    written (the true contract is "not known to be written"), and resending them completes the batch."""
    endpoint, store = faulty
    store.set_plan(FaultPlan(seed=12, reset_after_apply=0.5, unprocessed=0.2, operations=frozenset({"BatchWriteItem"})))
    items = [{"pk": f"r{i:04d}", "v": i} for i in range(500)]
    with pytest.raises(BatchWriteError) as exc:
        table(endpoint, policy=RetryPolicy(max_attempts=1)).batch_write(items)
    err = exc.value
    reported = {v["pk"] for _, v in err.unprocessed}
    written = set(stored(store))
    assert written | reported == {it["pk"] for it in items}  # nothing unaccounted for
    assert written & reported  # some "unprocessed" requests were in fact applied: not "exactly the unwritten"
    assert err.written == len({it["pk"] for it in items} - reported) <= len(written)
    store.set_plan(FaultPlan())
    assert table(endpoint).batch_write(requests=err.unprocessed).written == len(reported)  # safe to resend
    assert {k: v["v"] for k, v in ((k, {"v": int(v["v"]["N"])}) for k, v in stored(store).items())} == {
        it["pk"]: it["v"] for it in items}
