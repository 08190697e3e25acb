"""The fast data-plane transport (ddbkit.transport.fast): wire format, signing, errors, retries, delegation.

Against bench/stub_server.py (requests recorded exactly as received, faults injected) and against the
real local servers (moto-server, DynamoDB Local) through ``server_backend``.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import io
import json
import socket
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import orjson
import pytest
from backends import Backend
from botocore.credentials import Credentials, RefreshableCredentials

from bench.stub_server import FaultRule, StubConfig, StubServer
from ddbkit import Attr, Key, Table, Update
from ddbkit.core import transactions as tx
from ddbkit.aio import AsyncTable
from ddbkit.errors import (
    ConditionalCheckFailed,
    ConnectionFailed,
    ServiceError,
    ServiceValidationError,
    ThrottledError,
    TransactionCanceled,
)
from ddbkit.transport.fast import (
    AsyncFastTransport,
    FastTransport,
    WireProtocol,
    read_response,
    resolve_region_and_endpoint,
)
from ddbkit.core.retry import RetryPolicy
from ddbkit.transport import make_transport
from ddbkit.transport import BotocoreTransport

NO_WAIT = RetryPolicy(max_attempts=3, base_delay=0, max_delay=0)


class FakeSession:
    """Just what the fast transport asks a session for."""

    def __init__(self, credentials: Any, region_name: str = "us-east-1") -> None:
        self.credentials = credentials
        self.region_name = region_name

    def get_credentials(self) -> Any:
        return self.credentials

    def get_config_variable(self, name: str) -> Any:
        return None


class Recorder:
    """A control-plane transport that records what it was asked."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def send(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(operation)
        return {"Table": {"TableName": request.get("TableName"), "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"}], "AttributeDefinitions": []}}

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def stub_server() -> Iterator[StubServer]:
    with StubServer(StubConfig(record=True, page_size=3, pages=3)) as server:
        yield server


@pytest.fixture
def stub(stub_server: StubServer) -> Iterator[StubServer]:
    stub_server.stub.reset()
    stub_server.stub.configure(record=True, page_size=3, pages=3, latency=0.0)
    yield stub_server


def fast_table(stub: StubServer, **kwargs: Any) -> Table:
    kwargs.setdefault("key", ("pk", "sk"))
    kwargs.setdefault("retry", NO_WAIT)
    return Table("Bench", transport=FastTransport(endpoint_url=stub.endpoint_url, region_name="eu-west-1",
                                                  session=kwargs.pop("session", None)), **kwargs)


# --------------------------------------------------------------------------------------------------
# wire format and signing
# --------------------------------------------------------------------------------------------------

def test_request_body_and_headers_are_exact(stub: StubServer) -> None:
    session = FakeSession(Credentials("AKID", "SECRET", "TOKEN"), "eu-west-1")
    t = fast_table(stub, session=session)
    t.put({"pk": "a", "sk": "1", "blob": b"\x00\xff", "n": Decimal("1.5"), "tags": {"x"}})
    (req,) = stub.stub.requests
    assert req["operation"] == "PutItem"
    assert orjson.loads(req["body"]) == {
        "TableName": "Bench", "ReturnConsumedCapacity": "TOTAL",
        "Item": {"pk": {"S": "a"}, "sk": {"S": "1"}, "blob": {"B": "AP8="}, "n": {"N": "1.5"}, "tags": {"SS": ["x"]}}}
    h = req["headers"]
    assert h["x-amz-target"] == "DynamoDB_20120810.PutItem"
    assert h["content-type"] == "application/x-amz-json-1.0"
    assert h["host"] == f"127.0.0.1:{stub.port}"
    assert h["x-amz-security-token"] == "TOKEN"
    assert h["content-length"] == str(len(req["body"].encode()))
    assert h["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential=AKID/{h['x-amz-date'][:8]}/eu-west-1/dynamodb/"
                                         "aws4_request, SignedHeaders=content-type;host;x-amz-date;"
                                         "x-amz-security-token;x-amz-target, Signature=")


