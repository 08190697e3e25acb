"""A DynamoDB JSON-protocol stub on 127.0.0.1 for benchmarks and transport tests.

It answers the data-plane calls the benches make (BatchWriteItem with no UnprocessedItems, BatchGetItem,
GetItem, PutItem, UpdateItem, DeleteItem, canned Query/Scan pages with LastEvaluatedKey, transactions)
and DescribeTable, with an optional injected latency per request that never blocks other requests (an
asyncio server: a delayed reply is a timer, not a sleep). HTTP/1.1 keep-alive; every reply carries
``x-amz-crc32`` like DynamoDB.

Two ways to run it:

* :class:`StubProcess` - in a child process (``python -m bench.stub_server``), so the stub never shares
  the client's GIL or CPU accounting; the benches use this and print the stub's own CPU time
  (:meth:`StubProcess.stats`) to show it is not the bottleneck.
* :class:`StubServer` - on a background thread of this process (tests: requests are recorded exactly as
  received in :attr:`Stub.requests`).

Structure, for extension (fault injection for reliability tests):

* :data:`HANDLERS` maps an operation to ``handler(stub, request) -> response dict``; add entries to answer
  more operations.
* :meth:`Stub.fault_hook` runs before the handler and may return a :class:`Reply` (an error, a bare
  5xx, a dropped connection, an extra delay) instead; the default consults :attr:`Stub.faults`, a list of
  :class:`FaultRule`. Override it (subclass) or add rules (``POST /_stub/faults`` across processes).

Control endpoints (same port, any method): ``/_stub/stats`` (CPU seconds, request/item counters),
``/_stub/config`` (POST JSON: latency, page_size, pages...), ``/_stub/faults`` (POST a JSON list of
FaultRule fields), ``/_stub/requests`` (recorded requests), ``/_stub/reset``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

__all__ = ["Reply", "FaultRule", "StubConfig", "Stub", "StubServer", "StubProcess", "HANDLERS", "SMALL_ITEM", "fake_aws_env"]

_JSON = "application/x-amz-json-1.0"
_ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"

# A typical small item in wire format (the same attributes as bench/bench_codec.py's ITEM).
SMALL_ITEM: dict[str, Any] = {
    "userId": {"S": "user-1234"},
    "createdAt": {"N": "1700000000"},
    "expiresAt": {"N": "1700086400"},
    "status": {"S": "ACTIVE"},
    "sessionType": {"S": "web"},
    "ipAddress": {"S": "203.0.113.7"},
    "userAgent": {"S": "Mozilla/5.0 (X11; Linux x86_64)"},
    "visits": {"N": "42"},
    "mfa": {"BOOL": True},
    "geo": {"M": {"country": {"S": "NO"}, "city": {"S": "Oslo"}}},
    "roles": {"SS": ["reader", "writer"]},
}


def fake_aws_env() -> None:
    """Fake credentials and region for clients talking to the stub; no profile, config file or IMDS."""
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
                "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        os.environ.pop(var, None)
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
                       "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_SECURITY_TOKEN", None)


def _dumps(obj: Any) -> bytes:
    try:
        import orjson

        return orjson.dumps(obj)
    except ImportError:  # pragma: no cover - orjson is a dependency of ddbkit
        return json.dumps(obj, separators=(",", ":")).encode()


def _loads(data: bytes) -> Any:
    try:
        import orjson

        return orjson.loads(data)
    except ImportError:  # pragma: no cover
        return json.loads(data)


@dataclass
class Reply:
    """What the stub sends back. ``body`` bytes are sent as is; ``drop`` closes the connection without a
    reply; ``delay`` adds seconds on top of the configured latency."""

    status: int = 200
    body: bytes = b"{}"
    content_type: str = _JSON
    drop: bool = False
    delay: float = 0.0

    @classmethod
    def error(cls, code: str, message: str = "injected", status: int = 400, **extra: Any) -> Reply:
        """A DynamoDB JSON error (``__type`` with the service namespace, ``message``)."""
        return cls(status, _dumps({"__type": _ERROR_PREFIX + code, "message": message, **extra}))


@dataclass
class FaultRule:
    """Replace the reply to ``operation`` (None: any data-plane operation) ``times`` times (-1: always).

    ``code`` gives a JSON error with ``status``; ``raw`` (text) a non-JSON body instead (a bare 5xx from a
    load balancer); ``drop`` closes the connection; ``delay`` only delays the normal reply. ``extra``
    adds fields to the JSON error (``Item``, ``CancellationReasons``...).
    """

    operation: str | None = None
    status: int = 400
    code: str | None = "ThrottlingException"
    message: str = "injected"
    raw: str | None = None
    drop: bool = False
    delay: float = 0.0
    times: int = 1
    extra: dict[str, Any] | None = None

    def reply(self, operation: str, request: dict[str, Any], stub: Stub) -> Reply | None:
        if self.drop:
            return Reply(drop=True)
        if self.raw is not None:
            return Reply(self.status, self.raw.encode(), content_type="text/plain")
        if self.code is not None:
            return Reply.error(self.code, self.message, self.status, **(self.extra or {}))
        # delay only: the normal answer, later
        normal = stub.answer(operation, request)
        normal.delay += self.delay
        return normal


@dataclass
class StubConfig:
    """``latency`` seconds per request; Query/Scan return ``pages`` pages of ``page_size`` items of
    partition ``partition`` (keys ``key_names``) of table ``table``. ``page_size=0`` fills each page as
    DynamoDB does: as many items as fit in 1 MB by DynamoDB's item-size rule (``codec.item_size``)."""

    latency: float = 0.0
    page_size: int = 100
    pages: int = 10
    table: str = "Bench"
    key_names: tuple[str, ...] = ("pk", "sk")
    partition: str = "p"
    record: bool = False
    item: str = ""  # "small" or "nested" (bench/items.py) for Query/Scan/Get answers; "" = SMALL_ITEM


