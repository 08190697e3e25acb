"""Transactions: TransactWriteItems / TransactGetItems actions, checked before sending.

Actions are plain descriptions (:class:`Put`, :class:`Update`, :class:`Delete`, :class:`ConditionCheck`,
:class:`Get`) naming an optional other table; ``Table.transact_write``/``transact_get`` build the request.
Checked client-side: at most 100 actions, at most 4 MB, no two actions on one item. Every write
transaction carries a ``ClientRequestToken`` (generated unless given) that is reused when the call is
retried, so DynamoDB applies a retried transaction at most once (idempotency window: 10 minutes).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ddbkit.errors import ClientValidationError
from ddbkit.errors import ConditionalCheckFailed, DynamoDBError, TransactionCanceled  # exactly-once writes
from ddbkit.core.expressions import Condition
from ddbkit.core.expressions import Update as UpdateExpr

__all__ = ["Put", "Update", "Delete", "ConditionCheck", "Get", "MAX_ACTIONS", "MAX_BYTES", "new_token"]

MAX_ACTIONS = 100
MAX_BYTES = 4 * 1024 * 1024


@dataclass
class Put:
    item: Mapping[str, Any]
    condition: Condition | str | None = None
    names: Mapping[str, str] | None = None
    values: Mapping[str, Any] | None = None
    table: Any = None  # a Table or table name; None = the table transact_write is called on
    return_on_failure: bool = False


@dataclass
class Update:
    key: Mapping[str, Any]
    update: UpdateExpr | str
    condition: Condition | str | None = None
    names: Mapping[str, str] | None = None
    values: Mapping[str, Any] | None = None
    table: Any = None
    return_on_failure: bool = False


@dataclass
class Delete:
    key: Mapping[str, Any]
    condition: Condition | str | None = None
    names: Mapping[str, str] | None = None
    values: Mapping[str, Any] | None = None
    table: Any = None
    return_on_failure: bool = False


@dataclass
class ConditionCheck:
    key: Mapping[str, Any]
    condition: Condition | str
    names: Mapping[str, str] | None = None
    values: Mapping[str, Any] | None = None
    table: Any = None
    return_on_failure: bool = False


@dataclass
class Get:
    key: Mapping[str, Any]
    projection: Sequence[str] | None = None
    table: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


WriteAction = Put | Update | Delete | ConditionCheck


def new_token() -> str:
    """A fresh idempotency token (36 chars; DynamoDB allows 1-36)."""
    return str(uuid.uuid4())


def check_actions(count: int, total_bytes: int, keys: Sequence[tuple[str, tuple[Any, ...]]]) -> None:
    """Client-side transaction limits: count, size, one action per item."""
    if count == 0:
        raise ClientValidationError("a transaction needs at least one action", "actions", "transaction.empty")
    if count > MAX_ACTIONS:
        raise ClientValidationError(f"{count} actions; a transaction allows at most {MAX_ACTIONS}", "actions",
                                    "transaction.count")
    if total_bytes > MAX_BYTES:
        raise ClientValidationError(f"transaction is {total_bytes} bytes; at most 4 MB", "actions",
                                    "transaction.size")
    seen: dict[tuple[str, tuple[Any, ...]], int] = {}
    for i, k in enumerate(keys):
        if k in seen:
            raise ClientValidationError(f"actions {seen[k]} and {i} target the same item of {k[0]}; DynamoDB allows "
                                        "one action per item in a transaction", f"actions[{i}]", "transaction.duplicate")
        seen[k] = i


# --------------------------------------------------------------------------------------------------
# Exactly-once single writes (a single-action transaction carrying a ClientRequestToken)
# --------------------------------------------------------------------------------------------------

__all__ += ["TOKEN_WINDOW_SECONDS", "WriteOutcomeUnknown", "single_action_error"]

TOKEN_WINDOW_SECONDS = 600.0
"""How long DynamoDB remembers a ClientRequestToken: a resend with the same token and request within this
window is acknowledged without being applied again; after it, the same request is applied as new."""


class WriteOutcomeUnknown(DynamoDBError):
    """An exactly-once write failed with an error that leaves its outcome unknown (a timeout, a reset, a 5xx
    or throttles after an attempt that may have applied) and the retry budget is spent.

    The write was applied once or not at all, never twice. ``token`` is the ClientRequestToken it used and
    ``request`` the TransactWriteItems request; ``Table.resend(error)`` sends that request again with the
    same token, which applies it at most once in total if done before ``resend_before`` (epoch seconds:
    the first send plus DynamoDB's 10-minute token window). ``cause`` is the last error.
    """

    def __init__(self, token: str, request: dict[str, Any], cause: DynamoDBError, first_sent: float) -> None:
        super().__init__(cause.code, f"not known to be applied (last error: {cause.message or cause.code}); "
                         f"resend with token {token!r} before the 10-minute token window ends",
                         operation="TransactWriteItems", status=cause.status, response=cause.response)
        self.token, self.request, self.cause = token, request, cause
        self.resend_before = first_sent + TOKEN_WINDOW_SECONDS


def single_action_error(err: TransactionCanceled) -> DynamoDBError:
    """The error a plain single-item write would have raised for a cancelled single-action transaction:
    :class:`ConditionalCheckFailed` (with ``item`` when it was asked for) if the condition failed, else
    ``err`` itself (a conflict with another transaction, a validation error...)."""
    reason = err.reasons[0] if err.reasons else None
    if reason is not None and reason.code == "ConditionalCheckFailed":
        failed = ConditionalCheckFailed("ConditionalCheckFailedException", reason.message or "The conditional "
                                        "request failed", operation="TransactWriteItems", status=err.status,
                                        response=err.response)
        failed.item = reason.item
        return failed
    return err
