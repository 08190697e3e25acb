"""pytest plugin loaded (``-p moto_suite_plugin``) into the subprocess that runs moto's DynamoDB suite.

It records every test's outcome, and, as the environment set by ``moto_suite.run_suite`` asks:

- ``DDBKIT_MOTO_SUITE_ACCELERATE=1``: calls ``ddbkit.accelerate()`` at session start (before any test runs)
  and, at the end, fails the session unless the acceleration was real: in server mode data-plane calls went
  through ddbkit's fast transport, in both modes DynamoDB clients made by the tests report accelerated
  (``ddbkit.is_accelerated``, when ddbkit has it). Counting, not trusting, so a silent no-op cannot pass.
  Without ``ddbkit.accelerate`` (issue #27 not merged) the session stops at once with that reason.
- ``DDBKIT_MOTO_SUITE_MODE=decorator``: refuses and records every outgoing connection (``socket.connect``,
  ``connect_ex``, ``create_connection``): in moto's in-process mode nothing may leave the process, and the
  session fails if anything tried.

It writes its report (outcomes, counters, refused connections) as JSON to ``DDBKIT_MOTO_SUITE_REPORT``.
"""

from __future__ import annotations

import json
import os
import socket
import weakref
from collections import Counter
from collections.abc import Callable, Generator
from typing import Any

import pytest

_REPORT = os.environ.get("DDBKIT_MOTO_SUITE_REPORT", "")
_ACCELERATE = os.environ.get("DDBKIT_MOTO_SUITE_ACCELERATE") == "1"
_MODE = os.environ.get("DDBKIT_MOTO_SUITE_MODE", "decorator")
_TARGET = "X-Amz-Target"
DATA_PLANE = frozenset({
    "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem",
    "TransactGetItems", "TransactWriteItems", "ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction",
})


class _State:
    """Everything the session's end reports."""

    def __init__(self) -> None:
        self.current = "<collection>"
        self.outcomes: dict[str, tuple[str, str]] = {}
        self.fast_sends: Counter[str] = Counter()
        self.botocore_sends: Counter[str] = Counter()
        self.mock_answers: Counter[str] = Counter()
        self.engine_sent: Counter[str] = Counter()
        self.engine_aside: Counter[str] = Counter()
        self.clients: list[weakref.ref[Any]] = []
        self.clients_made = 0
        self.clients_accelerated = 0
        self.connections: list[str] = []
        self.handle: Any = None
        self.error = ""
        self.undo: list[Callable[[], None]] = []


STATE = _State()


def _patch(owner: Any, name: str, make: Callable[[Any], Any]) -> None:
    original = getattr(owner, name)
    setattr(owner, name, make(original))
    STATE.undo.append(lambda: setattr(owner, name, original))


def _operation_of(headers: Any) -> str:
    target = ""
    try:
        target = headers.get(_TARGET) or headers.get(_TARGET.lower()) or ""
    except AttributeError:
        pass
    if isinstance(target, bytes):
        target = target.decode("ascii", "replace")
    return target.rpartition(".")[2]


