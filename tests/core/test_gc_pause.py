"""Issue 26: bulk writes and batch reads run with Python's cyclic collector paused, and create no cycles.

The pause is only right because ddbkit's batch path leaves nothing for the collector: that is checked first
(a batch write of nested items with the collector off, then ``gc.collect()`` finds nothing), on the fast sync
and fast async transports against the bench's DynamoDB stub. Then: no collection runs during a batch write or
a batch get (``gc.callbacks``), the collector is back on after it (also when the write fails), overlapping
pauses on several threads end with it on, a user's own ``gc.disable()`` is kept, ``DDBKIT_GC_PAUSE=0`` turns
the mechanism off, and a fork inside a pause leaves the child's collector on. No timing is asserted.
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from bench.items import NESTED
from bench.stub_server import StubServer
from ddbkit import Table
from ddbkit.aio import AsyncTable
from ddbkit.core.gcpause import paused
from ddbkit.errors import DdbkitError


@pytest.fixture(scope="module")
def stub() -> Iterator[StubServer]:
    with StubServer() as server:
        yield server


def _items(n: int, prefix: str = "k") -> Iterator[dict[str, Any]]:
    return ({**NESTED, "pk": f"{prefix}{i}"} for i in range(n))


class Collections:
    """Counts the collector's runs while installed (gc.callbacks)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self.count += 1

    def __enter__(self) -> Collections:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


@pytest.mark.parametrize("side", ["sync", "async"])
def test_a_bulk_write_leaves_no_cyclic_garbage(stub: StubServer, side: str) -> None:
    """Steady state (the table warmed up by a first write): the write itself leaves nothing cyclic."""

    def counted(write: Any) -> int:
        write(_items(50, "warm"))
        gc.collect()
        gc.disable()
        try:
            write(_items(2000))
            return gc.collect()
        finally:
            gc.enable()

    if side == "sync":
        with Table("bench-table", key="pk", endpoint_url=stub.endpoint_url, region_name="us-east-1",
                   transport="fast") as table:
            found = counted(table.batch_write)
    else:
        async def run() -> int:
            async with AsyncTable("bench-table", key="pk", endpoint_url=stub.endpoint_url,
                                  region_name="us-east-1", transport="fast") as table:
                loop = asyncio.get_running_loop()
                await table.batch_write(_items(50, "warm"))
                gc.collect()
                gc.disable()
                try:
                    await table.batch_write(_items(2000))
                    return gc.collect()
                finally:
                    gc.enable()
                    assert loop.is_running()

        found = asyncio.run(run())
    assert found == 0  # 2000 nested items, ~80 containers each: a cycle per item would leave >100k


