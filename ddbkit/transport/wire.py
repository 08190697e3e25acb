"""DynamoDB's JSON wire protocol, shared by the fast sync and async transports (everything but I/O).

Settings resolution (region, endpoint, credentials through botocore's session), request encoding and
SigV4 signing, HTTP/1.1 response reading and response/error parsing live here once; ``ddbkit.transport.fast``
only does I/O. Responses keep B values as base64 text (``ddbkit.codec`` decodes both forms), except in
``LastEvaluatedKey``, which is normalised to bytes so cursors are identical whichever transport made them.
"""

from __future__ import annotations

import base64
import re
import sys
import threading
import zlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import orjson

from ddbkit.errors import CorruptResponse, NoCredentialsError, NoRegionError
from ddbkit.transport.errors import error_from_response
from ddbkit.transport.sigv4 import DynamoDBSigner, host_header

__all__ = ["DATA_PLANE", "WireProtocol", "Settings", "resolve_settings", "resolve_region_and_endpoint",
           "encode_request", "moto_mock_active", "read_response"]

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
        raise NoRegionError()  # botocore's wording, on every transport
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
            raise NoCredentialsError()  # botocore's wording; nothing is sent
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
            raise CorruptResponse("CRC32CheckFailed", f"response CRC32 mismatch (HTTP {status})", operation=operation)
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


def _get_credentials(session: Any) -> Any:
    return session.get_credentials() if session is not None else _botocore_session(None).get_credentials()



