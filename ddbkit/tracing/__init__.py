"""Tracing behind a two-method interface; X-Ray (``xray``) and OpenTelemetry (``otel``) are opt-in layers.

Names load on first use, so importing the package costs nothing until one is used.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "Span": "ddbkit.tracing.api",
    "Tracer": "ddbkit.tracing.api",
    "NoopTracer": "ddbkit.tracing.api",
    "current": "ddbkit.tracing.api",
    "set_tracer": "ddbkit.tracing.api",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
