"""DynamoDB's JSON wire protocol, shared by the fast sync and async transports (everything but I/O).

Settings resolution (region, endpoint, credentials through botocore's session), request encoding and
SigV4 signing, HTTP/1.1 response reading and response/error parsing live here once; ``ddbkit.transport.fast``
only does I/O. Responses keep B values as base64 text (``ddbkit.core.codec`` decodes both forms), except in
``LastEvaluatedKey``, which is normalised to bytes so cursors are identical whichever transport made them.
"""

from __future__ import annotations

import base64
import itertools
import re
import sys
import types
import os
import uuid
import weakref
import zlib
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import orjson

from ddbkit.core.codec import NumberMode, decode_page
from ddbkit.errors import CorruptResponse, NoCredentialsError, NoRegionError, damaged_error_reply
from ddbkit.transport.errors import error_from_response
from ddbkit.transport.sigv4 import DynamoDBSigner, host_header

__all__ = ["DATA_PLANE", "WireProtocol", "Settings", "EnvSettings", "EnvCredentials", "environment_settings",
           "default_ca_bundle", "resolve_settings", "resolve_region_and_endpoint",
           "encode_request", "moto_mock_active", "read_response", "read_with", "ResponseParser", "request_head"]

DATA_PLANE = frozenset({
    "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchWriteItem", "BatchGetItem",
    "TransactWriteItems", "TransactGetItems",
})
_TARGET = "DynamoDB_20120810."
_USER_AGENT = "ddbkit/0.1.0 (fast transport)"


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


def default_session() -> Any:
    """``boto3.DEFAULT_SESSION``, set up as boto3 itself does when none exists yet: a transport built
    without ``session=`` signs as whoever ``boto3.client(...)`` would (``boto3.setup_default_session``)."""
    import boto3

    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    return boto3.DEFAULT_SESSION


def _botocore_session(session: Any) -> Any:
    """The botocore session behind ``session`` (boto3/aioboto3 Session, botocore Session, None: boto3's
    default session)."""
    if session is None:
        session = default_session()
    return getattr(session, "_session", session)


class Settings:
    """Where and as whom to send: ``endpoint_url``, the signing ``region``, a botocore credentials object."""

    __slots__ = ("endpoint_url", "region", "credentials")

    def __init__(self, endpoint_url: str, region: str, credentials: Any) -> None:
        self.endpoint_url, self.region, self.credentials = endpoint_url, region, credentials


def resolve_region_and_endpoint(session: Any, region_name: str | None,
                                endpoint_url: str | None) -> tuple[str, str | None]:
    """``(region, endpoint_url)`` for an explicit ``endpoint_url``; ``(region or "", None)`` otherwise:
    then only botocore's endpoint ruleset may answer (:func:`ruleset_endpoint`), as it does for boto3
    (configured endpoints, FIPS, dual-stack, account-based endpoints, partitions)."""
    if not endpoint_url:
        return region_name or "", None
    from ddbkit.core.region import resolve_region

    region = resolve_region(region_name, _botocore_session(session))
    if not region:
        raise NoRegionError()  # botocore's wording, on every transport
    return region, endpoint_url


# A data-plane operation whose endpoint parameters are those of every data-plane call without a table ARN.
_PROBE_OPERATION = "GetItem"


def ruleset_request(client: Any) -> tuple[Any, dict[str, Any]]:
    """The operation model and request context to ask ``client``'s endpoint ruleset resolver with."""
    return client.meta.service_model.operation_model(_PROBE_OPERATION), {}


def ruleset_result(client: Any, url: str, context: dict[str, Any]) -> tuple[str, str]:
    """``(endpoint_url, signing_region)`` from botocore's ruleset answer (authSchemes may set the region)."""
    region = (context.get("signing") or {}).get("region") or client.meta.region_name
    return str(url), str(region)


def ruleset_endpoint(client: Any) -> tuple[str, str]:
    """The endpoint and signing region botocore's own :class:`EndpointRulesetResolver` gives ``client`` (a
    boto3 ``dynamodb`` client) for a data-plane call: the same parameters boto3 uses (region, FIPS,
    dual-stack, account id and ``AWS_ACCOUNT_ID_ENDPOINT_MODE``, configured endpoint URLs), so the fast
    path sends where boto3 would."""
    operation, context = ruleset_request(client)
    url, _headers, _props = client._resolve_endpoint_ruleset(operation, {}, context)
    return ruleset_result(client, url, context)


