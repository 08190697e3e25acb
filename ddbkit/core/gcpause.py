"""Pausing Python's cyclic garbage collector around allocation-heavy work that creates no reference cycles.

Why (issue 26): a bulk write or batch read of nested items allocates tens of thousands of short-lived
containers (dicts, lists) per second. Each 700 net allocations trigger a collection, and the objects in flight
get promoted, so the older generations' collections traverse every live object of the process: with 2 million
other live dicts around, the collector was 57% of a nested bulk write's CPU (89 of 156 µs per item,
/tmp probe in the closing note; 35-59% in the issue's independent profile). ddbkit's own batch path creates no
reference cycles (tests/core/test_gc_pause.py checks that nothing is left for the collector), so a collection
during it can free nothing of ours: it is pure cost.

:func:`paused` turns the collector off while any paused region runs (a process-wide count: overlapping regions
on several threads pause it once) and back on when the last one ends, also on error, only if it was on at the
start. Other threads' reference cycles made meanwhile are collected after the pause, not lost. A fork in the
middle leaves the child with the collector on. ``DDBKIT_GC_PAUSE=0`` turns the whole mechanism off.
"""

from __future__ import annotations

import gc
import os
import threading
from contextlib import AbstractContextManager, nullcontext

__all__ = ["paused", "paused_for", "pausing_enabled", "PAGE_BYTES"]

_lock = threading.Lock()
_depth = 0
_resume = False


def pausing_enabled() -> bool:
    """False when ``DDBKIT_GC_PAUSE=0``: ddbkit then never touches the collector."""
    return os.environ.get("DDBKIT_GC_PAUSE", "1").strip() != "0"


class _Paused:
    """The context manager :func:`paused` returns (a class, not a generator: leaving it allocates nothing, so
    the collection the pause held back runs in the caller's next allocation, not inside ddbkit's call)."""

    __slots__ = ("active",)

    def __init__(self) -> None:
        self.active = False

    def __enter__(self) -> None:
        global _depth, _resume
        if not pausing_enabled():
            return
        self.active = True
        with _lock:
            if _depth == 0:
                _resume = gc.isenabled()
                if _resume:
                    gc.disable()
            _depth += 1

    def __exit__(self, *exc: object) -> None:
        global _depth, _resume
        if not self.active:
            return
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                _resume = False
                gc.enable()


def paused() -> AbstractContextManager[None]:
    """Run the block with the cyclic collector off (see the module docstring for when that is right)."""
    return _Paused()


#: A reply this large (a Query/Scan page, a batch get) decodes into tens of thousands of containers: worth a pause.
PAGE_BYTES = 64 * 1024
_NO_PAUSE: AbstractContextManager[None] = nullcontext()


def paused_for(reply: bytes) -> AbstractContextManager[None]:
    """:func:`paused` for a reply of :data:`PAGE_BYTES` or more; nothing for a smaller one (a single item's reply
    is too small for a collection to matter, and a pause would add its lock and environment read to every call)."""
    return paused() if len(reply) >= PAGE_BYTES else _NO_PAUSE


def _after_fork_in_child() -> None:
    # the pausing thread does not exist in the child: start it with the collector as it was before the pause
    global _lock, _depth, _resume
    _lock = threading.Lock()
    if _depth and _resume:
        gc.enable()
    _depth, _resume = 0, False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
