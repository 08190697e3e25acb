"""A fault-injecting HTTP proxy that damages *replies*: the request reaches the real server and is applied,
then the client gets a reply cut short, corrupted, empty or nothing at all.

It sits in front of any DynamoDB-speaking server (tests/support/fault_server.py's store, moto's server, DynamoDB
Local), forwards every request unchanged, reads the whole reply, stamps ``x-amz-crc32`` over the real body
(as DynamoDB does; the emulators do not all send it) and then, drawn from a seeded RNG for the operations
in the plan, replaces it with one of:

``truncate``          the full ``Content-Length`` and CRC, half the body, then the connection closes
                      (a cut in transit);
``truncate_framed``   half the body framed as if complete (``Content-Length`` of the half), the CRC of the
                      whole (a middlebox re-framing a cut reply);
``truncate_nocrc``    the same without ``x-amz-crc32``: only the JSON itself shows the damage;
``corrupt``           one letter of the first JSON key changed (``"UnprocessedItems"`` -> ``...Itemt``),
                      still valid JSON, original CRC: a parser reads an empty success unless it checks;
``empty``             ``200`` with an empty body and no CRC;
``drop``              the connection closes with no reply (applied, unknown to the client).

Only replies of status 200 are damaged (an error reply is not the case under test). Loopback only.
"""

from __future__ import annotations

import http.client
import random
import re
import socketserver
import threading
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = ["ReplyFaults", "FaultProxy", "MODES"]

MODES = ("truncate", "truncate_framed", "truncate_nocrc", "corrupt", "empty", "drop")
_FIRST_KEY = re.compile(rb'"([A-Za-z]+)"\s*:')


@dataclass
class ReplyFaults:
    """Rate (0..1) of damaged replies to ``operations`` (None: all), modes drawn uniformly from ``modes``."""

    rate: float = 0.0
    modes: tuple[str, ...] = MODES
    operations: frozenset[str] | None = None
    seed: int = 0
    skip_first: int = 0  # leave the first n matching replies intact
    limit: int | None = None  # damage at most this many replies
    counters: Counter[str] = field(default_factory=Counter)


def _corrupt(body: bytes) -> bytes | None:
    m = _FIRST_KEY.search(body)
    if not m:
        return None
    key = m.group(1)
    last = key[-1:]
    new = (b"t" if last != b"t" else b"s")
    return body[:m.end(1) - 1] + new + body[m.end(1):]


class FaultProxy:
    """``FaultProxy(upstream_url, faults)``; ``start()`` returns its ``endpoint_url`` (127.0.0.1)."""

    def __init__(self, upstream: str, faults: ReplyFaults | None = None) -> None:
        parts = urlsplit(upstream)
        assert parts.hostname and parts.port, upstream
        self.upstream = (parts.hostname, parts.port)
        self.faults = faults or ReplyFaults()
        self._rng = random.Random(self.faults.seed)
        self._lock = threading.Lock()
        self._seen = 0
        self._server: socketserver.ThreadingTCPServer | None = None
        self._thread: threading.Thread | None = None
        self.endpoint_url = ""

    def set_faults(self, faults: ReplyFaults) -> None:
        with self._lock:
            self.faults = faults
            self._rng = random.Random(faults.seed)
            self._seen = 0

    @property
    def counters(self) -> Counter[str]:
        return self.faults.counters

    def _draw(self, operation: str, status: int) -> str | None:
        f = self.faults
        if status != 200 or (f.operations is not None and operation not in f.operations):
            return None
        with self._lock:
            self._seen += 1
            if self._seen <= f.skip_first or self._rng.random() >= f.rate:
                return None
            if f.limit is not None:
                if f.limit <= 0:
                    return None
                f.limit -= 1
            return self._rng.choice(f.modes)

    def start(self) -> str:
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                upstream = http.client.HTTPConnection(*proxy.upstream, timeout=30)
                try:
                    while proxy._one(self.rfile, self.connection, upstream):
                        pass
                except (OSError, http.client.HTTPException):
                    pass
                finally:
                    upstream.close()

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        self.endpoint_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self.endpoint_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- one exchange ----------------------------------------------------------------------------
    def _one(self, rfile: Any, sock: Any, upstream: http.client.HTTPConnection) -> bool:
        line = rfile.readline(65537)
        if not line:
            return False
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers: list[tuple[str, str]] = []
        while True:
            h = rfile.readline(65537)
            if h in (b"\r\n", b"\n", b""):
                break
            name, _, value = h.decode("latin-1").partition(":")
            headers.append((name.strip(), value.strip()))
        lower = {k.lower(): v for k, v in headers}
        body = rfile.read(int(lower.get("content-length", "0") or 0))
        operation = lower.get("x-amz-target", "").rpartition(".")[2]
        upstream.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for k, v in headers:
            if k.lower() not in ("connection", "keep-alive", "proxy-connection"):
                upstream.putheader(k, v)
        upstream.endheaders(body)
        resp = upstream.getresponse()
        data = resp.read()
        status = resp.status
        out_headers = [(k, v) for k, v in resp.getheaders()
                       if k.lower() not in ("content-length", "transfer-encoding", "connection", "x-amz-crc32")]
        crc = str(zlib.crc32(data) & 0xFFFFFFFF)
        mode = self._draw(operation, status)
        close = False
        length, send, crc_header = len(data), data, crc
        if mode == "corrupt":
            changed = _corrupt(data)
            mode = "corrupt" if changed is not None else "truncate_framed"
            send = changed if changed is not None else data[: len(data) // 2]
            length = len(send)
        elif mode == "truncate":
            send, close = data[: len(data) // 2], True
        elif mode == "truncate_framed":
            send = data[: len(data) // 2]
            length = len(send)
        elif mode == "truncate_nocrc":
            send, crc_header = data[: len(data) // 2], None
            length = len(send)
        elif mode == "empty":
            send, length, crc_header = b"", 0, None
        if mode is not None:
            self.faults.counters[mode] += 1
            self.faults.counters[f"{operation}:{mode}"] += 1
        if mode == "drop":
            sock.close()
            return False
        head = [f"HTTP/1.1 {status} {resp.reason}"] + [f"{k}: {v}" for k, v in out_headers]
        head.append(f"Content-Length: {length}")
        if crc_header is not None:
            head.append(f"x-amz-crc32: {crc_header}")
        if close:
            head.append("Connection: close")
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + send)
        if close:
            sock.close()
            return False
        return True