def resolve_settings(session: Any, region_name: str | None, endpoint_url: str | None,
                     control_client: Any = None) -> Settings:
    """Endpoint, signing region and credentials (botocore's chain), resolved once per transport.

    ``control_client()`` returns the botocore client whose endpoint ruleset answers when no
    ``endpoint_url`` is given. The credentials object may be an aiobotocore one: callers await them.
    """
    region, url = resolve_region_and_endpoint(session, region_name, endpoint_url)
    if url is None:
        url, region = ruleset_endpoint(control_client())
    return Settings(url, region, resolve_credentials(session))


# Config options (botocore.config.Config) the light path below honours or that do not bear on where and as whom
# a data-plane request is sent; any other (region_name, FIPS/dual-stack, account-id endpoint mode) needs botocore.
_LIGHT_CONFIG_OPTIONS = frozenset({"connect_timeout", "read_timeout", "max_pool_connections", "proxies",
                                   "proxies_config", "user_agent_appid", "retries", "user_agent_extra",
                                   "tcp_keepalive"})
# Environment variables that change botocore's endpoint, signing or credential choice beyond what the light
# path reads: any of them set means botocore resolves.
_BOTOCORE_ONLY_ENV = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CREDENTIAL_EXPIRATION", "AWS_ACCOUNT_ID",
                      "AWS_ACCOUNT_ID_ENDPOINT_MODE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB",
                      "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
# Modules that instrument botocore (or hook its import; botocore.client is where clients and sessions live): when one is loaded, botocore's own check must run.
_INSTRUMENTATION = ("botocore.client", "wrapt", "ddtrace", "aws_xray_sdk", "opentelemetry.instrumentation.botocore")
# The commercial partition's region pattern (botocore's partitions.json): its DynamoDB endpoint is
# https://dynamodb.{region}.amazonaws.com. Other partitions (China, GovCloud, ISO) and ``local`` go to botocore.
_AWS_REGION = re.compile(r"^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$")


class EnvCredentials:
    """Static credentials from the environment, as botocore's ``EnvProvider`` reads them (the access key, the
    secret, ``AWS_SECURITY_TOKEN`` else ``AWS_SESSION_TOKEN``); frozen already."""

    __slots__ = ("access_key", "secret_key", "token")

    def __init__(self, access_key: str, secret_key: str, token: str | None) -> None:
        self.access_key, self.secret_key, self.token = access_key, secret_key, token

    def get_frozen_credentials(self) -> EnvCredentials:
        return self


class EnvSettings(Settings):
    """:class:`Settings` resolved from the environment alone, with what else the session would have given:
    the app id and the CA bundle. See :func:`environment_settings`."""

    __slots__ = ("appid", "ca_bundle")

    def __init__(self, endpoint_url: str, region: str, credentials: EnvCredentials, appid: str | None,
                 ca_bundle: str | bool | None) -> None:
        super().__init__(endpoint_url, region, credentials)
        self.appid, self.ca_bundle = appid, ca_bundle


def _config_file_empty(env: Mapping[str, str]) -> bool:
    path = os.path.expanduser(env.get("AWS_CONFIG_FILE") or os.path.join("~", ".aws", "config"))
    try:
        return not os.path.isfile(path) or os.path.getsize(path) == 0
    except OSError:
        return False


