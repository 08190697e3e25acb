"""ddbkit's exception hierarchy.

Three families:

* :class:`ClientValidationError` — ddbkit refused the input *before* sending anything (bad value, item
  too large, too many items in a transaction...). It names the attribute path or item and the rule.
* :class:`ConfigurationError` — nothing could be sent: no region, no credentials (botocore's wording, on
  every transport).
* :class:`DynamoDBError` — the service (or the connection to it) failed. It keeps DynamoDB's error
  ``code`` and ``message``, the ``operation`` and HTTP ``status``; subclasses exist for the codes callers
  branch on. :func:`error_from_response` maps a code to its class; every transport uses it.

Batch and transaction failures carry the items: nothing is lost silently.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "redact",
    "DdbkitError",
    "ClientValidationError",
    "CodecError",
    "ExpressionError",
    "CursorError",
    "ConfigurationError",
    "NoRegionError",
    "NoCredentialsError",
    "DynamoDBError",
    "ConditionalCheckFailed",
    "ThrottledError",
    "ServiceError",
    "ConnectionFailed",
    "CorruptResponse",
    "ResourceNotFound",
    "ResourceInUse",
    "ServiceValidationError",
    "AccessDenied",
    "TransactionCanceled",
    "TransactionConflict",
    "IdempotentParameterMismatch",
    "ItemCollectionSizeLimitExceeded",
    "CancellationReason",
    "BatchWriteError",
    "BatchGetError",
    "error_from_response",
    "connection_failed",
    "not_a_dynamodb_reply",
    "verify_reply",
    "damaged_error_reply",
    "name_resource",
    "RETRYABLE_CODES",
    "RETRYABLE_CANCELLATION_REASONS",
]


class DdbkitError(Exception):
    """Base class of every ddbkit error."""


# --------------------------------------------------------------------------------------------------
# Refused before sending
# --------------------------------------------------------------------------------------------------


class ClientValidationError(DdbkitError, ValueError):
    """The input breaks a DynamoDB rule; nothing was sent. ``path`` locates the offending value."""

    def __init__(self, message: str, path: str = "", rule: str = "") -> None:
        self.path = path
        self.rule = rule
        self.reason = message
        where = f"{path}: " if path else ""
        tag = f" [{rule}]" if rule else ""
        super().__init__(f"{where}{message}{tag}")


class CodecError(ClientValidationError):
    """A Python value cannot be stored in DynamoDB as given (type, range, size, nesting)."""


class ExpressionError(ClientValidationError):
    """An expression is malformed, too long, or uses a reserved word without a placeholder."""


class CursorError(ClientValidationError):
    """A pagination cursor is malformed, tampered with, or belongs to another query."""


# --------------------------------------------------------------------------------------------------
# Not configured (nothing was sent)
# --------------------------------------------------------------------------------------------------


class ConfigurationError(DdbkitError):
    """The client cannot send anything: no region, no credentials. Same wording as botocore's errors,
    whichever transport found it."""


class NoRegionError(ConfigurationError, ValueError):
    """No AWS region from the arguments, the session, ``AWS_REGION``/``AWS_DEFAULT_REGION`` or the config file."""

    def __init__(self, message: str = "You must specify a region.") -> None:
        super().__init__(message)


class NoCredentialsError(ConfigurationError):
    """botocore's credential chain found nothing (environment, profiles, SSO, container, instance metadata)."""

    def __init__(self, message: str = "Unable to locate credentials") -> None:
        super().__init__(message)


# --------------------------------------------------------------------------------------------------
# Failed at the service
# --------------------------------------------------------------------------------------------------

_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s'\"<>]+@")
_AUTH_HEADER = re.compile(r"(?i)\b((?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?)(basic|bearer|aws4-hmac-sha256)?\s*[^\s'\",}]+")
_NOT_JSON = re.compile(r"(body that is not a JSON object)[\s\S]*")


def redact(text: str) -> str:
    """``text`` without credentials: ``user:password@`` in URLs (proxy errors carry them) and
    Authorization/Proxy-Authorization header values. Used on every message a :class:`DynamoDBError` holds."""
    text = _URL_CREDENTIALS.sub(r"\1***@", text)
    return _AUTH_HEADER.sub(lambda m: m.group(1) + (m.group(2) + " " if m.group(2) else "") + "***", text)


