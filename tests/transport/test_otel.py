"""OpenTelemetry spans behind the tracing seam (issue 13 item 10): semantic-convention attributes, on the
sync and async clients, through a capture server (no backend needed)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import SpanKind, StatusCode  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "parity"))
from parity_harness import CaptureServer, Captured, Reply  # noqa: E402

from ddbkit import Table  # noqa: E402
from ddbkit.aio import AsyncTable  # noqa: E402
from ddbkit.errors import ResourceNotFound  # noqa: E402
from ddbkit.tracing.otel import OTelTracer  # noqa: E402
from ddbkit.core.retry import RetryPolicy  # noqa: E402


@pytest.fixture
def spans() -> Any:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter, OTelTracer(tracer_provider=provider)


def _reply(c: Captured) -> Reply:
    target = c.headers["x-amz-target"].split(".")[1]
    if target == "GetItem":
        if json.loads(c.body)["TableName"] == "missing":
            return Reply(400, {"__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
                               "message": "Requested resource not found"})
        return Reply(body={"Item": {"pk": {"S": "a"}}, "ConsumedCapacity": {"TableName": "orders",
                                                                             "CapacityUnits": 0.5}})
    if target == "DescribeTable":
        return Reply(body={"Table": {"TableName": "orders", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                                     "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                                     "GlobalSecondaryIndexes": [{"IndexName": "by-x", "KeySchema": [
                                         {"AttributeName": "pk", "KeyType": "HASH"}]}]}})
    return Reply(body={"Items": [{"pk": {"S": "a"}}], "Count": 1})


@pytest.mark.parametrize("transport", ["fast", "botocore"])
def test_sync_spans_follow_semantic_conventions(spans: Any, transport: str) -> None:
    exporter, tracer = spans
    server = CaptureServer()
    server.responder = _reply
    try:
        table = Table("orders", key="pk", endpoint_url=server.url, region_name="us-east-1", tracing=tracer,
                      transport=transport, retry=RetryPolicy(max_attempts=1))
        assert table.get({"pk": "a"}) == {"pk": "a"}
        table.query({"pk": "a"}, index="by-x")
        missing = Table("missing", key="pk", endpoint_url=server.url, region_name="us-east-1", tracing=tracer,
                        transport=transport)
        with pytest.raises(ResourceNotFound):
            missing.get({"pk": "a"})
    finally:
        server.close()
    finished = exporter.get_finished_spans()
    get, failed = finished[0], finished[-1]
    (query,) = [s for s in finished if s.name == "DynamoDB.Query"]
    assert get.name == "DynamoDB.GetItem" and get.kind == SpanKind.CLIENT
    attrs = dict(get.attributes)
    assert attrs["db.system"] == "dynamodb" and attrs["rpc.system"] == "aws-api"
    assert attrs["rpc.service"] == "DynamoDB" and attrs["rpc.method"] == "GetItem"
    assert tuple(attrs["aws.dynamodb.table_names"]) == ("orders",) and attrs["ddbkit.items"] == 1
    assert attrs["ddbkit.consumed_read_units"] == 0.5
    assert query.name == "DynamoDB.Query" and query.attributes["aws.dynamodb.index_name"] == "by-x"
    assert failed.status.status_code == StatusCode.ERROR and failed.attributes["error.type"] == "ResourceNotFound"
    assert len(failed.events) == 1 and failed.events[0].name == "exception"
    assert all("a" not in str(v) for k, v in attrs.items() if k.startswith("ddbkit.item"))


def test_async_spans(spans: Any) -> None:
    exporter, tracer = spans
    server = CaptureServer()
    server.responder = _reply

    async def run() -> None:
        async with AsyncTable("orders", key="pk", endpoint_url=server.url, region_name="us-east-1",
                              tracing=tracer, transport="fast") as table:
            assert await table.get({"pk": "a"}) == {"pk": "a"}

    try:
        asyncio.run(run())
    finally:
        server.close()
    (span,) = exporter.get_finished_spans()
    assert span.name == "DynamoDB.GetItem" and span.attributes["rpc.method"] == "GetItem"


def test_env_and_name_select_otel(monkeypatch: pytest.MonkeyPatch) -> None:
    from ddbkit.tracing import api as tracing
    assert isinstance(tracing.resolve("otel"), OTelTracer)
    monkeypatch.setattr(tracing, "_tracer", None)
    monkeypatch.setenv("DDBKIT_TRACING", "otel")
    assert isinstance(tracing.current(), OTelTracer)
    with pytest.raises(ValueError, match="unknown tracing"):
        tracing.resolve("zipkin")