def environment_settings(session: Any, region_name: str | None, endpoint_url: str | None, options: Options,
                         config: Any = None, environ: Mapping[str, str] | None = None) -> EnvSettings | None:
    """Where and as whom to send, without importing botocore, when the answer provably equals botocore's;
    None otherwise (the caller resolves through botocore as before).

    A Lambda cold start pays ~40 ms to import botocore's client machinery only to learn what the environment
    already says. The light answer is given only when every input botocore would consult is known: no
    session given and no boto3 default session, credentials in ``AWS_ACCESS_KEY_ID`` /
    ``AWS_SECRET_ACCESS_KEY`` (botocore's first provider, which wins over every profile when no profile is
    passed explicitly), no AWS config file (or an empty one), a region from the argument, ``AWS_REGION`` or
    ``AWS_DEFAULT_REGION``, none of the variables that move endpoints or credentials, no Config option
    beyond timeouts, pool, proxies, retries and app id, and no instrumentation module loaded. The endpoint is
    ``endpoint_url``, else the commercial partition's ``https://dynamodb.{region}.amazonaws.com``
    (tests/parity checks it against botocore's endpoint ruleset).
    """
    env = os.environ if environ is None else environ
    if session is not None or any(name in sys.modules for name in _INSTRUMENTATION):
        return None
    boto3 = sys.modules.get("boto3")
    if boto3 is not None and getattr(boto3, "DEFAULT_SESSION", None) is not None:
        return None
    if config is not None and not set(getattr(config, "_user_provided_options", {}) or {}) <= _LIGHT_CONFIG_OPTIONS:
        return None
    access_key, secret_key = env.get("AWS_ACCESS_KEY_ID", ""), env.get("AWS_SECRET_ACCESS_KEY", "")
    if not access_key or not secret_key or any(env.get(name) for name in _BOTOCORE_ONLY_ENV):
        return None
    if not _config_file_empty(env):
        return None
    region = region_name or env.get("AWS_REGION", "").strip() or env.get("AWS_DEFAULT_REGION", "").strip()
    if not region:
        return None
    if not endpoint_url:
        if not _AWS_REGION.match(region):
            return None
        endpoint_url = f"https://dynamodb.{region}.amazonaws.com"
    token = env.get("AWS_SECURITY_TOKEN") or env.get("AWS_SESSION_TOKEN") or None
    appid = options.user_agent_appid or env.get("AWS_SDK_UA_APP_ID") or None
    verify = options.verify
    ca: str | bool | None = verify if verify is False or isinstance(verify, str) else env.get("AWS_CA_BUNDLE") or None
    return EnvSettings(endpoint_url, region, EnvCredentials(access_key, secret_key, token), appid, ca)


def default_ca_bundle() -> str:
    """botocore's default CA bundle (``botocore.httpsession.get_cert_path(True)``): certifi's, else botocore's."""
    try:
        from certifi import where
    except ImportError:  # pragma: no cover - botocore falls back to its own bundle the same way
        from botocore.httpsession import get_cert_path

        return str(get_cert_path(True))
    return str(where())