def _redact_message(code: str, message: str) -> str:
    message = redact(message)
    if code == "InvalidResponse":
        # the body is the response: item values. Never in a message or log line (DDBKIT_LOG_ITEMS=1 logs the
        # request; the raw body stays on ``error.response["body"]`` for a debugger)
        message = _NOT_JSON.sub(r"\1 (body withheld: it may hold item values)", message)
    return message



class DynamoDBError(DdbkitError):
    """DynamoDB (or the connection to it) returned an error.

    ``code`` is DynamoDB's error code (``ConditionalCheckFailedException``...), ``message`` its text.
    ``retryable`` says whether the retry policy may send the same request again. ``retried`` is True when
    the call was sent more than once before this error (an earlier attempt may have been applied: see
    docs/reliability.md). ``token`` is the ``ClientRequestToken`` of a failed ``transact_write``: call
    again with ``token=`` it to retry without applying twice (10-minute window).
    """

    retryable = False
    retried = False
    token: str | None = None

    def __init__(self, code: str, message: str = "", *, operation: str = "", status: int | None = None,
                 response: Mapping[str, Any] | None = None) -> None:
        self.code = code
        clean = _redact_message(code, message)
        if clean != message and not response:
            response = {"body": message}
        self.message = message = clean
        self.operation = operation
        self.status = status
        self.response: Mapping[str, Any] = response or {}
        op = f"{operation}: " if operation else ""
        super().__init__(f"{op}{code}: {message}" if message else f"{op}{code}")


class ConditionalCheckFailed(DynamoDBError):
    """The condition expression was false. ``item`` is the current item when ReturnValuesOnConditionCheckFailure
    asked for it (plain Python), else None."""

    item: dict[str, Any] | None = None
    #: the item as DynamoDB sent it (wire format); decoded into ``item`` by the layer that owns the codec
    wire_item: Mapping[str, Any] | None = None


class ThrottledError(DynamoDBError):
    """Throughput exceeded / throttled / request limit; retried with backoff by the retry policy."""

    retryable = True


class ServiceError(DynamoDBError):
    """5xx from DynamoDB (InternalServerError, ServiceUnavailable); retried with backoff."""

    retryable = True


class ConnectionFailed(DynamoDBError):
    """The connection failed or timed out before a complete response; retried with backoff.

    ``endpoint`` is the URL that was called. The request may or may not have been applied."""

    retryable = True
    endpoint: str | None = None


class CorruptResponse(ConnectionFailed):
    """The response failed its ``x-amz-crc32`` check or its body was cut short / not JSON: it is not trusted
    (never read as an empty success) and the call is retried like a connection failure."""


class ResourceNotFound(DynamoDBError):
    """The table or index does not exist (or is not ACTIVE yet). ``table`` and ``index`` name it when the
    request did (one table; a batch or transaction over several names them all in the message)."""

    table: str | None = None
    index: str | None = None


class ResourceInUse(DynamoDBError):
    """The table is being created, updated or deleted."""


class ServiceValidationError(DynamoDBError):
    """DynamoDB rejected the request as invalid (ValidationException)."""


class AccessDenied(DynamoDBError):
    """IAM denied the call (AccessDeniedException, UnrecognizedClientException...)."""


class ItemCollectionSizeLimitExceeded(DynamoDBError):
    """An item collection of a table with an LSI exceeded 10 GB."""


class IdempotentParameterMismatch(DynamoDBError):
    """A ClientRequestToken was reused with different parameters."""


class TransactionConflict(DynamoDBError):
    """The same ClientRequestToken is still being processed (TransactionInProgressException); retryable."""

    retryable = True


@dataclass(frozen=True)
class CancellationReason:
    """Why one action of a cancelled transaction failed (``code`` is None for actions that were fine)."""

    index: int
    code: str | None
    message: str | None = None
    item: dict[str, Any] | None = None
    #: the item as DynamoDB sent it (wire format); ``item`` is its decoded form, filled in by the transport
    wire_item: Mapping[str, Any] | None = None


# Cancellation reasons that say "try again later", not "your request is wrong": a transaction cancelled only
# for these is retried (same request, same ClientRequestToken), like a throttle.
RETRYABLE_CANCELLATION_REASONS = frozenset({"TransactionConflict", "ProvisionedThroughputExceeded",
                                            "ThrottlingError", "RequestLimitExceeded"})


