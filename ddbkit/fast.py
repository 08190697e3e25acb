"""The fast data-plane transport: DynamoDB's JSON protocol spoken directly, no botocore on the hot path.

botocore spends ~1 ms of CPU on one 25-item BatchWriteItem (parameter validation, a serializer walking
the model, a generic signer, hooks). DynamoDB's wire format *is* the request dict ddbkit builds, so
:class:`FastTransport` (sync, urllib3) and :class:`AsyncFastTransport` (asyncio, aiohttp) do only:

1. ``orjson.dumps`` of the wire request (bytes -> base64, the one type JSON lacks);
2. SigV4 with :class:`ddbkit.sigv4.DynamoDBSigner` (cached signing key), credentials from botocore's
   credential chain (``get_frozen_credentials()`` per request, so refreshable credentials refresh);
3. one POST on a keep-alive connection pool;
4. ``orjson.loads`` of the answer, or a ddbkit exception from DynamoDB's JSON error through
   :func:`ddbkit.errors.error_from_response` (so the retry policy sees exactly what it sees with
   botocore); connection failures and timeouts become :class:`~ddbkit.errors.ConnectionFailed`.

Only :data:`DATA_PLANE` operations take this path. Everything else (DescribeTable, ...) is delegated to a
botocore transport (``control``), created on first need: the control plane stays on boto3. Under moto's
in-process ``mock_aws`` (which patches botocore only) every call is delegated too, so a test can never
reach a real AWS endpoint through the fast path.

What is shared between the sync and async transports - settings resolution, request building and
signing, response and error parsing - lives once in :class:`WireProtocol`; the two classes only do I/O.
Responses keep B values as base64 text (``ddbkit.codec`` decodes both forms), except in
``LastEvaluatedKey``, which is normalised to bytes so cursors are identical whichever transport made them.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import re
import sys
import threading
import zlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import orjson

from ddbkit.engine import Transport
from ddbkit.errors import ConnectionFailed, error_from_response
from ddbkit.sigv4 import DynamoDBSigner, host_header

__all__ = ["DATA_PLANE", "WireProtocol", "FastTransport", "AsyncFastTransport", "Settings", "resolve_settings",
           "resolve_region_and_endpoint", "encode_request", "moto_mock_active", "read_response", "ThreadedTransport"]

DATA_PLANE = frozenset({
    "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchWriteItem", "BatchGetItem",
    "TransactWriteItems", "TransactGetItems",
})
_TARGET = "DynamoDB_20120810."
_USER_AGENT = "ddbkit/0.1.0 (fast transport)"
# Regions whose endpoint is dynamodb.<region>.amazonaws.com; anything else (China, ISO partitions, FIPS,
# dual-stack) is resolved by botocore's endpoint rules through the control-plane client.
_STANDARD_REGION = re.compile(r"^(us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d+$")


def _default(value: Any) -> Any:
    # orjson calls this for types it does not know; B/BS values are bytes and travel as base64
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not a DynamoDB wire value")


def encode_request(request: Mapping[str, Any]) -> bytes:
    """The JSON body for a wire-format request (B values base64-encoded)."""
    return orjson.dumps(request, default=_default)


def moto_mock_active() -> bool:
    """True while moto's in-process ``mock_aws`` is active: it patches botocore, not this transport."""
    models = sys.modules.get("moto.core.models")
    mock = getattr(models, "MockAWS", None) if models is not None else None
    return bool(getattr(mock, "_nested_count", 0))


_DEFAULT_SESSION: Any = None
_DEFAULT_LOCK = threading.Lock()


def _botocore_session(session: Any) -> Any:
    """The botocore session behind ``session`` (boto3/aioboto3 Session, botocore Session); for None one
    process-wide botocore session, so the credential chain is resolved once, not per transport."""
    global _DEFAULT_SESSION
    if session is not None:
        return getattr(session, "_session", session)
    if _DEFAULT_SESSION is None:
        with _DEFAULT_LOCK:
            if _DEFAULT_SESSION is None:
                import botocore.session

                _DEFAULT_SESSION = botocore.session.get_session()
    return _DEFAULT_SESSION


