"""The X-Ray tracer behind :mod:`ddbkit.tracing.api`'s interface.

Each ddbkit operation becomes a subsegment ``<table>.<operation>`` with annotations (table, index,
operation, item count, consumed capacity, retries); batch operations and transactions included, which
the X-Ray SDK's own botocore patch does not annotate. Outside a segment (no Lambda invocation, no
``begin_segment``) it records nothing instead of raising. aws_xray_sdk is imported only here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["XRayTracer"]


class _XRaySpan:
    def __init__(self, subsegment: Any) -> None:
        self._sub = subsegment

    def annotate(self, key: str, value: str | int | float | bool) -> None:
        self._sub.put_annotation(key, value)

    def error(self, exc: BaseException) -> None:
        import traceback

        self._sub.add_exception(exc, traceback.extract_tb(exc.__traceback__))


class _Nothing:
    def annotate(self, key: str, value: str | int | float | bool) -> None:
        pass

    def error(self, exc: BaseException) -> None:
        pass


class XRayTracer:
    """Opens X-Ray subsegments with ``recorder`` (default: the SDK's global ``xray_recorder``)."""

    enabled = True

    def __init__(self, recorder: Any = None) -> None:
        if recorder is None:
            from aws_xray_sdk.core import xray_recorder

            recorder = xray_recorder
        self.recorder = recorder

    @contextmanager
    def span(self, name: str, **annotations: Any) -> Iterator[Any]:
        sub = self.recorder.begin_subsegment(name, namespace="aws") if self._in_segment() else None
        if sub is None:  # no segment here, or not sampled
            yield _Nothing()
            return
        span = _XRaySpan(sub)
        for k, v in annotations.items():
            span.annotate(k, v)
        try:
            yield span
        finally:
            self.recorder.end_subsegment()

    def _in_segment(self) -> bool:
        """True inside a segment: always in Lambda (the facade segment), else when one was begun."""
        ctx = self.recorder.context
        if type(ctx).__name__ == "LambdaContext":
            return True
        return bool(getattr(getattr(ctx, "_local", None), "entities", None))
