"""Issue 24 (reliability): an idempotency key never stays locked by a call whose lock write had an unknown
outcome, on every transport (sync decorator on fast/botocore, async decorator on fast-async/aioboto3).

The reply-damaging proxy (fault_integrity.FaultProxy, here also damaging *error* replies) sits in front of
DynamoDB Local (which evaluates the lock's condition; moto's in-process server would register its botocore
stubber in every later session of the parity run). The targeted case: the lock PutItem is applied and its
reply lost; the retry's reply (the ConditionalCheckFailed our own lock causes) is cut short. The call must
read the record back, find its own lock and run the function. The run with faults: every payload runs
exactly once.
"""

from __future__ import annotations

import asyncio
import random
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from backends import DYNAMODB_LOCAL, Backend
from fault_integrity import FaultProxy

from ddbkit import Table
from ddbkit.aio import AsyncTable
from ddbkit.errors import DdbkitError
from ddbkit.idempotency import IdempotencyStore, idempotent_function
from ddbkit.core.retry import RetryPolicy

pytestmark = pytest.mark.integration

Decide = Callable[[str, int], "str | None"]


class ErrorDamagingProxy(FaultProxy):
    """The reply-damaging proxy with the mode of each reply chosen by ``decide(operation, status)`` (error
    replies included: the parity proxy damages only 200s)."""

    def __init__(self, upstream: str, decide: Decide) -> None:
        super().__init__(upstream)
        self.decide = decide
        self.modes: Counter[str] = Counter()

    def _draw(self, operation: str, status: int) -> str | None:
        with self._lock:
            mode = self.decide(operation, status)
            if mode:
                self.modes[f"{operation}:{status}:{mode}"] += 1
            return mode


@pytest.fixture
def idem_table(dynamodb_local: Any) -> Iterator[tuple[str, str]]:
    """A new idempotency table on DynamoDB Local: ``(its endpoint, table name)``."""
    from ddbkit.idempotency import load_component
    from ddbkit_infra.resources import create_table_request

    backend = Backend.for_name(DYNAMODB_LOCAL, dynamodb_local.endpoint_url)
    name = f"Idem-{uuid.uuid4().hex[:10]}"
    req = create_table_request(load_component(table_name=name).table())
    req.pop("SSESpecification", None)
    req.pop("Tags", None)
    backend.client().create_table(**req)
    yield dynamodb_local.endpoint_url, name
    backend.client().delete_table(TableName=name)


def _run_payloads(transport: str, endpoint: str, name: str, payloads: list[str], policy: RetryPolicy,
                  calls_per_payload: int) -> Counter[str]:
    """Call the decorated function for each payload until it returns (at most ``calls_per_payload``
    calls, as a caller's own retries would); how many times each payload's body ran."""
    runs: Counter[str] = Counter()
    lock = threading.Lock()
    kwargs: dict[str, Any] = {"endpoint_url": endpoint, "region_name": "us-east-1", "retry": policy}
    if transport in ("fast", "botocore"):
        with Table(name, key="id", transport=transport, **kwargs) as t:
            store = IdempotencyStore(t)

            @idempotent_function(store, event_key="order")
            def work(event: dict[str, str]) -> str:
                with lock:
                    runs[event["order"]] += 1
                return event["order"]

            for p in payloads:
                for _ in range(calls_per_payload):
                    try:
                        assert work({"order": p}) == p
                        break
                    except DdbkitError:
                        continue
        return runs

    if transport == "aioboto3":
        pytest.importorskip("aioboto3")

    async def main() -> None:
        async with AsyncTable(name, key="id", transport="fast" if transport == "fast-async" else "botocore",
                              **kwargs) as at:
            store = IdempotencyStore(at)

            @idempotent_function(store, event_key="order")
            async def work(event: dict[str, str]) -> str:
                runs[event["order"]] += 1
                return event["order"]

            for p in payloads:
                for _ in range(calls_per_payload):
                    try:
                        assert await work({"order": p}) == p
                        break
                    except DdbkitError:
                        continue

    asyncio.run(main())
    return runs


def test_lock_applied_reply_lost_and_retry_reply_damaged_the_function_runs(
        idem_table: tuple[str, str], transport: str) -> None:
    upstream, name = idem_table
    state = {"puts": 0}

    def decide(operation: str, status: int) -> str | None:
        if operation != "PutItem":
            return None
        state["puts"] += 1
        if state["puts"] == 1:
            return "drop"  # the lock write is applied, its reply never arrives
        if status == 400:
            return "truncate_nocrc"  # every retry's answer (our own lock's ConditionalCheckFailed) is cut
        return None

    with ErrorDamagingProxy(upstream, decide) as proxy:
        runs = _run_payloads(transport, proxy.endpoint_url, name, ["o-1"], RetryPolicy(
            max_attempts=3, base_delay=0.0, max_delay=0.0, seed=1), calls_per_payload=1)
    assert proxy.modes["PutItem:200:drop"] == 1 and proxy.modes["PutItem:400:truncate_nocrc"] == 2, proxy.modes
    assert runs == {"o-1": 1}  # the first call ran it: the lock it took was recognised as its own


def test_under_faults_every_payload_runs_exactly_once(idem_table: tuple[str, str], transport: str) -> None:
    upstream, name = idem_table
    rng = random.Random(24)
    modes = ("drop", "truncate", "truncate_nocrc", "empty", "corrupt")

    def decide(operation: str, status: int) -> str | None:
        return rng.choice(modes) if rng.random() < 0.3 else None

    payloads = [f"o-{i}" for i in range(60)]
    with ErrorDamagingProxy(upstream, decide) as proxy:
        runs = _run_payloads(transport, proxy.endpoint_url, name, payloads, RetryPolicy(
            max_attempts=3, base_delay=0.0, max_delay=0.0, seed=2), calls_per_payload=6)
    assert sum(proxy.modes.values()) > 30, proxy.modes
    never = [p for p in payloads if runs[p] == 0]
    twice = {p: n for p, n in runs.items() if n > 1}
    assert not never and not twice, (never, twice, proxy.modes)