class Settings:
    """Where and as whom to send: ``endpoint_url``, ``region`` and a botocore credentials object."""

    __slots__ = ("endpoint_url", "region", "credentials")

    def __init__(self, endpoint_url: str, region: str, credentials: Any) -> None:
        self.endpoint_url, self.region, self.credentials = endpoint_url, region, credentials


def resolve_region_and_endpoint(session: Any, region_name: str | None,
                                endpoint_url: str | None) -> tuple[str, str | None]:
    """The region and endpoint botocore would use, or ``(region, None)`` when only botocore's endpoint
    rules can tell (non-standard partitions, FIPS, dual-stack)."""
    bs = _botocore_session(session)
    region = region_name or getattr(session, "region_name", None) or bs.get_config_variable("region")
    if not region:
        raise ValueError("no AWS region: pass region_name=... or set AWS_DEFAULT_REGION")
    if endpoint_url:
        return region, endpoint_url
    if not bs.get_config_variable("ignore_configured_endpoint_urls"):
        # AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL, or the config file's services section
        try:
            from botocore.configprovider import ConfiguredEndpointProvider

            configured = ConfiguredEndpointProvider(full_config=bs.full_config, scoped_config=bs.get_scoped_config(),
                                                    client_name="dynamodb").provide()
        except Exception:  # noqa: BLE001 - a private botocore helper; fall back to botocore's rules
            return region, None
        if configured:
            return region, str(configured)
    if (_STANDARD_REGION.match(region) and not bs.get_config_variable("use_fips_endpoint")
            and not bs.get_config_variable("use_dualstack_endpoint")):
        return region, f"https://dynamodb.{region}.amazonaws.com"
    return region, None


def resolve_settings(session: Any, region_name: str | None, endpoint_url: str | None,
                     control_endpoint: Any = None) -> Settings:
    """Region, endpoint and credentials (botocore's chain), resolved once per transport.

    ``control_endpoint()`` returns botocore's endpoint for the rare cases :func:`resolve_region_and_endpoint`
    cannot answer. The credentials object may be an aiobotocore one (async methods): callers await them.
    """
    region, url = resolve_region_and_endpoint(session, region_name, endpoint_url)
    if url is None:
        url = control_endpoint() if control_endpoint is not None else f"https://dynamodb.{region}.amazonaws.com"
    return Settings(url, region, _get_credentials(session))


