"""A fault-injecting HTTP proxy in front of a real DynamoDB endpoint (DynamoDB Local, moto server).

Every request is forwarded unchanged to ``upstream`` unless a fault is drawn (seeded RNG) for it:
``throttle`` answers 400 ProvisionedThroughputExceededException without forwarding; ``reset_after``
forwards, lets the upstream apply the request, then drops the connection (the client cannot know it
was applied). ``operations`` limits faults to some DynamoDB operations. Loopback only; stops itself
with :meth:`stop`.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = ["ProxyFaults", "FaultProxy"]


@dataclass
class ProxyFaults:
    seed: int = 0
    throttle: float = 0.0
    reset_after: float = 0.0
    operations: frozenset[str] = field(default_factory=lambda: frozenset({"Scan", "UpdateItem", "BatchWriteItem",
                                                                          "PutItem", "DeleteItem", "GetItem"}))


class FaultProxy:
    def __init__(self, upstream: str, faults: ProxyFaults | None = None) -> None:
        self.upstream = urlsplit(upstream)
        self.faults = faults or ProxyFaults()
        self.rng = random.Random(self.faults.seed)
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {"forwarded": 0, "throttled": 0, "reset": 0}
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                op = (self.headers.get("X-Amz-Target") or "").rsplit(".", 1)[-1]
                fault = proxy._draw(op)
                if fault == "throttle":
                    payload = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#"
                                          "ProvisionedThroughputExceededException",
                                          "message": "injected throttle"}).encode()
                    self.send_response(400)
                    self.send_header("Content-Type", "application/x-amz-json-1.0")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                status, headers, data = proxy._forward(self.path, dict(self.headers), body)
                if fault == "reset":
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(status)
                for k, v in headers:
                    if k.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True, name="fault-proxy")

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _draw(self, op: str) -> str | None:
        with self.lock:
            if op not in self.faults.operations:
                self.counts["forwarded"] += 1
                return None
            r = self.rng.random()
            if r < self.faults.throttle:
                self.counts["throttled"] += 1
                return "throttle"
            if r < self.faults.throttle + self.faults.reset_after:
                self.counts["reset"] += 1
                return "reset"
            self.counts["forwarded"] += 1
            return None

    def _forward(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(self.upstream.hostname or "127.0.0.1", self.upstream.port or 80, timeout=30)
        try:
            headers = {k: v for k, v in headers.items() if k.lower() not in ("connection", "proxy-connection")}
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.getheaders(), resp.read()
        finally:
            conn.close()

    def start(self) -> FaultProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
