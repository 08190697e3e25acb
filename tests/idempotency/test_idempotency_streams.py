"""Per-record idempotency in stream processors, on DynamoDB Local: a redelivered batch does not re-run
the side effects of records already processed, with stop-at-first-failure and the dead-letter hook,
for per-record, batch and async processors."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from backends import DYNAMODB_LOCAL, Backend

from ddbkit import Table
from ddbkit.idempotency import IdempotencyStore, RecordIdempotency, load_component
from ddbkit.streams.records import StreamRecord
from ddbkit.streams.processors import AsyncStreamProcessor, BatchStreamProcessor, StreamProcessor

pytestmark = pytest.mark.integration


def record(seq: int, order: str | None = None) -> dict[str, Any]:
    image = {"pk": {"S": f"k{seq}"}, "orderId": {"S": order or f"o{seq}"}}
    return {"eventID": f"ev-{seq}", "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/T/stream/2026-01-01T00:00:00.000",
            "dynamodb": {"Keys": {"pk": {"S": f"k{seq}"}}, "NewImage": image, "SequenceNumber": str(100 + seq),
                         "SizeBytes": 10, "StreamViewType": "NEW_IMAGE"}}


BATCH = [record(i) for i in range(10)]


@pytest.fixture(scope="module")
def backend(dynamodb_local: Any) -> Iterator[Backend]:
    yield Backend.for_name(DYNAMODB_LOCAL, dynamodb_local.endpoint_url)
    dynamodb_local.reset()


@pytest.fixture
def name(backend: Backend) -> str:
    from ddbkit_infra.resources import create_table_request

    table_name = f"Idem-{uuid.uuid4().hex[:10]}"
    req = create_table_request(load_component(table_name=table_name).table())
    req.pop("SSESpecification", None)
    req.pop("Tags", None)
    backend.client().create_table(**req)
    return table_name


@pytest.fixture
def store(backend: Backend, name: str) -> Iterator[IdempotencyStore]:
    with Table(name, key="id", endpoint_url=backend.endpoint_url, region_name=backend.region) as t:
        yield IdempotencyStore(t)


def test_redelivered_batch_skips_processed_records_and_stop_mode_resumes(store: IdempotencyStore) -> None:
    calls: list[int] = []
    fail_once = {5}

    class Proc(StreamProcessor):
        idempotency = RecordIdempotency(store)

        def on_insert(self, r: StreamRecord) -> None:
            seq = r.sequence - 100
            calls.append(seq)
            if seq in fail_once:
                fail_once.discard(seq)
                raise RuntimeError("poison, once")

    first = Proc().process(BATCH)
    assert first.response == {"batchItemFailures": [{"itemIdentifier": "105"}]}
    assert calls == [0, 1, 2, 3, 4, 5]
    again = Proc().process(BATCH)  # the whole batch again (a timed-out invocation): 0-4 are skipped
    assert again.ok and again.processed == 10
    assert calls == [0, 1, 2, 3, 4, 5, 5, 6, 7, 8, 9]
    assert Proc().handler({"Records": BATCH}) == {"batchItemFailures": []}
    assert calls == [0, 1, 2, 3, 4, 5, 5, 6, 7, 8, 9]  # nothing ran a third time


def test_dead_lettered_record_is_handled_on_redelivery(store: IdempotencyStore) -> None:
    calls: list[int] = []
    dead: list[str] = []

    class Proc(StreamProcessor):
        idempotency = RecordIdempotency(store)

        def on_insert(self, r: StreamRecord) -> None:
            calls.append(r.sequence - 100)
            if r.sequence == 103:
                raise ValueError("always fails")

    proc = Proc(dead_letter=lambda r, e: dead.append(r.sequence_number), max_attempts=2)
    assert proc.process(BATCH).response == {"batchItemFailures": [{"itemIdentifier": "103"}]}
    second = proc.process(BATCH[3:])  # Lambda resumes at the failed record: second failure -> dead letter
    assert second.ok and dead == ["103"]
    assert proc.process(BATCH).ok  # a redelivery of everything: nothing runs, not even the poison record
    assert calls == [0, 1, 2, 3, 3, 4, 5, 6, 7, 8, 9]


def test_key_of_the_image_runs_once_per_order(store: IdempotencyStore) -> None:
    charged: list[str] = []

    class Proc(StreamProcessor):
        idempotency = RecordIdempotency(store, key="dynamodb.NewImage.orderId.S", prefix="charges")

        def on_insert(self, r: StreamRecord) -> None:
            charged.append((r.new_image or {})["orderId"])

    Proc().process([record(1, "A"), record(2, "B"), record(3, "A")])
    assert charged == ["A", "B"]


def test_batch_processor_gets_only_new_records_and_a_failed_batch_releases_them(store: IdempotencyStore) -> None:
    seen: list[list[int]] = []
    fail = [True]

    class Proc(BatchStreamProcessor):
        idempotency = RecordIdempotency(store)

        def on_batch(self, records: list[StreamRecord]) -> Iterable[StreamRecord] | None:
            seen.append([r.sequence - 100 for r in records])
            if fail[0]:
                fail[0] = False
                raise RuntimeError("downstream down")
            return [r for r in records if r.sequence == 107]  # 7 is reported failed

    assert not Proc().process(BATCH[:8]).ok
    result = Proc().process(BATCH[:8])
    assert [f.record.sequence for f in result.failures] == [107]
    Proc().process(BATCH)
    assert seen == [list(range(8)), list(range(8)), [7, 8, 9]]


def test_async_processor_skips_processed_records(backend: Backend, name: str) -> None:
    from ddbkit.aio import AsyncTable

    calls: list[int] = []

    async def main() -> None:
        async with AsyncTable(name, key="id", endpoint_url=backend.endpoint_url, region_name=backend.region) as t:
            idem = RecordIdempotency(IdempotencyStore(t))

            class Proc(AsyncStreamProcessor):
                idempotency = idem

                async def on_insert(self, r: StreamRecord) -> None:
                    calls.append(r.sequence - 100)

            for _ in range(3):
                assert (await Proc().aprocess(BATCH[:4])).processed == 4

    asyncio.run(main())
    assert calls == [0, 1, 2, 3]


def test_record_locks_end_with_the_invocation(store: IdempotencyStore) -> None:
    import time

    locks: list[int] = []

    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 5_000

    class Proc(StreamProcessor):
        idempotency = RecordIdempotency(store)

        def on_insert(self, r: StreamRecord) -> None:
            locks.extend(int(i["in_progress_expiration"]) for i in store.table.scan_iter(consistent=True)
                         if i["status"] == "INPROGRESS")

    before = time.time() * 1000
    assert Proc().handler({"Records": BATCH[:1]}, Context()) == {"batchItemFailures": []}
    assert len(locks) == 1 and before + 4_000 <= locks[0] <= time.time() * 1000 + 5_000
