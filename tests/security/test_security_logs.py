"""What logs and exceptions may carry under faults (issue 16): never item values, never proxy credentials.

The fault suite of tests/core/test_reliability.py is re-run here, with caplog at DEBUG and a server that also
answers HTTP 200 with a body that is not JSON (an ``InvalidResponse``, echoing the item), on every
transport (fast sync, fast async, botocore, aioboto3); then every log line and every exception message
(with its chained causes) is grepped for the item values and the proxy password.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
from fault_server import FaultPlan, FaultyStore
from bench.stub_server import Reply, StubServer

from ddbkit import Table
from ddbkit.aio import AsyncTable
from ddbkit.errors import DdbkitError, redact
from ddbkit.transport.fast import AsyncFastTransport, FastTransport
from ddbkit.core.retry import RetryPolicy

SSN = "078-05-1120"
CARD = "4111111111111111"
PROXY_PASSWORD = "pr0xyS3cretPW"
QUICK = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0, seed=1)


class LeakyStore(FaultyStore):
    """The fault store plus a 200 whose body is a truncated copy of the item (not a JSON object)."""

    def fault_hook(self, operation: str, request: dict[str, Any]) -> Reply | None:
        if operation == "GetItem":
            return Reply(body=b'{"Item": {"pk": {"S": "k"}, "ssn": {"S": "' + SSN.encode() + b'"}, "card": {"S": "'
                         + CARD.encode())
        return super().fault_hook(operation, request)


@pytest.fixture
def leaky() -> Iterator[tuple[str, LeakyStore]]:
    store = LeakyStore({"Things": ("pk",)}, FaultPlan(seed=5, throttle=0.3, server_error=0.2, reset_after_apply=0.1))
    server = StubServer(stub=store)
    server.start()
    try:
        yield server.endpoint_url, store
    finally:
        server.stop()


def _texts(exc: BaseException) -> list[str]:
    out, seen = [], set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        out += [str(e), repr(e)]
        e = e.__cause__ or e.__context__
    return out


def _assert_clean(texts: list[str]) -> None:
    for t in texts:
        assert SSN not in t and CARD not in t and PROXY_PASSWORD not in t, t


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """ddbkit's log lines at every level, and everyone's at INFO and above (botocore's own DEBUG wire dump
    is botocore's, turned on by whoever sets its logger to DEBUG)."""
    return [f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records
            if r.name.startswith("ddbkit") or r.levelno >= logging.INFO]


def _sync_run(t: Table, must_raise: bool = True) -> list[str]:
    texts: list[str] = []
    for i in range(12):
        try:
            t.put({"pk": f"k{i}", "ssn": SSN, "card": CARD})
        except DdbkitError as exc:
            texts += _texts(exc)
    try:
        t.batch_write([{"pk": f"b{i}", "ssn": SSN, "card": CARD} for i in range(40)])
    except DdbkitError as exc:
        texts += _texts(exc)
    try:
        t.get({"pk": "k1"})
    except DdbkitError as exc:
        texts += _texts(exc)
    else:
        assert not must_raise, "a non-JSON 200 must raise"  # botocore's parser answers {} to it
    return texts


async def _async_run(t: AsyncTable, must_raise: bool = True) -> list[str]:
    texts: list[str] = []
    for i in range(12):
        try:
            await t.put({"pk": f"k{i}", "ssn": SSN, "card": CARD})
        except DdbkitError as exc:
            texts += _texts(exc)
    try:
        await t.get({"pk": "k1"})
    except DdbkitError as exc:
        texts += _texts(exc)
    else:
        assert not must_raise, "a non-JSON 200 must raise"
    return texts


@pytest.mark.parametrize("transport", ["fast", "botocore"])
def test_sync_fault_suite_logs_and_errors_carry_no_item_values(leaky: tuple[str, LeakyStore], transport: str,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    endpoint, _store = leaky
    caplog.set_level(logging.DEBUG)
    if transport == "fast":
        t = Table("Things", key="pk", retry=QUICK,
                  transport=FastTransport(endpoint_url=endpoint, region_name="us-east-1"))
    else:
        t = Table("Things", key="pk", retry=QUICK, transport="botocore", endpoint_url=endpoint,
                  region_name="us-east-1")
    texts = _sync_run(t, must_raise=transport == "fast")
    assert texts and [r for r in caplog.records if r.name.startswith("ddbkit")]
    _assert_clean(texts + _lines(caplog))


@pytest.mark.parametrize("transport", ["fast", "aioboto3"])
def test_async_fault_suite_logs_and_errors_carry_no_item_values(leaky: tuple[str, LeakyStore], transport: str,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    endpoint, _store = leaky
    caplog.set_level(logging.DEBUG)

    async def main() -> list[str]:
        if transport == "fast":
            t = AsyncTable("Things", key="pk", retry=QUICK,
                           transport=AsyncFastTransport(endpoint_url=endpoint, region_name="us-east-1"))
        else:
            pytest.importorskip("aioboto3")
            t = AsyncTable("Things", key="pk", retry=QUICK, transport="botocore", endpoint_url=endpoint,
                           region_name="us-east-1")
        try:
            return await _async_run(t, must_raise=transport == "fast")
        finally:
            await t.close()

    texts = asyncio.run(main())
    assert texts and [r for r in caplog.records if r.name.startswith("ddbkit")]
    _assert_clean(texts + _lines(caplog))


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def refusing_proxy() -> Iterator[int]:
    """A forward proxy on 127.0.0.1 that answers every request (CONNECT included) with 407: its port."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n"
                                 b"Content-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(2)
        server.close()


def _chain_texts(exc: BaseException) -> list[str]:
    """The whole formatted traceback of ``exc`` (its chain included), and str/repr/args of every exception
    reachable through ``__cause__``/``__context__`` (suppressed or not: an error tracker may walk them)."""
    out, seen, stack = ["".join(traceback.format_exception(exc))], set(), [exc]
    while stack:
        e = stack.pop()
        if id(e) not in seen:
            seen.add(id(e))
            out += [str(e), repr(e), repr(e.args), repr(vars(e))]
            stack += [c for c in (e.__cause__, e.__context__) if c is not None]
    return out


def _all_records(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every record of every logger at every level (DEBUG included), as a handler would format it."""
    formatter = logging.Formatter("%(name)s %(message)s")
    return [formatter.format(r) + repr(r.args) for r in caplog.records]


@pytest.mark.parametrize("transport", ["fast", "botocore", "fast-async", "aioboto3"])
@pytest.mark.parametrize("port", ["closed", "99999", "refusing"])
def test_proxy_errors_do_not_carry_the_proxy_password(monkeypatch: pytest.MonkeyPatch, transport: str, port: str,
                                                      caplog: pytest.LogCaptureFixture, refusing_proxy: int) -> None:
    if transport == "fast" and port == "closed":
        pytest.skip("covered by the other transports; the fast transport's own case is the malformed URL")
    if transport == "aioboto3":
        pytest.importorskip("aioboto3")
    # a malformed port makes urllib3/aiohttp/botocore quote the whole proxy URL, password included
    if port == "refusing":  # a proxy that answers 407 (aiohttp's ClientHttpProxyError quotes the proxy URL)
        port = str(refusing_proxy)
    proxy = f"http://alice:{PROXY_PASSWORD}@127.0.0.1:{_closed_port() if port == 'closed' else port}"
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(var, proxy)
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    caplog.set_level(logging.DEBUG)
    endpoint = "https://dynamodb.us-east-1.amazonaws.com"
    texts: list[str] = []
    if transport in ("fast-async", "aioboto3"):
        async def main() -> None:
            t = AsyncTable("Things", key="pk", retry=QUICK, region_name="us-east-1", endpoint_url=endpoint,
                           transport=AsyncFastTransport(endpoint_url=endpoint, region_name="us-east-1")
                           if transport == "fast-async" else "botocore")
            try:
                await t.get({"pk": "k"})
            finally:
                await t.close()

        with pytest.raises(Exception) as exc:
            asyncio.run(main())
    else:
        t = Table("Things", key="pk", retry=QUICK, region_name="us-east-1", endpoint_url=endpoint,
                  transport=FastTransport(endpoint_url=endpoint, region_name="us-east-1")
                  if transport == "fast" else "botocore")
        with pytest.raises(DdbkitError) as exc:
            t.get({"pk": "k"})
    # the ddbkit exception and its whole chain, formatted as logger.exception / an error tracker would, and
    # every log record of every logger at DEBUG (botocore's own records of ddbkit's calls included)
    texts += _chain_texts(exc.value)
    _assert_clean(texts + _all_records(caplog))


def test_redact_removes_url_credentials_and_auth_headers() -> None:
    assert redact("Failed to connect to proxy URL: \"http://bob:hunter2@proxy:3128\"") == \
        "Failed to connect to proxy URL: \"http://***@proxy:3128\""
    assert "hunter2" not in redact("Proxy-Authorization: Basic Ym9iOmh1bnRlcjI=")
    assert redact("no secrets here") == "no secrets here"
