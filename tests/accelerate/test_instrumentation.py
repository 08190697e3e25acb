"""Instrumentation still sees every call: aws-xray-sdk's ``patch(["botocore"])`` and OpenTelemetry's
``BotocoreInstrumentor`` wrap ``BaseClient._make_api_call``; an accelerated client then steps aside for
botocore (checked per call, so patching after the client was built counts) and logs once why. Each case runs
in a subprocess: these patches are process-wide and cannot be undone."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest

PRELUDE = """
import logging, os, boto3, ddbkit
logging.basicConfig(level=logging.INFO, format="%(name)s %(message)s")
ddbkit.accelerate()
client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=os.environ["ENDPOINT"])
assert ddbkit.is_accelerated(client)
client.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                    BillingMode="PAY_PER_REQUEST")
client.put_item(TableName="t", Item={"pk": {"S": "before"}})   # sent by ddbkit: nothing is instrumented yet
assert client._ddbkit_engine is not None
"""


def _run(backend: Any, body: str) -> str:
    env = dict(os.environ, ENDPOINT=backend.endpoint_url)
    proc = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(body)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_xray_patch_sees_every_call(moto_backend: Any) -> None:
    pytest.importorskip("aws_xray_sdk")
    out = _run(moto_backend, """
        from aws_xray_sdk.core import patch, xray_recorder
        patch(["botocore"])
        xray_recorder.configure(context_missing="LOG_ERROR", sampling=False)
        segment = xray_recorder.begin_segment("test")
        client.get_item(TableName="t", Key={"pk": {"S": "before"}})
        client.put_item(TableName="t", Item={"pk": {"S": "after"}})
        xray_recorder.end_segment()
        ops = [s.aws.get("operation") for s in segment.subsegments]
        print("OPS", ops)
        assert ops == ["GetItem", "PutItem"], ops
    """)
    assert out.count("sends through botocore because botocore.client.BaseClient._make_api_call is wrapped") == 1


def test_opentelemetry_botocore_instrumentation_sees_every_call(moto_backend: Any) -> None:
    pytest.importorskip("opentelemetry.instrumentation.botocore")
    out = _run(moto_backend, """
        from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        BotocoreInstrumentor().instrument(tracer_provider=provider)
        client.get_item(TableName="t", Key={"pk": {"S": "before"}})
        client.query(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "x"}})
        names = [s.name for s in exporter.get_finished_spans()]
        print("SPANS", names)
        assert names == ["DynamoDB.GetItem", "DynamoDB.Query"], names
        BotocoreInstrumentor().uninstrument()
        client.get_item(TableName="t", Key={"pk": {"S": "before"}})   # uninstrumented: ddbkit sends again
        assert len(exporter.get_finished_spans()) == 2
    """)
    assert out.count("is wrapped") == 1


def test_a_session_event_handler_sees_every_call(moto_backend: Any) -> None:
    """A user's own handler on the client's events (what event-based instrumentation registers)."""
    _run(moto_backend, """
        seen = []
        client.meta.events.register("after-call.dynamodb", lambda event_name, **kw: seen.append(event_name))
        client.get_item(TableName="t", Key={"pk": {"S": "before"}})
        client.meta.events.unregister("after-call.dynamodb")
        assert seen == ["after-call.dynamodb.GetItem"], seen
    """)
