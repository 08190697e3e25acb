"""The sync driver's threads (issue #26): one call in flight runs on the caller's thread, touching no pool."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from bench.stub_server import StubConfig, StubServer
from ddbkit import Table
from ddbkit.core.retry import RetryPolicy
from ddbkit.transport.fast import FastTransport

NO_WAIT = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0, seed=1)


class ThreadRecorder:
    """The fast transport, noting the thread of every send (the transport itself is real, over HTTP)."""

    def __init__(self, inner: FastTransport) -> None:
        self.inner = inner
        self.threads: list[threading.Thread] = []

    def send(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        self.threads.append(threading.current_thread())
        return self.inner.send(operation, request)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture(scope="module")
def stub() -> Iterator[StubServer]:
    with StubServer(StubConfig()) as server:
        yield server


def _table(stub: StubServer) -> tuple[Table, ThreadRecorder]:
    rec = ThreadRecorder(FastTransport(endpoint_url=stub.endpoint_url, region_name="us-east-1"))
    return Table("Bench", key=("pk", "sk"), transport=rec, retry=NO_WAIT, concurrency=8), rec


@pytest.mark.parametrize("n", [1, 25])
def test_a_single_chunk_batch_write_runs_on_the_callers_thread(stub: StubServer, n: int) -> None:
    t, rec = _table(stub)
    result = t.batch_write([{"pk": "p", "sk": str(i)} for i in range(n)])
    assert result.written == n
    assert rec.threads == [threading.current_thread()]
    t.close()


def test_a_single_chunk_batch_get_runs_on_the_callers_thread(stub: StubServer) -> None:
    t, rec = _table(stub)
    t.batch_get([{"pk": "p", "sk": str(i)} for i in range(10)])
    assert rec.threads == [threading.current_thread()]
    t.close()


def test_single_calls_never_touch_the_pool(stub: StubServer) -> None:
    t, rec = _table(stub)
    t.put({"pk": "p", "sk": "1"})
    t.get({"pk": "p", "sk": "1"})
    t.query({"pk": "p"})
    assert set(rec.threads) == {threading.current_thread()}
    t.close()


def test_several_chunks_still_run_concurrently(stub: StubServer) -> None:
    stub.stub.configure(latency=0.02)
    try:
        t, rec = _table(stub)
        result = t.batch_write([{"pk": "p", "sk": str(i)} for i in range(25 * 6)])
        assert result.written == 150
        assert len(rec.threads) == 6 and len(set(rec.threads)) > 1
        t.close()
    finally:
        stub.stub.configure(latency=0.0)