def _count_sends() -> None:
    """Count data-plane requests by the path that sent them: ddbkit's fast transport or botocore itself."""
    from botocore.endpoint import Endpoint

    def endpoint_send(original: Any) -> Any:
        def _send(self: Any, request: Any) -> Any:
            op = _operation_of(request.headers)
            if op in DATA_PLANE:
                STATE.botocore_sends[op] += 1
            return original(self, request)
        return _send

    _patch(Endpoint, "_send", endpoint_send)
    try:
        from ddbkit.transport.fast import AsyncFastTransport, FastTransport
    except ImportError:  # pragma: no cover - ddbkit's fast extra missing
        return

    def sync_send(original: Any) -> Any:
        def send(self: Any, operation: str, request: dict[str, Any]) -> Any:
            STATE.fast_sends[operation] += 1
            return original(self, operation, request)
        return send

    def async_send(original: Any) -> Any:
        async def send(self: Any, operation: str, request: dict[str, Any]) -> Any:
            STATE.fast_sends[operation] += 1
            return await original(self, operation, request)
        return send

    _patch(FastTransport, "send", sync_send)
    _patch(AsyncFastTransport, "send", async_send)
    _count_engine_calls()
    try:
        from moto.core.botocore_stubber import BotocoreStubber
    except ImportError:  # pragma: no cover
        return

    def stubber_call(original: Any) -> Any:
        def __call__(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
            response = original(self, event_name, request, **kwargs)
            op = _operation_of(getattr(request, "headers", {}))
            if response is not None and op in DATA_PLANE:
                STATE.mock_answers[op] += 1
            return response
        return __call__

    _patch(BotocoreStubber, "__call__", stubber_call)


def _count_engine_calls() -> None:
    """Count what an accelerated client's engine did per data-plane call: sent it itself, or stepped aside
    (to botocore: moto's active mock, a Stubber, instrumentation). Absent before issue #27 is merged."""
    try:
        from ddbkit.accelerate.engine import Engine
        from ddbkit.accelerate.http import Connection
    except ImportError:
        return

    def call(original: Any) -> Any:
        def wrapper(self: Any, operation: str, params: dict[str, Any]) -> Any:
            try:
                handled, result = original(self, operation, params)
            except Exception:
                STATE.engine_sent[operation] += 1  # the engine answered with botocore's exception
                raise
            (STATE.engine_sent if handled else STATE.engine_aside)[operation] += 1
            return handled, result
        return wrapper

    def exchange(original: Any) -> Any:
        def wrapper(self: Any, path: str, body: bytes, headers: dict[str, str]) -> Any:
            STATE.fast_sends[_operation_of(headers) or "?"] += 1
            return original(self, path, body, headers)
        return wrapper

    _patch(Engine, "call", call)
    _patch(Connection, "exchange", exchange)


def _record_clients() -> None:
    """Keep a weak reference to every DynamoDB client made (installed after accelerate(): outermost)."""
    from botocore.session import Session

    def create_client(original: Any) -> Any:
        def wrapper(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
            client = original(self, service_name, *args, **kwargs)
            if service_name == "dynamodb":
                STATE.clients_made += 1
                _check_client(client)
            return client
        return wrapper

    _patch(Session, "create_client", create_client)


def _api(name: str) -> Any:
    """``ddbkit.accelerate``'s public ``name`` (``accelerate``, ``is_accelerated``), or None before #27.

    Taken from the ``ddbkit.accelerate`` package, not as ``ddbkit.accelerate``: once any submodule of
    ``ddbkit.accelerate`` is imported, the package attribute ``ddbkit.accelerate`` is that module, not the
    function (reported in m27-findings)."""
    try:
        import ddbkit.accelerate as package
    except ImportError:
        return None
    value = getattr(package, name, None)
    return value if callable(value) and not isinstance(value, type(package)) else None


def _check_client(client: Any) -> None:
    is_accelerated = _api("is_accelerated")
    if is_accelerated is not None and is_accelerated(client):
        STATE.clients_accelerated += 1


def _refuse(where: str, address: Any, family: Any = None) -> None:
    if family == getattr(socket, "AF_UNIX", object()):
        return
    STATE.connections.append(f"{STATE.current}: {where}{address!r}")
    raise ConnectionRefusedError(f"moto suite guard: {where}{address!r} refused (decorator mode sends nothing out)")


def _guard_sockets() -> None:
    def connect(original: Any) -> Any:
        def wrapper(self: socket.socket, address: Any) -> Any:
            _refuse("connect", address, self.family)
            return original(self, address)
        return wrapper

    def connect_ex(original: Any) -> Any:
        def wrapper(self: socket.socket, address: Any) -> Any:
            _refuse("connect_ex", address, self.family)
            return original(self, address)
        return wrapper

    def create_connection(original: Any) -> Any:
        def wrapper(address: Any, *args: Any, **kwargs: Any) -> Any:
            _refuse("create_connection", address)
            return original(address, *args, **kwargs)
        return wrapper

    _patch(socket.socket, "connect", connect)
    _patch(socket.socket, "connect_ex", connect_ex)
    _patch(socket, "create_connection", create_connection)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Guard sockets, count sends, call ``ddbkit.accelerate()``, then record the clients tests make."""
    if _MODE == "decorator":
        _guard_sockets()
    _count_sends()
    if _ACCELERATE:
        accelerate = _api("accelerate")
        if accelerate is None:
            import ddbkit

            STATE.error = (f"ddbkit has no accelerate() (issue #27 not built on this branch; ddbkit from "
                           f"{os.path.dirname(ddbkit.__file__)}): the accelerated run cannot start")
            _write_report()
            pytest.exit(STATE.error, returncode=3)
        STATE.handle = accelerate()
    _record_clients()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, None, None]:
    """Name the running test in refused-connection records."""
    STATE.current = item.nodeid
    yield
    STATE.current = "<between tests>"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Fold setup/call/teardown into one outcome per test; keep a failure's first line."""
    previous = STATE.outcomes.get(report.nodeid)
    if previous is not None and previous[0] == "failed":
        return
    if report.failed:
        text = str(report.longrepr or "")
        lines = [ln for ln in text.splitlines() if ln.startswith("E ")] or text.splitlines()[-1:] or [""]
        STATE.outcomes[report.nodeid] = ("failed", f"[{report.when}] {lines[0][:300]}")
    elif report.skipped and report.when in ("setup", "call"):
        STATE.outcomes[report.nodeid] = ("skipped", "")
    elif report.when == "call" and report.passed:
        STATE.outcomes[report.nodeid] = ("passed", "")


def _problems() -> list[str]:
    problems = []
    if STATE.connections:
        problems.append(f"{len(STATE.connections)} connection(s) attempted in decorator mode, first: "
                        f"{STATE.connections[0]}")
    if _ACCELERATE:
        if _MODE == "server" and not (STATE.fast_sends and STATE.engine_sent):
            problems.append("accelerate() was on but no data-plane call went through ddbkit's transport")
        if _MODE == "decorator" and STATE.engine_sent:
            problems.append(f"in decorator mode ddbkit sent {sum(STATE.engine_sent.values())} data-plane "
                            f"call(s) itself instead of leaving them to moto's mock_aws")
        if _api("is_accelerated") is not None and not STATE.clients_accelerated:
            problems.append(f"accelerate() was on but none of the {STATE.clients_made} DynamoDB clients made "
                            f"reports is_accelerated()")
    return problems


def _write_report() -> None:
    if not _REPORT:
        return
    report = {
        "mode": _MODE, "accelerate": _ACCELERATE, "error": STATE.error,
        "fast_sends": dict(STATE.fast_sends), "botocore_data_plane_sends": dict(STATE.botocore_sends),
        "mock_aws_data_plane_answers": dict(STATE.mock_answers),
        "accelerated_engine_sent": dict(STATE.engine_sent), "accelerated_engine_stepped_aside": dict(STATE.engine_aside),
        "dynamodb_clients_made": STATE.clients_made, "dynamodb_clients_accelerated": STATE.clients_accelerated,
        "connections_refused": STATE.connections[:50], "connections_refused_count": len(STATE.connections),
        "problems": _problems() if not STATE.error else [STATE.error],
        "outcomes": STATE.outcomes,
    }
    with open(_REPORT, "w", encoding="utf-8") as fh:
        json.dump(report, fh)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the report; fail the session when the acceleration was a no-op or a connection was tried."""
    problems = _problems()
    _write_report()
    if problems:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    for undo in reversed(STATE.undo):
        undo()
    if STATE.handle is not None and hasattr(STATE.handle, "close"):
        STATE.handle.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say what the plugin saw (and why it failed the session, if it did)."""
    terminalreporter.write_line(
        f"moto_suite_plugin: mode={_MODE} accelerate={_ACCELERATE} fast_sends={sum(STATE.fast_sends.values())} "
        f"botocore_data_plane_sends={sum(STATE.botocore_sends.values())} "
        f"mock_aws_answers={sum(STATE.mock_answers.values())} engine_sent={sum(STATE.engine_sent.values())} "
        f"engine_aside={sum(STATE.engine_aside.values())} clients={STATE.clients_made} "
        f"accelerated_clients={STATE.clients_accelerated} connections_refused={len(STATE.connections)}"
    )
    for problem in _problems():
        terminalreporter.write_line(f"moto_suite_plugin: FAIL: {problem}")
