"""Tracing behind a small interface, so X-Ray and OpenTelemetry plug in the same way.

ddbkit opens a span per operation (and per stream record) through :func:`current`; with no tracer
configured it is a no-op costing one attribute lookup. ``ddbkit.tracing.xray`` provides the X-Ray tracer and
``ddbkit.tracing.otel`` the OpenTelemetry one, each imported only when turned on (``DDBKIT_TRACING=xray`` /
``DDBKIT_TRACING=otel``, ``tracing="xray"``/``"otel"``/``True`` on a client, or :func:`set_tracer`).
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
    """The active tracer: the one set, else ``DDBKIT_TRACING``'s (``xray`` or ``otel``), else a no-op."""
    global _tracer
    if _tracer is None:
        _tracer = _named(os.environ.get("DDBKIT_TRACING", "").strip().lower()) or NoopTracer()
    return _tracer


def _named(name: str) -> Any:
    if name == "xray":
        from ddbkit.tracing.xray import XRayTracer

        return XRayTracer()
    if name in ("otel", "opentelemetry"):
        from ddbkit.tracing.otel import OTelTracer

        return OTelTracer()
    return None


def resolve(choice: Any) -> Any:
    """The tracer for a client's ``tracing=`` argument: True -> X-Ray, ``"xray"``/``"otel"`` -> that tracer,
    a tracer -> it, None/False -> the process-wide choice (:func:`current`, i.e. ``DDBKIT_TRACING``) or
    nothing when False."""
    if isinstance(choice, str):
        tracer = _named(choice.strip().lower())
        if tracer is None:
            raise ValueError(f"unknown tracing {choice!r}: use 'xray', 'otel', True/False or a Tracer")
        return tracer
    if choice is None:
        return current()
    if choice is False:
        return NoopTracer()
    if choice is True:
        from ddbkit.tracing.xray import XRayTracer

        return XRayTracer()
    return choice


def result_count(result: Any) -> int | None:
    """How many items a ddbkit operation returned or wrote (for the ``items`` annotation)."""
    if result is None:
        return 0
    if isinstance(result, dict):
        return 1
    written = getattr(result, "written", None)
    if isinstance(written, int):
        return written
    if isinstance(result, (list, tuple)) or hasattr(result, "__len__"):
        try:
            return len(result)
        except TypeError:  # pragma: no cover
            return None
    return None


class traced:
    """Context manager around one ddbkit operation: a span named ``<table>.<operation>`` with the table,
    index, operation, item count, consumed capacity and retries. Used by the sync and async clients.

    With the no-op tracer it does nothing but one attribute check. Item values are never annotated.
    """

    __slots__ = ("_tracer", "_cm", "_span", "_usage", "_before", "table", "operation", "index", "result")

    def __init__(self, tracer: Any, table: str, operation: str, usage: Any, index: str | None = None) -> None:
        self._tracer = tracer
        self.table, self.operation, self.index, self._usage = table, operation, index, usage
        self.result: Any = None
        self._cm: Any = None

    def __enter__(self) -> traced:
        if getattr(self._tracer, "enabled", False):
            self._before = self._usage.snapshot()
            self._cm = self._tracer.span(f"{self.table}.{self.operation}")
            self._span = self._cm.__enter__()
            self._span.annotate("table", self.table)
            self._span.annotate("operation", self.operation)
            if self.index:
                self._span.annotate("index", self.index)
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if self._cm is None:
            return
        after = self._usage.snapshot()
        span = self._span
        span.annotate("retries", after.total_retries - self._before.total_retries)
        span.annotate("consumed_read_units", round(after.read_units - self._before.read_units, 3))
        span.annotate("consumed_write_units", round(after.write_units - self._before.write_units, 3))
        if exc is not None:
            span.annotate("error", type(exc).__name__)
            span.error(exc)
        else:
            count = result_count(self.result)
            if count is not None:
                span.annotate("items", count)
        self._cm.__exit__(exc_type, exc, tb)
