"""AsyncTable: the same operations as Table on aioboto3, sharing the sans-I/O core."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from backends import Backend
from fakes import FakeDynamo

from ddbkit import Attr, Key, Table, Update
from ddbkit.core import transactions as tx
from ddbkit.aio import AsyncTable
from ddbkit.errors import BatchWriteError, ConditionalCheckFailed, ThrottledError
from ddbkit.core.retry import RetryPolicy

FAST = RetryPolicy(max_attempts=4, base_delay=0, max_delay=0)


class AsyncFake:
    """FakeDynamo behind the async transport protocol (with a real await point per call)."""

    def __init__(self, fake: FakeDynamo) -> None:
        self.fake = fake
        self.in_flight = 0
        self.max_in_flight = 0

    async def send(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.001)
            return self.fake.send(operation, request)
        finally:
            self.in_flight -= 1

    async def close(self) -> None:
        pass


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_sync_and_async_send_identical_requests() -> None:
    """The two clients share request building: the same calls produce the same wire requests."""
    sync_fake, async_fake = FakeDynamo(), FakeDynamo()
    t = Table("Things", transport=sync_fake, retry=FAST, concurrency=1)
    at = AsyncTable("Things", transport=AsyncFake(async_fake), retry=FAST, concurrency=1)
    items = [{"pk": f"k{i}", "n": i, "s": {"a"}} for i in range(60)]

    t.batch_write(items)
    t.put({"pk": "x", "status": "A"}, condition=Attr("status").not_exists())
    t.batch_get([{"pk": f"k{i}"} for i in range(5)])

    async def same() -> None:
        await at.batch_write(items)
        await at.put({"pk": "x", "status": "A"}, condition=Attr("status").not_exists())
        await at.batch_get([{"pk": f"k{i}"} for i in range(5)])

    run(same())
    assert sync_fake.calls == async_fake.calls


def test_async_retries_throttling_and_bounds_concurrency() -> None:
    fake = FakeDynamo(unprocessed_rate=0.3, seed=3)
    transport = AsyncFake(fake)
    at = AsyncTable("Things", transport=transport, retry=RetryPolicy(max_attempts=50, base_delay=0, max_delay=0))
    fake.errors = [None, fake.error("ThrottlingException"), fake.error("ProvisionedThroughputExceededException")]

    async def go() -> Any:
        return await at.batch_write([{"pk": f"k{i}"} for i in range(500)], concurrency=4)

    result = run(go())
    assert result.written == 500 and len(fake.items) == 500
    assert 1 < transport.max_in_flight <= 4 and at.usage.retries["BatchWriteItem"] >= 2


def test_async_batch_error_lists_unwritten_items() -> None:
    fake = FakeDynamo(unprocessed_rate=0.7, seed=9)
    at = AsyncTable("Things", transport=AsyncFake(fake), retry=RetryPolicy(max_attempts=1))
    with pytest.raises(BatchWriteError) as exc:
        run(at.batch_write([{"pk": f"k{i}"} for i in range(100)]))
    stored = {k[0][1] for k in fake.items}
    assert {it["pk"] for it in exc.value.items} == {f"k{i}" for i in range(100)} - stored


def test_async_gives_up_after_max_attempts() -> None:
    fake = FakeDynamo()
    fake.fault = lambda op, req: fake.error("ThrottlingException") if op == "GetItem" else None
    at = AsyncTable("Things", key="pk", transport=AsyncFake(fake), retry=FAST)
    with pytest.raises(ThrottledError):
        run(at.get({"pk": "a"}))
    assert fake.count("GetItem") == FAST.max_attempts


def test_async_table_on_real_servers(server_backend: Backend) -> None:
    server_backend.require("aioboto3")
    client = server_backend.client("dynamodb")
    client.create_table(TableName="AsyncOrders", BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                              {"AttributeName": "sk", "AttributeType": "N"}],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                   {"AttributeName": "sk", "KeyType": "RANGE"}])

    async def scenario() -> None:
        async with AsyncTable("AsyncOrders", endpoint_url=server_backend.endpoint_url,
                              region_name=server_backend.region) as t:
            await t.put({"pk": "u", "sk": 0, "status": "NEW", "score": 1.5})
            assert (await t.get({"pk": "u", "sk": 0})) == {"pk": "u", "sk": 0, "status": "NEW",
                                                           "score": pytest.approx(1.5)}
            with pytest.raises(ConditionalCheckFailed):
                await t.put({"pk": "u", "sk": 0}, condition=Attr("pk").not_exists())
            new = await t.update({"pk": "u", "sk": 0}, Update().add("n", 2), return_values="ALL_NEW")
            assert new is not None and new["n"] == 2
            result = await t.batch_write([{"pk": "u", "sk": i, "v": i} for i in range(1, 80)])
            assert result.written == 79
            seen = [it["sk"] async for it in t.query_iter(Key("pk").eq("u") & Key("sk").gt(10), limit=15)]
            assert seen == list(range(11, 80))
            page = await t.query({"pk": "u"}, limit=5)
            assert page.cursor and len(page.items) == 5
            nxt = await t.query({"pk": "u"}, limit=5, cursor=page.cursor)
            assert [it["sk"] for it in nxt.items] == [5, 6, 7, 8, 9]
            assert sorted([it["sk"] async for it in t.parallel_scan(total_segments=3)]) == list(range(80))
            assert await t.count({"pk": "u"}) == 80
            got = await t.batch_get([{"pk": "u", "sk": 3}, {"pk": "u", "sk": 999}])
            assert [it["sk"] for it in got.items] == [3] and got.missing == [{"pk": "u", "sk": 999}]
            await t.transact_write([tx.Put({"pk": "t", "sk": 1}), tx.Delete({"pk": "u", "sk": 0})])
            assert await t.transact_get([{"pk": "t", "sk": 1}, {"pk": "u", "sk": 0}]) == [{"pk": "t", "sk": 1}, None]
            assert t.usage.calls["BatchWriteItem"] >= 4

    run(scenario())


def test_many_tasks_share_one_async_table(server_backend: Backend) -> None:
    server_backend.require("aioboto3")
    client = server_backend.client("dynamodb")
    client.create_table(TableName="Counters", BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])

    async def scenario() -> int:
        async with AsyncTable("Counters", key="pk", endpoint_url=server_backend.endpoint_url) as t:
            async def worker(w: int) -> None:
                for i in range(10):
                    await t.update({"pk": "total"}, Update().add("n", 1))
                    await t.put({"pk": f"w{w}-{i}", "v": i})
            await asyncio.gather(*(worker(w) for w in range(8)))
            item = await t.get({"pk": "total"}, consistent=True)
            assert item is not None
            return int(item["n"])

    assert run(scenario()) == 80


# --------------------------------------------------------------------------------------------------
# Table and AsyncTable expose the same typed API (issue 13, item 16)
# --------------------------------------------------------------------------------------------------

# Table members with no async twin of the same kind, and why
_NOT_MIRRORED = {
    "key_schema": "a property on Table; an awaited method on AsyncTable (reading it may call DescribeTable)",
}


def _normalised(annotation: Any) -> str:
    """An annotation string with the sync/async spelling differences removed."""
    text = str(annotation).replace("AsyncIterator[", "Iterator[").replace("Awaitable[", "").replace("AsyncTable", "Table")
    return text.replace("AsyncBatchWriter", "BatchWriter").replace("AsyncTypedTable", "TypedTable")


def _public_methods(cls: type) -> dict[str, Any]:
    return {name: getattr(cls, name) for name in dir(cls) if not name.startswith("_")}


def test_table_and_async_table_have_the_same_typed_signatures() -> None:
    import inspect

    sync, aio = _public_methods(Table), _public_methods(AsyncTable)
    missing = sorted(set(sync) - set(aio) - set(_NOT_MIRRORED))
    assert not missing, f"AsyncTable lacks {missing}"
    extra = sorted(set(aio) - set(sync) - set(_NOT_MIRRORED))
    assert not extra, f"AsyncTable has {extra} that Table lacks"
    compared = 0
    for name, member in sync.items():
        if name in _NOT_MIRRORED or name not in aio or isinstance(member, property):
            continue
        if not callable(member):
            assert member == aio[name], name
            continue
        s, a = inspect.signature(member), inspect.signature(aio[name])
        assert [(p.name, p.kind, p.default, _normalised(p.annotation)) for p in s.parameters.values()] == \
            [(p.name, p.kind, p.default, _normalised(p.annotation)) for p in a.parameters.values()], name
        assert not any(p.kind is p.VAR_KEYWORD for p in a.parameters.values()) or \
            any(p.kind is p.VAR_KEYWORD for p in s.parameters.values()), f"AsyncTable.{name} takes **kwargs"
        assert _normalised(s.return_annotation) == _normalised(a.return_annotation), name
        compared += 1
    assert compared >= 20
    for name in ("update", "query", "scan", "count", "query_iter", "scan_pages", "parallel_scan"):
        assert not any(p.kind is p.VAR_KEYWORD for p in inspect.signature(getattr(AsyncTable, name)).parameters.values())
