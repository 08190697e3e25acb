"""Module-level job functions for tests/bulk/test_bulk.py (picklable: process and Dask workers import them)."""

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


class SigkillOnce:
    """count_up, but the ``after``-th call in a worker process SIGKILLs that process, once across every
    process and run: the first to create ``marker`` (O_EXCL) dies; later calls just count."""

    def __init__(self, marker: str, after: int) -> None:
        self.marker, self.after, self.calls = marker, after, 0
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"marker": self.marker, "after": self.after}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.marker, self.after, self.calls, self._lock = state["marker"], state["after"], 0, threading.Lock()

    def __call__(self, item: dict[str, Any]) -> dict[str, Any]:
        import os
        import signal

        with self._lock:
            self.calls += 1
            due = self.calls == self.after
        if due:
            try:
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                pass
            else:
                os.kill(os.getpid(), signal.SIGKILL)
        return count_up(item)
