"""Consumed capacity and call accounting, per client, and the log lines that go with it.

Every response's ``ConsumedCapacity`` is added up (per table and index), with call, retry, throttle and
error counts per operation. The totals feed ``ddbkit.ops.capacity`` (custom metrics) and tracing.
Thread-safe: batch operations record from several threads at once.

Retries are logged at DEBUG and final failures at WARNING on the ``ddbkit`` logger, with the operation,
the error code and DynamoDB's message: never item values or credentials. The request itself (item
values included) is logged only when debug item logging is turned on explicitly
(``DDBKIT_LOG_ITEMS=1`` or :func:`log_items`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Usage", "UsageSnapshot", "log_items", "log"]

log = logging.getLogger("ddbkit")
_LOG_ITEMS = [os.environ.get("DDBKIT_LOG_ITEMS", "") in ("1", "true", "yes")]


def log_items(enabled: bool) -> None:
    """Turn debug item logging on or off: failed requests are then logged with their items (DEBUG)."""
    _LOG_ITEMS[0] = enabled


@dataclass
class UsageSnapshot:
    """Totals at one moment (a copy; later calls do not change it)."""

    read_units: float = 0.0
    write_units: float = 0.0
    by_resource: dict[str, dict[str, float]] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    retries: dict[str, int] = field(default_factory=dict)
    throttles: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def total_retries(self) -> int:
        return sum(self.retries.values())


_READ_OPS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})


class Usage:
    """Running totals for one client."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._zero()

    def _zero(self) -> None:
        self._read = 0.0
        self._write = 0.0
        self._by_resource: dict[str, dict[str, float]] = defaultdict(lambda: {"read": 0.0, "write": 0.0})
        self._calls: dict[str, int] = defaultdict(int)
        self._retries: dict[str, int] = defaultdict(int)
        self._throttles: dict[str, int] = defaultdict(int)
        self._errors: dict[str, int] = defaultdict(int)

    def record(self, operation: str, response: dict[str, Any]) -> None:
        """Count a successful call and add its consumed capacity."""
        cc = response.get("ConsumedCapacity")
        with self._lock:
            self._calls[operation] += 1
            if not cc:
                return
            kind = "read" if operation in _READ_OPS else "write"
            for c in cc if isinstance(cc, list) else [cc]:
                units = float(c.get("CapacityUnits") or 0.0)
                table = str(c.get("TableName", ""))
                if kind == "read":
                    self._read += units
                else:
                    self._write += units
                self._by_resource[table][kind] += units
                for idx_kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
                    for name, ic in (c.get(idx_kind) or {}).items():
                        self._by_resource[f"{table}/index/{name}"][kind] += float(ic.get("CapacityUnits") or 0.0)

    def record_retry(self, operation: str, error: BaseException) -> None:
        from ddbkit.errors import ThrottledError

        with self._lock:
            self._retries[operation] += 1
            if isinstance(error, ThrottledError):
                self._throttles[operation] += 1
        log.debug("ddbkit retry %s after %s", operation, _describe(error))

    def record_error(self, operation: str, error: BaseException, request: dict[str, Any] | None = None) -> None:
        with self._lock:
            self._errors[operation] += 1
        # a failed condition is an answer the caller asked for, not a fault: DEBUG, not WARNING
        level = logging.DEBUG if getattr(error, "code", "") in _EXPECTED else logging.WARNING
        log.log(level, "ddbkit %s failed: %s", operation, _describe(error))
        if _LOG_ITEMS[0] and request is not None:
            log.debug("ddbkit %s request (debug item logging on): %r", operation, request)

    def _copy(self) -> UsageSnapshot:
        return UsageSnapshot(self._read, self._write, {k: dict(v) for k, v in self._by_resource.items()},
                             dict(self._calls), dict(self._retries), dict(self._throttles), dict(self._errors))

    def snapshot(self) -> UsageSnapshot:
        with self._lock:
            return self._copy()

    def reset(self) -> UsageSnapshot:
        """Return the totals and start again from zero."""
        with self._lock:
            snap = self._copy()
            self._zero()
        return snap


_EXPECTED = frozenset({"ConditionalCheckFailedException", "TransactionCanceledException"})


def _describe(error: BaseException) -> str:
    # DynamoDB's code and message only: the service's messages name rules, not values
    code = getattr(error, "code", type(error).__name__)
    message = getattr(error, "message", "")
    return f"{code}: {message}" if message else str(code)