class WireProtocol:
    """Everything but I/O, shared by the sync and async transports: build and sign a request, parse the
    answer into a response dict or a ddbkit exception."""

    __slots__ = ("endpoint_url", "scheme", "host", "port", "signer", "url", "path", "user_agent")

    def __init__(self, endpoint_url: str, region: str, user_agent_appid: str | None = None) -> None:
        parts = urlsplit(endpoint_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"endpoint_url {endpoint_url!r} must be http(s)://host[:port][/path]")
        self.endpoint_url = endpoint_url
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.path = parts.path or "/"  # a path in endpoint_url is kept, as botocore keeps it
        self.url = f"{parts.scheme}://{parts.netloc}{self.path}"
        self.signer = DynamoDBSigner(host_header(endpoint_url), region, path=self.path)
        self.user_agent = _USER_AGENT + (f" app/{_sanitize(user_agent_appid)}" if user_agent_appid else "")

    def prepare(self, operation: str, request: Mapping[str, Any], credentials: Any) -> tuple[bytes, dict[str, str]]:
        """The body and headers of the signed POST (``credentials``: frozen botocore credentials).

        Headers beyond the signed ones, as botocore sends them: ``User-Agent`` (with ``app/<id>`` from
        ``AWS_SDK_UA_APP_ID`` / ``sdk_ua_app_id`` / ``Config(user_agent_appid=...)``), a fresh
        ``amz-sdk-invocation-id``, ``amz-sdk-request`` and, inside Lambda, ``X-Amzn-Trace-Id`` from
        ``_X_AMZN_TRACE_ID`` (read per request: Lambda sets it per invocation).
        """
        if credentials is None:
            raise NoCredentialsError()  # botocore's wording; nothing is sent
        body = orjson.dumps(request, default=_default)
        headers = self.signer.headers(_TARGET + operation, body, credentials.access_key, credentials.secret_key,
                                      credentials.token)
        headers["User-Agent"] = self.user_agent
        headers["Accept-Encoding"] = "identity"  # x-amz-crc32 is over the bytes as sent
        headers["amz-sdk-invocation-id"] = invocation_id()
        headers["amz-sdk-request"] = "attempt=1; max=1"  # ddbkit's retry policy makes each attempt a new call
        trace = lambda_trace_id()
        if trace:
            headers["X-Amzn-Trace-Id"] = trace
        return body, headers

    @staticmethod
    def parse(operation: str, status: int, body: bytes, crc32: str | None,
              number: NumberMode | None = None) -> dict[str, Any]:
        """The response dict of a 200, else raise the ddbkit exception for the error.

        ``number``: for a Query/Scan/GetItem sent as a :class:`~ddbkit.core.codec.PageRequest`, the items are
        decoded here in that number mode when the C extension is there (:func:`~ddbkit.core.codec.decode_page`)."""
        if crc32 is not None and crc32.isdigit() and int(crc32) != zlib.crc32(body) & 0xFFFFFFFF:
            # a corrupted response: retryable, like botocore's checksum check
            raise CorruptResponse("CRC32CheckFailed", f"response CRC32 mismatch (HTTP {status})", operation=operation)
        data: Any = None
        if status == 200 and number is not None and body:
            data = decode_page(body, number, operation)  # None: not sure, the pure way below decides
        if data is None:
            try:
                data = orjson.loads(body) if body else {}
            except orjson.JSONDecodeError:
                data = None
        if status == 200:
            if not body or not isinstance(data, dict):  # an empty 200 is damaged too, never an empty success
                raise CorruptResponse("InvalidResponse", f"HTTP 200 with a body that is not a JSON object: "
                                      f"{body[:200]!r}", operation=operation)
            last = data.get("LastEvaluatedKey")
            if last:
                data["LastEvaluatedKey"] = _binary_as_bytes(last)
            return data
        if isinstance(data, dict) and (data.get("__type") or data.get("code")):
            code = str(data.get("__type") or data.get("code"))
            message = str(data.get("message") or data.get("Message") or "")
            raise error_from_response(code, message, operation=operation, status=status, response=data)
        damaged = damaged_error_reply(operation, status, body, data)
        if damaged is not None:  # a cut or damaged error reply: retried, its body (item values) withheld
            raise damaged
        # no JSON at all: a bare 5xx/4xx from a load balancer or proxy
        text = body[:500].decode("utf-8", "replace").strip()
        raise error_from_response(str(status), text or f"HTTP {status}", operation=operation, status=status,
                                  response={"body": text})


def _invocation_ids() -> tuple[str, Any]:
    """A random UUID4 prefix (version 4, RFC 4122 variant) and a counter from a random start for the last
    12 hex digits: per-process unique ids in UUID4 form."""
    raw = uuid.uuid4().hex
    prefix = f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-"
    return prefix, itertools.count(int.from_bytes(os.urandom(6), "big"))


_IDS = _invocation_ids()


def _new_ids() -> None:
    global _IDS
    _IDS = _invocation_ids()


os.register_at_fork(after_in_child=_new_ids)  # a forked child must not repeat its parent's ids


def invocation_id() -> str:
    """``amz-sdk-invocation-id``: unique per request in the UUID4 form botocore sends (``str(uuid4())``), from a
    per-process random prefix and a counter; ``uuid4()`` per request was ~2 µs warm and ~6 µs on the first
    call after a blocking round trip (cold caches), a noticeable part of a single call's CPU."""
    prefix, counter = _IDS
    return f"{prefix}{next(counter) & 0xFFFFFFFFFFFF:012x}"


def lambda_trace_id() -> str | None:
    """``X-Amzn-Trace-Id`` as botocore's recursion-detection handler sets it: inside Lambda only
    (``AWS_LAMBDA_FUNCTION_NAME``), from ``_X_AMZN_TRACE_ID``, quoted the same way."""
    trace = os.environ.get("_X_AMZN_TRACE_ID")
    if not trace or "AWS_LAMBDA_FUNCTION_NAME" not in os.environ:
        return None
    return quote(trace, safe="-=;:+&[]{}\"',")


_UA_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9!$%&'*+\-.^_`|~,#]")


