"""Nothing is read from a damaged reply, on every transport (issue 13, items 11, 14, 15).

A :class:`~parity.fault_integrity.FaultProxy` sits between the client and a real store (tests/support/fault_server.py's
in-memory DynamoDB, or moto's server): requests are applied, then replies are cut, corrupted, emptied or
dropped. Each scenario runs on the four paths a user can pick: fast sync, fast async, botocore sync and
aioboto3 (``AsyncTable(transport="botocore")``).

Before the fix, botocore (retries off, as ddbkit sets them) parsed a cut or corrupted reply as ``{}``: a
GetItem of an existing item returned None, BatchWriteItem lost its UnprocessedItems, BatchGetItem listed
existing keys as missing and a Query ended without a cursor; the fast path read an empty 200 as success.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fault_server import FaultPlan, FaultyStore, start_faulty_server
from parity.fault_integrity import MODES, FaultProxy, ReplyFaults

from ddbkit import Attr, Table, Update
from ddbkit.core import transactions as tx
from ddbkit.aio import AsyncTable
from ddbkit.errors import BatchGetError, ConditionalCheckFailed, CorruptResponse, DynamoDBError, TransactionCanceled
from ddbkit.core.retry import RetryPolicy
from ddbkit.transport.fast import AsyncFastTransport, FastTransport

PATIENT = RetryPolicy(max_attempts=40, base_delay=0.0, max_delay=0.002, seed=3)
ONCE = RetryPolicy(max_attempts=1)
PATHS = ["fast-sync", "fast-async", "botocore-sync", "aioboto3"]
AnyTable = Table | AsyncTable


def make_table(path: str, endpoint: str, name: str, key: Any = "pk", policy: RetryPolicy = PATIENT) -> AnyTable:
    region = "us-east-1"
    if path == "fast-sync":
        return Table(name, key=key, retry=policy, transport=FastTransport(endpoint_url=endpoint, region_name=region))
    if path == "botocore-sync":
        return Table(name, key=key, retry=policy, transport="botocore", endpoint_url=endpoint, region_name=region)
    if path == "fast-async":
        return AsyncTable(name, key=key, retry=policy,
                          transport=AsyncFastTransport(endpoint_url=endpoint, region_name=region))
    return AsyncTable(name, key=key, retry=policy, transport="botocore", endpoint_url=endpoint, region_name=region)


async def call(value: Any) -> Any:
    """The result of a Table (plain) or AsyncTable (awaitable) call."""
    return await value if inspect.isawaitable(value) else value


async def collect(iterator: Any) -> list[Any]:
    if hasattr(iterator, "__aiter__"):
        return [x async for x in iterator]
    return list(iterator)


async def close(t: AnyTable) -> None:
    await call(t.close())


def run(scenario: Callable[..., Any], *args: Any) -> Any:
    return asyncio.run(scenario(*args))


@pytest.fixture
def store() -> Iterator[tuple[str, FaultyStore]]:
    server, faulty = start_faulty_server({"Things": ("pk",), "Orders": ("pk", "sk")})
    try:
        yield server.endpoint_url, faulty
    finally:
        server.stop()


def fill(store: FaultyStore, n: int) -> None:
    for i in range(n):
        item = {"pk": {"S": f"k{i:04d}"}, "n": {"N": str(i)}, "pad": {"S": "x" * 40}}
        store.items["Things"][(("S", f"k{i:04d}"),)] = item
        order = {"pk": {"S": "p"}, "sk": {"S": f"s{i:04d}"}, "n": {"N": str(i)}}
        store.items["Orders"][(("S", "p"), ("S", f"s{i:04d}"))] = order


# --------------------------------------------------------------------------------------------------
# Item 11: every kind of damaged reply, one GetItem each
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("path", PATHS)
def test_a_damaged_get_reply_is_an_error_never_a_missing_item(path: str, mode: str,
                                                               store: tuple[str, FaultyStore]) -> None:
    upstream, faulty = store
    fill(faulty, 3)

    async def scenario(proxy: FaultProxy) -> None:
        t = make_table(path, proxy.endpoint_url, "Things", policy=ONCE)
        try:
            with pytest.raises(DynamoDBError) as exc:
                await call(t.get({"pk": "k0001"}))
            assert exc.value.retryable  # retried by the policy when attempts are left
            if mode not in ("truncate", "drop"):  # cut connections surface as connection failures
                assert isinstance(exc.value, CorruptResponse), exc.value
            assert await call(t.get({"pk": "k0001"})) == {"pk": "k0001", "n": 1, "pad": "x" * 40}  # next reply intact
        finally:
            await close(t)

    with FaultProxy(upstream, ReplyFaults(rate=1.0, modes=(mode,), operations=frozenset({"GetItem"}),
                                          limit=1)) as proxy:
        run(scenario, proxy)
        assert proxy.counters[mode] == 1


# --------------------------------------------------------------------------------------------------
# Item 11: nothing lost through a third of the replies damaged, on every operation the issue names
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_nothing_lost_when_replies_are_damaged(path: str, store: tuple[str, FaultyStore]) -> None:
    upstream, faulty = store
    fill(faulty, 200)
    ops = frozenset({"GetItem", "BatchGetItem", "BatchWriteItem", "Query"})

    async def scenario(proxy: FaultProxy) -> None:
        things = make_table(path, proxy.endpoint_url, "Things")
        orders = make_table(path, proxy.endpoint_url, "Orders", key=("pk", "sk"))
        try:
            # GetItem never returns None for an existing item
            for i in range(0, 200, 10):
                item = await call(things.get({"pk": f"k{i:04d}"}))
                assert item is not None and item["n"] == i
            # BatchGetItem never lists existing keys as missing
            got = await call(things.batch_get([{"pk": f"k{i:04d}"} for i in range(200)] + [{"pk": "absent"}]))
            assert [it["n"] for it in got.items] == list(range(200)) and got.missing == [{"pk": "absent"}]
            # Query never ends early without a cursor
            seen = [it["n"] for it in await collect(orders.query_iter({"pk": "p"}, limit=15))]
            assert seen == list(range(200))
            # BatchWriteItem never loses its UnprocessedItems (the store leaves 30% unprocessed)
            faulty.set_plan(FaultPlan(seed=2, unprocessed=0.3, operations=frozenset({"BatchWriteItem"})))
            result = await call(things.batch_write([{"pk": f"w{i:04d}", "v": i} for i in range(300)]))
            assert result.written == 300
            assert {k[0][1] for k in faulty.items["Things"] if k[0][1].startswith("w")} == {
                f"w{i:04d}" for i in range(300)}
        finally:
            await close(things)
            await close(orders)

    faults = ReplyFaults(rate=0.35, seed=5, modes=MODES, operations=ops)
    with FaultProxy(upstream, faults) as proxy:
        run(scenario, proxy)
    for op in ops:  # every operation met damaged replies
        assert sum(n for k, n in faults.counters.items() if k.startswith(f"{op}:")) > 0, (op, faults.counters)
    assert faulty.counters["unprocessed"] > 0


# --------------------------------------------------------------------------------------------------
# Item 14: BatchGetError.missing; a failed transact_write carries its token; TransactionConflict retried
# --------------------------------------------------------------------------------------------------


def test_batch_get_error_lists_missing_apart_from_unprocessed(store: tuple[str, FaultyStore]) -> None:
    upstream, faulty = store
    fill(faulty, 50)
    faulty.set_plan(FaultPlan(seed=9, unprocessed=0.5, operations=frozenset({"BatchGetItem"})))
    t = make_table("fast-sync", upstream, "Things", policy=ONCE)
    keys = [{"pk": f"k{i:04d}"} for i in range(50)] + [{"pk": f"none{i}"} for i in range(20)]
    with pytest.raises(BatchGetError) as exc:
        t.batch_get(keys)
    err = exc.value
    assert err.missing and err.unprocessed and err.items
    assert all(k["pk"].startswith("none") for k in err.missing)  # read, and not there
    got = [it["pk"] for it in err.items] + [k["pk"] for k in err.unprocessed] + [k["pk"] for k in err.missing]
    assert sorted(got) == sorted(k["pk"] for k in keys)  # every key in exactly one list


class ConflictingStore(FaultyStore):
    """Cancels the first ``conflicts`` TransactWriteItems with reason ``TransactionConflict`` (or ``reason``)."""

    conflicts = 0
    reason = "TransactionConflict"

    def fault_hook(self, operation: str, request: dict[str, Any]) -> Any:
        from bench.stub_server import Reply

        if operation == "TransactWriteItems":
            self.counters["tokens:" + str(request.get("ClientRequestToken"))] += 1
            if self.conflicts > 0:
                self.conflicts -= 1
                reasons = [{"Code": self.reason, "Message": "Transaction is ongoing for the item"}]
                return Reply.error("TransactionCanceledException", f"Transaction cancelled [{self.reason}]", 400,
                                   CancellationReasons=reasons)
        return super().fault_hook(operation, request)


@pytest.fixture
def conflicting() -> Iterator[tuple[str, ConflictingStore]]:
    from bench.stub_server import StubServer

    faulty = ConflictingStore({"Ledger": ("pk",)})
    server = StubServer(stub=faulty)
    server.start()
    try:
        yield server.endpoint_url, faulty
    finally:
        server.stop()


@pytest.mark.parametrize("path", PATHS)
def test_transaction_conflicts_are_retried_with_the_same_token(path: str,
                                                               conflicting: tuple[str, ConflictingStore]) -> None:
    endpoint, faulty = conflicting
    add = [tx.Update({"pk": "balance"}, Update().add("n", 1))]

    async def scenario() -> None:
        t = make_table(path, endpoint, "Ledger", policy=RetryPolicy(max_attempts=5, base_delay=0, max_delay=0))
        try:
            faulty.conflicts = 3  # cancelled three times, then applied: one token throughout
            token = await call(t.transact_write(add))
            assert faulty.counters[f"tokens:{token}"] == 4
            assert faulty.items["Ledger"][(("S", "balance"),)]["n"] == {"N": "1"}
            faulty.conflicts = 99  # bounded: the policy's attempts, then the error with its token
            with pytest.raises(TransactionCanceled) as exc:
                await call(t.transact_write(add, token="caller-token-1"))
            assert exc.value.retryable and exc.value.retried and exc.value.token == "caller-token-1"
            assert [r.code for r in exc.value.failed] == ["TransactionConflict"]
            assert faulty.counters["tokens:caller-token-1"] == 5
            faulty.conflicts, faulty.reason = 1, "ConditionalCheckFailed"  # a real failure: not retried
            with pytest.raises(TransactionCanceled) as exc:
                await call(t.transact_write(add))
            assert not exc.value.retryable and not exc.value.retried
            assert exc.value.token and faulty.counters[f"tokens:{exc.value.token}"] == 1
            faulty.reason = "TransactionConflict"
            # the caller retries with the token of the failed call: applied once
            again = await call(t.transact_write(add, token=exc.value.token))
            assert again == exc.value.token
            assert faulty.items["Ledger"][(("S", "balance"),)]["n"] == {"N": "2"}
        finally:
            await close(t)

    run(scenario)


# --------------------------------------------------------------------------------------------------
# Item 15: a conditional write retried after its first attempt was applied
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_a_conditional_write_applied_then_retried_is_reported_applied(path: str, moto_backend: Any) -> None:
    """The first attempt is applied by the server and its reply dropped; the retry fails its condition
    *because of* the first attempt. ddbkit reads the stored item and reports success when it is exactly what
    was written, and still raises when it is not (a real conflict, or an update it cannot verify)."""
    client = moto_backend.client("dynamodb")
    client.create_table(TableName="Versioned", BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    drop_next = ReplyFaults(rate=1.0, modes=("drop",), operations=frozenset({"PutItem", "UpdateItem"}), limit=1)

    async def scenario(proxy: FaultProxy) -> None:
        t = make_table(path, proxy.endpoint_url, "Versioned", policy=RetryPolicy(max_attempts=3, base_delay=0,
                                                                                 max_delay=0))
        try:
            proxy.set_faults(ReplyFaults(**{**drop_next.__dict__, "counters": drop_next.counters}))
            new = await call(t.put_versioned({"pk": "a", "v": 1}))  # create: attribute_not_exists
            assert new["version"] == 1 and drop_next.counters["drop"] == 1
            proxy.set_faults(ReplyFaults(**{**drop_next.__dict__, "limit": 1}))
            bumped = await call(t.put_versioned({**new, "v": 2}))  # version == 1
            assert bumped["version"] == 2
            proxy.set_faults(ReplyFaults(**{**drop_next.__dict__, "limit": 1}))
            after = await call(t.update_versioned({"pk": "a"}, Update().set("v", 3), expected=2))
            assert after is not None and after["version"] == 3 and after["v"] == 3
            proxy.set_faults(ReplyFaults(**{**drop_next.__dict__, "limit": 1}))
            await call(t.put({"pk": "b", "v": 1}, condition=Attr("pk").not_exists()))
            assert await call(t.get({"pk": "b"}, consistent=True)) == {"pk": "b", "v": 1}
            # not detectable: an ADD applied twice would differ from once; the failure stands
            proxy.set_faults(ReplyFaults(**{**drop_next.__dict__, "limit": 1}))
            with pytest.raises(ConditionalCheckFailed) as exc:
                await call(t.update({"pk": "a"}, Update().add("hits", 1), condition=Attr("hits").not_exists()))
            assert exc.value.retried
            # a genuine conflict (no fault at all) still raises
            proxy.set_faults(ReplyFaults())
            with pytest.raises(ConditionalCheckFailed) as exc:
                await call(t.put_versioned({"pk": "a", "v": 9, "version": 1}))
            assert not exc.value.retried
        finally:
            await close(t)

    assert moto_backend.endpoint_url is not None
    with FaultProxy(moto_backend.endpoint_url) as proxy:
        run(scenario, proxy)