class TransactionCanceled(DynamoDBError):
    """TransactWriteItems/TransactGetItems was cancelled; ``reasons`` has one entry per action, in order.

    ``retryable`` when every failed action failed only for a transient reason (``TransactionConflict`` with
    another transaction or write, throughput): the retry policy resends it with the same token. A
    ``ConditionalCheckFailed`` (or validation) reason is final. ``token`` is the request's ClientRequestToken.
    """

    def __init__(self, code: str, message: str = "", *, operation: str = "", status: int | None = None,
                 response: Mapping[str, Any] | None = None,
                 reasons: Sequence[CancellationReason] = ()) -> None:
        super().__init__(code, message, operation=operation, status=status, response=response)
        self.reasons = list(reasons)
        failed = self.failed
        self.retryable = bool(failed) and all(r.code in RETRYABLE_CANCELLATION_REASONS for r in failed)

    @property
    def failed(self) -> list[CancellationReason]:
        """The reasons of the actions that actually failed."""
        return [r for r in self.reasons if r.code not in (None, "None")]


# --------------------------------------------------------------------------------------------------
# Batch results that could not be completed
# --------------------------------------------------------------------------------------------------


class BatchWriteError(DdbkitError):
    """Some writes of a batch could not be applied within the retry budget.

    ``unprocessed`` holds every request *not known to be written*, as the caller gave it: ``("put", item)``
    or ``("delete", key)``. It is not "exactly the requests not applied": when the last attempt of a chunk
    failed without an answer (reset, timeout, corrupt reply) its requests are listed although DynamoDB may
    have applied some or all of them. They are **safe to resend** (puts and deletes are idempotent, and
    the last request per key is the one kept). ``written`` counts the requests known to be written.
    ``cause`` is the last service error, if the failure was an error rather than unprocessed items left
    after the last attempt.
    """

    def __init__(self, unprocessed: Sequence[tuple[str, dict[str, Any]]], written: int,
                 cause: BaseException | None = None) -> None:
        self.unprocessed = list(unprocessed)
        self.written = written
        self.cause = cause
        why = f" (last error: {cause})" if cause else " (retries exhausted)"
        # the documented contract, not "not applied": a chunk whose reply was lost may have been written
        super().__init__(f"{len(self.unprocessed)} write(s) not known to be written (safe to resend), "
                         f"{written} written{why}")

    @property
    def items(self) -> list[dict[str, Any]]:
        """The put items among the unprocessed requests."""
        return [v for kind, v in self.unprocessed if kind == "put"]


class BatchGetError(DdbkitError):
    """Some keys of a batch get could not be read within the retry budget.

    ``unprocessed`` are the keys not read (whether they exist is unknown: read them again); ``items`` the
    items read (request order); ``missing`` the keys read and found to have no item; ``cause`` as above.
    """

    def __init__(self, unprocessed: Sequence[Mapping[str, Any]], items: Sequence[dict[str, Any]],
                 cause: BaseException | None = None, missing: Sequence[Mapping[str, Any]] = ()) -> None:
        self.unprocessed = list(unprocessed)
        self.items = list(items)
        self.missing = list(missing)
        self.cause = cause
        why = f" (last error: {cause})" if cause else " (retries exhausted)"
        super().__init__(f"{len(self.unprocessed)} key(s) not read, {len(self.items)} read{why}")


# --------------------------------------------------------------------------------------------------
# Mapping service codes
# --------------------------------------------------------------------------------------------------

_BY_CODE: dict[str, type[DynamoDBError]] = {
    "ConditionalCheckFailedException": ConditionalCheckFailed,
    "ProvisionedThroughputExceededException": ThrottledError,
    "ThrottlingException": ThrottledError,
    "RequestLimitExceeded": ThrottledError,
    "LimitExceededException": ThrottledError,
    "InternalServerError": ServiceError,
    "InternalFailure": ServiceError,
    "ServiceUnavailable": ServiceError,
    "ServiceUnavailableException": ServiceError,
    "ResourceNotFoundException": ResourceNotFound,
    "ResourceInUseException": ResourceInUse,
    "ValidationException": ServiceValidationError,
    "SerializationException": ServiceValidationError,
    "AccessDeniedException": AccessDenied,
    "UnrecognizedClientException": AccessDenied,
    "MissingAuthenticationTokenException": AccessDenied,
    "InvalidSignatureException": AccessDenied,
    "ExpiredTokenException": AccessDenied,
    "TransactionCanceledException": TransactionCanceled,
    "TransactionInProgressException": TransactionConflict,
    "IdempotentParameterMismatchException": IdempotentParameterMismatch,
    "ItemCollectionSizeLimitExceededException": ItemCollectionSizeLimitExceeded,
}

