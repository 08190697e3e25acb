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
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from queue import SimpleQueue
from typing import Any, Protocol, TypeVar, cast

from ddbkit.errors import DdbkitError, DynamoDBError, name_resource
from ddbkit.core.gcpause import paused
from ddbkit.core.retry import RetryPolicy
from ddbkit.core.usage import Usage

__all__ = ["Call", "Sleep", "Gather", "BARRIER", "Op", "Transport", "Stepper", "SyncDriver", "run_inline"]

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


class _Barrier:
    __slots__ = ()

    def __repr__(self) -> str:
        return "BARRIER"


#: Yielded by a :class:`Gather`'s ops iterable: "finish every op started so far before pulling the next".
BARRIER: Any = _Barrier()


class Gather:
    """Run ``ops`` with at most ``limit`` at once; the result is their results in order.

    ``ops`` may be any iterable, even a lazy generator: drivers pull the next op only when a slot is
    free, so producing ops (validating, marshalling) overlaps with the ones in flight and at most
    ``limit`` exist at a time. The iterable may yield :data:`BARRIER` to wait for all started ops.
    With ``reduce``, each result is handed to ``reduce(result)`` as it completes (on the driver's own
    thread or loop, never concurrently) and not kept: the Gather's result is then an empty list.
    ``pause_gc``: the ops create no reference cycles (batch writes and reads), so drivers run the whole
    gather with Python's cyclic collector paused (:mod:`ddbkit.core.gcpause`).
    """

    __slots__ = ("ops", "limit", "reduce", "pause_gc")

    def __init__(self, ops: Iterable[Any], limit: int = 8,
                 reduce: Callable[[Any], None] | None = None, pause_gc: bool = False) -> None:
        self.ops, self.limit, self.reduce, self.pause_gc = ops, limit, reduce, pause_gc


Effect = Call | Sleep | Gather
Op = Generator[Effect, Any, T]


class Transport(Protocol):
    """Sends one wire-format request and returns the wire-format response (or raises a ddbkit error)."""

    def send(self, operation: str, request: dict[str, Any]) -> dict[str, Any]: ...

    def close(self) -> None: ...


class AsyncTransport(Protocol):
    """The asyncio :class:`Transport`: sends one wire-format request and returns the response."""

    async def send(self, operation: str, request: dict[str, Any]) -> dict[str, Any]: ...

    async def close(self) -> None: ...


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


#: ``gatherer(driver, gather)``: the gather's result list, or None to decline (see SyncDriver.gatherer)
Gatherer = Callable[["SyncDriver", Gather], "list[Any] | None"]