# --------------------------------------------------------------------------------------------------
# Handlers: operation -> response dict
# --------------------------------------------------------------------------------------------------

def _capacity(request: dict[str, Any], table: str, units: float) -> dict[str, Any]:
    if request.get("ReturnConsumedCapacity") in ("TOTAL", "INDEXES"):
        return {"ConsumedCapacity": {"TableName": table, "CapacityUnits": units}}
    return {}


def _batch_write(stub: Stub, request: dict[str, Any]) -> dict[str, Any]:
    tables = request.get("RequestItems") or {}
    n = sum(len(v) for v in tables.values())
    stub.counters["items_written"] += n
    out: dict[str, Any] = {"UnprocessedItems": {}}
    if request.get("ReturnConsumedCapacity") in ("TOTAL", "INDEXES"):
        out["ConsumedCapacity"] = [{"TableName": t, "CapacityUnits": float(len(v))} for t, v in tables.items()]
    return out


def _batch_get(stub: Stub, request: dict[str, Any]) -> dict[str, Any]:
    responses = {}
    for table, spec in (request.get("RequestItems") or {}).items():
        responses[table] = [{**SMALL_ITEM, **key} for key in spec.get("Keys", [])]
        stub.counters["items_read"] += len(responses[table])
    return {"Responses": responses, "UnprocessedKeys": {}}


def _answer_item(config: StubConfig) -> dict[str, Any]:
    if not config.item:
        return SMALL_ITEM
    from bench.items import WIRE

    return WIRE[config.item]


def _fill_1mb(config: StubConfig) -> int:
    """Items per Query/Scan page when DynamoDB fills it: the 1 MB limit over the answer item's size."""
    from ddbkit.core.codec import item_size

    pk, sk = config.key_names[0], config.key_names[-1]
    one = item_size({pk: {"S": config.partition}, sk: {"S": "000000-000000"}, **_answer_item(config)})
    return (1024 * 1024) // one