RETRYABLE_CODES = frozenset(code for code, cls in _BY_CODE.items() if cls.retryable)


def error_from_response(code: str, message: str, *, operation: str = "", status: int | None = None,
                        response: Mapping[str, Any] | None = None) -> DynamoDBError:
    """The ddbkit exception for a DynamoDB error code (shared by every transport).

    A bare namespace (``com.amazonaws.dynamodb.v20120810#ThrottlingException``) is stripped. Unknown
    codes with a 5xx status are :class:`ServiceError` (retryable); other unknown codes the base class.
    """
    code = code.rsplit("#", 1)[-1]
    cls = _BY_CODE.get(code)
    if cls is None:
        cls = ServiceError if status is not None and status >= 500 else DynamoDBError
    if cls is TransactionCanceled:
        # items stay in wire form here (errors never imports the codec): ddbkit.transport decodes them
        reasons = [CancellationReason(i, r.get("Code"), r.get("Message"), None, r.get("Item") or None)
                   for i, r in enumerate((response or {}).get("CancellationReasons", []) or [])]
        return TransactionCanceled(code, message, operation=operation, status=status, response=response,
                                   reasons=reasons)
    err = cls(code, message, operation=operation, status=status, response=response)
    if isinstance(err, ConditionalCheckFailed) and response and response.get("Item"):
        err.wire_item = response["Item"]
    return err


def name_resource(error: BaseException, request: Mapping[str, Any]) -> BaseException:
    """Name the table (and index) in a :class:`ResourceNotFound` from the ``request`` that failed.

    DynamoDB answers only "Requested resource not found"; the request says which table (``TableName``),
    which index (``IndexName``), or which tables of a batch or transaction. Other errors pass unchanged.
    """
    if not isinstance(error, ResourceNotFound) or error.table is not None:
        return error
    tables: list[str] = []
    if isinstance(request.get("TableName"), str):
        tables.append(request["TableName"])
    for name in request.get("RequestItems") or {}:
        tables.append(str(name))
    for action in request.get("TransactItems") or ():
        for body in action.values() if isinstance(action, Mapping) else ():
            name = body.get("TableName") if isinstance(body, Mapping) else None
            if name and name not in tables:
                tables.append(str(name))
    if not tables:
        return error
    index = request.get("IndexName")
    error.table = tables[0] if len(tables) == 1 else None
    error.index = str(index) if index else None
    what = (f"index {index!r} of table {tables[0]!r}" if index else f"table {tables[0]!r}") if len(tables) == 1 \
        else "one of the tables " + ", ".join(repr(t) for t in tables)
    error.message = f"{error.message or 'Requested resource not found'}: {what} does not exist or is not ACTIVE"
    op = f"{error.operation}: " if error.operation else ""
    error.args = (f"{op}{error.code}: {error.message}",)
    return error


_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-fA-F]+>:?\s*")
_POOL = re.compile(r"\b\w+\(host='[^']*', port=\d+\):\s*")
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
_CAUSED_BY = re.compile(r"\(Caused by \w+\((.*)\)\)\s*$", re.S)


def _reason(error: BaseException) -> str:
    """A readable reason for a connection error: no object reprs, no urllib3 pool boilerplate."""
    text = str(error).strip() or type(error).__name__
    caused = _CAUSED_BY.search(text)
    if caused:  # urllib3's MaxRetryError wraps the real cause
        text = caused.group(1).strip().strip("'\"")
    text = _USERINFO.sub("***@", _POOL.sub("", _REPR.sub("", text))).strip()  # no proxy passwords either
    return text or type(error).__name__


def _check_region(region: str | None) -> str:
    return f"check the region ({region or 'none set'}) and the endpoint URL"


def connection_failed(error: BaseException, operation: str, endpoint: str | None,
                      region: str | None = None) -> ConnectionFailed:
    """The :class:`ConnectionFailed` for a low-level error (socket, urllib3, aiohttp, botocore), in botocore's
    wording and naming the endpoint URL, never an object repr. Shared by every transport.

    A connection that cannot be made at all (no such host, refused) says to check the region too: a region
    with no DynamoDB endpoint (``xx-nowhere-1``) fails exactly so."""
    reason = _reason(error)
    name = type(error).__name__
    lower = f"{name} {reason}".lower()
    if "connecttimeout" in lower.replace(" ", ""):
        what = "Connect timeout on endpoint URL"
    elif "timeout" in lower or "timed out" in lower:
        what = "Read timeout on endpoint URL"
    elif any(s in lower for s in ("refused", "newconnection", "connector", "could not connect",
                                  "name or service", "nodename", "getaddrinfo", "no route")):
        what = "Could not connect to the endpoint URL"
    else:
        what = "Connection was closed before a complete response from endpoint URL"
    if endpoint and endpoint in reason:  # botocore's own message already names it
        message = reason
    else:
        message = f'{what}: "{endpoint or "(unknown)"}" ({reason})'
    if what == "Could not connect to the endpoint URL":
        message = f"{message}: {_check_region(region)}"
    err = ConnectionFailed(name, message, operation=operation)
    err.endpoint = endpoint
    return err


