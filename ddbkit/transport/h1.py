"""A minimal asyncio HTTP/1.1 client for the fast async transport's data plane (issue 26).

Why: an async GetItem through aiohttp cost ~255-310 µs of CPU where the sync one costs ~110-130 µs; the
difference was aiohttp's request machinery (its ``_request``, response protocol, headers multidict,
timer contexts), not the network. DynamoDB's data plane needs one thing from HTTP: POST a signed body on a
keep-alive connection and read one response. Here that is an :class:`asyncio.Protocol` per connection: one
``transport.write`` of head + body (:func:`ddbkit.transport.wire.request_head`, the bytes the sync
transport sends), the reply parsed by :class:`ddbkit.transport.wire.ResponseParser` as it arrives (the
parser the sync transport uses), and the waiting coroutine woken once.

:class:`ConnectionPool` keeps idle connections (last used first) up to ``limit`` open, hands a released
connection straight to a waiting request, drops connections idle for ``keepalive`` seconds (as aiohttp's
``keepalive_timeout``) and never reuses one the server closed or marked ``Connection: close``. Timeouts:
``connect_timeout`` for the TCP/TLS connect, ``read_timeout`` as the longest silence while a response is
awaited (aiohttp's ``sock_read``). Failures raise :class:`ConnectTimeout`, :class:`ReadTimeout`,
:class:`~ddbkit.transport.wire.InvalidHTTPResponse` or the socket's ``OSError``: the transport turns each
into the same :class:`~ddbkit.errors.ConnectionFailed` wording as before (:func:`ddbkit.errors.connection_failed`).
A request that is cancelled or fails closes its connection: no connection goes back to the pool with a
response still pending. Proxies are not handled here: the transport keeps aiohttp for them.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from collections.abc import Awaitable
from typing import cast

from ddbkit.transport.wire import InvalidHTTPResponse, ResponseParser

__all__ = ["ConnectionPool", "ConnectTimeout", "ReadTimeout"]


class ConnectTimeout(TimeoutError):
    """No connection within ``connect_timeout`` (reported as botocore's "Connect timeout on endpoint URL")."""


class ReadTimeout(TimeoutError):
    """No byte of the response for ``read_timeout`` seconds (botocore's "Read timeout on endpoint URL")."""


Reply = tuple[int, bytes, "str | None"]


class _Connection(asyncio.Protocol):
    """One keep-alive connection; at most one request in flight. The response completes here, in
    ``data_received``: the connection goes back to the pool and the request's future gets the reply, with no
    coroutine of its own per request."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.parser: ResponseParser | None = None
        self.waiter: asyncio.Future[Reply] | None = None
        self.closed = False
        self.counted = True  # holds one of the pool's ``limit`` slots until discarded
        self.idle_since = 0.0
        self.last_data = 0.0

    # -- asyncio.Protocol -------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # a stream transport (create_connection)

    def data_received(self, data: bytes) -> None:
        parser = self.parser
        if parser is None:  # bytes nobody asked for: the connection cannot be trusted any more
            self.close()
            return
        try:
            done = parser.feed(data)
        except InvalidHTTPResponse as err:
            self.fail(err)
            return
        if done:
            self._complete()
        else:
            self.last_data = self.pool.loop.time()  # the read timeout is the longest silence

    def eof_received(self) -> bool:
        self._ended(None)
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._ended(exc)
        self.pool._discard(self)

    # -- the request side ---------------------------------------------------------------------------------
    def _ended(self, exc: Exception | None) -> None:
        """The server closed (or the connection broke): completes a read-to-close body, else fails the request."""
        parser = self.parser
        if parser is None:
            return
        try:
            parser.eof()
        except InvalidHTTPResponse as err:
            self.fail(exc if isinstance(exc, OSError) else err)
            return
        self._complete()

    def _complete(self) -> None:
        parser, waiter = self.parser, self.waiter
        self.parser = self.waiter = None
        pool = self.pool
        pool._busy.discard(self)
        assert parser is not None and waiter is not None
        if waiter.done():  # cancelled meanwhile: the reply is dropped with its connection
            self.close()
            return
        pool._release(self, parser.keep_alive)  # first: the next request may take this connection now
        waiter.set_result((parser.status, parser.body, parser.crc))

    def fail(self, error: BaseException) -> None:
        """End the request in flight with ``error`` and close the connection."""
        waiter = self.waiter
        self.parser = self.waiter = None
        self.pool._busy.discard(self)
        self.close()
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()
        self.pool._discard(self)


class ConnectionPool:
    """Keep-alive HTTP/1.1 connections to one ``host:port`` (TLS when ``ssl_context``), for one event loop."""

    def __init__(self, host: str, port: int, *, ssl_context: ssl.SSLContext | None, limit: int,
                 connect_timeout: float, read_timeout: float, keepalive: float = 30.0) -> None:
        self.host, self.port = host, port
        self.ssl_context = ssl_context
        self.limit = max(1, limit)
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.keepalive = keepalive
        self.loop = asyncio.get_running_loop()
        self._idle: list[_Connection] = []
        self._busy: set[_Connection] = set()
        self._watchdog: asyncio.TimerHandle | None = None
        self._open = 0
        self._waiters: collections.deque[asyncio.Future[_Connection | None]] = collections.deque()
        self._closed = False

    def request(self, data: bytes) -> Awaitable[Reply]:
        """Send ``data`` (a whole request); awaiting the result gives ``(status, body, x-amz-crc32)``.

        With an idle connection at hand this is a plain future (the common case: no coroutine per request);
        a cancelled request's connection is closed when its reply comes or its read timeout passes."""
        now = self.loop.time()
        idle = self._idle
        while idle:  # the connection used last
            conn = idle.pop()
            if conn.closed:
                continue
            if now - conn.idle_since > self.keepalive:
                conn.close()
                continue
            return self._start(conn, data, now)
        return self._request_after_acquire(data)

    async def _request_after_acquire(self, data: bytes) -> Reply:
        conn = await self._acquire()
        return await self._start(conn, data, self.loop.time())

    def _start(self, conn: _Connection, data: bytes, now: float) -> asyncio.Future[Reply]:
        waiter: asyncio.Future[Reply] = self.loop.create_future()
        conn.waiter, conn.parser, conn.last_data = waiter, ResponseParser(), now
        self._busy.add(conn)
        if self._watchdog is None:
            self._watchdog = self.loop.call_at(now + self.read_timeout, self._watch)
        assert conn.transport is not None
        conn.transport.write(data)
        return waiter

    def _watch(self) -> None:
        """One timer per pool, not one per request: fails requests silent for ``read_timeout``, closes the
        connections of cancelled ones, and comes back at the next deadline while any is in flight."""
        self._watchdog = None
        now = self.loop.time()
        deadline: float | None = None
        for conn in list(self._busy):
            waiter = conn.waiter
            if waiter is None or waiter.done():  # cancelled: its connection would carry a stale reply
                conn.fail(asyncio.CancelledError())
                continue
            due = conn.last_data + self.read_timeout
            if due <= now:
                conn.fail(ReadTimeout(f"read timeout: no response bytes for {self.read_timeout:g} s"))
            elif deadline is None or due < deadline:
                deadline = due
        if deadline is not None:
            self._watchdog = self.loop.call_at(deadline, self._watch)

    async def _acquire(self) -> _Connection:
        if self._closed:
            raise InvalidHTTPResponse("the connection pool is closed")
        if self._open < self.limit:
            return await self._connect()
        waiter: asyncio.Future[_Connection | None] = self.loop.create_future()
        self._waiters.append(waiter)
        try:
            handed = await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # served as we were cancelled: pass it on
                handed = waiter.result()
                if handed is not None:
                    self._release(handed, True)
                else:
                    self._wake()
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            raise
        return handed if handed is not None else await self._connect()

    async def _connect(self) -> _Connection:
        self._open += 1
        try:
            try:
                _, conn = await asyncio.wait_for(self.loop.create_connection(
                    lambda: _Connection(self), self.host, self.port, ssl=self.ssl_context,
                    server_hostname=self.host if self.ssl_context is not None else None), self.connect_timeout)
            except asyncio.TimeoutError:
                raise ConnectTimeout(f"connect timeout after {self.connect_timeout:g} s") from None
        except BaseException:
            self._open -= 1
            self._wake()
            raise
        return conn

    def _release(self, conn: _Connection, reusable: bool) -> None:
        if not reusable or conn.closed or self._closed:
            conn.close()
            return
        conn.idle_since = self.loop.time()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    def _discard(self, conn: _Connection) -> None:
        """``conn`` is gone: free its slot for a waiting request (once per connection)."""
        if conn.counted:
            conn.counted = False
            self._open -= 1
            self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # a slot is free: that request connects
                return

    @property
    def open_connections(self) -> int:
        """Connections open or being opened (at most ``limit``)."""
        return self._open

    def close(self) -> None:
        """Close every idle connection (those in flight close when their reply is in); requests waiting for
        a connection fail."""
        self._closed = True
        if self._watchdog is not None and not self._busy:
            self._watchdog.cancel()
            self._watchdog = None
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(InvalidHTTPResponse("the connection pool was closed"))

    def abandon(self) -> None:
        """Forget every connection without closing it (a forked child: the parent still uses them)."""
        self._closed = True
        self._idle = []
        self._busy = set()
        self._waiters.clear()
        self._watchdog = None

    def __repr__(self) -> str:
        return f"ConnectionPool({self.host}:{self.port}, open={self._open}, idle={len(self._idle)})"
