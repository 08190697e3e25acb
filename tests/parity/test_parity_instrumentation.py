"""Instrumentation sees every DynamoDB call on the fast transports too (issue 13 item 10).

The fast path emits no botocore events. When the user's session has handlers for DynamoDB's
``before-call``/``before-send``/``after-call`` events, or ``BaseClient._make_api_call`` is wrapped (as
ddtrace, OpenTelemetry's botocore instrumentation and the X-Ray SDK behind Powertools Tracer do, with
wrapt), the fast transports send every call through botocore instead: the handlers fire exactly as for
boto3. Without instrumentation the fast path stays in use (the last test).
"""

from __future__ import annotations

import asyncio
from typing import Any

import boto3
import pytest
from parity_harness import GET, CaptureServer

from ddbkit.transport import make_async_transport, make_transport

FAST = ("fast", "fast-async")


def _send(name: str, **kwargs: Any) -> Any:
    if name == "fast":
        t = make_transport("fast", **kwargs)
        try:
            t.send(*GET)
            return t
        finally:
            t.close()
    t = make_async_transport("fast", **kwargs)

    async def run() -> Any:
        try:
            await t.send(*GET)
            return t
        finally:
            await t.close()

    return asyncio.run(run())


@pytest.mark.parametrize("name", FAST)
def test_session_event_handlers_fire(capture: CaptureServer, name: str) -> None:
    seen: list[str] = []
    session = boto3.Session(region_name="us-east-1")
    for event in ("before-call", "before-send", "after-call"):
        session.events.register(f"{event}.dynamodb", lambda event_name, _e=event, **kw: seen.append(event_name))
    t = _send(name, session=session, endpoint_url=capture.url)
    assert t.delegate_reason and "before-call" in t.delegate_reason
    assert seen == ["before-call.dynamodb.GetItem", "before-send.dynamodb.GetItem", "after-call.dynamodb.GetItem"]
    assert len(capture.requests) == 1


@pytest.mark.parametrize("name", FAST)
def test_default_session_handlers_fire(capture: CaptureServer, name: str) -> None:
    """Powertools/ddtrace-style registration on boto3's default session (no session= given)."""
    seen: list[str] = []
    boto3.setup_default_session(region_name="us-east-1")
    boto3.DEFAULT_SESSION.events.register("after-call.dynamodb.GetItem", lambda **kw: seen.append("after"))
    _send(name, endpoint_url=capture.url)
    assert seen == ["after"]


@pytest.mark.parametrize("name", FAST)
def test_wrapped_make_api_call_sees_the_call(capture: CaptureServer, name: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """What ddtrace / opentelemetry-instrumentation-botocore / aws_xray_sdk do: wrapt around
    BaseClient._make_api_call."""
    import wrapt
    from botocore.client import BaseClient

    calls: list[str] = []
    original = BaseClient.__dict__["_make_api_call"]
    monkeypatch.setattr(BaseClient, "_make_api_call", original)  # restored after the test

    def tracer(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        calls.append(args[0])
        return wrapped(*args, **kwargs)

    wrapt.wrap_function_wrapper("botocore.client", "BaseClient._make_api_call", tracer)
    t = _send(name, session=boto3.Session(region_name="us-east-1"), endpoint_url=capture.url)
    assert calls == ["GetItem"] and "_make_api_call" in (t.delegate_reason or "")


@pytest.mark.parametrize("name", FAST)
def test_no_instrumentation_keeps_the_fast_path(capture: CaptureServer, name: str) -> None:
    t = _send(name, session=boto3.Session(region_name="us-east-1"), endpoint_url=capture.url)
    assert t.delegate_reason is None
    assert capture.requests[0].headers["user-agent"].startswith("ddbkit/")


def test_real_xray_sdk_patch_sees_fast_transport_calls(capture: CaptureServer) -> None:
    """The actual X-Ray SDK (what Powertools Tracer uses): after ``patch(["botocore"])`` a fast-transport
    GetItem is recorded as a ``dynamodb`` subsegment. In a subprocess: the patch is process-wide."""
    import os
    import subprocess
    import sys

    pytest.importorskip("aws_xray_sdk")
    code = f"""
import json
from aws_xray_sdk.core import patch, xray_recorder
patch(["botocore"])
xray_recorder.configure(context_missing="LOG_ERROR", sampling=False)
segment = xray_recorder.begin_segment("test")
from ddbkit.transport.fast import FastTransport
t = FastTransport(endpoint_url="{capture.url}", region_name="us-east-1")
t.send("GetItem", {{"TableName": "t", "Key": {{"pk": {{"S": "a"}}}}}})
sub = [s for s in segment.subsegments if s.name == "dynamodb"]
print(json.dumps([t.delegate_reason, sub[0].aws.get("operation") if sub else None]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:9"})
    assert out.returncode == 0, out.stderr[-2000:]
    import json

    reason, operation = json.loads(out.stdout.strip().splitlines()[-1])
    assert reason and "_make_api_call" in reason and operation == "GetItem"


@pytest.mark.parametrize("name", FAST)
def test_powertools_user_agent_marker_keeps_the_fast_path(capture: CaptureServer, name: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Importing aws-lambda-powertools registers a ``request-created`` handler on every new session that
    only appends a feature to the User-Agent. That is no instrumentation: a Lambda using Powertools keeps
    the fast path (before, once the fast path had seen a session before Powertools was imported, every
    later session delegated to botocore)."""
    import botocore.handlers
    import botocore.session
    from aws_lambda_powertools.shared.user_agent import register_feature_to_session

    from ddbkit.transport import wire

    # The baseline as the fast path computes it when its first session predates the Powertools import.
    fresh = wire._handler_names(botocore.session.Session())
    monkeypatch.setattr(wire, "_BASELINE", (len(botocore.handlers.BUILTIN_HANDLERS),
                                            {n for n in fresh if "aws_lambda_powertools" not in n}))
    session = boto3.Session(region_name="us-east-1")
    register_feature_to_session(session, "idempotency")
    t = _send(name, session=session, endpoint_url=capture.url)
    assert t.delegate_reason is None
    # Any other request-created handler still counts as instrumentation.
    session.events.register("request-created.dynamodb", lambda **kw: None)
    t = _send(name, session=session, endpoint_url=capture.url)
    assert t.delegate_reason and "request-created" in t.delegate_reason