def _sanitize(value: str) -> str:
    """botocore's ``sanitize_user_agent_string_component(value, allow_hash=True)`` without importing botocore
    (a cold start's cost): every character but ASCII alphanumerics and ``!$%&'*+-.^_`|~,#`` becomes ``-``
    (tests/parity/test_parity_light.py compares the two)."""
    return _UA_NOT_ALLOWED.sub("-", value)


def _binary_as_bytes(key: dict[str, Any]) -> dict[str, Any]:
    # LastEvaluatedKey values are S, N or B; make B bytes as botocore returns them
    for name, av in key.items():
        b = av.get("B") if isinstance(av, dict) else None
        if isinstance(b, str):
            key[name] = {"B": base64.b64decode(b)}
    return key


class InvalidHTTPResponse(ConnectionError):
    """The server's answer was not valid HTTP/1.1 (or ended early)."""


def request_head(path: str, body: bytes, headers: Mapping[str, str]) -> bytes:
    """The head of the signed POST as the fast transports send it (one write of head + body)."""
    return "".join([f"POST {path} HTTP/1.1\r\nContent-Length: {len(body)}\r\n",
                    *[f"{k}: {v}\r\n" for k, v in headers.items()], "\r\n"]).encode("latin-1")


_HEAD_LIMIT = 256 * 1024  # a response head longer than this is not an HTTP server's answer


