"""A sync driver's gathers multiplexed on an event loop in the calling thread (issue 26).

Why: :class:`~ddbkit.core.engine.SyncDriver` ran the ops of a Gather (the chunks of a batch write or get, the
segments of a parallel scan) on a thread pool: every chunk was a handoff to a pool thread and back, ~2-9
context switches per request, and a small-item bulk write cost 14 µs/item sync against 9.5 async. When the
table's transport has an asyncio twin speaking the same wire (the fast transport's
:meth:`~ddbkit.transport.fast.FastTransport.async_twin`, over ddbkit's own HTTP/1.1 client), the gather is
driven instead by the :class:`~ddbkit.core.engine_async.AsyncDriver` on a private event loop, in the calling
thread: many requests in flight on non-blocking sockets, no thread handoff, and the caller's input generator
still consumed on the caller's thread. asyncio is imported on the first such gather, not before. The ops are the same sans-I/O generators; only the I/O differs.

Each thread gets its own loop and twin (a loop belongs to one thread); a forked child makes new ones. The
gather declines (returns None, and the thread pool runs it as before) inside a running event loop (sync
code called from a coroutine) and when the transport says it cannot multiplex (a proxy, botocore delegation,
moto's in-process mock).
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any, Protocol, cast

from ddbkit.core.engine import AsyncTransport, Gather, SyncDriver

if TYPE_CHECKING:
    import asyncio

__all__ = ["LoopGather", "Multiplexable"]


class _State:
    __slots__ = ("loop", "twin", "pid")

    def __init__(self, twin: AsyncTransport) -> None:
        import asyncio

        self.loop: asyncio.AbstractEventLoop = asyncio.new_event_loop()
        self.twin = twin
        self.pid = os.getpid()


class Multiplexable(Protocol):
    """A sync transport with an asyncio twin (:class:`ddbkit.transport.fast.FastTransport`)."""

    def async_twin(self) -> AsyncTransport: ...

    def multiplexable(self) -> bool: ...


class LoopGather:
    """The ``gatherer`` of a :class:`~ddbkit.core.engine.SyncDriver`: runs a Gather on this thread's event loop
    over ``transport.async_twin()``, or returns None when it cannot (see the module docstring):
    ``transport.multiplexable()`` says no, or the driver's transport is no longer ``transport`` (replaced or
    wrapped since: the wrapper must see every call, so the thread pool runs it)."""

    def __init__(self, transport: Multiplexable) -> None:
        self._transport = transport
        self._local = threading.local()
        self._states: list[_State] = []
        self._lock = threading.Lock()

    def __call__(self, driver: SyncDriver, effect: Gather) -> list[Any] | None:
        import asyncio  # on the first gather, not at import: a sync Table's cold start has no asyncio

        from ddbkit.core.engine_async import AsyncDriver

        try:
            asyncio.get_running_loop()
            return None  # sync code inside a coroutine: this thread's loop is busy
        except RuntimeError:
            pass
        if cast(object, driver.transport) is not self._transport or not self._transport.multiplexable():
            return None
        state: _State | None = getattr(self._local, "state", None)
        if state is None or state.pid != os.getpid():
            state = _State(self._transport.async_twin())
            self._local.state = state
            with self._lock:
                self._states.append(state)
        loop = state.loop
        task = loop.create_task(AsyncDriver(state.twin, driver.policy, driver.usage).gather(effect))
        try:
            return loop.run_until_complete(task)
        except BaseException:
            # interrupted (KeyboardInterrupt): no request of this gather may be left pending in the loop
            task.cancel()
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in pending:
                t.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            raise

    def close(self) -> None:
        """Close every thread's twin and loop (call it when no batch is running)."""
        with self._lock:
            states, self._states = self._states, []
        self._local = threading.local()
        for state in states:
            if state.pid != os.getpid() or state.loop.is_running():
                continue  # a forked child's inherited copy, or one in use: left to the collector
            try:
                state.loop.run_until_complete(state.twin.close())
            finally:
                state.loop.close()
