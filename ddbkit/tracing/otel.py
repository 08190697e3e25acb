"""OpenTelemetry spans behind :mod:`ddbkit.tracing.api`'s interface (``pip install ddbkit[otel]``).

Each ddbkit operation becomes a CLIENT span named ``DynamoDB.<Operation>`` with the attributes of
OpenTelemetry's semantic conventions for DynamoDB / AWS SDK calls:

* ``db.system`` = ``dynamodb`` (and ``db.system.name`` = ``aws.dynamodb``, the newer name),
  ``db.operation.name``, ``rpc.system`` = ``aws-api``, ``rpc.service`` = ``DynamoDB``, ``rpc.method``;
* ``aws.dynamodb.table_names`` (a one-element list), ``aws.dynamodb.index_name`` for an index;
* ddbkit's own: ``ddbkit.operation``, ``ddbkit.items``, ``ddbkit.retries``, ``ddbkit.consumed_read_units``,
  ``ddbkit.consumed_write_units``;
* an exception is recorded on the span, whose status becomes ERROR, with ``error.type``.

One ddbkit operation may make several DynamoDB calls (pages, batch chunks, retries): the span covers all
of them. Item values are never recorded. ``opentelemetry-api`` is imported only here, when
``DDBKIT_TRACING=otel``, ``tracing="otel"`` or an :class:`OTelTracer` is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["OTelTracer", "DYNAMODB_OPERATIONS"]

# ddbkit operation -> the DynamoDB API operation it makes (rpc.method)
DYNAMODB_OPERATIONS = {
    "get": "GetItem", "exists": "GetItem", "put": "PutItem", "put_versioned": "PutItem",
    "update": "UpdateItem", "update_versioned": "UpdateItem", "delete": "DeleteItem", "query": "Query",
    "count": "Query", "scan": "Scan", "batch_write": "BatchWriteItem", "batch_get": "BatchGetItem",
    "transact_write": "TransactWriteItems", "transact_get": "TransactGetItems", "describe": "DescribeTable",
}


class _OTelSpan:
    def __init__(self, span: Any) -> None:
        self._span = span

    def annotate(self, key: str, value: str | int | float | bool) -> None:
        if key == "table":
            self._span.set_attribute("aws.dynamodb.table_names", [str(value)])
        elif key == "index":
            self._span.set_attribute("aws.dynamodb.index_name", str(value))
        elif key == "error":
            self._span.set_attribute("error.type", str(value))
        else:
            self._span.set_attribute(f"ddbkit.{key}", value)

    def error(self, exc: BaseException) -> None:
        from opentelemetry.trace import Status, StatusCode

        self._span.record_exception(exc)
        self._span.set_status(Status(StatusCode.ERROR, type(exc).__name__))


class OTelTracer:
    """Opens OpenTelemetry spans with ``tracer_provider`` (default: the global one, as set by the
    application or its OpenTelemetry distro)."""

    enabled = True

    def __init__(self, tracer_provider: Any = None) -> None:
        from opentelemetry import trace

        self._tracer = trace.get_tracer("ddbkit", tracer_provider=tracer_provider)

    @contextmanager
    def span(self, name: str, **annotations: Any) -> Iterator[_OTelSpan]:
        from opentelemetry.trace import SpanKind

        operation = name.rsplit(".", 1)[-1]  # "<table>.<operation>"; table names may contain dots
        method = DYNAMODB_OPERATIONS.get(operation, operation)
        attributes = {"db.system": "dynamodb", "db.system.name": "aws.dynamodb", "db.operation.name": method,
                      "rpc.system": "aws-api", "rpc.service": "DynamoDB", "rpc.method": method}
        # the exception is recorded by _OTelSpan.error (once), not again by the context manager
        with self._tracer.start_as_current_span(f"DynamoDB.{method}", kind=SpanKind.CLIENT, attributes=attributes,
                                                record_exception=False, set_status_on_exception=False) as span:
            wrapped = _OTelSpan(span)
            for key, value in annotations.items():
                wrapped.annotate(key, value)
            yield wrapped