class ResponseParser:
    """One HTTP/1.1 response, parsed from the bytes as they arrive (sans-I/O: the sync and the async
    transports feed it from their sockets, and :func:`read_response` from a file).

    :meth:`feed` takes the next bytes and says whether the response is complete; :meth:`eof` says the
    connection closed (completing a read-to-close body, else raising). Then ``status``, ``body``, ``crc``
    (the ``x-amz-crc32`` header) and ``keep_alive`` hold the answer. Handles Content-Length, chunked (with
    extensions and trailers) and read-to-close bodies, skips 1xx responses, and takes bare ``\n`` line ends;
    header values other than the few needed here are not kept (DynamoDB's answer is all in the JSON body).
    Bad input raises :class:`InvalidHTTPResponse`, which the transports report as a connection failure.

    Why not the file interface of before: ``makefile`` plus one ``readline`` per header line cost ~20 us of
    CPU per request (cProfile of a sync GetItem); this is one ``find`` and one ``split`` for the head.
    """

    __slots__ = ("status", "body", "crc", "keep_alive", "_buf", "_state", "_remaining", "_pieces")

    _HEAD, _LENGTH, _CHUNKED, _CLOSE, _DONE = range(5)

    def __init__(self) -> None:
        self.status = 0
        self.body = b""
        self.crc: str | None = None
        self.keep_alive = False
        self._buf = b""
        self._state = self._HEAD
        self._remaining = 0
        self._pieces: list[bytes] = []

    @property
    def done(self) -> bool:
        """Whether a whole response has been parsed."""
        return self._state == self._DONE

    def feed(self, data: bytes) -> bool:
        """The next bytes from the connection; True once the response is complete (later bytes, which a
        server has no reason to send, make the connection not reusable)."""
        state = self._state
        if state == self._LENGTH:  # the common continuation: more of a Content-Length body
            self._pieces.append(data)
            self._remaining -= len(data)
            if self._remaining <= 0:
                self._finish_length()
            return self._state == self._DONE
        if state == self._DONE:
            self.keep_alive = False
            return True
        buf = self._buf + data if self._buf else data
        self._buf = b""
        if state == self._HEAD:
            return self._head(buf)
        if state == self._CHUNKED:
            return self._chunks(buf)
        self._pieces.append(buf)  # read to close
        return False

    def eof(self) -> bool:
        """The connection closed: True when that completes the response, else raise."""
        state = self._state
        if state == self._DONE:
            return True
        if state == self._CLOSE:
            self.body, self.keep_alive, self._state = b"".join(self._pieces), False, self._DONE
            self._pieces = []
            return True
        if state == self._HEAD:
            if not self._buf:
                raise InvalidHTTPResponse("connection closed before a response")
            self._status_line(self._buf.split(b"\n", 1)[0])  # a garbled status line is named as such
            raise InvalidHTTPResponse("connection closed in the response headers")
        if state == self._LENGTH:
            got = sum(map(len, self._pieces))
            raise InvalidHTTPResponse(f"response body ended after {got} of {got + self._remaining} bytes")
        raise InvalidHTTPResponse("connection closed in a chunked response body")

    @staticmethod
    def _status_line(line: bytes) -> tuple[int, bool]:
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            raise InvalidHTTPResponse(f"not an HTTP status line: {line[:80]!r}")
        return int(parts[1]), parts[0] == b"HTTP/1.1"

    def _head(self, buf: bytes) -> bool:
        while True:
            end = buf.find(b"\r\n\r\n")
            skip = 4
            if end < 0 or buf.find(b"\n\n", 0, end) >= 0:  # bare \n line ends (lenient, as http.client)
                bare = buf.find(b"\n\n")
                mixed = buf.find(b"\n\r\n")
                found = [(i, n) for i, n in ((bare, 2), (mixed, 3), (end, 4)) if i >= 0]
                if not found:
                    if len(buf) > _HEAD_LIMIT:
                        raise InvalidHTTPResponse(f"response head longer than {_HEAD_LIMIT} bytes")
                    self._buf = buf
                    return False
                end, skip = min(found)
            head = buf[:end]
            first = head.find(b"\n")
            status, keep_alive = self._status_line(head if first < 0 else head[:first])
            # the four headers that matter, found by C-level searches of the lowered head rather than a
            # Python loop over every line (the last occurrence wins, as it did line by line)
            low = head.lower()
            length: int | None = None
            text = _header(head, low, b"\ncontent-length:")
            if text is not None:
                if not text.isdigit():
                    raise InvalidHTTPResponse(f"invalid Content-Length: {text[:40]!r}")
                length = int(text)
            crc_value = _header(head, low, b"\nx-amz-crc32:")
            crc = crc_value.decode("latin-1") if crc_value is not None else None
            encoding = _header(low, low, b"\ntransfer-encoding:")
            chunked = encoding is not None and b"chunked" in encoding
            token = _header(low, low, b"\nconnection:")
            if token is not None:
                keep_alive = token == b"keep-alive" or (keep_alive and token != b"close")
            buf = buf[end + skip:]
            if status < 200:  # 100 Continue and friends: the real response follows
                continue
            self.status, self.crc, self.keep_alive = status, crc, keep_alive
            if chunked:
                self._state = self._CHUNKED
                return self._chunks(buf)
            if length is not None:
                if len(buf) >= length:  # the common case: the whole body came with the head
                    self.body = buf[:length]
                    if len(buf) > length:
                        self.keep_alive = False
                    self._state = self._DONE
                    return True
                self._state, self._remaining, self._pieces = self._LENGTH, length - len(buf), [buf]
                return False
            if status in (204, 304):
                self._state = self._DONE
                if buf:
                    self.keep_alive = False
                return True
            self._state, self._pieces = self._CLOSE, [buf]
            return False

    def _finish_length(self) -> None:
        body = b"".join(self._pieces)
        self._pieces = []
        if self._remaining < 0:  # bytes after the body
            body = body[:self._remaining]
            self.keep_alive = False
        self.body, self._state = body, self._DONE

    def _chunks(self, buf: bytes) -> bool:
        pos = 0
        while True:
            if self._remaining > 0:  # inside a chunk: its data, then its line end (CRLF, or a bare LF)
                after = pos + self._remaining
                end = buf[after:after + 2]
                if end[:1] == b"\n":
                    skip = 1
                elif end == b"\r\n":
                    skip = 2
                elif len(end) < 2:
                    self._buf = buf[pos:]
                    return False
                else:
                    raise InvalidHTTPResponse("chunk data not followed by a line end")
                self._pieces.append(buf[pos:after])
                pos = after + skip
                self._remaining = 0
                continue
            nl = buf.find(b"\n", pos)
            if nl < 0:
                if len(buf) - pos > _HEAD_LIMIT:
                    raise InvalidHTTPResponse("chunk size line too long")
                self._buf = buf[pos:]
                return False
            if self._remaining < 0:  # after the last chunk: trailers up to an empty line
                if buf[pos:nl].strip():
                    pos = nl + 1
                    continue
                self.body, self._pieces, self._state = b"".join(self._pieces), [], self._DONE
                if nl + 1 < len(buf):
                    self.keep_alive = False
                return True
            text = buf[pos:nl].split(b";", 1)[0].strip()
            try:
                size = int(text or b"0", 16)
            except ValueError:
                raise InvalidHTTPResponse(f"invalid chunk size: {text[:40]!r}") from None
            pos = nl + 1
            if size == 0:
                self._remaining = -1
            else:
                self._remaining = size