class WireProtocol:
    """Everything but I/O, shared by the sync and async transports: build and sign a request, parse the
    answer into a response dict or a ddbkit exception."""

    __slots__ = ("endpoint_url", "scheme", "host", "port", "signer", "url")

    def __init__(self, endpoint_url: str, region: str) -> None:
        parts = urlsplit(endpoint_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"endpoint_url {endpoint_url!r} must be http(s)://host[:port]")
        self.endpoint_url = endpoint_url
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.url = f"{parts.scheme}://{parts.netloc}/"
        self.signer = DynamoDBSigner(host_header(endpoint_url), region)

    def prepare(self, operation: str, request: Mapping[str, Any], credentials: Any) -> tuple[bytes, dict[str, str]]:
        """The body and headers of the signed POST (``credentials``: frozen botocore credentials)."""
        if credentials is None:
            raise error_from_response("MissingAuthenticationTokenException",
                                      "no AWS credentials found (botocore's credential chain is empty)",
                                      operation=operation)
        body = orjson.dumps(request, default=_default)
        headers = self.signer.headers(_TARGET + operation, body, credentials.access_key, credentials.secret_key,
                                      credentials.token)
        headers["User-Agent"] = _USER_AGENT
        headers["Accept-Encoding"] = "identity"  # x-amz-crc32 is over the bytes as sent
        return body, headers

    @staticmethod
    def parse(operation: str, status: int, body: bytes, crc32: str | None) -> dict[str, Any]:
        """The response dict of a 200, else raise the ddbkit exception for the error."""
        if crc32 is not None and crc32.isdigit() and int(crc32) != zlib.crc32(body) & 0xFFFFFFFF:
            # a corrupted response: retryable, like botocore's checksum check
            raise ConnectionFailed("CRC32CheckFailed", f"response CRC32 mismatch (HTTP {status})", operation=operation)
        try:
            data = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError:
            data = None
        if status == 200:
            if not isinstance(data, dict):
                raise ConnectionFailed("InvalidResponse", f"HTTP 200 with a body that is not a JSON object: "
                                       f"{body[:200]!r}", operation=operation)
            last = data.get("LastEvaluatedKey")
            if last:
                data["LastEvaluatedKey"] = _binary_as_bytes(last)
            return data
        if isinstance(data, dict) and (data.get("__type") or data.get("code")):
            code = str(data.get("__type") or data.get("code"))
            message = str(data.get("message") or data.get("Message") or "")
            raise error_from_response(code, message, operation=operation, status=status, response=data)
        # no JSON error: a bare 5xx/4xx from a load balancer or proxy
        text = body[:500].decode("utf-8", "replace").strip()
        raise error_from_response(str(status), text or f"HTTP {status}", operation=operation, status=status,
                                  response={"body": text})


def _binary_as_bytes(key: dict[str, Any]) -> dict[str, Any]:
    # LastEvaluatedKey values are S, N or B; make B bytes as botocore returns them
    for name, av in key.items():
        b = av.get("B") if isinstance(av, dict) else None
        if isinstance(b, str):
            key[name] = {"B": base64.b64decode(b)}
    return key


class _ResponseError(ConnectionError):
    """The server's answer was not valid HTTP/1.1 (or ended early)."""


