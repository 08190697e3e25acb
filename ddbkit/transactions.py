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
from ddbkit.expressions import Condition
from ddbkit.expressions import Update as UpdateExpr

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
