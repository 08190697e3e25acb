"""The asyncio driver of the sans-I/O engine (:mod:`ddbkit.core.engine`): performs an op's effects with an
async transport (awaits, asyncio sleeps, bounded tasks for a Gather).

Used by :class:`ddbkit.aio.AsyncTable`, and by the sync :class:`~ddbkit.core.engine.SyncDriver` for the
gathers it multiplexes on an event loop of its own (:mod:`ddbkit.core.multiplex`). Moved here from
``ddbkit.aio`` (which still exports it) so that both can use it without an import circle.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from typing import Any, TypeVar, cast

from ddbkit.core.engine import BARRIER, AsyncTransport, Call, Gather, Op, Sleep, Stepper
from ddbkit.core.gcpause import paused
from ddbkit.core.retry import RetryPolicy
from ddbkit.core.usage import Usage
from ddbkit.errors import DdbkitError, DynamoDBError, name_resource

__all__ = ["AsyncDriver"]

T = TypeVar("T")


class AsyncDriver:
    """Performs effects with an async transport: awaits, asyncio sleeps, semaphore-bounded tasks."""

    def __init__(self, transport: AsyncTransport, policy: RetryPolicy, usage: Usage) -> None:
        self.transport = transport
        self.policy = policy
        self.usage = usage

    async def call(self, effect: Call) -> dict[str, Any]:
        try:
            response = await self.transport.send(effect.operation, effect.request)
        except DynamoDBError as err:
            if not self.policy.should_retry(effect.retry, err):
                name_resource(err, effect.request)
                self.usage.record_error(effect.operation, err, effect.request)
                raise
            self.usage.record_retry(effect.operation, err)
            response = await self._retry(effect)
        self.usage.record(effect.operation, response)
        return response

    async def _retry(self, effect: Call) -> dict[str, Any]:
        from tenacity import AsyncRetrying

        await asyncio.sleep(self.policy.backoff(1))

        async def attempt() -> dict[str, Any]:
            try:
                return await self.transport.send(effect.operation, effect.request)
            except DynamoDBError as err:
                self.usage.record_retry(effect.operation, err)
                raise

        try:
            result: dict[str, Any] = await AsyncRetrying(sleep=asyncio.sleep, **self.policy.tenacity_kwargs())(attempt)
            return result
        except DynamoDBError as err:
            err.retried = True  # sent more than once: an earlier attempt may have been applied
            name_resource(err, effect.request)
            self.usage.record_error(effect.operation, err, effect.request)
            raise

    async def run(self, op: Op[T]) -> T:
        step = Stepper(op)
        while (effect := step.next()) is not None:
            try:
                if type(effect) is Call:
                    step.resolve(await self.call(effect))
                elif type(effect) is Sleep:
                    await asyncio.sleep(effect.seconds)
                elif type(effect) is Gather:
                    step.resolve(await self.gather(effect))
                else:  # pragma: no cover
                    raise TypeError(f"unknown effect {effect!r}")
            except DdbkitError as err:
                step.fail(err)
        return cast(T, step.value)

    def submit(self, op: Op[Any]) -> asyncio.Task[Any]:
        """Start ``op`` as a task (the async writer bounds how many run at once)."""
        return asyncio.ensure_future(self.run(op))

    async def gather(self, effect: Gather) -> list[Any]:
        """Pull ops lazily from ``effect.ops``, at most ``limit`` tasks at once (see :class:`Gather`); with
        ``effect.pause_gc``, with Python's cyclic collector paused throughout (:mod:`ddbkit.core.gcpause`)."""
        if effect.pause_gc:
            with paused():
                return await self._gather(effect)
        return await self._gather(effect)

    async def _gather(self, effect: Gather) -> list[Any]:
        limit = max(1, effect.limit)
        reduce = effect.reduce
        results: dict[int, Any] = {}
        running: dict[asyncio.Future[Any], int] = {}
        first: BaseException | None = None

        def settle(done: Iterable[asyncio.Future[Any]]) -> None:
            nonlocal first
            for task in done:
                index = running.pop(task)
                err = task.exception()
                if err is not None:
                    first = first or err
                elif reduce is not None:
                    reduce(task.result())
                else:
                    results[index] = task.result()

        # completions are queued by a done-callback (O(1) each), not asyncio.wait over every task
        loop = asyncio.get_running_loop()
        finished: deque[asyncio.Future[Any]] = deque()
        waiter: list[asyncio.Future[None] | None] = [None]

        def on_done(task: asyncio.Future[Any]) -> None:
            finished.append(task)
            w = waiter[0]
            if w is not None and not w.done():
                w.set_result(None)

        async def next_done() -> asyncio.Future[Any]:
            while not finished:
                w: asyncio.Future[None] = loop.create_future()
                waiter[0] = w
                await w
            return finished.popleft()

        ops = iter(effect.ops)
        n = 0
        try:
            while True:
                while len(running) < limit and first is None:
                    o = next(ops, None)
                    if o is None:
                        break
                    if o is BARRIER:
                        while running:
                            settle((await next_done(),))
                        continue
                    task = asyncio.ensure_future(self.run(o))
                    task.add_done_callback(on_done)
                    running[task] = n
                    n += 1
                    await asyncio.sleep(0)  # let it send now: producing the next op overlaps its I/O
                if not running:
                    break
                settle((await next_done(),))
        except asyncio.CancelledError:
            for t in running:
                t.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            running.clear()
            raise
        finally:
            while running:  # the ops iterable raised: let what was sent finish before propagating
                settle((await next_done(),))
        if first is not None:
            raise first
        return [] if reduce is not None else [results.get(i) for i in range(n)]
