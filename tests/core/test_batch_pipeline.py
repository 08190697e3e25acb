"""The streaming batch pipeline (issue 15): batch_write/batch_get read their input lazily, send while
they read, keep O(concurrency x 25) requests in memory, and never lose what they read.

Overlap and the in-flight bound are checked on every transport (fast sync, botocore sync, fast async,
aioboto3) against bench/stub_server.py; the error contracts with the scripted FakeDynamo.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fakes import FakeDynamo

from bench.stub_server import StubConfig, StubServer
from ddbkit import Table
from ddbkit.aio import AsyncTable
from ddbkit.errors import BatchGetError, BatchWriteError, ClientValidationError, CodecError
from ddbkit.core.retry import RetryPolicy

FAST = RetryPolicy(max_attempts=3, base_delay=0, max_delay=0)
TRANSPORTS = ["fast", "botocore"]


@pytest.fixture(scope="module")
def stub() -> Iterator[StubServer]:
    with StubServer(StubConfig(key_names=("pk", "sk"))) as server:
        yield server


class Counting:
    """Wraps a transport (sync or async): how many input items had been read at each BatchWriteItem."""

    def __init__(self, inner: Any, pulled: list[int]) -> None:
        self.inner, self.pulled, self.at_send = inner, pulled, []  # type: list[int]
        self.items_sent = 0

    def _note(self, operation: str, request: dict[str, Any]) -> None:
        if operation in ("BatchWriteItem", "BatchGetItem"):
            self.at_send.append(self.pulled[0])
            body = next(iter(request["RequestItems"].values()))
            self.items_sent += len(body["Keys"] if isinstance(body, dict) else body)

    def send(self, operation: str, request: dict[str, Any]) -> Any:
        self._note(operation, request)
        return self.inner.send(operation, request)

    def close(self) -> Any:
        return self.inner.close()


class AsyncCounting(Counting):
    async def send(self, operation: str, request: dict[str, Any]) -> Any:  # type: ignore[override]
        self._note(operation, request)
        return await self.inner.send(operation, request)


def items(n: int, pulled: list[int], check: Any = None) -> Iterator[dict[str, Any]]:
    for i in range(n):
        pulled[0] += 1
        if check is not None:
            check(i)
        yield {"pk": "p", "sk": f"{i:07d}", "n": i, "tags": ["a", i], "m": {"x": i}}


def sync_table(stub: StubServer, transport: str, pulled: list[int]) -> tuple[Table, Counting]:
    t = Table("Bench", key=("pk", "sk"), transport=transport, endpoint_url=stub.endpoint_url,
              region_name="us-east-1", retry=FAST, concurrency=4)
    counting = Counting(t._driver.transport, pulled)
    t._driver.transport = counting
    return t, counting


def async_table(stub: StubServer, transport: str, pulled: list[int]) -> tuple[AsyncTable, AsyncCounting]:
    t = AsyncTable("Bench", key=("pk", "sk"), transport=transport, endpoint_url=stub.endpoint_url,
                   region_name="us-east-1", retry=FAST, concurrency=4)
    counting = AsyncCounting(t._driver.transport, pulled)
    t._driver.transport = counting  # type: ignore[assignment]
    return t, counting


BOUND = 4 * 25 + 25  # concurrency x 25 in flight + the chunk being built


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sync_batch_write_sends_while_reading_and_bounds_what_is_held(stub: StubServer, transport: str) -> None:
    pulled = [0]
    t, counting = sync_table(stub, transport, pulled)

    def check(i: int) -> None:
        if i == 25:  # item 26 is not read before the first call has left (bounded wait, no timing claim)
            deadline = time.monotonic() + 10
            while not counting.at_send and time.monotonic() < deadline:
                time.sleep(0.001)
            assert counting.at_send, "no request was sent after 25 valid items"
        assert pulled[0] - counting.items_sent <= BOUND + 1

    result = t.batch_write(items(1000, pulled, check))
    assert result.written == 1000 and counting.items_sent == 1000
    assert counting.at_send[0] == 25
    t.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_async_batch_write_sends_while_reading_and_bounds_what_is_held(stub: StubServer, transport: str) -> None:
    pulled = [0]

    async def go() -> Any:
        t, counting = async_table(stub, transport, pulled)

        def check(i: int) -> None:
            assert pulled[0] - counting.items_sent <= BOUND + 1

        async with t:
            result = await t.batch_write(items(1000, pulled, check))
        return result, counting

    result, counting = asyncio.run(go())
    assert result.written == 1000 and counting.items_sent == 1000
    assert counting.at_send[0] == 25  # the first call left before item 26 was read


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_batch_get_streams_keys_on_both_clients(stub: StubServer, transport: str) -> None:
    pulled = [0]

    def keys() -> Iterator[dict[str, Any]]:
        for i in range(450):
            pulled[0] += 1
            yield {"pk": "p", "sk": f"{i % 300:07d}"}  # 150 repeats: read once each

    t, counting = sync_table(stub, transport, pulled)
    got = t.batch_get(keys())
    assert [it["sk"] for it in got.items] == [f"{i:07d}" for i in range(300)]
    assert counting.at_send[0] == 100 and counting.items_sent == 300

    async def go() -> Any:
        pulled[0] = 0
        at, acounting = async_table(stub, transport, pulled)
        async with at:
            return await at.batch_get(keys()), acounting

    got, acounting = asyncio.run(go())
    assert len(got.items) == 300 and acounting.at_send[0] == 100 and acounting.items_sent == 300


# --------------------------------------------------------------------------------------------------
# What is lost, exactly, when the stream stops (scripted fake; the same ops run on every driver)
# --------------------------------------------------------------------------------------------------


def fake_table(fake: FakeDynamo, **kw: Any) -> Table:
    return Table(fake.table, transport=fake, retry=kw.pop("retry", FAST), key="pk", **kw)


def test_a_bad_item_before_anything_is_sent_raises_the_codec_error_and_sends_nothing() -> None:
    fake = FakeDynamo()
    gen = ({"pk": f"k{i}", "v": float("nan") if i == 10 else i} for i in range(100))
    with pytest.raises(CodecError) as exc:
        fake_table(fake).batch_write(gen)
    assert exc.value.path == "requests[10].v" and exc.value.rule == "number.finite" and not fake.calls


def test_a_bad_item_mid_stream_lists_what_was_read_and_not_written() -> None:
    fake = FakeDynamo()
    fake.delay = 0.002
    src = [{"pk": f"k{i}", "v": {1, "x"} if i == 60 else i} for i in range(100)]
    gen = iter(src)
    with pytest.raises(BatchWriteError) as exc:
        fake_table(fake, concurrency=2).batch_write(gen)
    err = exc.value
    assert isinstance(err.cause, ClientValidationError) and err.cause.path == "requests[60].v"
    written = {kid[0][1] for kid in fake.items}
    assert written == {f"k{i}" for i in range(50)} and err.written == 50
    assert [v["pk"] for _, v in err.unprocessed] == [f"k{i}" for i in range(50, 60)]
    assert all(v is src[50 + j] for j, (_, v) in enumerate(err.unprocessed))  # the caller's objects
    assert next(gen)["pk"] == "k61"  # the iterator is left just after the bad item: resume from it


def test_validate_first_sends_nothing_when_any_item_is_bad() -> None:
    fake = FakeDynamo()
    bad = [{"pk": f"k{i}", "v": float("inf") if i == 90 else i} for i in range(100)]
    with pytest.raises(CodecError) as exc:
        fake_table(fake).batch_write(bad, validate_first=True)
    assert exc.value.path == "requests[90].v" and not fake.calls


@pytest.mark.parametrize("sized", [True, False])
def test_a_failed_call_stops_the_stream_and_nothing_read_is_lost(sized: bool) -> None:
    fake = FakeDynamo()
    fake.delay = 0.002
    n = {"calls": 0}

    def third_fails(op: str, req: dict[str, Any]) -> Any:
        if op == "BatchWriteItem":
            n["calls"] += 1
            if n["calls"] == 3:
                return fake.error("ValidationException")
        return None

    fake.fault = third_fails
    src = [{"pk": f"k{i}"} for i in range(1000)]
    gen = iter(src)
    with pytest.raises(BatchWriteError) as exc:
        fake_table(fake, retry=RetryPolicy(max_attempts=1), concurrency=2).batch_write(src if sized else gen)
    err = exc.value
    written = {kid[0][1] for kid in fake.items}
    lost = [v["pk"] for _, v in err.unprocessed]
    assert err.written == len(written) and not written & set(lost) and len(set(lost)) == len(lost)
    if sized:  # a list: the unread rest is listed too, so written + unprocessed is the whole input
        assert written | set(lost) == {v["pk"] for v in src}
    else:  # an iterator: everything read is accounted for; the rest is still in the iterator
        rest = [v["pk"] for v in gen]
        assert written | set(lost) | set(rest) == {v["pk"] for v in src} and rest
    assert n["calls"] < 40  # it stopped sending (40 calls would be the whole input)


def test_batch_get_mid_stream_bad_key_returns_items_read() -> None:
    fake = FakeDynamo()
    t = fake_table(fake)
    t.batch_write([{"pk": f"k{i}"} for i in range(300)])
    keys = [{"pk": f"k{i}"} for i in range(250)] + [{"pk": ""}]
    with pytest.raises(BatchGetError) as exc:
        t.batch_get(keys)
    assert isinstance(exc.value.cause, ClientValidationError) and exc.value.cause.path == "keys[250].pk"
    assert len(exc.value.items) == 200 and [k["pk"] for k in exc.value.unprocessed] == [
        f"k{i}" for i in range(200, 250)]
    with pytest.raises(ClientValidationError):
        t.batch_get(keys, validate_first=True)


# --------------------------------------------------------------------------------------------------
# The writers: sync BatchWriter and AsyncTable.batch_writer
# --------------------------------------------------------------------------------------------------


def test_batch_writer_sends_as_it_goes_and_a_bad_put_loses_nothing_else() -> None:
    fake = FakeDynamo()
    t = fake_table(fake, concurrency=2)
    with t.batch_writer() as w:
        for i in range(30):
            w.put({"pk": f"k{i}"})
        assert len([c for c in fake.calls if c[0] == "BatchWriteItem"]) >= 1 or w._running  # left already
        with pytest.raises(CodecError):
            w.put({"pk": ""})
        w.delete({"pk": "k0"})
    assert len(fake.items) == 29 and w.written == 31


def test_batch_writer_failure_raises_with_every_unwritten_request() -> None:
    fake = FakeDynamo(unprocessed_rate=1.0)
    t = fake_table(fake, retry=RetryPolicy(max_attempts=1), concurrency=1)
    w = t.batch_writer()
    sent = [{"pk": f"k{i}"} for i in range(60)]
    with pytest.raises(BatchWriteError) as exc:
        for item in sent:
            w.put(item)
        w.flush()
    got = [v["pk"] for _, v in exc.value.unprocessed]
    assert set(got) == {v["pk"] for v in sent[:len(got)]} and len(got) >= 26 and exc.value.written == 0


def test_async_batch_writer_mirrors_the_sync_one() -> None:
    from test_aio import AsyncFake

    fake = FakeDynamo()
    transport = AsyncFake(fake)

    async def go() -> Any:
        t = AsyncTable("Things", key="pk", transport=transport, retry=FAST, concurrency=3)
        async with t.batch_writer() as w:
            for i in range(200):
                await w.put({"pk": f"k{i}", "n": i})
            with pytest.raises(CodecError):
                await w.put({"pk": "x", "n": float("nan")})
            await w.put_item(Item={"pk": "k1", "n": -1})
            await w.delete_item(Key={"pk": "k2"})
        return w

    w = asyncio.run(go())
    assert len(fake.items) == 199 and fake.items[(("S", "k1"),)]["n"] == {"N": "-1"}
    assert 1 < transport.max_in_flight <= 3 and w.written >= 201

    fail = FakeDynamo(unprocessed_rate=1.0)

    async def failing() -> None:
        t = AsyncTable("Things", key="pk", transport=AsyncFake(fail), retry=RetryPolicy(max_attempts=1))
        async with t.batch_writer() as w:
            for i in range(40):
                await w.put({"pk": f"k{i}"})

    with pytest.raises(BatchWriteError) as exc:
        asyncio.run(failing())
    assert {v["pk"] for _, v in exc.value.unprocessed} == {f"k{i}" for i in range(40)}


def test_the_worker_pool_is_reused_between_calls() -> None:
    fake = FakeDynamo()
    t = fake_table(fake)
    t.batch_write([{"pk": f"k{i}"} for i in range(100)])
    pool = t._driver._pool
    t.batch_write([{"pk": f"k{i}"} for i in range(100)])
    assert pool is not None and t._driver._pool is pool
    t.close()
    assert t._driver._pool is None


def test_parallel_scan_buffers_a_bounded_number_of_pages() -> None:
    fake = FakeDynamo()
    t = fake_table(fake)
    t.batch_write([{"pk": f"k{i:05d}"} for i in range(2000)])
    it = t.parallel_scan(total_segments=4, limit=10)  # the fake ignores Segment: each segment sees 200 pages
    next(it)
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:  # give the workers every chance to run ahead
        time.sleep(0.01)
    scans = sum(1 for op, _ in fake.calls if op == "Scan")
    assert scans <= 1 + 2 * 4 + 4  # consumed + the queue (2 x segments) + one held by each blocked worker
    it.close()  # stopping early stops the workers
    time.sleep(0.1)
    assert sum(1 for op, _ in fake.calls if op == "Scan") <= scans + 4