@pytest.mark.parametrize("pausing", [True, False], ids=["paused", "DDBKIT_GC_PAUSE=0"])
@pytest.mark.parametrize("side", ["sync", "async"])
def test_no_collection_runs_during_a_batch_write_or_get(stub: StubServer, side: str, pausing: bool,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    assert gc.isenabled()
    if not pausing:
        monkeypatch.setenv("DDBKIT_GC_PAUSE", "0")
    keys = [{"pk": f"k{i}"} for i in range(300)]  # made here: the test's own allocations are not ddbkit's
    if side == "sync":
        with Table("bench-table", key="pk", endpoint_url=stub.endpoint_url, region_name="us-east-1",
                   transport="fast") as table:
            with Collections() as seen:
                table.batch_write(_items(3000))
                got = table.batch_get(keys)
    else:
        async def run() -> Any:
            async with AsyncTable("bench-table", key="pk", endpoint_url=stub.endpoint_url, region_name="us-east-1",
                                  transport="fast") as table:
                with Collections() as seen_:
                    await table.batch_write(_items(3000))
                    result = await table.batch_get(keys)
                return seen_, result

        seen, got = asyncio.run(run())
    if pausing:  # one collection as each job ends and the collector resumes (it runs as usual from then on)
        assert seen.count <= 2
    else:  # 3000 nested items allocate ~250k containers: hundreds of collections when not paused
        assert seen.count > 50
    assert got is not None
    assert gc.isenabled()


def test_the_collector_is_back_on_after_a_failed_write(stub: StubServer) -> None:
    def bad() -> Iterator[dict[str, Any]]:
        yield from _items(100, "ok")
        yield {**NESTED, "no-key": "f"}  # no partition key: refused before it is sent

    with Table("bench-table", key="pk", endpoint_url=stub.endpoint_url, region_name="us-east-1",
               transport="fast") as table:
        with pytest.raises(DdbkitError):
            table.batch_write(bad())
    assert gc.isenabled()


def test_overlapping_pauses_end_with_the_collector_on() -> None:
    started = threading.Barrier(4)
    release = threading.Event()

    def worker() -> None:
        with paused():
            started.wait()
            release.wait(5)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    started.wait()
    assert not gc.isenabled()
    release.set()
    for t in threads:
        t.join(5)
    assert gc.isenabled()
    with pytest.raises(ValueError):
        with paused():
            raise ValueError("inside")
    assert gc.isenabled()


def test_a_users_own_disable_is_kept_and_the_switch_turns_pausing_off(monkeypatch: pytest.MonkeyPatch) -> None:
    gc.disable()
    try:
        with paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # not turned on behind the user's back
    finally:
        gc.enable()
    monkeypatch.setenv("DDBKIT_GC_PAUSE", "0")
    with paused():
        assert gc.isenabled()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_fork_inside_a_pause_leaves_the_child_collecting() -> None:
    read, write = os.pipe()
    with paused():
        pid = os.fork()
        if pid == 0:  # the child
            os.write(write, b"1" if gc.isenabled() else b"0")
            os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    os.close(read)
    os.close(write)
    assert gc.isenabled()


@pytest.mark.parametrize("side", ["sync", "async"])
def test_a_stream_batch_runs_with_the_collector_paused(side: str) -> None:
    """Both images of 200 nested records decoded in one batch: no collection during it (one as it ends), the
    handler's own reference cycles are collected afterwards, and the collector is on again."""
    from bench.items import WIRE
    from ddbkit.streams import AsyncStreamProcessor, StreamProcessor

    image = {**WIRE["nested"], "pk": {"S": "a"}}
    event = {"Records": [{"eventID": str(i), "eventName": "MODIFY", "eventSource": "aws:dynamodb",
                          "awsRegion": "us-east-1",
                          "dynamodb": {"SequenceNumber": str(i), "Keys": {"pk": {"S": "a"}}, "NewImage": image,
                                       "OldImage": image, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
                         for i in range(200)]}
    kept: list[Any] = []

    class Loop:
        def __init__(self, images: Any) -> None:
            self.images = images
            self.me = self  # a handler's reference cycle: collected after the batch, not lost

    def read(record: Any) -> None:
        kept.append(weakref.ref(Loop((record.new_image, record.old_image))))

    class Sync(StreamProcessor):
        def on_modify(self, record: Any) -> None:
            read(record)

    class Async(AsyncStreamProcessor):
        async def on_modify(self, record: Any) -> None:
            read(record)

    with Collections() as seen:
        result = (Sync() if side == "sync" else Async()).handler(event)
    assert result == {"batchItemFailures": []}
    assert seen.count <= 1 if side == "sync" else seen.count <= 3  # asyncio.run's own setup allocates too
    assert gc.isenabled()
    gc.collect()
    assert len(kept) == 200 and all(ref() is None for ref in kept)  # the handler's cycles were freed


def test_paused_for_pauses_only_for_a_page_sized_reply() -> None:
    import gc

    from ddbkit.core.gcpause import PAGE_BYTES, paused_for

    assert gc.isenabled()
    with paused_for(b"x" * (PAGE_BYTES - 1)):
        assert gc.isenabled()  # one item's reply: no lock, no pause
    with paused_for(b"x" * PAGE_BYTES):
        assert not gc.isenabled()
    assert gc.isenabled()