def _get(stub: Stub, request: dict[str, Any]) -> dict[str, Any]:
    stub.counters["items_read"] += 1
    return {"Item": {**_answer_item(stub.config), **request.get("Key", {})}, **_capacity(request, request["TableName"], 0.5)}


def _write_one(stub: Stub, request: dict[str, Any]) -> dict[str, Any]:
    stub.counters["items_written"] += 1
    out = _capacity(request, request.get("TableName", ""), 1.0)
    if request.get("ReturnValues") in ("ALL_NEW", "ALL_OLD", "UPDATED_NEW", "UPDATED_OLD"):
        out["Attributes"] = request.get("Item") or request.get("Key") or {}
    return out


def _transact_write(stub: Stub, request: dict[str, Any]) -> dict[str, Any]:
    stub.counters["items_written"] += len(request.get("TransactItems", []))
    return {}


def _transact_get(stub: Stub, request: dict[str, Any]) -> dict[str, Any]:
    items = request.get("TransactItems", [])
    stub.counters["items_read"] += len(items)
    return {"Responses": [{"Item": {**SMALL_ITEM, **t["Get"]["Key"]}} for t in items]}


def _describe(stub: Stub, request: dict[str, Any]) -> dict[str, Any]:
    names = stub.config.key_names
    schema = [{"AttributeName": names[0], "KeyType": "HASH"}]
    if len(names) > 1:
        schema.append({"AttributeName": names[1], "KeyType": "RANGE"})
    return {"Table": {
        "TableName": request.get("TableName", stub.config.table), "TableStatus": "ACTIVE",
        "KeySchema": schema, "AttributeDefinitions": [{"AttributeName": n, "AttributeType": "S"} for n in names],
        "CreationDateTime": 1_700_000_000.0, "ItemCount": 0, "TableSizeBytes": 0,
        "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
    }}


HANDLERS: dict[str, Callable[[Stub, dict[str, Any]], dict[str, Any]]] = {
    "BatchWriteItem": _batch_write,
    "BatchGetItem": _batch_get,
    "GetItem": _get,
    "PutItem": _write_one,
    "UpdateItem": _write_one,
    "DeleteItem": _write_one,
    "TransactWriteItems": _transact_write,
    "TransactGetItems": _transact_get,
    "DescribeTable": _describe,
}