def _header(head: bytes, low: bytes, marker: bytes) -> bytes | None:
    """The stripped value of the last header line ``marker`` (``b"\\nname:"``, lowercase) finds in ``low``
    (the lowered ``head``), taken from ``head``; None when absent."""
    at = low.rfind(marker)
    if at < 0:
        return None
    start = at + len(marker)
    stop = head.find(b"\n", start)
    return head[start:stop if stop >= 0 else len(head)].strip()


def read_response(fp: Any) -> tuple[int, bytes, str | None, bool]:
    """Read one HTTP/1.1 response from the binary file ``fp`` with :class:`ResponseParser`:
    ``(status, body, x-amz-crc32, keep-alive)``."""
    parser = read_with(getattr(fp, "read1", fp.read))
    return parser.status, parser.body, parser.crc, parser.keep_alive


def read_with(read: Callable[[int], bytes]) -> ResponseParser:
    """One response read with ``read(n)`` (a socket's ``recv``, a file's ``read1``) into a finished
    :class:`ResponseParser`; an empty read is the connection's end."""
    parser = ResponseParser()
    while True:
        data = read(65536)
        if not data:
            parser.eof()
            return parser
        if parser.feed(data):
            return parser


def resolve_ca_bundle(session: Any, verify: bool | str | None) -> str | bool:
    """What botocore verifies TLS with: ``verify`` (False or a CA bundle path), else ``AWS_CA_BUNDLE`` /
    the profile's ``ca_bundle``, else botocore's default bundle."""
    if verify is False or isinstance(verify, str):
        return verify
    configured = _botocore_session(session).get_config_variable("ca_bundle")
    if configured:
        return str(configured)
    from botocore.httpsession import get_cert_path

    return str(get_cert_path(True))


def proxy_for(scheme: str, host: str, proxies: Mapping[str, str] | None = None) -> str | None:
    """The proxy botocore would use: ``Config(proxies=...)`` for the scheme, else the environment's
    ``HTTP(S)_PROXY`` unless ``NO_PROXY`` bypasses ``host``."""
    if proxies:
        return proxies.get(scheme)
    import urllib.request

    proxy = urllib.request.getproxies().get(scheme)
    if proxy and not urllib.request.proxy_bypass(host):
        return proxy
    return None


_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


_OBJECT_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-fA-F]+>:?\s*")


def redact(text: str) -> str:
    """``text`` with any ``user:password@`` of a URL (a proxy's credentials) replaced by ``***@`` and
    object reprs (``<urllib3.connection.HTTPConnection object at 0x...>``) removed."""
    return _OBJECT_REPR.sub("", _USERINFO.sub("***@", text))


class Options:
    """The client options the fast transports honour, from a :class:`botocore.config.Config` (fields the
    user set) over ddbkit's defaults, and from the session (``sdk_ua_app_id``, ``ca_bundle``)."""

    __slots__ = ("connect_timeout", "read_timeout", "max_pool", "proxies", "proxies_config", "user_agent_appid",
                 "verify")

    def __init__(self, config: Any = None, *, max_pool_connections: int, connect_timeout: float,
                 read_timeout: float, verify: bool | str | None = None) -> None:
        given: dict[str, Any] = dict(getattr(config, "_user_provided_options", {}) or {})
        self.connect_timeout = float(given.get("connect_timeout", connect_timeout))
        self.read_timeout = float(given.get("read_timeout", read_timeout))
        self.max_pool = max(1, int(given.get("max_pool_connections", max_pool_connections)))
        self.proxies: dict[str, str] | None = given.get("proxies") or None
        self.proxies_config: dict[str, Any] = dict(given.get("proxies_config") or {})
        self.user_agent_appid: str | None = given.get("user_agent_appid")
        self.verify = verify

    def appid(self, session: Any) -> str | None:
        configured = self.user_agent_appid or _botocore_session(session).get_config_variable("user_agent_appid")
        return str(configured) if configured else None


_WATCHED_EVENTS = ("provide-client-params", "before-parameter-build", "before-call", "request-created",
                   "before-sign", "before-send", "after-call", "after-call-error", "needs-retry")
