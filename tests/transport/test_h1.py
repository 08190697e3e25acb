"""ddbkit's asyncio HTTP/1.1 client (``ddbkit.transport.h1``), against a scripted server on a real socket.

What the parity suite (tests/parity, ``fast-async`` rows: headers, signing, errors, keep-alive after a server
close, TLS, read timeout, refused connections) does not reach: replies cut into many segments, chunked replies,
cancellation, the connection limit under load, idle expiry, a read timeout in the middle of a body.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from ddbkit.transport.h1 import ConnectionPool, ConnectTimeout, ReadTimeout
from ddbkit.transport.wire import InvalidHTTPResponse

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, bytes], Awaitable[bool]]


def reply(body: bytes = b"{}", extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


class Server:
    """An asyncio server that reads each request (head + Content-Length body) and lets ``handler`` answer;
    the handler returns False to close the connection. Counts connections."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.peak = 0
        self.live = 0
        self.requests: list[bytes] = []
        self.server: asyncio.base_events.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.live += 1
        self.peak = max(self.peak, self.live)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                body = await reader.readexactly(length)
                self.requests.append(body)
                if not await self.handler(reader, writer, body):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.live -= 1
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


def request(body: bytes = b"{}") -> bytes:
    return b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


async def with_pool(handler: Handler, scenario: Callable[[ConnectionPool, Server], Awaitable[Any]],
                    **kwargs: Any) -> Any:
    server = Server(handler)
    port = await server.start()
    options = {"ssl_context": None, "limit": 8, "connect_timeout": 2.0, "read_timeout": 2.0, **kwargs}
    pool = ConnectionPool("127.0.0.1", port, **options)
    try:
        return await scenario(pool, server)
    finally:
        pool.close()
        await server.stop()


def test_a_reply_in_many_segments_and_keep_alive() -> None:
    async def handler(_: Any, writer: asyncio.StreamWriter, body: bytes) -> bool:
        for i in range(0, len(raw := reply(body * 50)), 7):  # echo, 7 bytes per write
            writer.write(raw[i:i + 7])
            await writer.drain()
            await asyncio.sleep(0)
        return True

    async def scenario(pool: ConnectionPool, server: Server) -> None:
        for i in range(5):
            status, body, crc = await pool.request(request(b'{"i":%d}' % i))
            assert (status, body, crc) == (200, b'{"i":%d}' % i * 50, None)
        assert server.connections == 1  # one keep-alive connection for all five

    asyncio.run(with_pool(handler, scenario))


def test_chunked_replies_and_connection_close() -> None:
    async def handler(_: Any, writer: asyncio.StreamWriter, body: bytes) -> bool:
        if body == b"close":
            writer.write(reply(b"bye", b"Connection: close\r\n"))
            return True  # the client must not reuse it even if the server would
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nx-amz-crc32: 9\r\n\r\n")
        for piece in (body[:2], body[2:]):
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        return True

    async def scenario(pool: ConnectionPool, server: Server) -> None:
        assert await pool.request(request(b'{"a":1}')) == (200, b'{"a":1}', "9")
        assert await pool.request(request(b"close")) == (200, b"bye", None)
        assert await pool.request(request(b'{"b":2}')) == (200, b'{"b":2}', "9")
        assert server.connections == 2  # the Connection: close one was not reused

    asyncio.run(with_pool(handler, scenario))


def test_the_limit_holds_under_200_concurrent_requests() -> None:
    async def handler(_: Any, writer: asyncio.StreamWriter, body: bytes) -> bool:
        await asyncio.sleep(0.001)
        writer.write(reply(body))
        return True

    async def scenario(pool: ConnectionPool, server: Server) -> None:
        bodies = [b'{"n":%d}' % i for i in range(200)]
        got = await asyncio.gather(*(pool.request(request(b)) for b in bodies))
        assert [g[1] for g in got] == bodies
        assert server.peak <= 4 and server.connections <= 4 and pool.open_connections <= 4

    asyncio.run(with_pool(handler, scenario, limit=4))


def test_a_cancelled_request_does_not_poison_the_pool() -> None:
    async def handler(_: Any, writer: asyncio.StreamWriter, body: bytes) -> bool:
        if body == b"slow":
            await asyncio.sleep(0.3)
        writer.write(reply(body))
        return True

    async def scenario(pool: ConnectionPool, server: Server) -> None:
        slow = asyncio.ensure_future(pool.request(request(b"slow")))
        await asyncio.sleep(0.05)
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        # the next request never reads the slow request's late reply
        for i in range(3):
            assert (await pool.request(request(b"%d" % i)))[1] == b"%d" % i
        assert server.connections == 2 and pool.open_connections == 1

    asyncio.run(with_pool(handler, scenario, limit=1))


def test_cancelled_waiters_free_their_place() -> None:
    async def handler(_: Any, writer: asyncio.StreamWriter, body: bytes) -> bool:
        await asyncio.sleep(0.05)
        writer.write(reply(body))
        return True

    async def scenario(pool: ConnectionPool, server: Server) -> None:
        first = asyncio.ensure_future(pool.request(request(b"1")))
        waiting = [asyncio.ensure_future(pool.request(request(b"w"))) for _ in range(5)]
        await asyncio.sleep(0.01)
        for w in waiting:
            w.cancel()
        assert (await first)[1] == b"1"
        assert (await pool.request(request(b"2")))[1] == b"2"
        assert server.connections == 1

    asyncio.run(with_pool(handler, scenario, limit=1))