class Stub:
    """The stub's state and dispatch, independent of HTTP: handlers, faults, counters, recorded requests."""

    def __init__(self, config: StubConfig | None = None) -> None:
        self.config = config or StubConfig()
        self.faults: list[FaultRule] = []
        self.counters: Counter[str] = Counter()
        self.requests: list[dict[str, Any]] = []  # when config.record: {"operation", "headers", "body"}
        self._pages: dict[tuple[int, bool], bytes] = {}
        self._cpu0 = time.process_time()

    # -- configuration ----------------------------------------------------------------------
    def configure(self, **changes: Any) -> None:
        known = {f.name for f in fields(StubConfig)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown stub settings {sorted(unknown)}")
        if "key_names" in changes:
            changes["key_names"] = tuple(changes["key_names"])
        for k, v in changes.items():
            setattr(self.config, k, v)
        self._pages.clear()

    def reset(self) -> None:
        self.faults.clear()
        self.counters.clear()
        self.requests.clear()
        self._cpu0 = time.process_time()

    def stats(self) -> dict[str, Any]:
        """CPU seconds this process used since start/reset, and the request/item counters."""
        return {"cpu_s": time.process_time() - self._cpu0, **self.counters}

    # -- dispatch -----------------------------------------------------------------------------
    def handle(self, target: str, headers: dict[str, str], body: bytes) -> Reply:
        operation = target.rpartition(".")[2]
        self.counters["requests"] += 1
        try:
            request = _loads(body) if body else {}
        except ValueError:
            return Reply.error("SerializationException", "body is not JSON")
        if self.config.record:
            self.requests.append({"operation": operation, "headers": dict(headers), "body": body.decode()})
        reply = self.fault_hook(operation, request)
        return reply if reply is not None else self.answer(operation, request)

    def fault_hook(self, operation: str, request: dict[str, Any]) -> Reply | None:
        """A reply replacing the normal one, or None. Default: the first matching :class:`FaultRule`."""
        for rule in self.faults:
            if rule.times != 0 and rule.operation in (None, operation):
                if rule.times > 0:
                    rule.times -= 1
                self.counters["faults"] += 1
                return rule.reply(operation, request, self)
        return None

    def answer(self, operation: str, request: dict[str, Any]) -> Reply:
        if operation in ("Query", "Scan"):
            return Reply(body=self._page(request))
        handler = HANDLERS.get(operation)
        if handler is None:
            return Reply(400, _dumps({"__type": "com.amazon.coral.service#UnknownOperationException"}))
        return Reply(body=_dumps(handler(self, request)))

    def _page(self, request: dict[str, Any]) -> bytes:
        cfg = self.config
        start = request.get("ExclusiveStartKey")
        index = int(start[cfg.key_names[-1]]["S"].split("-")[0]) + 1 if start else 0
        with_cc = request.get("ReturnConsumedCapacity") in ("TOTAL", "INDEXES")
        body = self._pages.get((index, with_cc))
        if body is None:
            pk, sk = cfg.key_names[0], cfg.key_names[-1]
            items = []
            for i in range(cfg.page_size or _fill_1mb(cfg)):
                item = {pk: {"S": cfg.partition}, **_answer_item(cfg)}
                item[sk] = {"S": f"{index:06d}-{i:06d}"}
                items.append(item)
            page: dict[str, Any] = {"Items": items, "Count": len(items), "ScannedCount": len(items)}
            if index + 1 < cfg.pages:
                page["LastEvaluatedKey"] = {pk: items[-1][pk], sk: {"S": f"{index:06d}-last"}}
            if with_cc:
                page["ConsumedCapacity"] = {"TableName": cfg.table, "CapacityUnits": 0.5 * len(items)}
            body = self._pages[(index, with_cc)] = _dumps(page)
        self.counters["items_read"] += cfg.page_size or _fill_1mb(cfg)
        return body

    def control(self, path: str, body: bytes) -> Reply:
        """``/_stub/...`` endpoints."""
        what = path.rstrip("/").rsplit("/", 1)[-1]
        if what == "stats":
            return Reply(body=_dumps(self.stats()), content_type="application/json")
        if what == "config":
            if body:
                self.configure(**_loads(body))
            return Reply(body=_dumps(asdict(self.config)), content_type="application/json")
        if what == "faults":
            if body:
                self.faults.extend(FaultRule(**r) for r in _loads(body))
            return Reply(body=_dumps([asdict(r) for r in self.faults]), content_type="application/json")
        if what == "requests":
            return Reply(body=_dumps(self.requests), content_type="application/json")
        if what == "reset":
            self.reset()
            return Reply(body=b"{}", content_type="application/json")
        return Reply(404, b"unknown control endpoint", content_type="text/plain")


# --------------------------------------------------------------------------------------------------
# HTTP/1.1 over asyncio (minimal: Content-Length bodies, keep-alive, replies in request order)
# --------------------------------------------------------------------------------------------------

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error",
            503: "Service Unavailable"}


