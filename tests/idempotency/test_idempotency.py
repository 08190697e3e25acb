"""ddbkit.idempotency against real backends (moto server, DynamoDB Local): the handler decorator, any
function (sync and async), concurrent duplicates, payload validation, lock expiry, the local cache, the
table from its component file, and Powertools compatibility of keys and records."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from backends import DYNAMODB_LOCAL, MOTO_SERVER, Backend

from ddbkit import Table
from ddbkit.idempotency import (
    COMPLETED,
    INPROGRESS,
    IdempotencyInProgress,
    IdempotencyKeyError,
    IdempotencyStore,
    IdempotencyValidationError,
    idempotent,
    idempotent_function,
    load_component,
)

ROOT = Path(__file__).resolve().parents[2]
WEST_KEY = "arn:aws:kms:us-west-2:123456789012:key/22345678-1234-1234-1234-123456789012"


def create_idempotency_table(backend: Backend, name: str = "Idempotency") -> None:
    """Create the table from the packaged component, as provisioning would (SSE/tags left to the tier)."""
    from ddbkit_infra.resources import create_table_request

    cfg = load_component(table_name=name).table()
    req = create_table_request(cfg)
    req.pop("SSESpecification", None)
    req.pop("Tags", None)
    backend.client().create_table(**req)


@pytest.fixture(params=[pytest.param(MOTO_SERVER, marks=pytest.mark.integration),
                        pytest.param(DYNAMODB_LOCAL, marks=pytest.mark.integration)])
def fresh(request: pytest.FixtureRequest) -> Iterator[tuple[Backend, str]]:
    """A backend on a session server and a new, empty idempotency table on it (no server reset per test:
    a table per test keeps the tests isolated and fast)."""
    server = request.getfixturevalue("moto_server" if request.param == MOTO_SERVER else "dynamodb_local")
    backend = Backend.for_name(request.param, server.endpoint_url)
    name = f"Idempotency-{uuid.uuid4().hex[:10]}"
    create_idempotency_table(backend, name)
    _USED.add(server)
    yield backend, name  # deleted by the server reset at the end of the module (cheaper than per test)


_USED: set[Any] = set()


@pytest.fixture(scope="module", autouse=True)
def _reset_servers_after_module() -> Iterator[None]:
    """Leave the session servers empty, as the per-test backends do."""
    yield
    for server in _USED:
        server.reset()
    _USED.clear()


@pytest.fixture
def table(fresh: tuple[Backend, str]) -> Iterator[Table]:
    backend, name = fresh
    with Table(name, key="id", endpoint_url=backend.endpoint_url, region_name=backend.region) as t:
        yield t


class Context:
    """A Lambda context with the remaining time."""

    function_name = "orders"

    def __init__(self, remaining_ms: int = 30_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def _order(order_id: str = "o-1", amount: int = 10) -> dict[str, Any]:
    return {"body": {"orderId": order_id, "amount": amount}, "requestContext": {"requestId": str(time.time())}}


# --------------------------------------------------------------------------------------------------
# The handler decorator
# --------------------------------------------------------------------------------------------------

def test_handler_invoked_three_times_runs_once_and_returns_the_same_result(table: Table) -> None:
    store = IdempotencyStore(table)
    runs: list[str] = []

    @idempotent(store, event_key="body.orderId")
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        runs.append(event["body"]["orderId"])
        return {"statusCode": 200, "charged": event["body"]["amount"], "run": len(runs)}

    event = _order()
    results = [handler(event, Context()) for _ in range(3)]
    assert runs == ["o-1"]
    assert results == [{"statusCode": 200, "charged": 10, "run": 1}] * 3
    assert handler(_order("o-2"), Context())["run"] == 2  # another key runs
    [item] = [i for i in table.scan_iter() if i["data"] and '"charged": 10' in i["data"] and '"run": 1' in i["data"]]
    assert item["status"] == COMPLETED and item["expiration"] > time.time() + 3500


def test_key_and_record_layout_match_powertools(table: Table) -> None:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig as PTConfig
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

    class Layer(BasePersistenceLayer):  # only the key derivation is used
        def _get_record(self, idempotency_key: str) -> Any: ...
        def _put_record(self, data_record: Any) -> None: ...
        def _update_record(self, data_record: Any) -> None: ...
        def _delete_record(self, data_record: Any) -> None: ...

    store = IdempotencyStore(table)

    @idempotent(store, event_key="body")
    def handler(event: dict[str, Any], context: Any) -> str:
        return "ok"

    layer = Layer()
    layer.configure(PTConfig(event_key_jmespath="body"), f"{handler.__module__}.{handler.__qualname__}")
    event = _order("o-9", 5)
    handler(event, Context())
    expected = layer._get_hashed_idempotency_key(event)
    stored = table.get({"id": expected}, consistent=True)
    assert stored is not None and stored["status"] == COMPLETED and stored["data"] == '"ok"'


def test_same_key_different_payload_is_a_validation_error(table: Table) -> None:
    store = IdempotencyStore(table)

    @idempotent(store, event_key="body.orderId", payload_validation="body.amount")
    def handler(event: dict[str, Any], context: Any) -> int:
        return int(event["body"]["amount"])

    assert handler(_order(amount=10), Context()) == 10
    assert handler(_order(amount=10), Context()) == 10
    with pytest.raises(IdempotencyValidationError, match="different request"):
        handler(_order(amount=99), Context())


def test_a_failed_run_releases_the_key_and_the_retry_runs(table: Table) -> None:
    store = IdempotencyStore(table)
    attempts: list[int] = []

    @idempotent(store, event_key="body.orderId")
    def handler(event: dict[str, Any], context: Any) -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("payment provider down")
        return "charged"

    with pytest.raises(RuntimeError):
        handler(_order(), Context())
    assert list(table.scan_iter()) == []  # the in-progress record was deleted
    assert handler(_order(), Context()) == "charged" and handler(_order(), Context()) == "charged"
    assert len(attempts) == 2


def test_in_progress_lock_expires_with_the_lambda_and_completed_records_with_expires_after(table: Table) -> None:
    now = [1_800_000_000.0]
    store = IdempotencyStore(table, clock=lambda: now[0])
    crashed = threading.Event()
    runs: list[int] = []

    @idempotent(store, event_key="body.orderId", expires_after=60)
    def handler(event: dict[str, Any], context: Any) -> int:
        runs.append(1)
        if not crashed.is_set():
            crashed.set()
            raise SystemExit  # the Lambda died: a BaseException the store sees, as a timeout would be
        return len(runs)

    # a crashed invocation whose record stays in progress (simulate: write it as a dying Lambda would)
    key = store.key_for(_order(), handler_config(handler), prefix(handler))
    assert key is not None
    table.put({"id": key, "status": INPROGRESS, "expiration": int(now[0] + 60),
               "in_progress_expiration": int(now[0] * 1000) + 2_000, "lock": "dead"})
    crashed.set()
    with pytest.raises(IdempotencyInProgress):
        handler(_order(), Context(remaining_ms=2_000))
    now[0] += 3  # the dead Lambda's remaining time is over: its lock expired
    assert handler(_order(), Context(remaining_ms=2_000)) == 1
    stored = table.get({"id": key}, consistent=True)
    assert stored is not None and stored["status"] == COMPLETED
    assert handler(_order(), Context()) == 1  # repeat: stored result
    now[0] += 61  # the record expired: runs again
    assert handler(_order(), Context()) == 2


def handler_config(fn: Any) -> Any:
    from ddbkit.idempotency import IdempotencyConfig

    return IdempotencyConfig(event_key="body.orderId")


def prefix(fn: Any) -> str:
    from ddbkit.idempotency.core import function_prefix

    return function_prefix(fn.__wrapped__)


def test_lock_expiry_is_the_lambdas_remaining_time(table: Table) -> None:
    store = IdempotencyStore(table)
    seen: list[dict[str, Any]] = []

    @idempotent(store, event_key="body.orderId")
    def handler(event: dict[str, Any], context: Any) -> None:
        seen.extend(table.scan_iter(consistent=True))

    before = time.time() * 1000
    handler(_order(), Context(remaining_ms=45_000))
    [record] = seen
    assert record["status"] == INPROGRESS
    assert before + 44_000 <= record["in_progress_expiration"] <= time.time() * 1000 + 45_000


def test_local_cache_answers_repeats_without_a_call_and_is_bounded(table: Table) -> None:
    store = IdempotencyStore(table, local_cache=True, cache_size=2)

    @idempotent_function(store, data="order", event_key="orderId")
    def charge(order: dict[str, Any]) -> str:
        return f"charged {order['orderId']}"

    for i in range(3):
        charge({"orderId": f"o{i}"})
    def sent() -> int:
        usage = table.usage
        return sum(usage.calls.values()) + sum(usage.errors.values())

    calls = sent()
    assert charge({"orderId": "o2"}) == "charged o2"
    assert sent() == calls  # served from the cache
    assert store.cache is not None and len(store.cache) == 2  # LRU bound: o0 evicted
    assert charge({"orderId": "o0"}) == "charged o0"
    assert sent() == calls + 1  # one PutItem that found the completed record (and returned it)


def test_missing_key_runs_without_idempotency_or_raises(table: Table) -> None:
    store = IdempotencyStore(table)
    runs: list[int] = []

    @idempotent(store, event_key="body.missing")
    def lenient(event: dict[str, Any], context: Any) -> int:
        runs.append(1)
        return len(runs)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert lenient(_order(), None) == 1 and lenient(_order(), None) == 2
    assert any("no idempotency key" in str(w.message) for w in caught)

    @idempotent(store, event_key="body.missing", raise_on_no_key=True)
    def strict(event: dict[str, Any], context: Any) -> int:
        return 1

    with pytest.raises(IdempotencyKeyError):
        strict(_order(), None)
    assert list(table.scan_iter()) == []


# --------------------------------------------------------------------------------------------------
# Concurrent duplicates
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["raise", "wait"])
def test_concurrent_duplicates_one_runs(table: Table, mode: str) -> None:
    store = IdempotencyStore(table)
    started, release = threading.Event(), threading.Event()
    runs: list[int] = []

    @idempotent_function(store, event_key="orderId", in_progress=mode, poll_interval=0.02, wait_timeout=10)
    def charge(order: dict[str, Any]) -> str:
        runs.append(1)
        started.set()
        assert release.wait(10)
        return "charged"

    outcomes: list[Any] = []
    lock = threading.Lock()

    def call() -> None:
        try:
            out: Any = charge({"orderId": "dup"})
        except Exception as err:  # noqa: BLE001 - recorded for the assertions
            out = err
        with lock:
            outcomes.append(out)

    first = threading.Thread(target=call)
    first.start()
    assert started.wait(10)
    others = [threading.Thread(target=call) for _ in range(4)]
    for t in others:
        t.start()
    if mode == "raise":
        for t in others:
            t.join(10)
        assert len(outcomes) == 4 and all(isinstance(o, IdempotencyInProgress) for o in outcomes)
    release.set()
    first.join(10)
    for t in others:
        t.join(10)
    assert runs == [1]
    assert outcomes.count("charged") == (1 if mode == "raise" else 5)


def test_async_function_runs_once_and_concurrent_duplicates_get_in_progress(fresh: tuple[Backend, str]) -> None:
    from ddbkit.aio import AsyncTable

    backend, name = fresh
    runs: list[str] = []

    async def main() -> list[Any]:
        async with AsyncTable(name, key="id", endpoint_url=backend.endpoint_url, region_name=backend.region) as t:
            store = IdempotencyStore(t)

            @idempotent_function(store, data="order", event_key="orderId")
            async def charge(order: dict[str, Any]) -> dict[str, Any]:
                runs.append(order["orderId"])
                await asyncio.sleep(0.3)
                return {"charged": order["orderId"]}

            first = asyncio.create_task(charge({"orderId": "a1"}))
            await asyncio.sleep(0.1)
            dupes = await asyncio.gather(*(charge({"orderId": "a1"}) for _ in range(3)), return_exceptions=True)
            done = await first
            again = [await charge({"orderId": "a1"}) for _ in range(2)]
            return [done, *dupes, *again]

    done, *rest = asyncio.run(main())
    assert runs == ["a1"] and done == {"charged": "a1"}
    assert all(isinstance(r, IdempotencyInProgress) for r in rest[:3])
    assert rest[3:] == [{"charged": "a1"}] * 2


def test_sync_function_needs_a_sync_table_and_async_an_async_one(table: Table) -> None:
    store = IdempotencyStore(table)
    with pytest.raises(TypeError, match="AsyncTable"):
        @idempotent_function(store)
        async def f(x: int) -> int:
            return x


# --------------------------------------------------------------------------------------------------
# The table as a component; the lazy subpackage
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("tier", ["commercial", "fedramp-moderate", "fedramp-high"])
def test_idempotency_table_component_per_tier(tier: str) -> None:
    from ddbkit_infra.synth.cloudformation import synthesize
    from ddbkit_infra.compliance import resolve

    high = tier == "fedramp-high"
    cfg = load_component(tier, regions=["us-east-1", "us-west-2"] if high else None,
                         replica_kms_keys={"us-west-2": WEST_KEY} if high else None).table()
    template = synthesize(resolve(cfg, tier))
    props = template["Resources"]["Table"]["Properties"]
    assert props["TimeToLiveSpecification"] == {"Enabled": True, "AttributeName": "expiration"}
    if tier != "commercial":
        assert "KMS" in json.dumps(template["Resources"]) and "KeyRotation" in json.dumps(template["Resources"])
    assert (ROOT / "examples/idempotency/component.yaml").exists()


def test_import_stays_light() -> None:
    import subprocess
    import sys

    code = ("import sys, ddbkit; assert 'ddbkit.idempotency' not in sys.modules; import ddbkit.idempotency; "
            "from ddbkit.idempotency import idempotent, RecordIdempotency; "
            "bad = [m for m in ('boto3', 'jmespath', 'pydantic') if m in sys.modules]; assert not bad, bad")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_outbox_writes_the_item_and_its_event_together_or_not_at_all(table: Table) -> None:
    from ddbkit.errors import TransactionCanceled
    from ddbkit.core.expressions import Attr
    from ddbkit.idempotency import Outbox

    outbox = Outbox(table, key_attr="id", ttl=3600)
    token = outbox.write(table, {"id": "order#1", "total": 12}, "OrderPlaced", condition=Attr("id").not_exists(),
                         event_id="event#order#1")
    assert isinstance(token, str) and len(token) == 36
    event = table.get({"id": "event#order#1"}, consistent=True)
    assert event is not None and event["type"] == "OrderPlaced" and event["payload"] == {"id": "order#1", "total": 12}
    assert event["expiresAt"] > time.time() + 3500
    with pytest.raises(TransactionCanceled):  # the item exists: neither the item nor a second event is written
        outbox.write(table, {"id": "order#1", "total": 99}, "OrderPlaced", condition=Attr("id").not_exists())
    items = list(table.scan_iter(consistent=True))
    assert len(items) == 2 and table.get({"id": "order#1"}, consistent=True) == {"id": "order#1", "total": 12}


@pytest.mark.parametrize("transport", ["fast", "botocore"])
def test_handler_runs_once_on_every_transport(fresh: tuple[Backend, str], transport: str) -> None:
    """The 3-invocation guarantee, the in-progress duplicate and payload validation on each wire path
    (sync fast/botocore, async fast/aioboto3): they differ in how a failed condition returns the item."""
    from ddbkit.aio import AsyncTable
    from ddbkit.idempotency.core import hash_data

    backend, name = fresh
    runs: list[int] = []

    def body(event: dict[str, Any]) -> dict[str, Any]:
        runs.append(1)
        return {"order": event["body"]["orderId"], "amount": event["body"]["amount"]}

    with Table(name, key="id", endpoint_url=backend.endpoint_url, region_name=backend.region,
               transport=transport) as t:
        store = IdempotencyStore(t)

        @idempotent(store, event_key="body.orderId", payload_validation="body.amount")
        def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            return body(event)

        assert [handler(_order("s1"), Context()) for _ in range(3)] == [{"order": "s1", "amount": 10}] * 3
        with pytest.raises(IdempotencyValidationError):
            handler(_order("s1", amount=11), Context())
        key = store.key_for(_order("s2"), handler_config(handler), prefix(handler))
        t.put({"id": key, "status": INPROGRESS, "expiration": int(time.time()) + 60,
               "in_progress_expiration": int(time.time() * 1000) + 60_000, "lock": "other",
               "validation": hash_data(10)})
        with pytest.raises(IdempotencyInProgress):
            handler(_order("s2"), Context())

    async def main() -> list[Any]:
        async with AsyncTable(name, key="id", endpoint_url=backend.endpoint_url, region_name=backend.region,
                              transport=transport) as at:
            astore = IdempotencyStore(at)

            @idempotent(astore, event_key="body.orderId")
            async def ahandler(event: dict[str, Any], context: Any) -> dict[str, Any]:
                return body(event)

            out = [await ahandler(_order("a1"), Context()) for _ in range(3)]
            akey = astore.key_for(_order("a2"), handler_config(ahandler), prefix(ahandler))
            await at.put({"id": akey, "status": INPROGRESS, "expiration": int(time.time()) + 60,
                          "in_progress_expiration": int(time.time() * 1000) + 60_000, "lock": "other"})
            try:
                await ahandler(_order("a2"), Context())
            except IdempotencyInProgress as err:
                out.append(err)
            return out

    *results, busy = asyncio.run(main())
    assert results == [{"order": "a1", "amount": 10}] * 3 and isinstance(busy, IdempotencyInProgress)
    assert len(runs) == 2


def test_disabled_switch_runs_every_time_without_the_store(table: Table, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DDBKIT_IDEMPOTENCY_DISABLED", "1")
    runs: list[int] = []

    @idempotent(IdempotencyStore(table), event_key="body.orderId")
    def handler(event: dict[str, Any], context: Any) -> int:
        runs.append(1)
        return len(runs)

    assert [handler(_order(), None) for _ in range(2)] == [1, 2]
    assert table.usage.calls == {} and list(table.scan_iter()) == []


def test_packaged_component_and_example_describe_the_same_table() -> None:
    from ddbkit.config import load_component_file
    from ddbkit.idempotency import component_path

    packaged = load_component_file(component_path()).table("idempotency")
    example = load_component_file(ROOT / "examples/idempotency/component.yaml").table("idempotency")
    assert packaged.model_dump() == example.model_dump()
    assert packaged.time_to_live_specification is not None and packaged.time_to_live_specification.enabled


def test_store_from_config_uses_the_components_table_and_key() -> None:
    from ddbkit.aio import AsyncTable

    cfg = load_component(table_name="OrdersIdempotency").table()
    store = IdempotencyStore.from_config(cfg, endpoint_url="http://127.0.0.1:9", region_name="us-east-1",
                                         local_cache=True)
    assert store.table.name == "OrdersIdempotency" and store.table.known_keys.names == ("id",)
    assert not store.is_async and store.cache is not None
    assert IdempotencyStore.from_config(cfg, AsyncTable, endpoint_url="http://127.0.0.1:9",
                                        region_name="us-east-1").is_async