_BASELINE: tuple[int, set[str]] | None = None
#: Modules whose handlers only append to the User-Agent (Powertools registers one on every session it
#: sees once imported): no instrumentation, so they never send a call through botocore.
_USER_AGENT_ONLY = frozenset({"aws_lambda_powertools.shared.user_agent"})


def _handler_names(bs: Any) -> set[str]:
    events = getattr(bs, "_events", None)
    trie = getattr(getattr(events, "_emitter", events), "_handlers", None)  # EventAliaser -> HierarchicalEmitter
    if trie is None or not hasattr(trie, "prefix_search"):
        return set()
    names = set()
    for event in _WATCHED_EVENTS:
        for handler in trie.prefix_search(f"{event}.dynamodb.GetItem"):
            target = getattr(handler, "__func__", handler)
            module = getattr(target, "__module__", "") or ""
            if module in _USER_AGENT_ONLY:
                continue
            names.add(f"{event}:{module}.{getattr(target, '__qualname__', repr(target))}")
    return names


def instrumented(session: Any) -> str | None:
    """Why the fast path must give way to botocore's, or None.

    The fast path runs no botocore events. If ``BaseClient._make_api_call`` is wrapped (ddtrace,
    OpenTelemetry's botocore instrumentation, the X-Ray SDK behind Powertools Tracer all wrap it) or the
    session has handlers of its own for DynamoDB's ``before-call``/``before-send``/``after-call``/...
    events (beyond botocore's built-in ones), every call takes the botocore transport instead, so that
    instrumentation sees every DynamoDB call.
    """
    global _BASELINE
    import botocore
    from botocore.client import BaseClient

    # botocore's own is a plain function from the botocore package; wrapt wrappers (ddtrace, OpenTelemetry,
    # the X-Ray SDK) or a monkeypatch are not. aiobotocore's client (imported only if in use) likewise.
    clients: list[tuple[Any, str]] = [(BaseClient, os.path.dirname(botocore.__file__))]
    aio = sys.modules.get("aiobotocore.client")
    if aio is not None and hasattr(aio, "AioBaseClient"):
        clients.append((aio.AioBaseClient, os.path.dirname(aio.__file__ or "")))
    for cls, home in clients:
        call = cls.__dict__.get("_make_api_call")
        code = getattr(call, "__code__", None)
        if call is not None and (type(call) is not types.FunctionType or code is None
                                 or not code.co_filename.startswith(home)):
            return f"{cls.__module__}.{cls.__name__}._make_api_call is instrumented"
    import botocore.handlers

    # botocore's built-in handlers, recomputed when a library adds to them (moto does when imported: its
    # stubber is then in every new session, inert unless a mock is active, and is no instrumentation)
    builtin = len(botocore.handlers.BUILTIN_HANDLERS)
    if _BASELINE is None or _BASELINE[0] != builtin:
        import botocore.session

        _BASELINE = (builtin, _handler_names(botocore.session.Session()))
    extra = _handler_names(_botocore_session(session)) - _BASELINE[1]
    if extra:
        return f"the session has handlers for DynamoDB events: {', '.join(sorted(extra))}"
    return None


_LIVE: weakref.WeakSet[Any] = weakref.WeakSet()
# What a forked child dropped: kept referenced so it is never finalised in the child. Finalising it would
# close the parent's connections from the child: an asyncio transport's close() unregisters its socket
# from the event loop's epoll, which the child shares with the parent (the parent would then wait forever).
_ABANDONED: list[Any] = []


def abandon(*objects: Any) -> None:
    """Keep ``objects`` (a forked child's inherited pools, sessions, clients) alive and untouched."""
    _ABANDONED.extend(o for o in objects if o is not None)


def track(transport: Any) -> None:
    """Have ``transport._forked()`` called in the child after ``os.fork()``: a forked child must never
    read from a connection the parent is using (it would get the parent's responses)."""
    _LIVE.add(transport)


def _after_fork_in_child() -> None:
    for transport in list(_LIVE):
        try:
            transport._forked()
        except Exception:  # noqa: BLE001,S110 - never break a fork over a transport
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def resolve_credentials(session: Any) -> Any:
    return (session if session is not None else default_session()).get_credentials()