def read_response(fp: Any) -> tuple[int, bytes, str | None, bool]:
    """Read one HTTP/1.1 response from the binary file ``fp``: ``(status, body, x-amz-crc32, keep-alive)``.

    Handles Content-Length, chunked and read-to-close bodies and skips 1xx responses; header values other
    than the few needed here are not kept (DynamoDB's answer is all in the JSON body).
    """
    while True:
        line = fp.readline(65537)
        if not line:
            raise _ResponseError("connection closed before a response")
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            raise _ResponseError(f"not an HTTP status line: {line[:80]!r}")
        status = int(parts[1])
        keep_alive = parts[0] == b"HTTP/1.1"
        length: int | None = None
        chunked = False
        crc: str | None = None
        while True:
            line = fp.readline(65537)
            if line in (b"\r\n", b"\n"):
                break
            if not line:
                raise _ResponseError("connection closed in the response headers")
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"x-amz-crc32":
                crc = value.strip().decode("latin-1")
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                token = value.strip().lower()
                keep_alive = token == b"keep-alive" or (keep_alive and token != b"close")
        if status >= 200:
            break
    if chunked:
        pieces = []
        while True:
            size = int(fp.readline(65537).split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while fp.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                break
            pieces.append(fp.read(size))
            fp.readline(65537)
        data = b"".join(pieces)
    elif length is not None:
        data = fp.read(length)
        if len(data) != length:
            raise _ResponseError(f"response body ended after {len(data)} of {length} bytes")
    elif status in (204, 304):
        data = b""
    else:
        data, keep_alive = fp.read(), False
    return status, data, crc, keep_alive


def _ca_bundle(session: Any, verify: bool | str | None) -> str | bool:
    if verify is False or isinstance(verify, str):
        return verify
    configured = _botocore_session(session).get_config_variable("ca_bundle")
    if configured:
        return str(configured)
    from botocore.httpsession import get_cert_path

    return str(get_cert_path(True))


def _proxy_for(scheme: str, host: str) -> str | None:
    import urllib.request

    proxy = urllib.request.getproxies().get(scheme)
    if proxy and not urllib.request.proxy_bypass(host):
        return proxy
    return None


class FastTransport:
    """A synchronous :class:`~ddbkit.engine.Transport` for the data plane over urllib3.

    ``session`` (boto3 or botocore Session) supplies credentials, region and configured endpoints;
    ``endpoint_url`` overrides the endpoint. ``max_pool_connections`` keep-alive connections are kept
    (use at least the number of threads sending at once); ``connect_timeout``/``read_timeout`` in
    seconds. ``control`` is the transport for non-data-plane calls (default: a
    :class:`~ddbkit.transport.BotocoreTransport` for the same session/region/endpoint, built on first
    use). Settings and credentials are resolved on the first request, not at construction: creating a
    Table stays cheap on a cold start.
    """

    def __init__(self, *, session: Any = None, region_name: str | None = None, endpoint_url: str | None = None,
                 control: Transport | None = None, max_pool_connections: int = 32, connect_timeout: float = 5.0,
                 read_timeout: float = 30.0, verify: bool | str | None = None) -> None:
        self._session = session
        self._region_name = region_name
        self._endpoint_url = endpoint_url
        self._control = control
        self._max_pool = max(1, max_pool_connections)
        self._timeouts = (connect_timeout, read_timeout)
        self._verify = verify
        self._lock = threading.RLock()  # _setup may build the control transport while holding it
        self._wire: WireProtocol | None = None
        self._credentials: Any = None
        self._pool: Any = None
        self._timeout: Any = None
        self._http_errors: tuple[type[BaseException], ...] = ()
        self._direct = True

    @property
    def control(self) -> Transport:
        """The botocore transport for control-plane calls (and for everything under moto's mock_aws)."""
        if self._control is None:
            with self._lock:
                if self._control is None:
                    from ddbkit.transport import BotocoreTransport

                    self._control = BotocoreTransport(session=self._session, region_name=self._region_name,
                                                      endpoint_url=self._endpoint_url)
        return self._control

    def _control_endpoint(self) -> str:
        return str(self.control.client.meta.endpoint_url)  # type: ignore[attr-defined]

    def _setup(self) -> WireProtocol:
        with self._lock:
            if self._wire is None:
                import urllib3
                from urllib3.exceptions import HTTPError

                settings = resolve_settings(self._session, self._region_name, self._endpoint_url,
                                            self._control_endpoint)
                wire = WireProtocol(settings.endpoint_url, settings.region)
                self._timeout = urllib3.Timeout(connect=self._timeouts[0], read=self._timeouts[1])
                kwargs: dict[str, Any] = {"maxsize": self._max_pool, "block": False, "timeout": self._timeout,
                                          "retries": False}
                if wire.scheme == "https":
                    ca = _ca_bundle(self._session, self._verify)
                    kwargs.update(cert_reqs="CERT_NONE" if ca is False else "CERT_REQUIRED",
                                  ca_certs=None if ca is False else ca)
                proxy = _proxy_for(wire.scheme, wire.host)
                self._direct = proxy is None
                if proxy:
                    manager: Any = urllib3.ProxyManager(proxy, num_pools=1, **kwargs)
                    self._pool = manager.connection_from_url(wire.url)
                else:
                    self._pool = urllib3.connection_from_url(wire.url, **kwargs)
                self._http_errors = (HTTPError, OSError)
                self._credentials = settings.credentials
                self._wire = wire
        return self._wire

    def send(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        if operation not in DATA_PLANE or moto_mock_active():
            return self.control.send(operation, request)
        wire = self._wire or self._setup()
        body, headers = wire.prepare(operation, request, self._credentials.get_frozen_credentials()
                                     if self._credentials is not None else None)
        try:
            if self._direct:
                status, data, crc = self._exchange(wire, body, headers)
            else:  # through a proxy: urllib3 does the proxy protocol
                response = self._pool.urlopen("POST", "/", body=body, headers=headers, retries=False,
                                              timeout=self._timeout, assert_same_host=False, redirect=False)
                status, data, crc = response.status, response.data, response.headers.get("x-amz-crc32")
        except self._http_errors as err:
            raise ConnectionFailed(type(err).__name__, str(err) or type(err).__name__, operation=operation) from err
        return wire.parse(operation, status, data, crc)

    def _exchange(self, wire: WireProtocol, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, str | None]:
        """One request/response on a pooled keep-alive connection.

        urllib3 owns the connections (pooling, connect timeout, TLS and certificate checks, dropping dead
        idle connections); the HTTP/1.1 exchange itself is done here on the socket: one ``sendall`` of
        head + body and a minimal response reader. urllib3's request/response layers (http.client, email
        header parsing) cost ~130 µs of CPU per request; this costs ~15 µs (docs/performance.md).
        """
        pool = self._pool
        conn = pool._get_conn()
        reusable = False
        try:
            fresh = conn.sock is None
            if fresh:
                conn.connect()
            sock: Any = conn.sock
            if fresh:
                sock.settimeout(self._timeouts[1])  # connect used the connect timeout
            head = "".join([f"POST / HTTP/1.1\r\nContent-Length: {len(body)}\r\n",
                            *[f"{k}: {v}\r\n" for k, v in headers.items()], "\r\n"])
            sock.sendall(head.encode("latin-1") + body)
            fp = sock.makefile("rb")
            try:
                status, data, crc, reusable = read_response(fp)
            finally:
                fp.close()
            return status, data, crc
        finally:
            if not reusable:
                conn.close()
            pool._put_conn(conn)

    def close(self) -> None:
        pool, self._pool, self._wire = self._pool, None, None
        if pool is not None:
            pool.close()
        if self._control is not None:
            self._control.close()

    def __repr__(self) -> str:
        where = self._wire.endpoint_url if self._wire else self._endpoint_url or "(resolved on first use)"
        return f"FastTransport({where})"


class ThreadedTransport:
    """A blocking :class:`~ddbkit.engine.Transport` behind the async protocol (each call on a worker thread):
    the async fast transport's control plane when it was given a boto3 session."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    async def send(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        return await asyncio.to_thread(self.transport.send, operation, request)

    async def close(self) -> None:
        self.transport.close()


class AsyncFastTransport:
    """The asyncio twin of :class:`FastTransport` over aiohttp (measured faster than httpx: see
    docs/performance.md). The aiohttp session is created on the first request, inside the running
    loop. ``session`` may be a boto3/botocore session or an aioboto3 one (its async credentials are
    awaited). ``control`` defaults to :class:`ddbkit.aio.AioBotocoreTransport`.
    """

    def __init__(self, *, session: Any = None, region_name: str | None = None, endpoint_url: str | None = None,
                 control: Any = None, max_pool_connections: int = 64, connect_timeout: float = 5.0,
                 read_timeout: float = 30.0, verify: bool | str | None = None) -> None:
        self._session = session
        self._region_name = region_name
        self._endpoint_url = endpoint_url
        self._control = control
        self._max_pool = max(1, max_pool_connections)
        self._timeouts = (connect_timeout, read_timeout)
        self._verify = verify
        self._wire: WireProtocol | None = None
        self._credentials: Any = None
        self._http: Any = None
        self._lock: asyncio.Lock | None = None
        self._errors: tuple[type[BaseException], ...] = ()
        self._proxy: str | None = None

    @property
    def control(self) -> Any:
        """The transport for control-plane calls (and everything under moto's mock_aws): aioboto3 for no
        session or an aioboto3 session; a boto3/botocore session's client on a worker thread otherwise."""
        if self._control is None:
            if self._session is None or type(self._session).__module__.startswith("aioboto3"):
                from ddbkit.aio import AioBotocoreTransport

                self._control = AioBotocoreTransport(session=self._session, region_name=self._region_name,
                                                     endpoint_url=self._endpoint_url)
            else:
                from ddbkit.transport import BotocoreTransport

                self._control = ThreadedTransport(BotocoreTransport(
                    session=self._session, region_name=self._region_name, endpoint_url=self._endpoint_url))
        return self._control

    async def _setup(self) -> WireProtocol:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._wire is None:
                import ssl

                import aiohttp

                region, url = resolve_region_and_endpoint(self._session, self._region_name, self._endpoint_url)
                if url is None:  # only botocore's endpoint rules know: ask its client
                    control = self.control
                    client: Any = (getattr(control.transport, "client", None) if isinstance(control, ThreadedTransport)
                                   else await control._get_client())
                    url = str(client.meta.endpoint_url)
                # credentials: the first resolution may do blocking I/O (IMDS, SSO): off the loop
                creds = await asyncio.to_thread(_get_credentials, self._session)
                if inspect.isawaitable(creds):
                    creds = await creds
                wire = WireProtocol(url, region)
                ssl_arg: Any = None
                if wire.scheme == "https":
                    ca = _ca_bundle(self._session, self._verify)
                    ssl_arg = False if ca is False else ssl.create_default_context(cafile=str(ca))
                connector = aiohttp.TCPConnector(limit=self._max_pool, ssl=ssl_arg if ssl_arg is not None else True,
                                                 keepalive_timeout=30)
                timeout = aiohttp.ClientTimeout(total=None, sock_connect=self._timeouts[0],
                                                sock_read=self._timeouts[1])
                # trust_env would also read ~/.netrc credentials into an Authorization header: proxies
                # from the environment are applied per request instead
                self._http = aiohttp.ClientSession(connector=connector, timeout=timeout)
                self._proxy = _proxy_for(wire.scheme, wire.host)
                self._errors = (aiohttp.ClientError, asyncio.TimeoutError, OSError)
                self._credentials = creds
                self._wire = wire
        return self._wire

    async def _frozen(self) -> Any:
        creds = self._credentials
        if creds is None:
            return None
        refresh_needed = getattr(creds, "refresh_needed", None)
        if refresh_needed is not None and not inspect.iscoroutinefunction(refresh_needed) and refresh_needed():
            # botocore's refresh is blocking I/O (STS, IMDS): run it off the event loop
            frozen = await asyncio.to_thread(creds.get_frozen_credentials)
        else:
            frozen = creds.get_frozen_credentials()
        if inspect.isawaitable(frozen):  # aiobotocore credentials
            frozen = await frozen
        return frozen

    async def send(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        if operation not in DATA_PLANE or moto_mock_active():
            result: dict[str, Any] = await self.control.send(operation, request)
            return result
        wire = self._wire or await self._setup()
        body, headers = wire.prepare(operation, request, await self._frozen())
        try:
            async with self._http.post(wire.url, data=body, headers=headers, proxy=self._proxy) as resp:
                data = await resp.read()
                status, crc = resp.status, resp.headers.get("x-amz-crc32")
        except self._errors as err:
            raise ConnectionFailed(type(err).__name__, str(err) or type(err).__name__, operation=operation) from err
        return wire.parse(operation, status, data, crc)

    async def close(self) -> None:
        http, self._http, self._wire = self._http, None, None
        if http is not None:
            await http.close()
        if self._control is not None:
            await self._control.close()

    def __repr__(self) -> str:
        where = self._wire.endpoint_url if self._wire else self._endpoint_url or "(resolved on first use)"
        return f"AsyncFastTransport({where})"


def _get_credentials(session: Any) -> Any:
    return session.get_credentials() if session is not None else _botocore_session(None).get_credentials()



