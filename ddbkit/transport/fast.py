"""The fast data-plane transport: DynamoDB's JSON protocol spoken directly, no botocore on the hot path.

botocore spends ~1 ms of CPU on one 25-item BatchWriteItem (parameter validation, a serializer walking
the model, a generic signer, hooks). DynamoDB's wire format *is* the request dict ddbkit builds, so
:class:`FastTransport` (sync, urllib3) and :class:`AsyncFastTransport` (asyncio, aiohttp) do only:

1. ``orjson.dumps`` of the wire request (bytes -> base64, the one type JSON lacks);
2. SigV4 with :class:`ddbkit.transport.sigv4.DynamoDBSigner` (cached signing key), credentials from botocore's
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
signing, response and error parsing - lives once in :mod:`ddbkit.transport.wire`; the two classes here
only do I/O.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Any

from ddbkit.engine import Transport
from ddbkit.errors import connection_failed
from ddbkit.transport.wire import (
    DATA_PLANE,
    Settings,
    WireProtocol,
    _ca_bundle,
    _get_credentials,
    _proxy_for,
    encode_request,
    moto_mock_active,
    read_response,
    resolve_region_and_endpoint,
    resolve_settings,
)

__all__ = ["DATA_PLANE", "WireProtocol", "FastTransport", "AsyncFastTransport", "Settings", "resolve_settings",
           "resolve_region_and_endpoint", "encode_request", "moto_mock_active", "read_response", "ThreadedTransport"]


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
                    from ddbkit.transport.botocore import BotocoreTransport

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
            raise connection_failed(err, operation, wire.endpoint_url) from err
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
    awaited). ``control`` defaults to :class:`ddbkit.transport.AioBotocoreTransport`.
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
                from ddbkit.transport.aio_botocore import AioBotocoreTransport

                self._control = AioBotocoreTransport(session=self._session, region_name=self._region_name,
                                                     endpoint_url=self._endpoint_url)
            else:
                from ddbkit.transport.botocore import BotocoreTransport

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
            raise connection_failed(err, operation, wire.endpoint_url) from err
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