def not_a_dynamodb_reply(error: BaseException, endpoint: str | None, region: str | None) -> BaseException:
    """Reword an error reply that carries no DynamoDB error code (both the fast path and botocore then use the
    bare HTTP status as the code): an HTML page from an emulator that does not know the region (moto answers
    ``xx-nowhere-1`` with its 500 page), a proxy or a load balancer. Its body is never the message nor kept
    on ``response`` (it is not DynamoDB's, and may be a whole page); the one-line message names the endpoint
    and the region and says to check them. The error's class (so its retryability) is kept; others pass."""
    if not isinstance(error, DynamoDBError) or not error.code.isdigit():
        return error
    error.message = (f'HTTP {error.code} from "{endpoint or "(unknown)"}" is not a DynamoDB reply (body withheld): '
                     f"{_check_region(region)}")
    error.response = {}
    op = f"{error.operation}: " if error.operation else ""
    error.args = (f"{op}{error.code}: {error.message}",)
    return error


def damaged_error_reply(operation: str, status: int, body: bytes, data: Any) -> CorruptResponse | None:
    """The :class:`CorruptResponse` for an error reply (status other than 200) that is damaged, else None.

    ``data`` is ``body`` parsed as JSON (None if it is not JSON). DynamoDB's error replies are JSON objects
    with ``__type``: a body that starts like JSON but is not such an object (cut short, framed as complete,
    no CRC) is damage in transit, not an answer, whatever the status: retryable, and its body withheld (a
    ConditionalCheckFailed reply carries the stored item). A body that is empty or not JSON at all (a load
    balancer's or proxy's 503, text or HTML page) is a bare HTTP error, as botocore reads it.
    """
    if isinstance(data, dict) and (data.get("__type") or data.get("code")):
        return None
    if body.lstrip()[:1] not in (b"{", b"["):  # empty, text, HTML: not JSON at all
        return None
    return CorruptResponse("InvalidResponse", f"HTTP {status} error reply that is not a complete JSON error "
                           "(body withheld: it may hold item values)", operation=operation, status=status)


def verify_reply(operation: str, status: int, body: bytes, crc32: str | None,
                 content_length: str | int | None = None) -> None:
    """Raise :class:`CorruptResponse` unless ``body`` is the whole, intact reply.

    DynamoDB sends ``x-amz-crc32`` over the body as sent: a mismatch means damage in transit. A body shorter
    than its ``Content-Length`` was cut. Without a CRC (emulators, proxies), a 200 whose body is not a JSON
    object is damaged too: botocore would read it as an empty success (no ``Item``, no
    ``UnprocessedItems``, no ``LastEvaluatedKey``). Every transport calls this before trusting a reply.
    """
    if content_length is not None and str(content_length).strip().isdigit() and int(content_length) != len(body):
        raise CorruptResponse("IncompleteResponse", f"response body ended after {len(body)} of {int(content_length)} "
                              f"bytes (HTTP {status})", operation=operation, status=status)
    if crc32 is not None and crc32.strip().isdigit():
        if int(crc32) != zlib.crc32(body) & 0xFFFFFFFF:
            raise CorruptResponse("CRC32CheckFailed", f"response CRC32 mismatch (HTTP {status})", operation=operation,
                                  status=status)
        if status == 200:
            return
    if status != 200:
        import json

        try:
            data = json.loads(body) if body.strip() else None
        except ValueError:
            data = None
        damaged = damaged_error_reply(operation, status, body, data)
        if damaged is not None:
            raise damaged
        return
    if status == 200:
        import json

        try:
            data = json.loads(body) if body.strip() else None
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise CorruptResponse("InvalidResponse", f"HTTP 200 with a body that is not a JSON object: {body[:200]!r}",
                                  operation=operation, status=status)