def test_binary_values_travel_as_base64_both_ways(stub: StubServer) -> None:
    t = Table("Bench", key="pk", transport=FastTransport(endpoint_url=stub.endpoint_url, region_name="us-east-1"))
    item = t.get({"pk": b"\x01\x02\xfe"})
    sent = orjson.loads(stub.stub.requests[0]["body"])
    assert sent["Key"] == {"pk": {"B": base64.b64encode(b"\x01\x02\xfe").decode()}}
    assert item is not None and item["pk"] == b"\x01\x02\xfe"  # the stub echoes the base64 text back


def test_last_evaluated_key_binary_becomes_bytes() -> None:
    body = orjson.dumps({"Items": [], "LastEvaluatedKey": {"pk": {"B": "AP8="}, "sk": {"S": "x"}}})
    out = WireProtocol.parse("Query", 200, body, None)
    assert out["LastEvaluatedKey"] == {"pk": {"B": b"\x00\xff"}, "sk": {"S": "x"}}


def test_query_pages_over_the_fast_transport(stub: StubServer) -> None:
    t = fast_table(stub, cursor_secret="s" * 32)
    pages = list(t.query_pages(Key("pk").eq("p")))
    assert [len(p.items) for p in pages] == [3, 3, 3] and pages[-1].cursor is None
    starts = [orjson.loads(r["body"]).get("ExclusiveStartKey") for r in stub.stub.requests]
    assert starts == [None, {"pk": {"S": "p"}, "sk": {"S": "000000-last"}}, {"pk": {"S": "p"}, "sk": {"S": "000001-last"}}]


def test_keep_alive_reuses_one_connection(stub: StubServer) -> None:
    t = fast_table(stub)
    for i in range(20):
        t.put({"pk": "a", "sk": str(i)})
    assert stub.stub.counters["requests"] == 20 and stub.stub.counters["connections"] == 1


def test_batch_write_in_parallel_chunks(stub: StubServer) -> None:
    stub.stub.configure(latency=0.02)
    t = fast_table(stub, concurrency=8)
    result = t.batch_write([{"pk": "p", "sk": f"{i:04d}"} for i in range(400)])
    assert result.written == 400 and result.calls == 16
    assert stub.stub.counters["items_written"] == 400
    assert 1 < stub.stub.counters["connections"] <= 8  # chunks were in flight at once, within the pool


# --------------------------------------------------------------------------------------------------
# errors and retries
# --------------------------------------------------------------------------------------------------

def test_throttling_is_retried_by_the_policy(stub: StubServer) -> None:
    stub.stub.faults.append(FaultRule("GetItem", code="ThrottlingException", times=2))
    t = fast_table(stub)
    assert t.get({"pk": "a", "sk": "b"}) is not None
    assert stub.stub.counters["requests"] == 3 and t.usage.retries["GetItem"] == 2


def test_throttling_gives_up_after_max_attempts(stub: StubServer) -> None:
    stub.stub.faults.append(FaultRule("GetItem", code="ProvisionedThroughputExceededException", times=-1))
    t = fast_table(stub)
    with pytest.raises(ThrottledError) as exc:
        t.get({"pk": "a", "sk": "b"})
    assert exc.value.code == "ProvisionedThroughputExceededException" and exc.value.status == 400
    assert exc.value.operation == "GetItem" and stub.stub.counters["requests"] == NO_WAIT.max_attempts


def test_validation_error_is_not_retried(stub: StubServer) -> None:
    stub.stub.faults.append(FaultRule("PutItem", code="ValidationException", message="bad thing", times=-1))
    t = fast_table(stub)
    with pytest.raises(ServiceValidationError, match="bad thing") as exc:
        t.put({"pk": "a", "sk": "b"})
    assert exc.value.code == "ValidationException" and stub.stub.counters["requests"] == 1


def test_bare_500_is_a_retryable_service_error(stub: StubServer) -> None:
    stub.stub.faults.append(FaultRule("GetItem", status=500, code=None, raw="<html>Internal oops</html>", times=-1))
    t = fast_table(stub)
    with pytest.raises(ServiceError) as exc:
        t.get({"pk": "a", "sk": "b"})
    assert exc.value.status == 500 and stub.stub.counters["requests"] == NO_WAIT.max_attempts
    # not DynamoDB's reply: its body is withheld, the message names the endpoint and region (issue 23)
    assert "oops" not in str(exc.value) and "check the region (eu-west-1)" in str(exc.value)


