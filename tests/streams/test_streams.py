"""ddbkit.streams.processors: records from AWS's sample events, lazy images, failure modes, ordering, dead letters,
the async and batch variants, Powertools input and tracing. No server needed (moto in-process for SQS
and Table.batch_write)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ddbkit.streams import records as streams_mod
from ddbkit.tracing import api as tracing
from ddbkit.core.codec import marshal_item
from ddbkit.streams.processors import (
    AsyncBatchStreamProcessor,
    AsyncStreamProcessor,
    BatchStreamProcessor,
    FailureMode,
    MemoryAttemptStore,
    SqsDeadLetter,
    StreamProcessor,
    dead_letter_message,
)
from ddbkit.streams.records import (
    EmptyBatchError,
    ImageNotAvailable,
    MalformedRecordError,
    RecordRejected,
    StreamEventError,
    StreamRecord,
    parse_event,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "streams"
ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-01-01T00:00:00.000"


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())  # type: ignore[no-any-return]


def rec(seq: str | int, pk: str = "a", event: str = "INSERT", *, sk: int | None = None,
        new: dict[str, Any] | None = None, old: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Lambda stream record for item (pk[, sk]) with plain-Python images."""
    keys: dict[str, Any] = {"pk": pk} if sk is None else {"pk": pk, "sk": sk}
    if new is None and event != "REMOVE":
        new = {**keys, "n": int(seq)}
    if old is None and event != "INSERT":
        old = {**keys, "n": 0}
    ddb: dict[str, Any] = {"Keys": marshal_item(keys), "SequenceNumber": str(seq), "SizeBytes": 10,
                           "StreamViewType": "NEW_AND_OLD_IMAGES", "ApproximateCreationDateTime": 1700000000}
    if new is not None and event != "REMOVE":
        ddb["NewImage"] = marshal_item(new)
    if old is not None and event != "INSERT":
        ddb["OldImage"] = marshal_item(old)
    return {"eventID": f"e{seq}", "eventName": event, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1", "dynamodb": ddb, "eventSourceARN": ARN}


def event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


class Recorder(StreamProcessor):
    """Records (event, sequence number) of every handled record; fails those whose pk is in ``poison``."""

    def __init__(self, poison: set[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.poison = poison or set()
        self.seen: list[tuple[str, str]] = []

    def on_record(self, record: StreamRecord) -> None:
        if record.keys.get("pk") in self.poison:
            raise ValueError(f"poison {record.sequence_number}")
        self.seen.append((record.event_name, record.sequence_number))
        super().on_record(record)


# --------------------------------------------------------------------------------------------------
# Records from AWS's sample events
# --------------------------------------------------------------------------------------------------


def test_sam_update_event_routes_insert_modify_remove_with_envelope_fields() -> None:
    calls: list[tuple[str, Any, Any]] = []

    class P(StreamProcessor):
        def on_insert(self, r: StreamRecord) -> None:
            calls.append(("insert", r.old_image, r.new_image))

        def on_modify(self, r: StreamRecord) -> None:
            calls.append(("modify", r.old_image, r.new_image))

        def on_remove(self, r: StreamRecord) -> None:
            calls.append(("remove", r.old_image, r.new_image))

    assert P().handler(load("sam_dynamodb_update.json"), None) == {"batchItemFailures": []}
    assert calls == [
        ("insert", None, {"Message": "New item!", "Id": 101}),
        ("modify", {"Message": "New item!", "Id": 101}, {"Message": "This item has changed", "Id": 101}),
        ("remove", {"Message": "This item has changed", "Id": 101}, None),
    ]
    first, second, third = parse_event(load("sam_dynamodb_update.json"))
    assert first.keys == {"Id": 101}
    assert first.sequence_number == "4421584500000000017450439091" and first.sequence == 4421584500000000017450439091
    assert first.table_name == "ExampleTableWithStream" and first.region == "us-east-1"
    assert first.approximate_creation_time == datetime(2015, 4, 9, tzinfo=timezone.utc)
    assert (first.size_bytes, second.size_bytes, third.size_bytes) == (26, 59, 38)
    assert first.view_type == "NEW_AND_OLD_IMAGES"
    assert first.event_id == "c4ca4238a0b923820dcc509a6f75849b"
    assert not any(r.is_ttl_expiry for r in (first, second, third))


def test_every_attribute_type_of_the_lambda_go_sample_unmarshals_to_python() -> None:
    records = parse_event(load("lambda_go_all_types.json"))
    image = records[1].new_image
    assert image == {
        "val": "data",
        "asdf1": b"\x00\x01*A",
        "b2": b"\xb5\xeb-",  # "test" is valid base64
        "asdf2": {b"\x00\x01*A", b"A*\x01\x00"},
        "key": "binary",
        "Binary": b"\x00\x01*A",
        "Boolean": True,
        "BinarySet": {b"\x00\x01*A"},
        "List": ["Cookies", "Coffee", Decimal("3.14159")],
        "Map": {"Name": "Joe", "Age": 35},
        "FloatNumber": Decimal("123.45"),
        "IntegerNumber": 123,
        "NumberSet": {1234, Decimal("567.8")},
        "Null": None,
        "String": "Hello",
        "StringSet": {"Giraffe", "Zebra"},
        "EmptyStringSet": set(),
    }
    assert type(image["asdf1"]) is bytes and type(image["IntegerNumber"]) is int  # type: ignore[index]
    assert records[1].keys == {"val": "data", "key": "binary"}
    assert records[1].table_name == "Example-Table"
    # the sample's first INSERT carries a Service identity: only a REMOVE can be a TTL expiry
    assert records[0].user_identity["principalId"] == "dynamodb.amazonaws.com"
    assert records[0].is_ttl_expiry is False


@pytest.mark.parametrize("mode, expected", [("float", (123.45, 123.0)), ("decimal", (Decimal("123.45"), Decimal(123)))])
def test_number_mode_follows_the_processor(mode: str, expected: tuple[Any, Any]) -> None:
    got: list[Any] = []

    class P(StreamProcessor):
        number = mode

        def on_insert(self, r: StreamRecord) -> None:
            if r.new_image and "FloatNumber" in r.new_image:
                got.append((r.new_image["FloatNumber"], r.new_image["IntegerNumber"]))

    P().handler(load("lambda_go_all_types.json"))
    assert got == [expected] and type(got[0][1]) is type(expected[1])


def test_ttl_expiry_goes_to_on_ttl_expiry_and_defaults_to_on_remove() -> None:
    routed: list[tuple[str, str]] = []

    class Split(StreamProcessor):
        def on_remove(self, r: StreamRecord) -> None:
            routed.append(("remove", r.keys["sessionId"]))

        def on_ttl_expiry(self, r: StreamRecord) -> None:
            routed.append(("ttl", r.keys["sessionId"]))

    class RemoveOnly(StreamProcessor):
        def on_remove(self, r: StreamRecord) -> None:
            routed.append(("remove-only", r.keys["sessionId"]))

    ev = load("ttl_expiry.json")
    Split().handler(ev)
    RemoveOnly().handler(ev)
    assert routed == [("ttl", "s-1"), ("remove", "s-2"), ("remove-only", "s-1"), ("remove-only", "s-2")]
    ttl, user = parse_event(ev)
    assert ttl.is_ttl_expiry and not user.is_ttl_expiry
    assert ttl.region == "eu-west-1" and ttl.table_name == "user-sessions"
    assert ttl.old_image == {"sessionId": "s-1", "userId": "u-1", "status": "ACTIVE", "expiresAt": 1709287200}


def test_arn_region_wins_over_aws_region_and_missing_arn_gives_none() -> None:
    raw = rec(1)
    raw["awsRegion"] = "eu-north-1"
    assert StreamRecord(raw).region == "us-east-1"
    del raw["eventSourceARN"]
    r = StreamRecord(raw)
    assert r.table_name is None and r.region == "eu-north-1"


# --------------------------------------------------------------------------------------------------
# Lazy images
# --------------------------------------------------------------------------------------------------


def test_images_not_read_are_never_unmarshalled(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = streams_mod.unmarshal_item

    def counting(item: Any, number: Any = None) -> Any:
        calls.append(item)
        return real(item, number)

    monkeypatch.setattr(streams_mod, "unmarshal_item", counting)

    class SeqOnly(StreamProcessor):
        def on_record(self, r: StreamRecord) -> None:
            assert r.sequence_number and r.event_name

    ev = event(rec(1), rec(2, event="MODIFY"), rec(3, event="REMOVE"))
    assert SeqOnly().handler(ev) == {"batchItemFailures": []}
    assert calls == []

    r = StreamRecord(rec(4, event="MODIFY"))
    assert r.new_image == r.new_image == {"pk": "a", "n": 4}
    assert len(calls) == 1  # cached after the first read; old image and keys still untouched


def test_a_broken_image_only_fails_handlers_that_read_it() -> None:
    raw = rec(1)
    raw["dynamodb"]["NewImage"] = {"pk": {"XX": "not a type"}}

    class Skipper(StreamProcessor):
        def on_insert(self, r: StreamRecord) -> None:
            _ = r.keys

    class Reader(StreamProcessor):
        def on_insert(self, r: StreamRecord) -> None:
            _ = r.new_image

    assert Skipper().handler(event(raw)) == {"batchItemFailures": []}
    assert Reader().handler(event(raw)) == {"batchItemFailures": [{"itemIdentifier": "1"}]}


# --------------------------------------------------------------------------------------------------
# What changed
# --------------------------------------------------------------------------------------------------


def test_changed_attributes_compares_values_not_wire_text() -> None:
    (r,) = parse_event(load("modify_all_types.json"))
    assert r.changed_attributes == {"String", "StringSet", "Map", "Boolean", "Added", "Null"}
    assert r.changed("String") and r.changed("Added") and r.changed("Null")
    assert not r.changed("IntegerNumber")  # "123" vs "123.0"
    assert not r.changed("NumberSet") and not r.changed("List") and not r.changed("Binary")
    assert not r.changed("NotThere")


def test_changed_before_changed_attributes_uses_the_same_rules() -> None:
    (r,) = parse_event(load("modify_all_types.json"))
    assert [r.changed(n) for n in ("IntegerNumber", "Map", "Added")] == [False, True, True]


def test_insert_and_remove_change_every_attribute_and_keys_only_has_no_diff() -> None:
    ins = StreamRecord(rec(1, new={"pk": "a", "x": 1}))
    rem = StreamRecord(rec(2, event="REMOVE", old={"pk": "a", "y": 2}))
    assert ins.changed_attributes == {"pk", "x"} and rem.changed_attributes == {"pk", "y"}
    keys_only = rec(3, event="MODIFY")
    for image in ("NewImage", "OldImage"):
        del keys_only["dynamodb"][image]
    keys_only["dynamodb"]["StreamViewType"] = "KEYS_ONLY"
    with pytest.raises(ImageNotAvailable, match="NEW_AND_OLD_IMAGES"):
        _ = StreamRecord(keys_only).changed_attributes
    r = StreamRecord(keys_only)
    assert r.new_image is None and r.old_image is None and r.keys == {"pk": "a"}


def test_binary_as_bytes_equals_the_same_binary_as_base64() -> None:
    raw = rec(1, event="MODIFY")
    raw["dynamodb"]["OldImage"] = {"pk": {"S": "a"}, "b": {"B": "AAEqQQ=="}}
    raw["dynamodb"]["NewImage"] = {"pk": {"S": "a"}, "b": {"B": b"\x00\x01*A"}}
    assert StreamRecord(raw).changed_attributes == frozenset()


# --------------------------------------------------------------------------------------------------
# Failure modes and ordering
# --------------------------------------------------------------------------------------------------


def test_stop_mode_stops_at_the_poison_record_and_reports_it() -> None:
    p = Recorder(poison={"bad"})
    ev = event(rec(10, "a"), rec(11, "b"), rec(12, "bad"), rec(13, "c"), rec(14, "a", "MODIFY"))
    assert p.handler(ev) == {"batchItemFailures": [{"itemIdentifier": "12"}]}
    assert p.seen == [("INSERT", "10"), ("INSERT", "11")]  # nothing after it: Lambda redelivers from 12
    result = p.process(ev["Records"])
    assert (result.processed, result.held, len(result.failures)) == (2, 2, 1)
    assert result.checkpoint == "11"


def test_continue_mode_handles_other_keys_and_holds_back_the_failed_key() -> None:
    p = Recorder(poison={"bad"}, mode="continue")
    bad_first = rec(21, "bad")
    ev = event(rec(20, "a"), bad_first, rec(22, "b"), rec(23, "bad", "MODIFY"), rec(24, "c"))
    # make the later record of the failed key succeed if it ran: it must still be held
    p.poison = {"bad"}
    result = p.process(ev["Records"])
    assert p.seen == [("INSERT", "20"), ("INSERT", "22"), ("INSERT", "24")]
    assert result.held == 1 and [f.record.sequence_number for f in result.failures] == ["21"]
    assert result.response == {"batchItemFailures": [{"itemIdentifier": "21"}]}


def test_continue_mode_reports_the_numerically_lowest_failure() -> None:
    # "100" < "99" as strings; Lambda compares numbers. The failures come out of order here.
    class FailSome(StreamProcessor):
        mode = FailureMode.CONTINUE

        def on_record(self, r: StreamRecord) -> None:
            if r.sequence_number in ("99", "100"):
                raise RuntimeError("boom")

    ev = event(rec(100, "x"), rec(99, "y"), rec(101, "z"))
    result = FailSome().process(ev["Records"])
    assert len(result.failures) == 2 and result.processed == 1
    assert result.response == {"batchItemFailures": [{"itemIdentifier": "99"}]}


def test_records_of_one_key_keep_their_order_and_partition_key_groups_items() -> None:
    ev = event(rec(1, "p", sk=1), rec(2, "q", sk=1), rec(3, "p", "MODIFY", sk=2), rec(4, "p", "MODIFY", sk=1),
               rec(5, "q", "MODIFY", sk=1))

    class FailFirstP(StreamProcessor):
        mode = "continue"

        def __init__(self, **kw: Any) -> None:
            super().__init__(**kw)
            self.order: list[str] = []

        def on_record(self, r: StreamRecord) -> None:
            if r.sequence_number == "1":
                raise RuntimeError("p#1 fails")
            self.order.append(r.sequence_number)

    by_item = FailFirstP()  # default: order per item key (pk, sk)
    by_item.process(ev["Records"])
    assert by_item.order == ["2", "3", "5"]  # (p,2) runs; (p,1) again is held
    by_partition = FailFirstP(partition_key="pk")
    by_partition.process(ev["Records"])
    assert by_partition.order == ["2", "5"]  # every later p record is held


def test_all_success_returns_an_empty_failure_list() -> None:
    assert Recorder().handler(event(rec(1), rec(2))) == {"batchItemFailures": []}


def test_empty_batch_and_non_stream_events_raise_clear_errors() -> None:
    p = Recorder()
    with pytest.raises(EmptyBatchError, match="no records"):
        p.handler({"Records": []})
    with pytest.raises(StreamEventError, match="'Records'"):
        p.handler({"body": "x"})
    with pytest.raises(StreamEventError, match="Records"):
        p.handler(None)
    with pytest.raises(EmptyBatchError):
        p.process([])
    sqs_record = {"messageId": "1", "eventSource": "aws:sqs", "eventName": "INSERT", "body": "{}"}
    with pytest.raises(MalformedRecordError, match="aws:sqs"):
        p.handler(event(sqs_record))
    assert p.seen == []


@pytest.mark.parametrize("breakage, message", [
    (lambda r: r["dynamodb"].pop("SequenceNumber"), r"Records\[2\]\.dynamodb: SequenceNumber is missing"),
    (lambda r: r["dynamodb"].update(SequenceNumber="12a"), "not a decimal string"),
    (lambda r: r["dynamodb"].pop("Keys"), "Keys is missing"),
    (lambda r: r.pop("eventName"), r"Records\[2\]: eventName is missing"),
    (lambda r: r.update(eventName="UPSERT"), "'UPSERT'"),
    (lambda r: r.pop("dynamodb"), "'dynamodb' object is missing"),
])
def test_a_malformed_record_fails_the_batch_before_any_handler_runs(breakage: Any, message: str) -> None:
    bad = rec(3)
    breakage(bad)
    p = Recorder()
    with pytest.raises(MalformedRecordError, match=message):
        p.handler(event(rec(1), rec(2), bad, rec(4)))
    assert p.seen == []  # records before it are not handled (they would run twice on retry)


def test_filters_by_event_name_and_predicate_skip_records() -> None:
    p = Recorder(events={"INSERT", "REMOVE"}, predicate=lambda r: r.keys["pk"] != "skip")
    result = p.process([rec(1), rec(2, event="MODIFY"), rec(3, "skip"), rec(4, event="REMOVE")])
    assert p.seen == [("INSERT", "1"), ("REMOVE", "4")]
    assert (result.processed, result.skipped) == (2, 2)
    with pytest.raises(ValueError, match="UPSERT"):
        Recorder(events={"UPSERT"})


def test_a_failing_predicate_is_a_record_failure() -> None:
    def predicate(r: StreamRecord) -> bool:
        if r.sequence_number == "2":
            raise KeyError("no such attribute")
        return True

    p = Recorder(predicate=predicate)
    assert p.handler(event(rec(1), rec(2), rec(3))) == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert p.seen == [("INSERT", "1")]


# --------------------------------------------------------------------------------------------------
# Dead letters
# --------------------------------------------------------------------------------------------------


def test_dead_letter_hook_takes_a_record_after_n_attempts_then_the_shard_moves_on() -> None:
    dead: list[tuple[str, str]] = []
    p = Recorder(poison={"bad"}, dead_letter=lambda r, e: dead.append((r.sequence_number, str(e))), max_attempts=3)
    ev = event(rec(1, "a"), rec(2, "bad"), rec(3, "c"))
    for _ in range(2):
        assert p.handler(ev) == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert dead == []
    assert p.handler(ev) == {"batchItemFailures": []}
    assert dead == [("2", "poison 2")]
    assert p.seen == [("INSERT", "1")] * 3 + [("INSERT", "3")]
    assert len(p.attempts) == 0  # type: ignore[arg-type]  # forgotten once dead-lettered


def test_a_failing_dead_letter_hook_keeps_the_record_failed() -> None:
    def hook(r: StreamRecord, e: BaseException) -> None:
        raise ConnectionError("queue down")

    p = Recorder(poison={"bad"}, dead_letter=hook, max_attempts=1)
    result = p.process([rec(1, "bad"), rec(2)])
    assert result.response == {"batchItemFailures": [{"itemIdentifier": "1"}]}
    assert result.dead_lettered == [] and result.failures[0].attempts == 1


def test_attempts_are_counted_per_record_and_reset_when_it_succeeds() -> None:
    store = MemoryAttemptStore()
    flaky = {"fail": True}

    class Flaky(StreamProcessor):
        def on_record(self, r: StreamRecord) -> None:
            if flaky["fail"]:
                raise RuntimeError("transient")

    p = Flaky(dead_letter=lambda r, e: None, max_attempts=5, attempts=store)
    p.process([rec(7)])
    p.process([rec(7)])
    assert store.increment("7") == 3
    store.reset("7")
    store.increment("7")
    flaky["fail"] = False
    assert p.process([rec(7)]).ok
    assert len(store) == 0


def test_memory_attempt_store_is_bounded_and_evicts_the_least_recently_counted() -> None:
    store = MemoryAttemptStore(max_entries=2)
    for seq in ("1", "2", "1", "3"):  # "2" is now the least recently counted: evicted
        store.increment(seq)
    assert len(store) == 2
    assert store.increment("1") == 3 and store.increment("2") == 1


@pytest.fixture
def sqs() -> Iterator[Any]:
    from moto import mock_aws

    with mock_aws():
        import boto3

        yield boto3.client("sqs", region_name="us-east-1")


def test_sqs_dead_letter_sends_the_record_and_the_error(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="stream-dlq")["QueueUrl"]
    p = Recorder(poison={"bad"}, dead_letter=SqsDeadLetter(url, client=sqs), max_attempts=2)
    ev = event(rec(5, "ok"), rec(6, "bad", new={"pk": "bad", "blob": b"\x00\xff"}), rec(7, "ok2"))
    assert p.handler(ev) == {"batchItemFailures": [{"itemIdentifier": "6"}]}
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages") is None
    assert p.handler(ev) == {"batchItemFailures": []}
    (msg,) = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    body = json.loads(msg["Body"])
    assert body["sequenceNumber"] == "6" and body["tableName"] == "orders" and body["eventName"] == "INSERT"
    assert body["error"] == {"type": "ValueError", "message": "poison 6"}
    assert body["record"]["dynamodb"]["NewImage"]["pk"] == {"S": "bad"}
    assert msg["MessageAttributes"]["sequenceNumber"]["StringValue"] == "6"


def test_sqs_dead_letter_fifo_and_lazily_created_client(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    hook = SqsDeadLetter(url, region_name="us-east-1")  # makes its own boto3 client
    record = StreamRecord(rec(42, "x"))
    hook(record, RuntimeError("nope"))
    hook(record, RuntimeError("nope again"))  # same sequence number: deduplicated by the queue
    msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert len(msgs) == 1
    assert msgs[0]["Attributes"]["MessageGroupId"] == "orders"


def test_dead_letter_message_drops_images_over_the_size_limit() -> None:
    big = StreamRecord(rec(1, new={"pk": "a", "blob": "x" * 5000}))
    small = json.loads(dead_letter_message(big, ValueError("e")))
    assert "NewImage" in small["record"]["dynamodb"] and "imagesOmitted" not in small
    slim = json.loads(dead_letter_message(big, ValueError("e"), max_bytes=1000))
    assert slim["imagesOmitted"] is True and "NewImage" not in slim["record"]["dynamodb"]
    assert slim["record"]["dynamodb"]["Keys"] == {"pk": {"S": "a"}}


# --------------------------------------------------------------------------------------------------
# Async variant
# --------------------------------------------------------------------------------------------------


class AsyncRecorder(AsyncStreamProcessor):
    def __init__(self, poison: set[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.poison = poison or set()
        self.seen: list[str] = []

    async def on_insert(self, record: StreamRecord) -> None:
        await asyncio.sleep(0)  # really suspends
        if record.keys["pk"] in self.poison:
            raise ValueError("async poison")
        self.seen.append(record.sequence_number)

    async def on_ttl_expiry(self, record: StreamRecord) -> None:
        self.seen.append("ttl:" + record.sequence_number)


def test_async_processor_has_the_same_failure_semantics() -> None:
    p = AsyncRecorder(poison={"bad"})
    ev = event(rec(1), rec(2, "bad"), rec(3))
    assert p.handler(ev) == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert p.seen == ["1"]
    cont = AsyncRecorder(poison={"bad"}, mode="continue")
    assert cont.handler(ev) == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert cont.seen == ["1", "3"]
    ttl = AsyncRecorder()
    ttl.handler(load("ttl_expiry.json"))
    assert ttl.seen == ["ttl:100000000000000000001"]  # the user REMOVE goes to the no-op on_remove


def test_async_ahandler_inside_a_running_loop_with_an_async_dead_letter_hook() -> None:
    dead: list[str] = []

    async def hook(r: StreamRecord, e: BaseException) -> None:
        await asyncio.sleep(0)
        dead.append(r.sequence_number)

    p = AsyncRecorder(poison={"bad"}, dead_letter=hook, max_attempts=1)

    async def main() -> dict[str, Any]:
        return await p.ahandler(event(rec(1, "bad"), rec(2)))

    assert asyncio.run(main()) == {"batchItemFailures": []}
    assert dead == ["1"] and p.seen == ["2"]


def test_an_async_handler_on_a_sync_processor_fails_the_record_with_a_hint() -> None:
    class Wrong(StreamProcessor):
        async def on_insert(self, r: StreamRecord) -> None:  # type: ignore[override]
            pass

    result = Wrong().process([rec(1)])
    assert isinstance(result.failures[0].error, TypeError)
    assert "AsyncStreamProcessor" in str(result.failures[0].error)


# --------------------------------------------------------------------------------------------------
# Batch helper
# --------------------------------------------------------------------------------------------------


def test_batch_processor_writes_aggregates_with_table_batch_write() -> None:
    from moto import mock_aws

    from ddbkit.table import Table

    class SessionCounts(BatchStreamProcessor):
        events = {"INSERT", "REMOVE"}

        def __init__(self, table: Table) -> None:
            super().__init__()
            self.table = table
            self.batches = 0

        def on_batch(self, records: list[StreamRecord]) -> None:
            self.batches += 1
            delta: dict[str, int] = {}
            for r in records:
                image = r.new_image if r.event_name == "INSERT" else r.old_image
                assert image is not None
                delta[image["userId"]] = delta.get(image["userId"], 0) + (1 if r.event_name == "INSERT" else -1)
            current = {k: (self.table.get({"userId": k}) or {}).get("sessions", 0) for k in delta}
            self.table.batch_write([{"userId": k, "sessions": current[k] + d} for k, d in delta.items()])

    with mock_aws():
        import boto3

        boto3.client("dynamodb", region_name="us-east-1").create_table(
            TableName="session-counts", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "userId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "userId", "AttributeType": "S"}])
        table = Table("session-counts", key="userId", region_name="us-east-1")
        p = SessionCounts(table)
        first = [rec(i, f"s{i}", new={"pk": f"s{i}", "userId": f"u{i % 3}"}) for i in range(1, 31)]
        assert p.handler(event(*first)) == {"batchItemFailures": []}
        second = [rec(31, "s1", "REMOVE", old={"pk": "s1", "userId": "u1"}),
                  rec(32, "s4", "MODIFY", new={"pk": "s4", "userId": "u9"})]  # MODIFY is filtered out
        result = p.process(second)
        assert result.processed == 1 and result.skipped == 1 and p.batches == 2
        counts = {i["userId"]: i["sessions"] for i in table.scan_iter()}
        assert counts == {"u0": 10, "u1": 9, "u2": 10}


def test_batch_processor_failures_raise_or_return_records() -> None:
    class Raises(BatchStreamProcessor):
        def on_batch(self, records: list[StreamRecord]) -> None:
            raise RuntimeError("aggregate write failed")

    class Returns(BatchStreamProcessor):
        def on_batch(self, records: list[StreamRecord]) -> list[StreamRecord]:
            return [r for r in records if r.keys["pk"] in ("x", "y")]

    ev = event(rec(98, "w"), rec(99, "x"), rec(100, "y"))
    assert Raises().handler(ev) == {"batchItemFailures": [{"itemIdentifier": "98"}]}
    result = Returns().process(ev["Records"])
    assert result.response == {"batchItemFailures": [{"itemIdentifier": "99"}]}
    assert result.processed == 1 and all(isinstance(f.error, RecordRejected) for f in result.failures)


def test_batch_processor_dead_letters_a_batch_that_keeps_failing() -> None:
    dead: list[str] = []

    class Raises(BatchStreamProcessor):
        def on_batch(self, records: list[StreamRecord]) -> None:
            raise RuntimeError("always")

    p = Raises(dead_letter=lambda r, e: dead.append(r.sequence_number), max_attempts=2)
    ev = event(rec(1), rec(2))
    assert p.handler(ev)["batchItemFailures"] == [{"itemIdentifier": "1"}]
    assert p.handler(ev) == {"batchItemFailures": []}
    assert dead == ["1", "2"]


def test_async_batch_processor() -> None:
    class Collect(AsyncBatchStreamProcessor):
        got: list[list[str]] = []

        async def on_batch(self, records: list[StreamRecord]) -> None:
            await asyncio.sleep(0)
            self.got.append([r.sequence_number for r in records])

    assert Collect().handler(event(rec(1), rec(2))) == {"batchItemFailures": []}
    assert Collect.got == [["1", "2"]]


# --------------------------------------------------------------------------------------------------
# Models, Powertools input, tracing, imports
# --------------------------------------------------------------------------------------------------


def test_pydantic_model_for_images_and_validation_errors_fail_the_record() -> None:
    from pydantic import BaseModel

    class Session(BaseModel):
        pk: str
        n: int

    seen: list[Session] = []

    class P(StreamProcessor):
        model = Session

        def on_record(self, r: StreamRecord) -> None:
            seen.append(r.new)

    ok = P().process([rec(1), rec(2, new={"pk": "b", "n": "not a number"})])
    assert seen == [Session(pk="a", n=1)]
    assert ok.response == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert StreamRecord(rec(3)).new == {"pk": "a", "n": 3}  # no model: the dict


def test_powertools_dynamodb_stream_event_is_accepted() -> None:
    from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent

    raw = load("sam_dynamodb_update.json")
    p = Recorder()
    assert p.handler(DynamoDBStreamEvent(raw), None) == {"batchItemFailures": []}
    assert [s for _, s in p.seen] == [r["dynamodb"]["SequenceNumber"] for r in raw["Records"]]


class _Span:
    def __init__(self, name: str, annotations: dict[str, Any], log: list[Any]) -> None:
        self.name, self.annotations, self.errors, self.log = name, dict(annotations), [], log

    def annotate(self, key: str, value: Any) -> None:
        self.annotations[key] = value

    def error(self, exc: BaseException) -> None:
        self.errors.append(exc)


class _RecordingTracer:
    enabled = True

    def __init__(self) -> None:
        self.spans: list[_Span] = []

    @contextmanager
    def span(self, name: str, **annotations: Any) -> Iterator[_Span]:
        s = _Span(name, annotations, self.spans)
        self.spans.append(s)
        yield s


def test_a_span_per_record_when_tracing_is_on() -> None:
    tracer = _RecordingTracer()
    tracing.set_tracer(tracer)
    try:
        Recorder(poison={"bad"}, mode="continue").handler(event(rec(1), rec(2, "bad"), rec(3, "c")))
    finally:
        tracing.set_tracer(None)
    names = [s.name for s in tracer.spans]
    assert names == ["ddbkit.stream.batch"] + ["ddbkit.stream.record"] * 3
    batch, first, bad, _ = tracer.spans
    assert batch.annotations == {"records": 3, "failed": 1, "dead_lettered": 0}
    assert first.annotations == {"event_name": "INSERT", "sequence_number": "1", "table": "orders"}
    assert first.errors == [] and isinstance(bad.errors[0], ValueError)


def test_importing_streams_loads_neither_boto3_nor_pydantic() -> None:
    code = ("import sys, ddbkit.streams.processors; "
            "bad = [m for m in ('boto3', 'botocore', 'pydantic') if m in sys.modules]; "
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_python_blocks_of_docs_streams_md_run() -> None:
    import re

    from moto import mock_aws

    text = (Path(__file__).resolve().parents[2] / "docs" / "streams.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 6
    namespace: dict[str, Any] = {"__name__": "docs_streams"}
    with mock_aws():
        for i, block in enumerate(blocks):
            try:
                exec(compile(block, f"docs/streams.md[python block {i}]", "exec"), namespace)
            except Exception as exc:  # pragma: no cover - the message names the block
                raise AssertionError(f"docs/streams.md python block {i} failed: {exc!r}") from exc


def test_single_pass_image_decoder_reads_every_type_of_both_images() -> None:
    # the stream bench's 10-attribute image: nested numbers inside maps and lists decode on the inline paths
    from decimal import Decimal

    from ddbkit.core.codec import marshal_item

    old = {"id": "a", "n": 1, "d": Decimal("87.25"), "b": True, "l": ["x", 3, Decimal("0.5"), {"k": 2}],
           "m": {"s": "y", "pos": {"lat": Decimal("59.91"), "n": -4}}, "ss": {"r", "w"}, "ns": {1, Decimal("2.5")},
           "z": None, "bin": b"\x00\x01"}
    new = {**old, "n": 2, "m": {"s": "z", "pos": {"lat": Decimal("1E+3"), "n": 0}}}
    record = StreamRecord({"eventName": "MODIFY", "dynamodb": {
        "Keys": marshal_item({"id": "a"}), "NewImage": marshal_item(new), "OldImage": marshal_item(old),
        "SequenceNumber": "1", "StreamViewType": "NEW_AND_OLD_IMAGES"}})
    assert record.old_image == old and record.new_image == new
    assert type(record.new_image["m"]["pos"]["lat"]) is int and type(record.old_image["l"][2]) is Decimal
