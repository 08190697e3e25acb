"""The client's Config and session on the accelerated path, against a scripted loopback server, each case run
with a plain and an accelerated client side by side: retries (legacy / standard / adaptive, max_attempts,
RetryAttempts, throttling, 5xx, a corrupt CRC32), timeouts, pool size, user_agent_extra, an endpoint with a
path, and refreshable credentials that refresh."""

from __future__ import annotations

import json
import re
import threading
import time
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import ClientError, ReadTimeoutError

import ddbkit

OK = {"Item": {"pk": {"S": "a"}, "b": {"B": "AAE="}}}
THROTTLE = (400, {"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                  "message": "slow down"})
SERVER_ERROR = (500, {"__type": "InternalServerError", "message": "oops"})


class Scripted:
    """A DynamoDB-shaped HTTP server answering from a script (then ``OK``), recording each request."""

    def __init__(self) -> None:
        self.script: list[Any] = []
        self.requests: list[dict[str, Any]] = []
        self.delay = 0.0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                step = outer.script.pop(0) if outer.script else (200, OK)
                status, reply = step[0], step[1]
                data = json.dumps(reply).encode()
                crc = zlib.crc32(data) & 0xFFFFFFFF
                if len(step) > 2 and step[2] == "bad-crc":
                    crc ^= 1
                if outer.delay:
                    threading.Event().wait(outer.delay)  # time.sleep is patched out for retry back-off
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("x-amzn-RequestId", "REQ")
                self.send_header("x-amz-crc32", str(crc))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


_HANDLES: list[Any] = []


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> Iterator[Scripted]:
    monkeypatch.setattr(time, "sleep", lambda _s: None)  # retry back-off (botocore's and ours) without waiting
    server = Scripted()
    yield server
    server.close()
    while _HANDLES:
        _HANDLES.pop().close()


def _pair(url: str, config: Config | None = None, session: Any = None) -> tuple[Any, Any]:
    make = (lambda: session.create_client("dynamodb", region_name="us-east-1", endpoint_url=url, config=config)) \
        if session is not None else \
        (lambda: boto3.Session().client("dynamodb", region_name="us-east-1", endpoint_url=url, config=config))
    plain = make()
    handle = ddbkit.accelerate(session)  # a session made before accelerate(): only accelerate(session) reaches it
    _HANDLES.append(handle)
    fast = make()
    assert ddbkit.is_accelerated(fast) and not ddbkit.is_accelerated(plain)
    return plain, fast


def _run(server: Scripted, client: Any, script: list[Any]) -> tuple[Any, int, list[str]]:
    server.script = list(script)
    server.requests.clear()
    try:
        result: Any = client.get_item(TableName="t", Key={"pk": {"S": "a"}})
        result["ResponseMetadata"]["HTTPHeaders"].pop("date", None)
    except ClientError as err:
        err.response["ResponseMetadata"]["HTTPHeaders"].pop("date", None)
        result = (type(err).__name__, err.response)
    attempts = [re.sub(r"ttl=[^;]*; ", "", r["headers"].get("amz-sdk-request", "")) for r in server.requests]
    return result, len(server.requests), attempts


@pytest.mark.parametrize("retries", [{"mode": "legacy"}, {"mode": "standard"}, {"mode": "adaptive"},
                                     {"mode": "standard", "max_attempts": 1}, {"mode": "legacy", "max_attempts": 2},
                                     {"total_max_attempts": 4}])
@pytest.mark.parametrize("script", [[THROTTLE, THROTTLE], [SERVER_ERROR], [THROTTLE] * 12,
                                    [(200, OK, "bad-crc")], []], ids=["throttle2", "5xx", "throttle12", "crc", "ok"])
def test_retries_match_botocore(scripted: Scripted, retries: dict[str, Any], script: list[Any]) -> None:
    plain, fast = _pair(scripted.url, Config(retries=retries))
    want = _run(scripted, plain, script)
    got = _run(scripted, fast, script)
    assert fast._ddbkit_engine is not None
    assert got[0] == want[0]  # the reply or the error response, RetryAttempts included
    assert got[1] == want[1]  # as many attempts
    assert got[2] == want[2]  # amz-sdk-request: attempt=N; max=M as botocore sends it (its ttl aside)


def test_read_timeout_is_botocores_error(scripted: Scripted) -> None:
    config = Config(read_timeout=0.2, connect_timeout=1, retries={"total_max_attempts": 1})
    plain, fast = _pair(scripted.url, config)
    scripted.delay = 0.6
    for client in (plain, fast):
        with pytest.raises(ReadTimeoutError):
            client.get_item(TableName="t", Key={"pk": {"S": "a"}})
    assert fast._ddbkit_engine is not None


def test_pool_size_user_agent_extra_and_endpoint_path(scripted: Scripted) -> None:
    config = Config(max_pool_connections=3, user_agent_extra="my-app/1.2")
    plain, fast = _pair(scripted.url + "/prefix", config)
    for client in (plain, fast):
        client.get_item(TableName="t", Key={"pk": {"S": "a"}})
    sent_plain, sent_fast = scripted.requests[-2:]
    assert sent_fast["path"] == sent_plain["path"] == "/prefix"
    assert "my-app/1.2" in sent_fast["headers"]["User-Agent"]
    (conn,) = fast._ddbkit_engine._connections.values()
    assert conn._pool.pool.maxsize == 3


def test_refreshable_credentials_refresh(scripted: Scripted) -> None:
    keys = iter(f"AKID{i}" for i in range(100))

    def refresh() -> dict[str, str]:
        soon = datetime.now(timezone.utc) + timedelta(seconds=1)  # inside botocore's refresh window: refresh again
        return {"access_key": next(keys), "secret_key": "s", "token": "t", "expiry_time": soon.isoformat()}

    session = botocore.session.get_session()
    session._credentials = RefreshableCredentials.create_from_metadata(refresh(), refresh, "test")
    plain, fast = _pair(scripted.url, session=session)
    seen = []
    for client in (fast, fast):
        client.get_item(TableName="t", Key={"pk": {"S": "a"}})
        seen.append(scripted.requests[-1]["headers"]["Authorization"].split("Credential=")[1].split("/")[0])
    assert seen[0] != seen[1]  # each call signed with freshly refreshed credentials
    assert fast._ddbkit_engine is not None