def test_conditional_failure_carries_the_item(stub: StubServer) -> None:
    stub.stub.faults.append(FaultRule("PutItem", code="ConditionalCheckFailedException", message="nope",
                                      extra={"Item": {"pk": {"S": "a"}, "sk": {"S": "b"}, "v": {"B": "AQ=="}}}))
    t = fast_table(stub)
    with pytest.raises(ConditionalCheckFailed) as exc:
        t.put({"pk": "a", "sk": "b"}, condition=Attr("pk").not_exists(), return_on_failure=True)
    assert exc.value.item == {"pk": "a", "sk": "b", "v": b"\x01"}


def test_transaction_cancellation_reasons(stub: StubServer) -> None:
    reasons = [{"Code": "ConditionalCheckFailed", "Message": "no"}, {"Code": "None"}]
    stub.stub.faults.append(FaultRule("TransactWriteItems", code="TransactionCanceledException",
                                      extra={"CancellationReasons": reasons}))
    t = fast_table(stub)
    with pytest.raises(TransactionCanceled) as exc:
        t.transact_write([tx.Put({"pk": "a", "sk": "1"}), tx.Delete({"pk": "a", "sk": "2"})])
    assert [r.code for r in exc.value.reasons] == ["ConditionalCheckFailed", "None"]
    assert [r.index for r in exc.value.failed] == [0]


