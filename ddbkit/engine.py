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
from typing import Any, Protocol, TypeVar

from ddbkit.errors import DdbkitError, DynamoDBError, name_resource
from ddbkit.retry import RetryPolicy
from ddbkit.usage import Usage

__all__ = ["Call", "Sleep", "Gather", "Op", "Transport", "Stepper", "SyncDriver", "run_inline"]

T = TypeVar("T")


class Call:
    """Send ``request`` as DynamoDB ``operation`` (``"GetItem"``...); retried per the policy if ``retry``."""

    __slots__ = ("operation", "request", "retry")

    def __init__(self, operation: str, request: dict[str, Any], retry: bool = True) -> None:
        self.operation, self.request, self.retry = operation, request, retry


class Sleep:
    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


class Gather:
    """Run ``ops`` with at most ``limit`` at once; the result is their results in order."""

    __slots__ = ("ops", "limit")

    def __init__(self, ops: Sequence[Generator[Any, Any, Any]], limit: int = 8) -> None:
        self.ops, self.limit = ops, limit


Effect = Call | Sleep | Gather
Op = Generator[Effect, Any, T]


class Transport(Protocol):
    """Sends one wire-format request and returns the wire-format response (or raises a ddbkit error)."""

    def send(self, operation: str, request: dict[str, Any]) -> dict[str, Any]: ...

    def close(self) -> None: ...


class Stepper:
    """Steps an operation generator: :meth:`next` gives the next effect (None once finished, with the
    result in ``value``); :meth:`resolve`/:meth:`fail` hand back the effect's outcome. Both drivers use it,
    so the protocol between operations and drivers is written once."""

    __slots__ = ("op", "_send", "_throw", "value")

    def __init__(self, op: Op[Any]) -> None:
        self.op = op
        self._send: Any = None
        self._throw: BaseException | None = None
        self.value: Any = None

    def next(self) -> Effect | None:
        try:
            effect = self.op.throw(self._throw) if self._throw is not None else self.op.send(self._send)
        except StopIteration as stop:
            self.value = stop.value
            return None
        self._send = self._throw = None
        return effect

    def resolve(self, value: Any) -> None:
        self._send = value

    def fail(self, error: BaseException) -> None:
        self._throw = error


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
            if not self.policy.should_retry(effect.retry, err):
                name_resource(err, effect.request)
                self.usage.record_error(effect.operation, err, effect.request)
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
            err.retried = True  # sent more than once: an earlier attempt may have been applied
            name_resource(err, effect.request)
            self.usage.record_error(effect.operation, err, effect.request)
            raise

    def run(self, op: Op[T]) -> T:
        """Drive ``op`` to completion and return its result."""
        step = Stepper(op)
        while (effect := step.next()) is not None:
            try:
                if type(effect) is Call:
                    step.resolve(self.call(effect))
                elif type(effect) is Sleep:
                    if effect.seconds > 0:
                        self._sleep(effect.seconds)
                elif type(effect) is Gather:
                    step.resolve(self.gather(effect))
                else:  # pragma: no cover - programming error
                    raise TypeError(f"unknown effect {effect!r}")
            except DdbkitError as err:
                step.fail(err)
        return step.value  # type: ignore[no-any-return]

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
