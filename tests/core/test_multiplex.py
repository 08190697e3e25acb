"""The sync driver's gathers on an event loop in the calling thread (``ddbkit.core.multiplex``, issue 26).

A sync Table on the fast transport runs the chunks of a batch write/get concurrently over the transport's
asyncio twin, on the caller's thread: no pool thread is started and the caller's input generator is read
on the caller's thread. Where it cannot (a running loop in this thread, a proxy, ``DDBKIT_SYNC_GATHER=threads``)
the thread pool runs the gather as before, with the same results.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from bench.stub_server import StubConfig, StubServer
from ddbkit import Table
from ddbkit.core.multiplex import LoopGather
from ddbkit.core.retry import RetryPolicy

NO_WAIT = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0, seed=1)


@pytest.fixture(scope="module")
def stub() -> Iterator[StubServer]:
    with StubServer(StubConfig(record=True)) as server:
        yield server


def table(stub: StubServer, **kwargs: Any) -> Table:
    return Table("Bench", key=("pk", "sk"), transport="fast", endpoint_url=stub.endpoint_url,
                 region_name="us-east-1", retry=NO_WAIT, concurrency=8, **kwargs)


def items(n: int, seen: list[int] | None = None) -> Iterator[dict[str, Any]]:
    for i in range(n):
        if seen is not None:
            seen.append(threading.get_ident())
        yield {"pk": "p", "sk": f"{i:05d}", "v": i}


def loop_state(t: Table) -> Any:
    gatherer = t._driver.gatherer
    assert isinstance(gatherer, LoopGather)
    return getattr(gatherer._local, "state", None)


def test_a_batch_runs_on_the_callers_thread_with_requests_overlapping(stub: StubServer) -> None:
    stub.stub.reset()
    stub.stub.configure(latency=0.02)
    try:
        t = table(stub)
        seen: list[int] = []
        result = t.batch_write(items(25 * 8, seen))
        assert result.written == 200 and result.calls == 8
        assert set(seen) == {threading.get_ident()}  # the caller's generator, on the caller's thread
        assert t._driver._pool is None  # this table started no pool: no handoff per chunk
        state = loop_state(t)
        assert state is not None and state.twin._pool.open_connections > 1  # several chunks in flight
        got = t.batch_get([{"pk": "p", "sk": f"{i:05d}"} for i in range(0, 200, 2)])
        assert len(got.items) == 100 and not got.missing  # the stub answers every key
        t.close()
        assert state.loop.is_closed()
    finally:
        stub.stub.configure(latency=0.0)


def test_declines_inside_a_running_loop_and_with_the_switch(stub: StubServer,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    async def inside() -> int:
        t = table(stub)
        written = t.batch_write(items(100)).written  # sync code in a coroutine: the thread pool, not this loop
        assert loop_state(t) is None and t._driver._pool is not None
        t.close()
        return written

    assert asyncio.run(inside()) == 100
    monkeypatch.setenv("DDBKIT_SYNC_GATHER", "threads")
    t = table(stub)
    assert t._driver.gatherer is None and t.batch_write(items(100)).written == 100
    assert t._driver._pool is not None
    t.close()


def test_an_interrupt_leaves_nothing_pending_and_the_next_batch_works(stub: StubServer) -> None:
    def interrupted() -> Iterator[dict[str, Any]]:
        yield from items(60)
        raise KeyboardInterrupt

    t = table(stub)
    with pytest.raises(KeyboardInterrupt):
        t.batch_write(interrupted())
    state = loop_state(t)
    assert state is not None and not [task for task in asyncio.all_tasks(state.loop) if not task.done()]
    assert t.batch_write(items(60)).written == 60
    t.close()


def test_threads_each_get_their_own_loop(stub: StubServer) -> None:
    t = table(stub)
    results: list[int] = []
    loops: set[int] = set()

    def worker() -> None:
        results.append(t.batch_write(items(75)).written)
        state = loop_state(t)
        loops.add(id(state.loop))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results == [75] * 4 and len(loops) == 4
    t.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_forked_child_makes_its_own_loop(stub: StubServer) -> None:
    t = table(stub)
    assert t.batch_write(items(50)).written == 50
    parent_loop = loop_state(t).loop
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            ok = t.batch_write(items(50)).written == 50 and loop_state(t).loop is not parent_loop
            os.write(write, b"ok" if ok else b"bad")
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 10)
    os.close(read)
    os.waitpid(pid, 0)
    assert answer == b"ok"
    t.close()


class Recorder:
    """The async twin, noting how many input items had been read when each BatchWriteItem was sent."""

    def __init__(self, inner: Any, pulled: list[int]) -> None:
        self.inner, self.pulled = inner, pulled
        self.at_send: list[int] = []
        self.sent = 0

    async def send(self, operation: str, request: dict[str, Any]) -> Any:
        if operation == "BatchWriteItem":
            self.at_send.append(self.pulled[0])
            self.sent += len(next(iter(request["RequestItems"].values())))
        return await self.inner.send(operation, request)

    async def close(self) -> None:
        await self.inner.close()


def test_the_loop_sends_while_reading_and_bounds_what_is_held(stub: StubServer,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """As tests/core/test_batch_pipeline.py checks for the thread pool and the async client: the first request
    leaves before item 26 is read, and no more than concurrency x 25 + 25 items are held unsent."""
    t = table(stub)
    gatherer = t._driver.gatherer
    assert isinstance(gatherer, LoopGather)
    pulled = [0]
    made: list[Recorder] = []
    real: Any = getattr(t.transport, "async_twin")  # noqa: B009 - the fast transport's, not on the Protocol

    def recording() -> Any:
        made.append(Recorder(real(), pulled))
        return made[-1]

    monkeypatch.setattr(t.transport, "async_twin", recording)
    bound = 8 * 25 + 25

    def source() -> Iterator[dict[str, Any]]:
        for item in items(1000):
            pulled[0] += 1
            if made:
                assert pulled[0] - made[0].sent <= bound + 1
            yield item

    assert t.batch_write(source()).written == 1000
    assert made[0].at_send[0] == 25 and made[0].sent == 1000
    t.close()


def test_a_replaced_transport_gathers_on_threads(stub: StubServer) -> None:
    t = table(stub)
    inner = t._driver.transport

    class Wrapped:
        def send(self, operation: str, request: dict[str, Any]) -> Any:
            return inner.send(operation, request)

        def close(self) -> None:
            inner.close()

    t._driver.transport = Wrapped()  # e.g. a test's or a tracer's wrapper: it must see every call
    assert t.batch_write(items(100)).written == 100
    assert loop_state(t) is None and t._driver._pool is not None
    t.close()


def test_the_loop_path_builds_no_botocore_client(stub: StubServer) -> None:
    """On the light path (the environment gives credentials and region) a sync batch over the loop must not
    build a botocore client for the twin's control plane: that cost ~19 MB of RSS (bench_memory)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, json, ddbkit; t = ddbkit.Table('Bench', key=('pk', 'sk'), endpoint_url=sys.argv[1], "
            "region_name='us-east-1'); n = t.batch_write([{'pk': 'p', 'sk': str(i)} for i in range(60)]).written; "
            "print(json.dumps([n, t._driver._pool is None, 'botocore.client' in sys.modules]))")
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", code, stub.endpoint_url], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [60, True, False]
