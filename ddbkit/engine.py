"""The sans-I/O seam: operations are generators of effects; drivers perform them.

An operation (get, query page, batch chunk, transaction...) is a generator that *yields* what it needs
done and receives the outcome::

    response = yield Call("GetItem", request)      # send a request, get the wire response
    yield Sleep(0.2)                               # wait (backoff between batch rounds)
    results = yield Gather([op1, op2], limit=8)    # run sub-operations concurrently

It never touches the network or the clock, so the sync client (:class:`SyncDriver`, threads) and the
async client (``ddbkit.aio.AsyncDriver``, asyncio) run the very same request building, chunking, retry
decisions and parsing; only performing the effects differs. A service error of a ``Call`` is thrown into
the generator, after the retry policy has given up on it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from ddbkit.errors import DynamoDBError
from ddbkit.retry import RetryPolicy
from ddbkit.usage import Usage

__all__ = ["Call", "Sleep", "Gather", "Op", "Transport", "SyncDriver", "run_inline"]

T = TypeVar("T")


@dataclass(slots=True)
class Call:
    """Send ``request`` as DynamoDB ``operation`` (``"GetItem"``...); retried per the policy if ``retry``."""

    operation: str
    request: dict[str, Any]
    retry: bool = True


@dataclass(slots=True)
class Sleep:
    seconds: float


@dataclass(slots=True)
class Gather:
    """Run ``ops`` with at most ``limit`` at once; the result is their results in order."""

    ops: Sequence[Generator[Any, Any, Any]]
    limit: int = 8


Effect = Call | Sleep | Gather
Op = Generator[Effect, Any, T]


class Transport(Protocol):
    """Sends one wire-format request and returns the wire-format response (or raises a ddbkit error)."""

    def send(self, operation: str, request: dict[str, Any]) -> dict[str, Any]: ...

    def close(self) -> None: ...


class SyncDriver:
    """Performs effects with a blocking transport: calls with retries, sleeps, gathers on threads."""

    def __init__(self, transport: Transport, policy: RetryPolicy, usage: Usage,
                 sleep: Any = time.sleep) -> None:
        self.transport = transport
        self.policy = policy
        self.usage = usage
        self._sleep = sleep
        self._local = threading.local()

    def call(self, effect: Call) -> dict[str, Any]:
        """One call: try once (fast path), then retry per the policy through tenacity."""
        try:
            response = self.transport.send(effect.operation, effect.request)
        except DynamoDBError as err:
            if not (effect.retry and self.policy.max_attempts > 1 and self.policy.is_retryable(err)):
                self.usage.record_error(effect.operation, err)
                raise
            self.usage.record_retry(effect.operation, err)
            response = self._retry(effect)
        self.usage.record(effect.operation, response)
        return response

    def _retry(self, effect: Call) -> dict[str, Any]:
        from tenacity import Retrying

        self._sleep(self.policy.backoff(1))

        def attempt() -> dict[str, Any]:
            try:
                return self.transport.send(effect.operation, effect.request)
            except DynamoDBError as err:
                self.usage.record_retry(effect.operation, err)
                raise

        try:
            return Retrying(sleep=self._sleep, **self.policy.tenacity_kwargs())(attempt)
        except DynamoDBError as err:
            self.usage.record_error(effect.operation, err)
            raise

    def run(self, op: Op[T]) -> T:
        """Drive ``op`` to completion and return its result."""
        send: Any = None
        throw: BaseException | None = None
        while True:
            try:
                effect = op.throw(throw) if throw is not None else op.send(send)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            send, throw = None, None
            if type(effect) is Call:
                try:
                    send = self.call(effect)
                except DynamoDBError as err:
                    throw = err
            elif type(effect) is Sleep:
                if effect.seconds > 0:
                    self._sleep(effect.seconds)
            elif type(effect) is Gather:
                try:
                    send = self.gather(effect)
                except Exception as err:  # noqa: BLE001 - handed to the operation
                    throw = err
            else:  # pragma: no cover - programming error
                raise TypeError(f"unknown effect {effect!r}")

    def gather(self, effect: Gather) -> list[Any]:
        ops = list(effect.ops)
        if len(ops) <= 1 or effect.limit <= 1:
            return [self.run(o) for o in ops]
        with ThreadPoolExecutor(max_workers=min(effect.limit, len(ops)), thread_name_prefix="ddbkit") as pool:
            futures = [pool.submit(self.run, o) for o in ops]
            results: list[Any] = []
            first: BaseException | None = None
            for f in futures:
                try:
                    results.append(f.result())
                except Exception as err:  # noqa: BLE001 - all finish before the first error is raised
                    results.append(None)
                    first = first or err
        if first is not None:
            raise first
        return results


def run_inline(op: Op[T], responder: Any) -> T:
    """Drive ``op`` with ``responder(operation, request) -> response`` and no retries/sleeps (tests, tools)."""
    send: Any = None
    while True:
        try:
            effect = op.send(send)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        if isinstance(effect, Call):
            send = responder(effect.operation, effect.request)
        elif isinstance(effect, Gather):
            send = [run_inline(o, responder) for o in effect.ops]
        else:
            send = None
