"""Issue 24 (reliability): damaged error replies, on every transport (fast, fast-async, botocore, aioboto3).

A 4xx/5xx reply whose body is not a valid JSON error (cut short, no ``x-amz-crc32``) is damage in transit,
not an answer: it is a retryable :class:`~ddbkit.errors.CorruptResponse` and its body - which may carry the
stored item of a ConditionalCheckFailed - appears in no exception (str, repr, chained causes, formatted
traceback) and in no log record of any logger at DEBUG.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from typing import Any

import pytest
from parity_harness import CaptureServer, Reply

from ddbkit import Table
from ddbkit.aio import AsyncTable
from ddbkit.errors import CorruptResponse, DdbkitError
from ddbkit.core.retry import RetryPolicy

SSN = "123-45-6789"
_CCF = (b'{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional '
        b'request failed","Item":{"ssn":{"S":"' + SSN.encode() + b'"},"pk":{"S":"k"},"note":{"S":"wh')
_THROTTLE = (b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exce'
             b'eds the allowed throughput.", "Item":{"ssn":{"S":"' + SSN.encode())
QUICK = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0, seed=1)


def _put(transport: str, endpoint: str, **put: Any) -> BaseException | None:
    """One ``put`` through a Table/AsyncTable on ``transport``; the exception it raised, or None."""
    item = {"pk": "k", "ssn": SSN}
    if transport in ("fast", "botocore"):
        t = Table("Things", key="pk", retry=QUICK, transport=transport, endpoint_url=endpoint, region_name="us-east-1")
        try:
            t.put(item, **put)
        except DdbkitError as exc:
            return exc
        finally:
            t.close()
        return None

    async def main() -> BaseException | None:
        at = AsyncTable("Things", key="pk", retry=QUICK, transport="fast" if transport == "fast-async" else "botocore",
                        endpoint_url=endpoint, region_name="us-east-1")
        try:
            await at.put(item, **put)
        except DdbkitError as exc:
            return exc
        finally:
            await at.close()
        return None

    if transport == "aioboto3":
        pytest.importorskip("aioboto3")
    return asyncio.run(main())


def exception_texts(exc: BaseException) -> list[str]:
    """str and repr of ``exc`` and of every exception in its chain, and the whole formatted traceback."""
    out, seen = ["".join(traceback.format_exception(exc))], set()
    stack: list[BaseException] = [exc]
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        out += [str(e), repr(e), repr(e.args)]
        stack += [c for c in (e.__cause__, e.__context__) if c is not None]
    return out


def log_texts(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every record of every logger: message, args, formatted exception."""
    out = []
    for r in caplog.records:
        text = f"{r.name} {r.getMessage()} {r.args!r}"
        if r.exc_info and r.exc_info[1] is not None:
            text += "".join(traceback.format_exception(r.exc_info[1]))
        out.append(text)
    return out


def test_damaged_4xx_is_a_retryable_corrupt_response_without_its_body(capture: CaptureServer, transport: str,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    capture.responder = lambda _: Reply(400, _CCF, crc=False)
    exc = _put(transport, capture.url, condition="attribute_not_exists(pk)")
    assert isinstance(exc, CorruptResponse), repr(exc)
    assert exc.retryable
    assert len(capture.requests) == QUICK.max_attempts  # retried, as any damaged reply
    for text in exception_texts(exc) + log_texts(caplog):
        assert SSN not in text and '"Item"' not in text and "conditional request failed" not in text, text


def test_damaged_throttle_reply_is_retried(capture: CaptureServer, transport: str,
                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    capture.replies.extend([Reply(400, _THROTTLE, crc=False), Reply(200, b"{}")])
    assert _put(transport, capture.url) is None
    assert len(capture.requests) == 2
    for text in log_texts(caplog):
        assert SSN not in text.replace(f"'{SSN}'", ""), text  # the request's own item is logged by nobody either
