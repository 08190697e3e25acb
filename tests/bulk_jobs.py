"""Module-level job functions for tests/test_bulk.py (picklable: process and Dask workers import them)."""

from __future__ import annotations

import threading
from typing import Any

from ddbkit.bulk import DROP, Put


class Killed(BaseException):
    """Stands for a worker killed mid-page: not an Exception, so nothing records or cleans up."""


_kill_lock = threading.Lock()
KILL_AFTER: dict[str, int] = {}   # job id -> calls left before the kill (in this process)


def count_up(item: dict[str, Any]) -> dict[str, Any]:
    """Non-idempotent: n += 1. Exactly-once needs the sink's marker."""
    return {**item, "n": int(item.get("n", 0)) + 1}


def count_up_then_die(item: dict[str, Any]) -> dict[str, Any]:
    with _kill_lock:
        left = KILL_AFTER.get("job", -1)
        if left == 0:
            raise Killed()
        if left > 0:
            KILL_AFTER["job"] = left - 1
    return count_up(item)


def drop_odd(item: dict[str, Any]) -> Any:
    return DROP if int(item["n"]) % 2 else None


def copy_rekeyed(item: dict[str, Any]) -> Any:
    return Put({"pk": f"copy#{item['pk']}", "value": item.get("value")})


def upper_name(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "name": str(item["name"]).upper()}