def test_idle_connections_closed_by_the_server_or_expired_are_not_reused() -> None:
    async def handler(_: Any, writer: asyncio.StreamWriter, body: bytes) -> bool:
        writer.write(reply(body))
        await writer.drain()
        return body != b"then-close"  # closes silently after answering

    async def scenario(pool: ConnectionPool, server: Server) -> None:
        assert (await pool.request(request(b"then-close")))[1] == b"then-close"
        await asyncio.sleep(0.05)  # the close reaches the client while the connection is idle
        assert (await pool.request(request(b"a")))[1] == b"a"
        assert server.connections == 2
        pool.keepalive = 0.0  # every idle connection is now too old
        await asyncio.sleep(0.01)
        assert (await pool.request(request(b"b")))[1] == b"b"
        assert server.connections == 3

    asyncio.run(with_pool(handler, scenario))


def test_read_timeout_mid_body_and_silence_between_bytes() -> None:
    async def handler(_: Any, writer: asyncio.StreamWriter, body: bytes) -> bool:
        raw = reply(b"x" * 10)
        if body == b"trickle":  # a byte every 0.1 s: never 0.3 s of silence, so no timeout
            for i in range(len(raw)):
                writer.write(raw[i:i + 1])
                await writer.drain()
                await asyncio.sleep(0.1 if i > len(raw) - 6 else 0)
            return True
        writer.write(raw[:-4])  # then silence
        await asyncio.sleep(5)
        return False

    async def scenario(pool: ConnectionPool, server: Server) -> None:
        assert (await pool.request(request(b"trickle")))[1] == b"x" * 10
        with pytest.raises(ReadTimeout, match="read timeout"):
            await pool.request(request(b"stall"))
        assert pool.open_connections == 0  # the stalled connection was closed, never reused
        assert (await pool.request(request(b"trickle")))[1] == b"x" * 10
        assert server.connections == 2

    asyncio.run(with_pool(handler, scenario, read_timeout=0.3))


def test_a_server_closing_mid_response_is_a_connection_error() -> None:
    async def handler(_: Any, writer: asyncio.StreamWriter, body: bytes) -> bool:
        writer.write(reply(b"x" * 10)[:-3])
        await writer.drain()
        return False

    async def scenario(pool: ConnectionPool, server: Server) -> None:
        with pytest.raises(InvalidHTTPResponse, match="ended after 7 of 10"):
            await pool.request(request(b"a"))

    asyncio.run(with_pool(handler, scenario))


def test_unsolicited_bytes_close_an_idle_connection() -> None:
    async def handler(_: Any, writer: asyncio.StreamWriter, body: bytes) -> bool:
        writer.write(reply(body) + b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale")
        return True

    async def scenario(pool: ConnectionPool, server: Server) -> None:
        assert (await pool.request(request(b"a")))[1] == b"a"
        await asyncio.sleep(0.02)
        assert (await pool.request(request(b"b")))[1] == b"b"  # never the stale bytes
        assert server.connections == 2

    asyncio.run(with_pool(handler, scenario))


def test_connect_timeout_and_refused() -> None:
    """Refused: a bound port nobody listens on. Connect timeout: a TLS connect to a server that accepts the TCP
    connection and never answers the handshake (the connect includes the handshake, as aiohttp's sock_connect)."""
    import socket
    import ssl

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)
        writer.close()

    async def scenario() -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            pool = ConnectionPool("127.0.0.1", s.getsockname()[1], ssl_context=None, limit=1, connect_timeout=0.5,
                                  read_timeout=1.0)
            with pytest.raises(ConnectionRefusedError):
                await pool.request(request())
            assert pool.open_connections == 0
        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pool = ConnectionPool("127.0.0.1", port, ssl_context=ssl.create_default_context(), limit=1,
                              connect_timeout=0.3, read_timeout=1.0)
        with pytest.raises(ConnectTimeout, match="connect timeout after 0.3 s"):
            await pool.request(request())
        assert pool.open_connections == 0
        server.close()

    asyncio.run(scenario())


def test_a_cancelled_request_with_no_reply_frees_its_connection_at_the_read_timeout() -> None:
    async def handler(_: Any, writer: asyncio.StreamWriter, body: bytes) -> bool:
        if body == b"hang":
            await asyncio.sleep(5)  # never answers in time
            return False
        writer.write(reply(body))
        return True

    async def scenario(pool: ConnectionPool, server: Server) -> None:
        hung = asyncio.ensure_future(pool.request(request(b"hang")))
        await asyncio.sleep(0.05)
        hung.cancel()
        with pytest.raises(asyncio.CancelledError):
            await hung
        # the only slot is freed by the pool's read-timeout watchdog, then the next request connects anew
        assert (await asyncio.wait_for(pool.request(request(b"ok")), 3))[1] == b"ok"
        assert server.connections == 2 and pool.open_connections == 1

    asyncio.run(with_pool(handler, scenario, limit=1, read_timeout=0.3))