def test_connection_refused_is_connection_failed() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens here
    t = Table("Bench", key="pk", retry=RetryPolicy(max_attempts=1),
              transport=FastTransport(endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1"))
    with pytest.raises(ConnectionFailed) as exc:
        t.get({"pk": "a"})
    assert exc.value.retryable and exc.value.operation == "GetItem"


def test_dropped_connection_and_read_timeout_are_connection_failed(stub: StubServer) -> None:
    stub.stub.faults.append(FaultRule("GetItem", drop=True))
    transport = FastTransport(endpoint_url=stub.endpoint_url, region_name="us-east-1", read_timeout=0.2)
    t = Table("Bench", key="pk", retry=NO_WAIT, transport=transport)
    assert t.get({"pk": "a"}) is not None  # first attempt dropped, retried on a new connection
    assert t.usage.retries["GetItem"] == 1
    stub.stub.faults.append(FaultRule("GetItem", code=None, delay=1.0, times=1))
    with pytest.raises(ConnectionFailed, match="(?i)timed? ?out"):
        transport.send("GetItem", {"TableName": "Bench", "Key": {"pk": {"S": "a"}}})


def test_corrupted_or_non_json_responses() -> None:
    body = b'{"Item": {}}'
    with pytest.raises(ConnectionFailed, match="CRC32"):
        WireProtocol.parse("GetItem", 200, body, "12345")
    with pytest.raises(ConnectionFailed, match="not a JSON object"):
        WireProtocol.parse("GetItem", 200, b"<html>", None)
    err = pytest.raises(ThrottledError, WireProtocol.parse, "Query", 400,
                        b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","Message":"slow"}', None)
    assert err.value.code == "ThrottlingException" and err.value.message == "slow"


def test_missing_credentials_is_botocores_no_credentials(stub: StubServer) -> None:
    from ddbkit.errors import NoCredentialsError

    t = Table("Bench", key="pk", transport=FastTransport(endpoint_url=stub.endpoint_url, session=FakeSession(None)))
    with pytest.raises(NoCredentialsError, match="^Unable to locate credentials$"):
        t.get({"pk": "a"})
    assert stub.stub.counters["requests"] == 0


def test_refreshing_credentials_are_honoured(stub: StubServer) -> None:
    now = datetime.datetime.now(datetime.timezone.utc)
    keys = iter(["KEY2", "KEY3"])

    def refresh() -> dict[str, str]:
        return {"access_key": next(keys), "secret_key": "s", "token": "t",
                "expiry_time": (now + datetime.timedelta(hours=1)).isoformat()}

    creds = RefreshableCredentials.create_from_metadata(
        {"access_key": "KEY1", "secret_key": "s", "token": "t",
         "expiry_time": (now + datetime.timedelta(seconds=2)).isoformat()},  # inside the refresh window
        refresh_using=refresh, method="test")
    t = Table("Bench", key="pk", transport=FastTransport(endpoint_url=stub.endpoint_url,
                                                         session=FakeSession(creds)))
    t.get({"pk": "a"})
    t.get({"pk": "b"})
    used = [r["headers"]["authorization"].split("Credential=")[1].split("/")[0] for r in stub.stub.requests]
    assert used == ["KEY2", "KEY2"]  # refreshed before the first request, then reused until near expiry


def test_http_response_reader() -> None:
    chunked = (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
               b"x-amz-crc32: 42\r\n\r\n4\r\n{\"a\"\r\n3;ext=1\r\n:1}\r\n0\r\n\r\n")
    assert read_response(io.BytesIO(chunked)) == (200, b'{"a":1}', "42", True)
    closing = b"HTTP/1.1 500 Oops\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi"
    assert read_response(io.BytesIO(closing)) == (500, b"hi", None, False)
    to_eof = b"HTTP/1.0 200 OK\r\n\r\n{}"
    assert read_response(io.BytesIO(to_eof)) == (200, b"{}", None, False)
    with pytest.raises(ConnectionError, match="ended after"):
        read_response(io.BytesIO(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"))
    with pytest.raises(ConnectionError, match="closed before"):
        read_response(io.BytesIO(b""))


# --------------------------------------------------------------------------------------------------
# selection, endpoints, delegation
# --------------------------------------------------------------------------------------------------

def test_control_plane_goes_to_botocore(stub: StubServer) -> None:
    recorder = Recorder()
    transport = FastTransport(endpoint_url=stub.endpoint_url, region_name="us-east-1", control=recorder)
    t = Table("Bench", transport=transport)  # no key: DescribeTable first
    t.get({"pk": "a"})
    assert recorder.calls == ["DescribeTable"]
    assert [r["operation"] for r in stub.stub.requests] == ["GetItem"]
    # the default control transport is boto3's client, on the same endpoint
    real = FastTransport(endpoint_url=stub.endpoint_url, region_name="us-east-1")
    assert isinstance(real.control, BotocoreTransport)
    assert Table("Bench", transport=real).key_schema.names == ("pk", "sk")
    described = stub.stub.requests[-1]
    assert described["operation"] == "DescribeTable" and "Botocore" in described["headers"]["user-agent"]


def test_moto_in_process_mock_sends_everything_through_botocore(stub: StubServer) -> None:
    from moto import mock_aws

    recorder = Recorder()
    transport = FastTransport(endpoint_url=stub.endpoint_url, region_name="us-east-1", control=recorder)
    with mock_aws():
        transport.send("GetItem", {"TableName": "Bench", "Key": {"pk": {"S": "a"}}})
    assert recorder.calls == ["GetItem"] and stub.stub.requests == []
    transport.send("GetItem", {"TableName": "Bench", "Key": {"pk": {"S": "a"}}})
    assert len(stub.stub.requests) == 1


def test_transport_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    from ddbkit.table import DEFAULT_TRANSPORT

    client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url="http://127.0.0.1:9")
    monkeypatch.delenv("DDBKIT_TRANSPORT", raising=False)
    assert DEFAULT_TRANSPORT == "fast"
    assert isinstance(Table("Bench", region_name="us-east-1").transport, FastTransport)
    assert isinstance(Table("Bench", client=client).transport, BotocoreTransport)
    monkeypatch.setenv("DDBKIT_TRANSPORT", "fast")
    assert isinstance(make_transport(None, region_name="us-east-1"), FastTransport)
    assert isinstance(make_transport(None, client=client), BotocoreTransport)  # client= means botocore
    with pytest.raises(ValueError, match="client="):
        make_transport("fast", client=client)
    assert isinstance(AsyncTable("Bench", region_name="us-east-1").transport, AsyncFastTransport)
    monkeypatch.setenv("DDBKIT_TRANSPORT", "botocore")
    assert isinstance(make_transport(None, region_name="us-east-1"), BotocoreTransport)
    assert isinstance(AsyncTable("Bench", transport="fast").transport, AsyncFastTransport)
    monkeypatch.setenv("DDBKIT_TRANSPORT", "carrier-pigeon")
    with pytest.raises(ValueError, match="unknown transport"):
        Table("Bench")


def test_endpoint_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    """Explicit endpoint_url wins; otherwise botocore's endpoint ruleset (the control client's) decides,
    as for boto3 (the parity suite compares many more cases with boto3)."""
    import boto3

    session = boto3.Session(region_name="eu-north-1")
    assert resolve_region_and_endpoint(session, "us-west-2", "http://x:1") == ("us-west-2", "http://x:1")
    assert resolve_region_and_endpoint(session, None, None) == ("", None)  # botocore decides
    eu = FastTransport(session=session)
    assert eu._setup().endpoint_url == "https://dynamodb.eu-north-1.amazonaws.com"
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:4566")
    assert FastTransport(session=boto3.Session(region_name="eu-north-1"))._setup().endpoint_url == \
        "http://127.0.0.1:4566"
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB")
    cn = FastTransport(session=boto3.Session(), region_name="cn-north-1")
    assert cn._setup().endpoint_url == "https://dynamodb.cn-north-1.amazonaws.com.cn"  # from botocore's rules


# --------------------------------------------------------------------------------------------------
# async
# --------------------------------------------------------------------------------------------------

def test_async_fast_transport_against_the_stub(stub: StubServer) -> None:
    stub.stub.faults.append(FaultRule("BatchWriteItem", code="ThrottlingException", times=1))

    async def scenario() -> None:
        async with AsyncTable("Bench", key=("pk", "sk"), transport="fast", endpoint_url=stub.endpoint_url,
                              region_name="us-east-1", retry=NO_WAIT, concurrency=4) as t:
            result = await t.batch_write([{"pk": "p", "sk": f"{i:03d}", "b": b"\x00"} for i in range(100)])
            assert result.written == 100 and t.usage.retries["BatchWriteItem"] == 1
            items = [it async for it in t.query_iter(Key("pk").eq("p"))]
            assert len(items) == 9
            got = await t.get({"pk": b"\x07", "sk": "x"})
            assert got is not None and got["pk"] == b"\x07"
            stub.stub.faults.append(FaultRule("GetItem", code="ValidationException", times=1))
            with pytest.raises(ServiceValidationError):
                await t.get({"pk": "a", "sk": "b"})

    asyncio.run(scenario())
    sent = [orjson.loads(r["body"]) for r in stub.stub.requests if r["operation"] == "BatchWriteItem"]
    assert sent[0]["RequestItems"]["Bench"][0]["PutRequest"]["Item"]["b"] == {"B": "AA=="}
    assert stub.stub.counters["items_written"] == 100


def test_async_connection_refused_and_control_plane() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def scenario() -> None:
        recorder = Recorder()

        class AsyncRecorder:
            async def send(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
                return recorder.send(operation, request)

            async def close(self) -> None:
                pass

        transport = AsyncFastTransport(endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                                       control=AsyncRecorder())
        t = AsyncTable("Bench", transport=transport, retry=RetryPolicy(max_attempts=1))
        with pytest.raises(ConnectionFailed):
            await t.get({"pk": "a"})  # DescribeTable went to the control plane, GetItem to the socket
        assert recorder.calls == ["DescribeTable"]
        await t.close()

    asyncio.run(scenario())


# --------------------------------------------------------------------------------------------------
# the real local servers
# --------------------------------------------------------------------------------------------------

def _create(backend: Backend, name: str, sk_type: str = "S") -> None:
    backend.client("dynamodb").create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": sk_type}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])


def test_fast_transport_on_real_servers(server_backend: Backend) -> None:
    _create(server_backend, "FastOrders", sk_type="B")
    t = Table("FastOrders", transport="fast", endpoint_url=server_backend.endpoint_url,
              session=server_backend.session(), cursor_secret="k" * 32)
    assert isinstance(t.transport, FastTransport)
    assert t.key_schema.names == ("pk", "sk")  # DescribeTable through boto3
    item = {"pk": "u", "sk": b"\x00\x01", "blob": b"\xff", "n": 1.5, "tags": {"a"}, "m": {"l": [1, "x"]}}
    assert t.put(item) is None
    assert t.get({"pk": "u", "sk": b"\x00\x01"}, consistent=True) == {**item, "n": Decimal("1.5")}
    with pytest.raises(ConditionalCheckFailed):
        t.put({"pk": "u", "sk": b"\x00\x01"}, condition=Attr("pk").not_exists())
    new = t.update({"pk": "u", "sk": b"\x00\x01"}, Update().add("visits", 2), return_values="ALL_NEW")
    assert new is not None and new["visits"] == 2
    result = t.batch_write([{"pk": "q", "sk": bytes([i]), "v": i} for i in range(60)])
    assert result.written == 60
    seen = [it["v"] for it in t.query_iter({"pk": "q"}, limit=7)]  # binary cursors across pages
    assert seen == list(range(60))
    got = t.batch_get([{"pk": "q", "sk": bytes([i])} for i in (3, 2, 200)])
    assert [it["v"] for it in got.items] == [3, 2] and got.missing == [{"pk": "q", "sk": bytes([200])}]
    assert t.count(filter=Attr("v") >= 30) == 30
    t.transact_write([tx.Put({"pk": "t", "sk": b"\x01", "v": 1}), tx.Delete({"pk": "q", "sk": b"\x00"})])
    assert t.transact_get([{"pk": "t", "sk": b"\x01"}, {"pk": "q", "sk": b"\x00"}]) == [
        {"pk": "t", "sk": b"\x01", "v": 1}, None]
    with pytest.raises(TransactionCanceled) as exc:
        t.transact_write([tx.ConditionCheck({"pk": "t", "sk": b"\x01"}, Attr("v") > 5),
                          tx.Delete({"pk": "q", "sk": b"\x05"})])
    assert exc.value.reasons[0].code == "ConditionalCheckFailed"
    assert t.delete({"pk": "u", "sk": b"\x00\x01"}, return_values="ALL_OLD") is not None
    assert t.usage.calls["BatchWriteItem"] >= 3 and t.usage.write_units > 0
    missing = Table("NoSuchTable", key="pk", transport="fast", endpoint_url=server_backend.endpoint_url,
                    session=server_backend.session())
    with pytest.raises(Exception) as err:
        missing.get({"pk": "x"})
    assert type(err.value).__name__ == "ResourceNotFound" and err.value.code == "ResourceNotFoundException"  # type: ignore[attr-defined]


def test_async_fast_transport_on_real_servers(server_backend: Backend) -> None:
    _create(server_backend, "FastAsync")

    async def scenario() -> None:
        async with AsyncTable("FastAsync", transport="fast", endpoint_url=server_backend.endpoint_url,
                              session=server_backend.session()) as t:
            assert (await t.key_schema()).names == ("pk", "sk")  # boto3 session: control plane on a thread
            await t.batch_write([{"pk": "a", "sk": f"{i:03d}", "b": bytes([i])} for i in range(40)])
            items = [it async for it in t.query_iter(Key("pk").eq("a") & Key("sk").gte("010"), limit=9)]
            assert [it["b"] for it in items] == [bytes([i]) for i in range(10, 40)]
            await t.transact_write([tx.Update({"pk": "a", "sk": "000"}, Update().set("x", 1))])
            assert (await t.get({"pk": "a", "sk": "000"}) or {}).get("x") == 1

    asyncio.run(scenario())


def test_stub_reports_its_cpu_and_counts(stub: StubServer) -> None:
    fast_table(stub).batch_write([{"pk": "p", "sk": str(i)} for i in range(30)])
    stats = json.loads(stub.stub.control("/_stub/stats", b"").body)
    assert stats["items_written"] == 30 and stats["requests"] == 2 and stats["cpu_s"] >= 0


# --------------------------------------------------------------------------------------------------
# the Table integration suite (tests/core/test_table.py) replayed over the fast transport
# --------------------------------------------------------------------------------------------------

def _table_suite() -> list[str]:
    import inspect

    import test_table

    names = []
    for name in sorted(dir(test_table)):
        fn = getattr(test_table, name)
        if (name.startswith("test_") and callable(fn) and list(inspect.signature(fn).parameters) == ["backend"]
                and not any(m.name == "slow" for m in getattr(fn, "pytestmark", []))):
            names.append(name)
    return names


@pytest.mark.parametrize("name", _table_suite())
def test_table_suite_over_the_fast_transport(name: str, server_backend: Backend,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """test_table.py builds its Tables with ``client=`` (botocore, so it also runs under moto's mock_aws);
    here every one of them is built on the fast transport against the same server instead."""
    import test_table

    built: list[Table] = []

    class FastTable(Table):
        def __init__(self, table_name: str, *, client: Any = None, **kwargs: Any) -> None:
            super().__init__(table_name, transport="fast", endpoint_url=server_backend.endpoint_url,
                             session=server_backend.session(), **kwargs)
            built.append(self)

    monkeypatch.setattr(test_table, "Table", FastTable)
    getattr(test_table, name)(server_backend)
    assert built and all(isinstance(t.transport, FastTransport) for t in built)


# --------------------------------------------------------------------------------------------------
# HTTPS (the production path): certificates are verified
# --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tls_stub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StubServer, str]]:
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    with StubServer(StubConfig(record=True), ssl_context=context) as server:
        yield server, str(cert_file)


def test_https_with_certificate_verification(tls_stub: tuple[StubServer, str]) -> None:
    server, ca = tls_stub
    assert server.endpoint_url.startswith("https://127.0.0.1:")  # verified against the certificate's IP SAN
    trusted = Table("Bench", key="pk", transport=FastTransport(endpoint_url=server.endpoint_url, region_name="us-east-1",
                                                               verify=ca))
    for i in range(3):
        assert trusted.get({"pk": f"k{i}"}) is not None
    assert server.stub.requests[-1]["headers"]["host"] == f"127.0.0.1:{server.port}"
    untrusted = Table("Bench", key="pk", retry=RetryPolicy(max_attempts=1),
                      transport=FastTransport(endpoint_url=server.endpoint_url, region_name="us-east-1"))
    with pytest.raises(ConnectionFailed, match="(?i)certificate"):
        untrusted.get({"pk": "a"})

    async def scenario() -> None:
        async with AsyncTable("Bench", key="pk", transport=AsyncFastTransport(
                endpoint_url=server.endpoint_url, region_name="us-east-1", verify=ca)) as t:
            assert await t.get({"pk": "a"}) is not None
        async with AsyncTable("Bench", key="pk", retry=RetryPolicy(max_attempts=1), transport=AsyncFastTransport(
                endpoint_url=server.endpoint_url, region_name="us-east-1")) as t:
            with pytest.raises(ConnectionFailed, match="(?i)certificate"):
                await t.get({"pk": "a"})

    asyncio.run(scenario())


def test_table_and_async_table_take_a_botocore_config() -> None:
    """Issue 13 item 9: Table(config=...) / AsyncTable(config=...) reach the transport; on botocore the user's
    Config is merged over ddbkit's, with botocore's retries and validation still off."""
    from botocore.config import Config

    config = Config(max_pool_connections=3, read_timeout=7, user_agent_appid="app-x")
    fast = Table("things", key="pk", transport="fast", region_name="us-east-1", config=config).transport
    assert isinstance(fast, FastTransport) and fast._options.max_pool == 3 and fast._options.read_timeout == 7
    assert fast._options.user_agent_appid == "app-x"
    boto = Table("things", key="pk", transport="botocore", region_name="us-east-1", config=config).transport
    assert isinstance(boto, BotocoreTransport)
    meta = boto.client.meta.config
    assert meta.max_pool_connections == 3 and meta.read_timeout == 7 and meta.user_agent_appid == "app-x"
    assert meta.retries["total_max_attempts"] == 1
    assert type(boto.client._serializer).__name__ == "JSONSerializer"  # no ParamValidationDecorator: off
    slow = AsyncTable("things", key="pk", transport="fast", region_name="us-east-1", config=config,
                      verify="/x/ca.pem").transport
    assert isinstance(slow, AsyncFastTransport) and slow._options.max_pool == 3 and slow._options.verify == "/x/ca.pem"
    unverified = Table("things", key="pk", transport="botocore", region_name="us-east-1", verify=False).transport
    assert unverified.client._endpoint.http_session._verify is False  # type: ignore[attr-defined]
