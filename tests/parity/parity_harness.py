"""The parity harness: run one DynamoDB call on every ddbkit transport and on plain boto3, and capture it.

* :class:`CaptureServer` - an HTTP/1.1 server on 127.0.0.1 (optionally TLS) that records every request and
  answers from a script of :class:`Reply` objects (default: ``200 {}``), or with a function of the request.
* :class:`ProxyServer` - a forward proxy that demands ``Proxy-Authorization`` (absolute-form HTTP and CONNECT).
* :func:`send` - one call on a transport by name (:data:`TRANSPORTS`), as an :class:`Outcome`;
  :func:`boto3_send` - the same call on a boto3 client (the reference).
* :func:`resolved` / :func:`boto3_resolved` - where a transport / boto3 would send (endpoint resolution rows,
  nothing sent: boto3's request is stopped in ``before-send``).
* :func:`identity` / :func:`signature_valid` - who signed a captured request, and whether the signature is
  the one botocore's SigV4Auth computes for it.

To add a transport: give it a name in :data:`TRANSPORTS`, a branch in :func:`_build` (and :func:`resolved`
if it resolves endpoints itself). Every parity row then runs on it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import ssl
import threading
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from ddbkit.errors import DynamoDBError
from ddbkit.transport import make_async_transport, make_transport

TRANSPORTS = ("fast", "fast-async", "botocore", "aioboto3")
GET = ("GetItem", {"TableName": "t", "Key": {"pk": {"S": "a"}}})


# --------------------------------------------------------------------------------------------------
# capture server
# --------------------------------------------------------------------------------------------------


@dataclass
class Captured:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    peer: tuple[str, int] = ("", 0)


@dataclass
class Reply:
    status: int = 200
    body: bytes | dict[str, Any] = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    close: bool = False  # close the connection after this reply (keep-alive after server close)
    announce: bool = True  # with close: say so (Connection: close), or just close the socket
    crc: bool = True
    content_type: str = "application/x-amz-json-1.0"


Responder = Callable[[Captured], Reply]


class CaptureServer:
    """Records requests; replies from ``replies`` (a deque of Reply), else ``responder(request)``."""

    def __init__(self, certfile: str | None = None, keyfile: str | None = None) -> None:
        self.requests: list[Captured] = []
        self.replies: deque[Reply] = deque()
        self.responder: Responder = lambda captured: Reply()
        self.connections = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with outer._lock:
                    outer.connections += 1

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                captured = Captured(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                                    self.client_address)
                with outer._lock:
                    outer.requests.append(captured)
                    reply = outer.replies.popleft() if outer.replies else None
                if reply is None:
                    reply = outer.responder(captured)
                data = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(data)))
                if reply.crc:
                    self.send_header("x-amz-crc32", str(zlib.crc32(data) & 0xFFFFFFFF))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                if reply.close:
                    if reply.announce:
                        self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_GET = _handle

        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self.scheme = "http"
        if certfile:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certfile, keyfile)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --------------------------------------------------------------------------------------------------
# forward proxy with Basic auth
# --------------------------------------------------------------------------------------------------


class ProxyServer:
    """A forward proxy on 127.0.0.1 that answers 407 unless ``Proxy-Authorization`` is Basic user:password.
    ``lines`` records each request line, ``auth`` each Proxy-Authorization header seen."""

    def __init__(self, user: str, password: str) -> None:
        self.expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.lines: list[str] = []
        self.auth: list[str | None] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    def url(self, user: str, password: str) -> str:
        return f"http://{user}:{password}@127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn: socket.socket) -> None:
        fp = conn.makefile("rb")
        try:
            while True:
                line = fp.readline(65537).decode("latin-1").rstrip("\r\n")
                if not line:
                    return
                headers: list[tuple[str, str]] = []
                while True:
                    h = fp.readline(65537).decode("latin-1").rstrip("\r\n")
                    if not h:
                        break
                    name, _, value = h.partition(":")
                    headers.append((name.strip(), value.strip()))
                lower = {k.lower(): v for k, v in headers}
                self.lines.append(line)
                self.auth.append(lower.get("proxy-authorization"))
                body = fp.read(int(lower.get("content-length", "0") or 0))
                if lower.get("proxy-authorization") != self.expected:
                    conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n"
                                 b"Content-Length: 0\r\n\r\n")
                    continue
                method, target, _ = line.split(" ", 2)
                if method == "CONNECT":
                    host, port = target.rsplit(":", 1)
                    upstream = socket.create_connection((host, int(port)))
                    conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    _pipe(conn, upstream)
                    return
                parts = urlsplit(target)
                if not parts.scheme:  # origin-form through a proxy: the client got it wrong
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                    continue
                upstream = socket.create_connection((parts.hostname or "", parts.port or 80))
                head = f"{method} {parts.path or '/'} HTTP/1.1\r\n" + "".join(
                    f"{k}: {v}\r\n" for k, v in headers if k.lower() not in ("proxy-authorization",
                                                                              "proxy-connection", "connection"))
                upstream.sendall(head.encode("latin-1") + b"Connection: close\r\n\r\n" + body)
                answer = b""
                while chunk := upstream.recv(65536):
                    answer += chunk
                upstream.close()
                # a Content-Length reply: pass it on and keep the client connection
                conn.sendall(answer.replace(b"Connection: close\r\n", b""))
        except OSError:
            return
        finally:
            conn.close()

    def close(self) -> None:
        self._stop = True
        self.sock.close()


def _pipe(a: socket.socket, b: socket.socket) -> None:
    def pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    t = threading.Thread(target=pump, args=(b, a), daemon=True)
    t.start()
    pump(a, b)
    t.join(5)


# --------------------------------------------------------------------------------------------------
# one call on a transport / on boto3
# --------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    ok: bool
    code: str | None = None
    response: dict[str, Any] | None = None
    error: BaseException | None = None


class AcceleratedTransport:
    """A boto3 client made under ``ddbkit.accelerate(...)`` (its data plane sent by ddbkit's engine), behind
    the botocore transport's interface: the parity rows' fifth path (issue 27). Acceleration is undone on
    close, so no other test sees it."""

    def __init__(self, session: Any = None, region_name: str | None = None, endpoint_url: str | None = None,
                 config: Any = None, verify: bool | str | None = None) -> None:
        import ddbkit.accelerate as accelerate

        self.handle = accelerate.accelerate(session)
        try:
            self.client = boto3_client(session=session, region_name=region_name, endpoint_url=endpoint_url,
                                       config=config, verify=verify)
            assert accelerate.is_accelerated(self.client), "the parity row's client is not accelerated"
        except BaseException:
            self.handle.close()
            raise
        self._methods: dict[str, Any] = {}

    def send(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        # BotocoreTransport's call and error mapping, without BotocoreTransport's own after-call reply check
        # on the client (a handler a user's code would not have: accelerate() would step aside for it)
        from ddbkit.transport.botocore import BotocoreTransport

        try:
            response: dict[str, Any] = BotocoreTransport.send(self, operation, request)  # type: ignore[arg-type]
            return response
        finally:  # the row proves something only if ddbkit's engine sent it (not botocore, stepped aside to)
            from ddbkit.accelerate import ACCELERATED_OPERATIONS

            if operation in ACCELERATED_OPERATIONS:
                engine = self.client._ddbkit_engine
                aside = engine.plan(operation).aside if engine is not None else "no engine"
                assert aside is None or aside in ASIDE_BY_DESIGN, f"{operation} went through botocore: {aside}"

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            self.handle.close()


#: Why an accelerated client hands a data-plane call to botocore by design (docs/accelerate.md, "when it steps
#: aside"): the row then checks that botocore's behaviour is kept, which is the guarantee.
ASIDE_BY_DESIGN = frozenset({"a proxy applies to its endpoint"})

#: The paths parity rows that go through :func:`send` / :func:`send_all` run on (the Table-level rows take
#: :data:`TRANSPORTS`: ddbkit's own clients).
WIRE_TRANSPORTS = (*TRANSPORTS, "accelerated")


def _build(name: str, kwargs: dict[str, Any]) -> Any:
    if name == "accelerated":
        return AcceleratedTransport(**kwargs)
    if name == "fast":
        return make_transport("fast", **kwargs)
    if name == "botocore":
        return make_transport("botocore", **kwargs)
    if name == "fast-async":
        return make_async_transport("fast", **kwargs)
    if name == "aioboto3":
        return make_async_transport("botocore", **kwargs)
    raise ValueError(name)


def send(name: str, operation: str, request: dict[str, Any], **kwargs: Any) -> Outcome:
    """One call of ``operation`` on a fresh transport ``name`` (kwargs: session, region_name,
    endpoint_url, config), closed afterwards."""
    return send_all(name, [(operation, request)], **kwargs)[0]


def send_all(name: str, calls: list[tuple[str, dict[str, Any]]], pause: float = 0.0, **kwargs: Any) -> list[Outcome]:
    """``calls`` in order on one transport ``name`` (so connections are reused), ``pause`` s apart."""
    import time

    transport = _build(name, kwargs)
    if name in ("fast", "botocore", "accelerated"):
        out = []
        try:
            for operation, request in calls:
                try:
                    out.append(Outcome(True, response=transport.send(operation, dict(request))))
                except DynamoDBError as err:
                    out.append(Outcome(False, err.code, error=err))
                time.sleep(pause)
            return out
        finally:
            transport.close()

    async def run() -> list[Outcome]:
        out = []
        try:
            for operation, request in calls:
                try:
                    out.append(Outcome(True, response=await transport.send(operation, dict(request))))
                except DynamoDBError as err:
                    out.append(Outcome(False, err.code, error=err))
                await asyncio.sleep(pause)
            return out
        finally:
            await transport.close()

    return asyncio.run(run())


def boto3_client(session: Any = None, region_name: str | None = None, endpoint_url: str | None = None,
                 config: Any = None, verify: bool | str | None = None) -> Any:
    """A boto3 dynamodb client as a boto3 user makes one (retries off so one call is one request)."""
    import boto3
    from botocore.config import Config

    base = Config(retries={"total_max_attempts": 1})
    config = base.merge(config) if config is not None else base
    if session is None:
        return boto3.client("dynamodb", region_name=region_name, endpoint_url=endpoint_url, config=config,
                            verify=verify)
    create = getattr(session, "client", None) or session.create_client
    return create("dynamodb", region_name=region_name, endpoint_url=endpoint_url, config=config, verify=verify)


def boto3_send(operation: str, request: dict[str, Any], **kwargs: Any) -> Outcome:
    from botocore.exceptions import BotoCoreError, ClientError

    from ddbkit.transport import snake_case

    client = boto3_client(**kwargs)
    try:
        response = getattr(client, snake_case(operation))(**request)
        response.pop("ResponseMetadata", None)
        return Outcome(True, response=response)
    except ClientError as err:
        return Outcome(False, str(err.response["Error"]["Code"]), error=err)
    except BotoCoreError as err:  # connection, TLS, timeout
        return Outcome(False, type(err).__name__, error=err)
    finally:
        client.close()


# --------------------------------------------------------------------------------------------------
# endpoint resolution without sending
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    host: str
    path: str
    region: str  # signing region


def _stop_before_send(client: Any, seen: list[Any]) -> None:
    from botocore.awsrequest import AWSResponse

    class _Raw:
        def stream(self, **_: Any) -> Any:
            return iter([b'{"Item": {"pk": {"S": "a"}}}'])

    def handler(request: Any, **_: Any) -> Any:
        seen.append(request)
        return AWSResponse(request.url, 200, {}, _Raw())

    client.meta.events.register("before-send.dynamodb", handler)


def _target_of(request: Any) -> Target:
    parts = urlsplit(request.url)
    auth = request.headers["Authorization"]
    auth = auth.decode() if isinstance(auth, bytes) else auth
    scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
    return Target(parts.netloc, parts.path or "/", scope[2])


def boto3_resolved(**kwargs: Any) -> Target:
    """Where plain boto3 sends a GetItem (captured in before-send; nothing leaves the process)."""
    client = boto3_client(**kwargs)
    seen: list[Any] = []
    _stop_before_send(client, seen)
    client.get_item(TableName="t", Key={"pk": {"S": "a"}})
    return _target_of(seen[0])


def resolved(name: str, **kwargs: Any) -> Target:
    """Where transport ``name`` sends a data-plane call (fast: its resolved wire settings; botocore and
    aioboto3: their client's request, stopped in before-send)."""
    transport = _build(name, kwargs)
    if name == "fast":
        wire = transport._setup()
        parts = urlsplit(wire.url)
        transport.close()
        return Target(parts.netloc, parts.path or "/", wire.signer.region)
    if name == "botocore":
        seen: list[Any] = []
        _stop_before_send(transport.client, seen)
        transport.send(*GET)
        transport.close()
        return _target_of(seen[0])

    async def run() -> Target:
        try:
            if name == "fast-async":
                wire = await transport._setup()
                parts = urlsplit(wire.url)
                return Target(parts.netloc, parts.path or "/", wire.signer.region)
            client = await transport._get_client()
            operation = client.meta.service_model.operation_model("GetItem")
            context: dict[str, Any] = {}
            url, _, _ = await client._resolve_endpoint_ruleset(operation, {}, context)
            parts = urlsplit(url)
            region = (context.get("signing") or {}).get("region") or client.meta.region_name
            return Target(parts.netloc, parts.path or "/", region)
        finally:
            await transport.close()

    return asyncio.run(run())


# --------------------------------------------------------------------------------------------------
# signatures
# --------------------------------------------------------------------------------------------------


def identity(captured: Captured) -> tuple[str, str, str]:
    """``(access key, region, service)`` from a captured request's Authorization header."""
    scope = captured.headers["authorization"].split("Credential=", 1)[1].split(",", 1)[0].split("/")
    return scope[0], scope[2], scope[3]


def signature_valid(captured: Captured, secret_key: str, host_url: str) -> bool:
    """Recompute the SigV4 signature of ``captured`` with botocore's SigV4Auth (the signed headers only)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    auth = captured.headers["authorization"]
    signed = auth.split("SignedHeaders=", 1)[1].split(",", 1)[0].split(";")
    given = auth.rsplit("Signature=", 1)[1].strip()
    access, region, service = identity(captured)
    headers = {name: captured.headers[name] for name in signed}
    request = AWSRequest("POST", host_url.rstrip("/") + captured.path, headers=headers, data=captured.body)
    request.context["timestamp"] = captured.headers["x-amz-date"]
    signer = SigV4Auth(Credentials(access, secret_key, captured.headers.get("x-amz-security-token")), service, region)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    return bool(expected == given)
