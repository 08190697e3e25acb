"""Issue 24 item 5: when "the last write of a key wins" holds, on every transport.

A write held in the network past the client's read timeout is retried; the retry is applied and answered,
the caller goes on and writes the key again (newer); then the held first attempt reaches DynamoDB and is
applied *after* the newer write. Unconditional writes then end at the older value (what docs/table.md and
docs/reliability.md now say: last-wins holds only for writes not in doubt). A version condition
(``version < :new``) makes the newer value win: the late attempt fails its condition on the server.

DynamoDB Local (it evaluates conditions) behind the reply-damaging proxy, here holding one request.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from backends import DYNAMODB_LOCAL, Backend
from botocore.config import Config
from fault_integrity import FaultProxy

from ddbkit import Table
from ddbkit.aio import AsyncTable
from ddbkit.core.retry import RetryPolicy

pytestmark = pytest.mark.integration

READ_TIMEOUT = 0.5


class HoldingProxy(FaultProxy):
    """Forwards every request; the first one (the first attempt of the first write: the test sends nothing
    before it) is held until :attr:`release` is set, then forwarded (applied late); :attr:`landed` is set
    once the upstream has answered it."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.requests = 0
        self.release = threading.Event()
        self.landed = threading.Event()

    def _one(self, rfile: Any, sock: Any, upstream: Any) -> bool:
        rfile.peek(1)  # wait for the request
        with self._lock:
            self.requests += 1
            hold = self.requests == 1
        if not hold:
            return super()._one(rfile, sock, upstream)
        self.release.wait(30)
        try:
            return super()._one(rfile, sock, upstream)  # the client is gone: its answer goes nowhere
        finally:
            self.landed.set()


@pytest.fixture
def things(dynamodb_local: Any) -> Iterator[tuple[str, str]]:
    backend = Backend.for_name(DYNAMODB_LOCAL, dynamodb_local.endpoint_url)
    name = f"Things-{uuid.uuid4().hex[:10]}"
    client = backend.client()
    client.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
    yield dynamodb_local.endpoint_url, name
    client.delete_table(TableName=name)


def _two_writes(transport: str, proxy: HoldingProxy, name: str, versioned: bool) -> dict[str, Any] | None:
    """Write old (held, retried) then new; wait for the held attempt to land; the stored item."""
    kwargs: dict[str, Any] = {"endpoint_url": proxy.endpoint_url, "region_name": "us-east-1",
                              "retry": RetryPolicy(max_attempts=4, base_delay=0.0, max_delay=0.0, seed=1),
                              "config": Config(read_timeout=READ_TIMEOUT, connect_timeout=2)}

    def guard(version: int) -> dict[str, Any]:
        if not versioned:
            return {}
        return {"condition": "attribute_not_exists(#v) OR #v < :v", "names": {"#v": "version"},
                "values": {":v": version}}

    old, new = {"pk": "k", "val": "old", "version": 1}, {"pk": "k", "val": "new", "version": 2}
    if transport in ("fast", "botocore"):
        with Table(name, key="pk", transport=transport, **kwargs) as t:
            t.put(old, **guard(1))
            t.put(new, **guard(2))
            proxy.release.set()
            assert proxy.landed.wait(30)
            return t.get({"pk": "k"}, consistent=True)
    if transport == "aioboto3":
        pytest.importorskip("aioboto3")

    async def main() -> dict[str, Any] | None:
        async with AsyncTable(name, key="pk", transport="fast" if transport == "fast-async" else "botocore",
                              **kwargs) as at:
            await at.put(old, **guard(1))
            await at.put(new, **guard(2))
            proxy.release.set()
            assert await asyncio.to_thread(proxy.landed.wait, 30)
            return await at.get({"pk": "k"}, consistent=True)

    return asyncio.run(main())


@pytest.mark.parametrize("versioned", [False, True], ids=["unconditional", "version-condition"])
def test_held_and_retried_write_and_last_wins(things: tuple[str, str], transport: str, versioned: bool) -> None:
    upstream, name = things
    with HoldingProxy(upstream) as proxy:
        stored = _two_writes(transport, proxy, name, versioned)
    assert proxy.requests >= 4  # the held attempt, its retry, the newer write, the read
    assert stored is not None
    if versioned:
        assert stored["val"] == "new" and stored["version"] == 2  # the guarantee that holds
    else:
        assert stored["val"] == "old"  # the late attempt overwrote the newer value: last-wins does not hold