class _Connection(asyncio.Protocol):
    def __init__(self, stub: Stub) -> None:
        self.stub = stub
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.slots: list[list[Any]] = []  # [reply bytes | None, close?] in request order

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.stub.counters["connections"] += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4:end + 4 + length])
            del self.buffer[:end + 4 + length]
            method, _, rest = head[0].partition(" ")
            path = rest.partition(" ")[0]
            self._dispatch(path, headers, body)

    def _dispatch(self, path: str, headers: dict[str, str], body: bytes) -> None:
        if path.startswith("/_stub/"):
            reply, delay = self.stub.control(path, body), 0.0
        else:
            reply = self.stub.handle(headers.get("x-amz-target", ""), headers, body)
            delay = self.stub.config.latency + reply.delay
        slot: list[Any] = [None, headers.get("connection", "").lower() == "close"]
        self.slots.append(slot)
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, self._ready, slot, reply)
        else:
            self._ready(slot, reply)

    def _ready(self, slot: list[Any], reply: Reply) -> None:
        if self.transport is None:
            return
        if reply.drop:
            self.transport.abort()
            return
        crc = zlib.crc32(reply.body) & 0xFFFFFFFF
        slot[0] = (f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}\r\n"
                   f"Content-Type: {reply.content_type}\r\nContent-Length: {len(reply.body)}\r\n"
                   f"x-amz-crc32: {crc}\r\nx-amzn-RequestId: stub\r\n\r\n").encode("latin-1") + reply.body
        while self.slots and self.slots[0][0] is not None:
            data, close = self.slots.pop(0)
            self.transport.write(data)
            if close:
                self.transport.close()
                return


class StubServer:
    """The stub on a background thread of this process (tests). ``start()`` returns the port."""

    def __init__(self, config: StubConfig | None = None, stub: Stub | None = None, host: str = "127.0.0.1",
                 ssl_context: Any = None) -> None:
        self.stub = stub or Stub(config)
        self.host = host
        self.ssl_context = ssl_context  # an ssl.SSLContext to serve HTTPS
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None

    @property
    def endpoint_url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://{self.host}:{self.port}"

    async def serve(self, port: int = 0, started: Callable[[int], None] | None = None) -> None:
        """Serve on the running loop until cancelled."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self.stub), self.host, port,
                                                ssl=self.ssl_context)
        self.port = self._server.sockets[0].getsockname()[1]
        if started is not None:
            started(self.port)
        async with self._server:
            await self._server.serve_forever()

    def start(self) -> int:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            task = self._loop.create_task(self.serve(started=lambda _p: ready.set()))
            try:
                self._loop.run_until_complete(task)
            except asyncio.CancelledError:
                pass
            finally:
                self._loop.close()

        self._thread = threading.Thread(target=run, name="ddbkit-stub", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("stub server did not start")
        return self.port

    def stop(self) -> None:
        if self._loop is not None and self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
            for task in asyncio.all_tasks(self._loop):
                self._loop.call_soon_threadsafe(task.cancel)
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> StubServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class StubProcess:
    """The stub in a child process (benches): its own GIL and CPU time, reported by :meth:`stats`."""

    def __init__(self, **config: Any) -> None:
        self.config = config
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> StubProcess:
        cmd = [sys.executable, "-m", "bench.stub_server", "--config", json.dumps(self.config)]
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=root)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"stub server failed to start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def _call(self, what: str, payload: Any = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        with urllib.request.urlopen(f"{self.endpoint_url}/_stub/{what}", data=data, timeout=10) as resp:
            return json.loads(resp.read())

    def stats(self) -> dict[str, Any]:
        """``cpu_s`` (the stub process's CPU seconds since start/reset) and counters."""
        return self._call("stats")  # type: ignore[no-any-return]

    def configure(self, **changes: Any) -> None:
        self._call("config", changes)

    def add_faults(self, *rules: FaultRule) -> None:
        self._call("faults", [asdict(r) for r in rules])

    def reset(self) -> None:
        self._call("reset", {})

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:  # pragma: no cover
                self.proc.kill()
                self.proc.wait()
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self.proc = None

    def __enter__(self) -> StubProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--config", default="{}", help="StubConfig fields as JSON")
    args = parser.parse_args(argv)
    stub = Stub()
    stub.configure(**json.loads(args.config))
    server = StubServer(stub=stub)

    def started(port: int) -> None:
        print(f"PORT {port}", flush=True)

    try:
        asyncio.run(server.serve(args.port, started))
    except KeyboardInterrupt:  # pragma: no cover
        pass


if __name__ == "__main__":
    main()
