"""ddbkit's exception hierarchy.

Two families:

* :class:`ClientValidationError` — ddbkit refused the input *before* sending anything (bad value, item
  too large, too many items in a transaction...). It names the attribute path or item and the rule.
* :class:`DynamoDBError` — the service (or the connection to it) failed. It keeps DynamoDB's error
  ``code`` and ``message``, the ``operation`` and HTTP ``status``; subclasses exist for the codes callers
  branch on. :func:`error_from_response` maps a code to its class; every transport uses it.

Batch and transaction failures carry the items: nothing is lost silently.
"""

from __future__ import annotations

import re
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
    "DynamoDBError",
    "ConditionalCheckFailed",
    "ThrottledError",
    "ServiceError",
    "ConnectionFailed",
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
    "RETRYABLE_CODES",
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
    ``retryable`` says whether the retry policy may send the same request again.
    """

    retryable = False

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
    """The connection failed or timed out before a response; retried with backoff."""

    retryable = True


class ResourceNotFound(DynamoDBError):
    """The table or index does not exist (or is not ACTIVE yet)."""


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
    """Another transaction is in progress on an item (TransactionInProgressException); retryable."""

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


class TransactionCanceled(DynamoDBError):
    """TransactWriteItems/TransactGetItems was cancelled; ``reasons`` has one entry per action, in order."""

    def __init__(self, code: str, message: str = "", *, operation: str = "", status: int | None = None,
                 response: Mapping[str, Any] | None = None,
                 reasons: Sequence[CancellationReason] = ()) -> None:
        super().__init__(code, message, operation=operation, status=status, response=response)
        self.reasons = list(reasons)

    @property
    def failed(self) -> list[CancellationReason]:
        """The reasons of the actions that actually failed."""
        return [r for r in self.reasons if r.code not in (None, "None")]


# --------------------------------------------------------------------------------------------------
# Batch results that could not be completed
# --------------------------------------------------------------------------------------------------


class BatchWriteError(DdbkitError):
    """Some writes of a batch could not be applied within the retry budget.

    ``unprocessed`` holds every request not known to be written, as the caller gave it: ``("put", item)``
    or ``("delete", key)``. ``written`` counts the ones that were. ``cause`` is the last service error, if
    the failure was an error rather than unprocessed items left after the last attempt.
    """

    def __init__(self, unprocessed: Sequence[tuple[str, dict[str, Any]]], written: int,
                 cause: BaseException | None = None) -> None:
        self.unprocessed = list(unprocessed)
        self.written = written
        self.cause = cause
        why = f" (last error: {cause})" if cause else " (retries exhausted)"
        super().__init__(f"{len(self.unprocessed)} write(s) not applied, {written} applied{why}")

    @property
    def items(self) -> list[dict[str, Any]]:
        """The put items among the unprocessed requests."""
        return [v for kind, v in self.unprocessed if kind == "put"]


class BatchGetError(DdbkitError):
    """Some keys of a batch get could not be read within the retry budget.

    ``unprocessed`` are the keys not read; ``items`` the ones read (request order); ``cause`` as above.
    """

    def __init__(self, unprocessed: Sequence[Mapping[str, Any]], items: Sequence[dict[str, Any]],
                 cause: BaseException | None = None) -> None:
        self.unprocessed = list(unprocessed)
        self.items = list(items)
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
