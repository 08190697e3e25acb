"""Tracing behind a two-method interface; X-Ray (``xray``) and OpenTelemetry (``otel``) are opt-in layers.

The interface (:mod:`ddbkit.tracing.api`) imports only the standard library, so it is re-exported as is.
"""

from __future__ import annotations

from ddbkit.tracing.api import NoopTracer, Span, Tracer, current, set_tracer

__all__ = ["NoopTracer", "Span", "Tracer", "current", "set_tracer"]
