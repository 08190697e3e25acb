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

import inspect
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

    from ddbkit.transport.h1 import ConnectionPool

from ddbkit.core.batch import plain_request
from ddbkit.core.codec import PageRequest
from ddbkit.core.engine import Transport
from ddbkit.errors import ConnectionFailed, DynamoDBError, connection_failed, not_a_dynamodb_reply, redact
from ddbkit.transport.scrub import scrubbed_cause
from ddbkit.transport.wire import (
    DATA_PLANE,
    EnvCredentials,
    EnvSettings,
    abandon,
    default_ca_bundle,
    environment_settings,
    Options,
    Settings,
    WireProtocol,
    resolve_ca_bundle,
    resolve_credentials,
    proxy_for,
    encode_request,
    instrumented,
    moto_mock_active,
    read_response,
    read_with,
    request_head,
    resolve_region_and_endpoint,
    resolve_settings,
    ruleset_request,
    ruleset_result,
    track,
)

__all__ = ["DATA_PLANE", "WireProtocol", "FastTransport", "AsyncFastTransport", "Settings", "resolve_settings",
           "resolve_region_and_endpoint", "encode_request", "moto_mock_active", "read_response", "ThreadedTransport"]


class FastTransport:
    """A synchronous :class:`~ddbkit.core.engine.Transport` for the data plane over urllib3.

    ``session`` (boto3 or botocore Session; default ``boto3.DEFAULT_SESSION``, as boto3) supplies
    credentials, region, configured endpoints and the app id; ``endpoint_url`` overrides the endpoint
    (a path in it is kept). ``config`` (a :class:`botocore.config.Config`) sets connect/read timeouts,
    ``max_pool_connections``, ``proxies``/``proxies_config`` and ``user_agent_appid``; ``verify`` is
    False or a CA bundle path (default ``AWS_CA_BUNDLE``/profile ``ca_bundle``). ``control`` is the
    transport for non-data-plane calls (default: a :class:`~ddbkit.transport.BotocoreTransport` for the
    same session/region/endpoint/config, built on first use). Settings are resolved on the first request.
    Without ``endpoint_url`` the endpoint is botocore's endpoint-ruleset answer for the control client.
    When the session or botocore is instrumented (:func:`ddbkit.transport.wire.instrumented`), every
    call goes through ``control``. After ``os.fork()`` the child drops the pool and resolves again.
    """

    #: Batch writes may hand it :class:`ddbkit.core.batch.EncodedWrites` (pre-encoded WriteRequests).
    accepts_encoded_writes = True
    #: Query/Scan may be sent as :class:`ddbkit.core.codec.PageRequest`: the reply's items come back decoded.
    decodes_pages = True

    def __init__(self, *, session: Any = None, region_name: str | None = None, endpoint_url: str | None = None,
                 control: Transport | None = None, max_pool_connections: int = 32, connect_timeout: float = 5.0,
                 read_timeout: float = 30.0, verify: bool | str | None = None, config: Any = None) -> None:
        self._session = session
        self._region_name = region_name
        self._endpoint_url = endpoint_url
        self._control = control
        self._config = config
        self._options = Options(config, max_pool_connections=max_pool_connections, connect_timeout=connect_timeout,
                                read_timeout=read_timeout, verify=verify)
        check_proxies_config(self._options.proxies_config)
        self._lock = threading.RLock()  # _setup may build the control transport while holding it
        self._wire: WireProtocol | None = None
        self._credentials: Any = None
        self._pool: Any = None
        self._manager: Any = None
        self._timeout: Any = None
        self._http_errors: tuple[type[BaseException], ...] = ()
        self._direct = True
        self._delegate = False
        self.delegate_reason: str | None = None
        track(self)

    @property
    def control(self) -> Transport:
        """The botocore transport for control-plane calls (and for everything under moto's mock_aws)."""
        if self._control is None:
            with self._lock:
                if self._control is None:
                    from ddbkit.transport.botocore import BotocoreTransport

                    self._control = BotocoreTransport(session=self._session, region_name=self._region_name,
                                                      endpoint_url=self._endpoint_url, config=self._config,
                                                      verify=self._options.verify)
        return self._control

    def _control_client(self) -> Any:
        return getattr(self.control, "client")  # noqa: B009 - control is a BotocoreTransport here

    def _setup(self) -> WireProtocol:
        with self._lock:
            if self._wire is None:
                import urllib3
                from urllib3.exceptions import HTTPError

                opts = self._options
                # the environment alone when it provably answers as botocore would (no botocore import)
                light = environment_settings(self._session, self._region_name, self._endpoint_url, opts,
                                             self._config)
                self.delegate_reason = None if light is not None else instrumented(self._session)
                self._delegate = self.delegate_reason is not None
                settings = light or resolve_settings(self._session, self._region_name, self._endpoint_url,
                                                     self._control_client)
                wire = WireProtocol(settings.endpoint_url, settings.region,
                                    light.appid if light is not None else opts.appid(self._session))
                self._timeout = urllib3.Timeout(connect=opts.connect_timeout, read=opts.read_timeout)
                kwargs: dict[str, Any] = {"maxsize": opts.max_pool, "block": False, "timeout": self._timeout,
                                          "retries": False}
                if wire.scheme == "https":
                    ca = _ca_bundle(light, self._session, opts.verify)
                    kwargs.update(cert_reqs="CERT_NONE" if ca is False else "CERT_REQUIRED",
                                  ca_certs=None if ca is False else ca)
                proxy = proxy_for(wire.scheme, wire.host, opts.proxies)
                self._direct = proxy is None
                if proxy:
                    try:
                        self._manager = _proxy_manager(proxy, opts.proxies_config, kwargs, wire.scheme)
                        self._pool = self._manager.connection_from_url(wire.url)
                    except ValueError as err:  # urllib3's LocationParseError quotes the URL, password included
                        raise ConnectionFailed(type(err).__name__,
                                               redact(f"proxy {proxy} for {wire.host} is not a valid URL")) from None
                else:
                    self._pool = urllib3.connection_from_url(wire.url, **kwargs)
                self._http_errors = (HTTPError, OSError)
                self._credentials = settings.credentials
                self._wire = wire
        return self._wire

    def send(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        if operation not in DATA_PLANE or moto_mock_active():
            return self.control.send(operation, plain_request(request))
        wire = self._wire or self._setup()
        if self._delegate:
            return self.control.send(operation, plain_request(request))
        body, headers = wire.prepare(operation, request, self._credentials.get_frozen_credentials()
                                     if self._credentials is not None else None)
        failure: BaseException | None = None
        try:
            if self._direct:
                status, data, crc = self._exchange(wire, body, headers)
            else:  # through a proxy: urllib3 does the proxy protocol (CONNECT for https, absolute-form for http)
                response = self._manager.urlopen("POST", wire.url, body=body, headers=headers, retries=False,
                                                 timeout=self._timeout, redirect=False, assert_same_host=False)
                status, data, crc = response.status, response.data, response.headers.get("x-amz-crc32")
        except self._http_errors as err:
            failure = err
        if failure is not None:  # names the endpoint, no reprs; the cause is scrubbed of proxy credentials
            raise connection_failed(failure, operation, wire.endpoint_url,
                                    wire.signer.region) from scrubbed_cause(failure)
        try:
            return wire.parse(operation, status, data, crc, request.number if type(request) is PageRequest else None)
        except DynamoDBError as err:
            if err.code.isdigit():  # not DynamoDB's reply (an HTML page): name region and endpoint, withhold it
                raise not_a_dynamodb_reply(err, wire.endpoint_url, wire.signer.region) from None
            raise

    def _exchange(self, wire: WireProtocol, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, str | None]:
        """One request/response on a pooled keep-alive connection.

        urllib3 owns the connections (pooling, connect timeout, TLS and certificate checks, dropping dead
        idle connections); the HTTP/1.1 exchange itself is done here on the socket: one ``sendall`` of
        head + body, and the response parsed by :class:`~ddbkit.transport.wire.ResponseParser` from
        ``recv`` as it arrives. urllib3's request/response layers (http.client, email header parsing) cost
        ~130 µs of CPU per request; this costs ~15 µs (docs/performance.md).
        Redirects are never followed: a 3xx is an error.
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
                sock.settimeout(self._options.read_timeout)  # connect used the connect timeout
            sock.sendall(request_head(wire.path, body, headers) + body)
            parser = read_with(sock.recv)
            reusable = parser.keep_alive
            return parser.status, parser.body, parser.crc
        finally:
            if not reusable:
                conn.close()
            pool._put_conn(conn)

    def multiplexable(self) -> bool:
        """Whether batch gathers may run over :meth:`async_twin` (a direct connection, nothing delegated to
        botocore, no in-process moto mock)."""
        if moto_mock_active():
            return False
        self._wire or self._setup()
        return self._direct and not self._delegate

    def async_twin(self) -> AsyncFastTransport:
        """An :class:`AsyncFastTransport` for the same endpoint, credentials and options (its own connections),
        for the sync driver's gathers multiplexed on an event loop (:mod:`ddbkit.core.multiplex`). Its own
        control transport (botocore on a worker thread) is built only if it needs one: taking this transport's
        would build a botocore client on the light path, ~19 MB of RSS for nothing (bench_memory)."""
        opts = self._options
        return AsyncFastTransport(session=self._session, region_name=self._region_name,
                                  endpoint_url=self._endpoint_url,
                                  control=ThreadedTransport(self._control) if self._control is not None else None,
                                  max_pool_connections=opts.max_pool, connect_timeout=opts.connect_timeout,
                                  read_timeout=opts.read_timeout, verify=opts.verify, config=self._config)

    def _forked(self) -> None:
        # in a forked child: forget (never close: the parent still uses them) the inherited connections
        abandon(self._pool, self._manager)
        self._pool = self._manager = self._wire = None
        self._lock = threading.RLock()

    def close(self) -> None:
        pool, self._pool, self._wire = self._pool, None, None
        manager, self._manager = self._manager, None
        if pool is not None:
            pool.close()
        if manager is not None:
            manager.clear()
        if self._control is not None:
            self._control.close()

    def __repr__(self) -> str:
        where = self._wire.endpoint_url if self._wire else self._endpoint_url or "(resolved on first use)"
        return f"FastTransport({where})"


def _ca_bundle(light: EnvSettings | None, session: Any, verify: bool | str | None) -> str | bool:
    """What TLS is verified with: as botocore resolves it, or from the environment on the light path."""
    if light is None:
        return resolve_ca_bundle(session, verify)
    return light.ca_bundle if light.ca_bundle is not None else default_ca_bundle()


def _proxy_manager(proxy: str, proxies_config: dict[str, Any], pool_kwargs: dict[str, Any],
                   scheme: str = "https") -> Any:
    """A urllib3 ProxyManager for ``proxy``, with ``Proxy-Authorization`` from its ``user:password@``
    (as botocore sends it) and botocore's ``proxies_config`` (proxy CA bundle, client cert, forwarding)."""
    import urllib3
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(proxy)
    headers = None
    if parts.username is not None:
        headers = urllib3.make_headers(proxy_basic_auth=f"{unquote(parts.username)}:{unquote(parts.password or '')}")
        proxy = parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()
    # proxy_ca_bundle / proxy_client_cert are for the TLS connection to an https:// proxy, never the
    # endpoint's: for an https endpoint urllib3 takes them as proxy_ssl_context; for an http endpoint the
    # connection to the proxy is the only TLS one (urllib3 makes it with the pool's own TLS settings).
    # proxy_use_forwarding_for_https sends https requests to an https:// proxy instead of tunnelling them
    # (urllib3 ignores it for an http:// proxy, as botocore does).
    kwargs = dict(pool_kwargs)
    bundle, cert = proxies_config.get("proxy_ca_bundle"), proxies_config.get("proxy_client_cert")
    if scheme == "http" and (bundle or cert):
        kwargs["cert_reqs"] = "CERT_REQUIRED"
        if bundle:
            kwargs["ca_certs"] = str(bundle)
        if cert:
            kwargs["cert_file"], kwargs["key_file"] = cert if isinstance(cert, (tuple, list)) else (cert, None)
    return urllib3.ProxyManager(proxy, num_pools=1, proxy_headers=headers,
                                proxy_ssl_context=proxy_ssl_context(proxies_config) if scheme == "https" else None,
                                use_forwarding_for_https=bool(proxies_config.get("proxy_use_forwarding_for_https")),
                                **kwargs)


PROXIES_CONFIG_KEYS = frozenset({"proxy_ca_bundle", "proxy_client_cert", "proxy_use_forwarding_for_https"})


def check_proxies_config(proxies_config: dict[str, Any]) -> None:
    """Refuse ``Config(proxies_config=...)`` keys botocore does not define (a typo would be ignored silently)."""
    unknown = sorted(set(proxies_config) - PROXIES_CONFIG_KEYS)
    if unknown:
        raise ValueError(f"Config(proxies_config=...): unknown key(s) {', '.join(map(repr, unknown))} (known: "
                         f"{', '.join(sorted(PROXIES_CONFIG_KEYS))})")


def proxy_ssl_context(proxies_config: dict[str, Any], base: Any = None) -> Any:
    """The TLS context for an https:// proxy from ``proxy_ca_bundle`` / ``proxy_client_cert`` (botocore's
    ``_setup_proxy_ssl_context``), or None when neither is set. ``base``: a context to add them to."""
    bundle, cert = proxies_config.get("proxy_ca_bundle"), proxies_config.get("proxy_client_cert")
    if not bundle and not cert:
        return None
    import ssl

    context = base if base is not None else ssl.create_default_context()
    if bundle:
        context.load_verify_locations(cafile=str(bundle))
    if cert:
        cert_file, key_file = cert if isinstance(cert, (tuple, list)) else (cert, None)
        context.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    return context


class ThreadedTransport:
    """A blocking :class:`~ddbkit.core.engine.Transport` behind the async protocol (each call on a worker thread):
    the async fast transport's control plane when it was given a boto3 session."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    async def send(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        import asyncio  # loaded by the running loop already; not at module import (sync cold start)

        return await asyncio.to_thread(self.transport.send, operation, request)

    async def close(self) -> None:
        self.transport.close()


class AsyncFastTransport:
    """The asyncio twin of :class:`FastTransport`. Requests go over ddbkit's minimal HTTP/1.1 client
    (:mod:`ddbkit.transport.h1`: one write per request, the sync transport's response parser; an async
    GetItem's CPU went from aiohttp's ~255 to ~150 µs, docs/performance.md), or over aiohttp through a
    proxy. Connections are made on the first request, inside the running loop. ``session`` may be a boto3/botocore session or an aioboto3 one (its async credentials are
    awaited); default ``boto3.DEFAULT_SESSION``. ``config``/``verify`` as for :class:`FastTransport`.
    ``control`` defaults to :class:`ddbkit.transport.AioBotocoreTransport` for an aioboto3 session, else the
    boto3 session's client on a worker thread. Redirects are never followed (a 3xx is an error).
    """

    #: Batch writes may hand it :class:`ddbkit.core.batch.EncodedWrites` (pre-encoded WriteRequests).
    accepts_encoded_writes = True
    #: Query/Scan may be sent as :class:`ddbkit.core.codec.PageRequest`: the reply's items come back decoded.
    decodes_pages = True

    def __init__(self, *, session: Any = None, region_name: str | None = None, endpoint_url: str | None = None,
                 control: Any = None, max_pool_connections: int = 64, connect_timeout: float = 5.0,
                 read_timeout: float = 30.0, verify: bool | str | None = None, config: Any = None) -> None:
        self._session = session
        self._region_name = region_name
        self._endpoint_url = endpoint_url
        self._control = control
        self._config = config
        self._options = Options(config, max_pool_connections=max_pool_connections, connect_timeout=connect_timeout,
                                read_timeout=read_timeout, verify=verify)
        check_proxies_config(self._options.proxies_config)
        self._wire: WireProtocol | None = None
        self._credentials: Any = None
        self._http: Any = None
        self._pool: ConnectionPool | None = None
        self._static = False
        self._lock: asyncio.Lock | None = None
        self._errors: tuple[type[BaseException], ...] = ()
        self._proxy: str | None = None
        self._proxy_headers: dict[str, str] | None = None
        self._request_proxy_headers: dict[str, str] | None = None
        self._delegate = False
        self.delegate_reason: str | None = None
        track(self)

    @property
    def control(self) -> Any:
        """The transport for control-plane calls (and everything under moto's mock_aws): aioboto3 for an
        aioboto3 session; a boto3/botocore session's client (default: boto3's default session) on a worker
        thread otherwise."""
        if self._control is None:
            if self._session is not None and type(self._session).__module__.startswith("aioboto3"):
                from ddbkit.transport.aio_botocore import AioBotocoreTransport

                self._control = AioBotocoreTransport(session=self._session, region_name=self._region_name,
                                                     endpoint_url=self._endpoint_url, config=self._config,
                                                     verify=self._options.verify)
            else:
                from ddbkit.transport.botocore import BotocoreTransport

                self._control = ThreadedTransport(BotocoreTransport(
                    session=self._session, region_name=self._region_name, endpoint_url=self._endpoint_url,
                    config=self._config, verify=self._options.verify))
        return self._control

    async def _ruleset_endpoint(self) -> tuple[str, str]:
        import asyncio  # loaded by the running loop already; not at module import (sync cold start)

        control = self.control
        if isinstance(control, ThreadedTransport):
            client = await asyncio.to_thread(lambda: getattr(control.transport, "client"))  # noqa: B009
        else:
            client = await control._get_client()
        operation, context = ruleset_request(client)
        url: Any = client._resolve_endpoint_ruleset(operation, {}, context)
        if inspect.isawaitable(url):  # aiobotocore
            url = await url
        return ruleset_result(client, url[0], context)

    async def _setup(self) -> WireProtocol:
        import asyncio  # loaded by the running loop already; not at module import (sync cold start)

        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._wire is None:
                import ssl

                opts = self._options
                light = environment_settings(self._session, self._region_name, self._endpoint_url, opts,
                                             self._config)
                if light is not None:  # the environment alone answers as botocore would (no botocore import)
                    self.delegate_reason = None
                    url, region, creds, appid = light.endpoint_url, light.region, light.credentials, light.appid
                else:
                    self.delegate_reason = await asyncio.to_thread(instrumented, self._session)
                    region, found = resolve_region_and_endpoint(self._session, self._region_name,
                                                                self._endpoint_url)
                    # botocore's endpoint ruleset, through the control client, when no endpoint_url is given
                    url, region = (found, region) if found is not None else await self._ruleset_endpoint()
                    # credentials: the first resolution may do blocking I/O (IMDS, SSO): off the loop
                    creds = await asyncio.to_thread(resolve_credentials, self._session)
                    if inspect.isawaitable(creds):
                        creds = await creds
                    appid = await asyncio.to_thread(opts.appid, self._session)
                self._delegate = self.delegate_reason is not None
                wire = WireProtocol(url, region, appid)
                ssl_arg: Any = None
                if wire.scheme == "https":
                    ca = _ca_bundle(light, self._session, opts.verify)
                    ssl_arg = False if ca is False else ssl.create_default_context(cafile=str(ca))
                proxy = proxy_for(wire.scheme, wire.host, opts.proxies)
                if proxy is None:  # direct: ddbkit's own HTTP/1.1 client (ddbkit.transport.h1)
                    from ddbkit.transport.h1 import ConnectionPool

                    if ssl_arg is False:  # verify=False: nothing is verified (as aiohttp's ssl=False)
                        ssl_arg = ssl.create_default_context()
                        ssl_arg.check_hostname = False
                        ssl_arg.verify_mode = ssl.CERT_NONE
                    self._pool = ConnectionPool(wire.host, wire.port, ssl_context=ssl_arg, limit=opts.max_pool,
                                                connect_timeout=opts.connect_timeout,
                                                read_timeout=opts.read_timeout)
                    self._errors = (asyncio.TimeoutError, OSError)
                else:
                    self._http = _aiohttp_session(proxy, opts, ssl_arg)
                    self._proxy, self._proxy_headers = _split_proxy_auth(proxy)
                    if self._proxy_headers and wire.scheme == "http":
                        # aiohttp sends proxy_headers only on a CONNECT: for an http endpoint the absolute-form
                        # request itself must carry Proxy-Authorization
                        self._request_proxy_headers = self._proxy_headers
                    import aiohttp

                    self._errors = (aiohttp.ClientError, asyncio.TimeoutError, OSError)
                self._credentials = creds
                # credentials that never refresh (the environment's; botocore's plain Credentials) are read
                # without a coroutine per request
                self._static = isinstance(creds, EnvCredentials) or (
                    type(creds).__module__ == "botocore.credentials" and type(creds).__name__ == "Credentials")
                self._wire = wire
        return self._wire

    async def _frozen(self) -> Any:
        import asyncio  # loaded by the running loop already; not at module import (sync cold start)

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
            result: dict[str, Any] = await self.control.send(operation, plain_request(request))
            return result
        wire = self._wire or await self._setup()
        if self._delegate:
            delegated: dict[str, Any] = await self.control.send(operation, plain_request(request))
            return delegated
        frozen = self._credentials.get_frozen_credentials() if self._static else await self._frozen()
        body, headers = wire.prepare(operation, request, frozen)
        if self._request_proxy_headers:
            headers.update(self._request_proxy_headers)
        failure: BaseException | None = None
        try:
            if self._pool is not None:
                status, data, crc = await self._pool.request(request_head(wire.path, body, headers) + body)
            else:
                async with self._http.post(wire.url, data=body, headers=headers, proxy=self._proxy,
                                           proxy_headers=self._proxy_headers, allow_redirects=False) as resp:
                    data = await resp.read()
                    status, crc = resp.status, resp.headers.get("x-amz-crc32")
        except self._errors as err:
            failure = err
        if failure is not None:  # names the endpoint, no reprs; the cause is scrubbed of proxy credentials
            raise connection_failed(failure, operation, wire.endpoint_url,
                                    wire.signer.region) from scrubbed_cause(failure)
        try:
            return wire.parse(operation, status, data, crc, request.number if type(request) is PageRequest else None)
        except DynamoDBError as err:
            if err.code.isdigit():  # not DynamoDB's reply (an HTML page): name region and endpoint, withhold it
                raise not_a_dynamodb_reply(err, wire.endpoint_url, wire.signer.region) from None
            raise

    def _forked(self) -> None:
        # in a forked child: forget the parent's connections and aiohttp session (never close them here)
        if self._pool is not None:
            self._pool.abandon()
        abandon(self._http)
        self._http = self._wire = self._lock = self._pool = None

    async def close(self) -> None:
        http, self._http, self._wire = self._http, None, None
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
        if http is not None:
            await http.close()
        if self._control is not None:
            await self._control.close()

    def __repr__(self) -> str:
        where = self._wire.endpoint_url if self._wire else self._endpoint_url or "(resolved on first use)"
        return f"AsyncFastTransport({where})"


def _aiohttp_session(proxy: str, opts: Options, ssl_arg: Any) -> Any:
    """The aiohttp session of the async transport behind a proxy (aiohttp does the proxy protocol)."""
    try:
        import aiohttp
    except ImportError:
        raise ImportError("the fast async transport needs aiohttp behind a proxy: pip install 'ddbkit[async]'") from None
    ssl_arg = _aiohttp_proxy_tls(proxy, opts.proxies_config, ssl_arg)
    connector = aiohttp.TCPConnector(limit=opts.max_pool, ssl=ssl_arg if ssl_arg is not None else True,
                                     keepalive_timeout=30)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=opts.connect_timeout, sock_read=opts.read_timeout)
    # trust_env would also read ~/.netrc credentials into an Authorization header: proxies from the
    # environment are applied per request instead
    return aiohttp.ClientSession(connector=connector, timeout=timeout)


def _aiohttp_proxy_tls(proxy: str | None, proxies_config: dict[str, Any], ssl_arg: Any) -> Any:
    """The connector's ``ssl`` with ``proxies_config`` applied for an https:// ``proxy``.

    aiohttp has one TLS setting per request, used for the connection to an https:// proxy and for the
    endpoint's own TLS: ``proxy_ca_bundle`` is added to the endpoint's trust (not substituted for it) and
    ``proxy_client_cert`` is loaded into it (offered to whichever side asks for a client certificate).
    aiohttp always tunnels (CONNECT) to an https endpoint: ``proxy_use_forwarding_for_https`` with an
    https:// proxy cannot be honoured and is refused (botocore would forward). For an http:// proxy the
    three keys do nothing, on botocore as here.
    """
    if not proxy or not proxy.lower().startswith("https://"):
        return ssl_arg
    if proxies_config.get("proxy_use_forwarding_for_https"):
        raise ValueError("Config(proxies_config={'proxy_use_forwarding_for_https': True}) with an https:// proxy "
                         "is not supported by the fast async transport (aiohttp always tunnels with CONNECT): "
                         "use transport='botocore' (aioboto3) or drop the option")
    if ssl_arg is False:  # verify=False: nothing is verified, the proxy's certificate neither
        return False
    return proxy_ssl_context(proxies_config, ssl_arg) or ssl_arg


def _split_proxy_auth(proxy: str) -> tuple[str, dict[str, str] | None]:
    """``(proxy URL without credentials, {"Proxy-Authorization": "Basic ..."} or None)``: credentials go
    in the header only, never in a URL that could be logged."""
    import base64
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(proxy)
    if parts.username is None:
        return proxy, None
    bare = parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()
    token = base64.b64encode(f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()).decode()
    return bare, {"Proxy-Authorization": f"Basic {token}"}
