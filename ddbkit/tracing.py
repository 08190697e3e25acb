"""Tracing behind a small interface, so X-Ray (today) or OpenTelemetry (later) plug in the same way.

ddbkit opens a span per operation (and per stream record) through :func:`current`; with no tracer
configured it is a no-op costing one attribute lookup. ``ddbkit.xray`` provides the X-Ray tracer,
imported only when tracing is turned on (``DDBKIT_TRACING=xray`` or :func:`set_tracer`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

__all__ = ["Span", "Tracer", "NoopTracer", "current", "set_tracer"]


class Span(Protocol):
    def annotate(self, key: str, value: str | int | float | bool) -> None:
        """Add an indexed annotation (table, operation, item count...). Never item values."""

    def error(self, exc: BaseException) -> None:
        """Record that the traced work failed with ``exc``."""


class Tracer(Protocol):
    def span(self, name: str, **annotations: Any) -> Any:
        """A context manager yielding a :class:`Span` named ``name``."""


class _NoopSpan:
    def annotate(self, key: str, value: str | int | float | bool) -> None:
        pass

    def error(self, exc: BaseException) -> None:
        pass


_NOOP_SPAN = _NoopSpan()


class NoopTracer:
    """The default: traces nothing."""

    enabled = False

    @contextmanager
    def span(self, name: str, **annotations: Any) -> Iterator[_NoopSpan]:
        yield _NOOP_SPAN


_tracer: Any = None


def set_tracer(tracer: Tracer | None) -> None:
    """Use ``tracer`` for every ddbkit operation from now on (None: back to the environment's choice)."""
    global _tracer
    _tracer = tracer


def current() -> Any:
    """The active tracer: the one set, else ``DDBKIT_TRACING=xray``'s X-Ray tracer, else a no-op."""
    global _tracer
    if _tracer is None:
        if os.environ.get("DDBKIT_TRACING", "").lower() == "xray":
            from ddbkit.xray import XRayTracer  # type: ignore[import-not-found,unused-ignore]

            _tracer = XRayTracer()
        else:
            _tracer = NoopTracer()
    return _tracer
