"""Fork safety (issue 13 item 3), on every transport.

A transport that has pooled connections is inherited by ``os.fork()``'s child; both processes then send
GetItems for their own keys at the same time. A reply for the other process's key means they shared a
socket (the issue saw 180 of 400 crossed). After the fix the child drops inherited connections
(``os.register_at_fork``), so each process only ever sees its own items.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from typing import Any

import pytest
from parity_harness import GET, WIRE_TRANSPORTS, CaptureServer, Captured, Reply, _build

N = 40


@pytest.fixture(params=WIRE_TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    """Every row here on ddbkit's four transports and on an accelerated boto3 client (issue 27)."""
    return str(request.param)



def _echo(c: Captured) -> Reply:
    time.sleep(random.random() / 500)  # replies interleave if the processes share a socket
    key = json.loads(c.body)["Key"]
    return Reply(body={"Item": key})


def _get(key: str) -> tuple[str, dict[str, Any]]:
    return "GetItem", {"TableName": "t", "Key": {"pk": {"S": key}}}


def _wait(pid: int, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return -9


def _crossed(send: Any, who: str) -> int:
    wrong = 0
    for i in range(N):
        try:
            got = send(*_get(f"{who}-{i}"))
        except Exception:  # noqa: BLE001 - an error is not a crossed item; counted apart by the caller
            return -1
        if got.get("Item", {}).get("pk", {}).get("S") != f"{who}-{i}":
            wrong += 1
    return wrong


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_never_crosses_replies(capture: CaptureServer, transport: str) -> None:
    capture.responder = _echo
    t = _build(transport, {"endpoint_url": capture.url, "region_name": "us-east-1"})
    if transport in ("fast", "botocore", "accelerated"):
        t.send(*GET)  # a pooled keep-alive connection now exists
        pid = os.fork()
        if pid == 0:
            os._exit(min(_crossed(t.send, "child"), 100) % 256)
        parent = _crossed(t.send, "parent")
        t.close()
    else:
        loop = asyncio.new_event_loop()
        loop.run_until_complete(t.send(*GET))
        pid = os.fork()
        if pid == 0:
            async def child() -> int:
                return _crossed_async_result(await _crossed_async(t, "child"))
            os._exit(asyncio.run(child()))
        parent = loop.run_until_complete(_crossed_async(t, "parent"))
        loop.run_until_complete(t.close())
        loop.close()
    child_status = _wait(pid)
    assert parent == 0, f"parent got {parent} of {N} replies meant for the child"
    assert child_status == 0, f"child exit {child_status}: crossed replies or errors"


async def _crossed_async(t: Any, who: str) -> int:
    wrong = 0
    for i in range(N):
        try:
            got = await t.send(*_get(f"{who}-{i}"))
        except Exception as err:  # noqa: BLE001
            print(who, repr(err), repr(getattr(err, "__cause__", None)))
            return -1
        if got.get("Item", {}).get("pk", {}).get("S") != f"{who}-{i}":
            wrong += 1
    return wrong


def _crossed_async_result(n: int) -> int:
    return min(n, 100) % 256
