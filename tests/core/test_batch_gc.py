"""The bulk write path and Python's cyclic garbage collector (issue #26).

A nested bulk write used to spend most of its CPU in the collector: with 16 chunks in flight every
marshalled item's ~30 wire dicts outlived two young collections, was promoted, and the full collections
that followed walked everything the process holds. The fast transports now keep each request of a chunk
in flight as its JSON bytes (:class:`ddbkit.core.batch.EncodedWrites`). These tests pin the properties,
never a duration: no cyclic garbage, few collections per item, and the bytes sent are exactly the wire
dicts' JSON, also when the fast transport hands the call to botocore (moto's mock_aws).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import orjson
import pytest

from bench.items import ITEMS
from bench.stub_server import StubConfig, StubProcess, StubServer
from ddbkit import Table
from ddbkit.aio import AsyncTable
from ddbkit.core.batch import EncodedWrites, plain_request
from ddbkit.core.codec import encode_key, encode_put, marshal_key, marshal_put
from ddbkit.transport.fast import AsyncFastTransport, FastTransport

EVERY_TYPE: dict[str, Any] = {
    "pk": "p", "sk": "every", "s": "text", "n": 7, "d": Decimal("-1.25E+3"), "b": b"\x00\xff\x10",
    "t": True, "f": False, "z": None, "ss": {"a", "b"}, "ns": {1, Decimal("2.5")}, "bs": {b"\x01", b"\x02\x03"},
    "m": {"x": [1, "y", {"z": b"\xfe"}], "e": {}}, "l": [], "big": 10**37, "u": "ünïcode \u2603",
}


@pytest.fixture(scope="module")
def stub_process() -> Iterator[StubProcess]:
    with StubProcess(table="Bench") as stub:  # its own process: its asyncio objects are not in our heap
        yield stub


def _items(kind: str, n: int) -> list[dict[str, Any]]:
    return [{"pk": "p", "sk": f"{i:08d}", **ITEMS[kind]} for i in range(n)]


class Writer:
    """One table (and, async, one event loop) for several bulk writes: what a service keeps between calls."""

    def __init__(self, flavour: str, url: str) -> None:
        self.flavour = flavour
        self.loop = asyncio.new_event_loop()
        if flavour == "sync":
            self.table: Any = Table("Bench", key=("pk", "sk"), transport="fast", endpoint_url=url, concurrency=16)
        else:
            self.table = AsyncTable("Bench", key=("pk", "sk"), transport="fast", endpoint_url=url, concurrency=16)

    def write(self, items: list[dict[str, Any]]) -> None:
        if self.flavour == "sync":
            self.table.batch_write(iter(items))
        else:
            self.loop.run_until_complete(self.table.batch_write(iter(items)))

    def close(self) -> None:
        if self.flavour == "sync":
            self.table.close()
        else:
            self.loop.run_until_complete(self.table.close())
        self.loop.close()


@pytest.mark.parametrize("flavour", ["sync", "async"])
@pytest.mark.parametrize("kind", ["small", "nested"])
def test_a_bulk_write_leaves_no_cyclic_garbage(stub_process: StubProcess, flavour: str, kind: str) -> None:
    items = _items(kind, 1000)
    w = Writer(flavour, stub_process.endpoint_url)
    try:
        w.write(items[:50])  # connections, first-use caches
        gc.collect()
        gc.disable()
        try:
            w.write(items)
            assert gc.collect() == 0
        finally:
            gc.enable()
    finally:
        w.close()


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_a_nested_bulk_write_keeps_no_wire_dicts_alive_in_flight(stub_process: StubProcess, flavour: str) -> None:
    """Objects that die young never trigger a collection (the young generation counts allocations minus
    frees); wire dicts kept while 16 chunks are in flight triggered ~80 per 1,000 nested items."""
    items = _items("nested", 2000)
    w = Writer(flavour, stub_process.endpoint_url)
    collections: list[int] = []

    def count(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    thresholds = gc.get_threshold()
    try:
        w.write(items[:50])
        gc.collect()
        gc.set_threshold(700, 10, 10)  # CPython's defaults
        gc.callbacks.append(count)
        try:
            w.write(items)
        finally:
            gc.callbacks.remove(count)
            gc.set_threshold(*thresholds)
    finally:
        w.close()
    assert len(collections) <= 20, f"{len(collections)} collections for 2,000 nested items"


def test_encoded_requests_are_the_wire_dicts_json() -> None:
    body, wire = encode_put(EVERY_TYPE, ("pk", "sk"))
    assert wire == marshal_put(EVERY_TYPE, ("pk", "sk"))
    assert orjson.loads(body) == orjson.loads(orjson.dumps({"PutRequest": {"Item": wire}}, default=_b64))
    key_body, key = encode_key({"pk": "p", "sk": b"\x00"}, ("pk", "sk"), {"pk": "S", "sk": "B"})
    assert key == marshal_key({"pk": "p", "sk": b"\x00"}, ("pk", "sk"), {"pk": "S", "sk": "B"})
    assert key_body == b'{"DeleteRequest":{"Key":{"pk":{"S":"p"},"sk":{"B":"AA=="}}}}'
    # for botocore: back to wire dicts, bytes as bytes
    request = {"RequestItems": {"T": EncodedWrites([body, key_body])}, "ReturnConsumedCapacity": "TOTAL"}
    assert plain_request(request) == {"RequestItems": {"T": [{"PutRequest": {"Item": wire}},
                                                             {"DeleteRequest": {"Key": key}}]},
                                      "ReturnConsumedCapacity": "TOTAL"}
    assert orjson.dumps(request) == orjson.dumps(plain_request(request), default=_b64)


def _b64(value: Any) -> str:
    import base64

    return base64.b64encode(bytes(value)).decode()


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_the_fast_transports_send_the_same_bytes_as_before(flavour: str) -> None:
    """Encoded (the default on the fast transports) and plain wire dicts put identical bodies on the wire."""
    items = [EVERY_TYPE, *({"pk": "p", "sk": str(i), "v": i} for i in range(30))]
    bodies: dict[bool, list[str]] = {}
    with StubServer(StubConfig(record=True)) as server:
        for encoded in (True, False):
            server.stub.reset()
            server.stub.configure(record=True)
            if flavour == "sync":
                t = Table("Bench", key=("pk", "sk"), transport=FastTransport(endpoint_url=server.endpoint_url,
                                                                             region_name="us-east-1"),
                          concurrency=1)
                assert t.encoded_writes
                t.encoded_writes = encoded
                t.batch_write(items, deletes=[{"pk": "p", "sk": "gone"}])
                t.close()
            else:
                async def main(encoded: bool = encoded) -> None:
                    at = AsyncTable("Bench", key=("pk", "sk"), concurrency=1,
                                    transport=AsyncFastTransport(endpoint_url=server.endpoint_url,
                                                                 region_name="us-east-1"))
                    assert at.encoded_writes
                    at.encoded_writes = encoded
                    await at.batch_write(items, deletes=[{"pk": "p", "sk": "gone"}])
                    await at.close()

                asyncio.run(main())
            bodies[encoded] = [r["body"] for r in server.stub.requests if r["operation"] == "BatchWriteItem"]
    assert len(bodies[True]) == 2
    assert bodies[True] == bodies[False]


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_encoded_writes_handed_to_botocore_keep_every_type(flavour: str) -> None:
    """Under moto's mock_aws the fast transport delegates to botocore, which takes wire dicts with bytes."""
    from moto import mock_aws

    import boto3

    with mock_aws():
        boto3.client("dynamodb", region_name="us-east-1").create_table(
            TableName="Enc", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}])
        if flavour == "sync":
            table = Table("Enc", key=("pk", "sk"), transport="fast", region_name="us-east-1")
            assert table.encoded_writes
            table.batch_write([EVERY_TYPE])
            got = table.get({"pk": "p", "sk": "every"})
        else:
            async def main() -> Any:
                at = AsyncTable("Enc", key=("pk", "sk"), transport="fast", region_name="us-east-1")
                assert at.encoded_writes
                await at.batch_write([EVERY_TYPE])
                await at.close()
                return Table("Enc", key=("pk", "sk"), transport="fast", region_name="us-east-1").get(
                    {"pk": "p", "sk": "every"})

            got = asyncio.run(main())
    assert got == {**EVERY_TYPE, "ns": {1, Decimal("2.5")}, "d": Decimal("-1250")}


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_a_failed_encoded_chunk_lists_exactly_its_requests(flavour: str) -> None:
    """A chunk whose first call fails (nothing applied) reports the caller's own requests, in order."""
    from bench.stub_server import FaultRule
    from ddbkit.errors import BatchWriteError

    puts = [{"pk": "p", "sk": str(i), "b": bytes([i])} for i in range(20)]
    deletes = [{"pk": "p", "sk": "gone"}]
    with StubServer(StubConfig()) as server:
        server.stub.faults.append(FaultRule("BatchWriteItem", code="ValidationException", times=-1))
        if flavour == "sync":
            t = Table("Bench", key=("pk", "sk"), transport=FastTransport(endpoint_url=server.endpoint_url,
                                                                         region_name="us-east-1"))
            assert t.encoded_writes
            with pytest.raises(BatchWriteError) as info:
                t.batch_write(puts, deletes=deletes)
            t.close()
        else:
            async def main() -> None:
                at = AsyncTable("Bench", key=("pk", "sk"), transport=AsyncFastTransport(
                    endpoint_url=server.endpoint_url, region_name="us-east-1"))
                assert at.encoded_writes
                try:
                    await at.batch_write(puts, deletes=deletes)
                finally:
                    await at.close()

            with pytest.raises(BatchWriteError) as info:
                asyncio.run(main())
    assert info.value.written == 0
    assert info.value.unprocessed == [("put", p) for p in puts] + [("delete", d) for d in deletes]