class SyncDriver:
    """Performs effects with a blocking transport: calls with retries, sleeps, gathers on threads."""

    def __init__(self, transport: Transport, policy: RetryPolicy, usage: Usage,
                 sleep: Any = time.sleep, gatherer: Gatherer | None = None) -> None:
        self.transport = transport
        self.policy = policy
        self.usage = usage
        self._sleep = sleep
        #: runs a Gather another way (on an event loop: :class:`ddbkit.core.multiplex.LoopGather`), or
        #: returns None to leave it to the thread pool
        self.gatherer = gatherer
        self._local = threading.local()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_size = 0
        self._pool_lock = threading.Lock()

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
        return cast(T, step.value)

    # -- the worker pool, kept between calls ------------------------------------------------------
    def _mark_worker(self) -> None:
        self._local.worker = True

    def in_worker(self) -> bool:
        """True on one of this driver's pool threads (nested gathers run inline there: no pool deadlock)."""
        return bool(getattr(self._local, "worker", False))

    def pool(self, size: int) -> ThreadPoolExecutor:
        """The shared pool, at least ``size`` workers (grown by replacing it; threads start lazily)."""
        pool = self._pool
        if pool is not None and self._pool_size >= size:
            return pool
        with self._pool_lock:
            if self._pool is None or self._pool_size < size:
                old = self._pool
                self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="ddbkit",
                                                initializer=self._mark_worker)
                self._pool_size = size
                if old is not None:
                    old.shutdown(wait=False)  # its running tasks finish; new ones go to the new pool
            return self._pool

    def submit(self, op: Op[Any], limit: int) -> Future[Any]:
        """Start ``op`` on the pool (inline when already on a pool thread) and return its future."""
        if self.in_worker():
            f: Future[Any] = Future()
            try:
                f.set_result(self.run(op))
            except Exception as err:  # noqa: BLE001 - delivered through the future
                f.set_exception(err)
            return f
        return self.pool(max(1, limit)).submit(self.run, op)

    def close(self) -> None:
        """Stop the worker pool (a later batch call starts a new one) and the gatherer's loops."""
        with self._pool_lock:
            pool, self._pool, self._pool_size = self._pool, None, 0
        if pool is not None:
            pool.shutdown(wait=True)
        close = getattr(self.gatherer, "close", None)
        if close is not None:
            close()

    def gather(self, effect: Gather) -> list[Any]:
        if effect.pause_gc:
            with paused():
                return self._gather(effect)
        return self._gather(effect)

    def _gather(self, effect: Gather) -> list[Any]:
        limit = max(1, effect.limit)
        reduce = effect.reduce
        results: dict[int, Any] = {}
        running: dict[Future[Any], int] = {}
        first: BaseException | None = None

        def settle(futures: Iterable[Future[Any]]) -> None:
            nonlocal first
            for f in futures:
                index = running.pop(f)
                try:
                    value = f.result()
                except Exception as err:  # noqa: BLE001 - all finish before the first error is raised
                    first = first or err
                    continue
                if reduce is not None:
                    reduce(value)
                else:
                    results[index] = value

        ops: Iterator[Any] = iter(effect.ops)
        n = 0
        # One at a time, on this thread: also a Gather of one op known in advance (a single batch chunk, a
        # few keys), which has nothing to overlap with: a pool thread would only add two handoffs.
        known = effect.ops
        if limit == 1 or self.in_worker() or (isinstance(known, (list, tuple)) and len(known) <= 1):
            for o in ops:
                if o is BARRIER:
                    continue
                try:
                    value = self.run(o)
                except Exception as err:  # noqa: BLE001
                    first = first or err
                    break
                if reduce is not None:
                    reduce(value)
                else:
                    results[n] = value
                n += 1
            if first is not None:
                raise first
            return [] if reduce is not None else [results[i] for i in range(n)]
        if self.gatherer is not None:  # many requests in flight on one thread's event loop, no handoffs
            done = self.gatherer(self, effect)
            if done is not None:
                return done
        # completions arrive through a queue (O(1) each), not concurrent.futures.wait over every future
        finished: SimpleQueue[Future[Any]] = SimpleQueue()
        try:
            while True:
                while len(running) < limit and first is None:
                    o = next(ops, None)
                    if o is None:
                        break
                    if o is BARRIER:
                        while running:
                            settle((finished.get(),))
                        continue
                    f = self.submit(o, limit)
                    running[f] = n
                    n += 1
                    f.add_done_callback(finished.put)
                if not running:
                    break
                settle((finished.get(),))
        finally:
            while running:  # the ops iterable raised: let what was sent finish before propagating
                settle((finished.get(),))
        if first is not None:
            raise first
        return [] if reduce is not None else [results.get(i) for i in range(n)]


def run_inline(op: Op[T], responder: Any) -> T:
    """Drive ``op`` with ``responder(operation, request) -> response`` and no retries/sleeps (tests, tools)."""
    send: Any = None
    while True:
        try:
            effect = op.send(send)
        except StopIteration as stop:
            return cast(T, stop.value)
        if isinstance(effect, Call):
            send = responder(effect.operation, effect.request)
        elif isinstance(effect, Gather):
            out = [run_inline(o, responder) for o in effect.ops if o is not BARRIER]
            if effect.reduce is not None:
                for r in out:
                    effect.reduce(r)
                out = []
            send = out
        else:
            send = None
