"""StreamPoller end to end on moto's server and DynamoDB Local (real dynamodbstreams API), checkpoints,
redelivery after a failure, ``ddbkit streams tail``; shard lineage and iterator expiry on a fake client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from backends import Backend
from click.testing import CliRunner

from ddbkit.streams.poller import (
    JsonFileCheckpointStore,
    MemoryCheckpointStore,
    StreamNotFound,
    StreamPoller,
    to_lambda_record,
)
from ddbkit.streams.records import StreamRecord
from ddbkit.streams.processors import StreamProcessor
from ddbkit_infra.cli import cli

TABLE = "stream-orders"


def create_table(backend: Backend, name: str = TABLE, stream: bool = True) -> Any:
    client = backend.client("dynamodb")
    spec: dict[str, Any] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"} if stream else {}
    kwargs: dict[str, Any] = {"StreamSpecification": spec} if stream else {}
    client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], **kwargs)
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    return client


def write_changes(client: Any) -> None:
    """Five changes: put a, put b, update a, delete b, put c (with bytes and a set)."""
    client.put_item(TableName=TABLE, Item={"pk": {"S": "a"}, "qty": {"N": "1"}})
    client.put_item(TableName=TABLE, Item={"pk": {"S": "b"}, "qty": {"N": "2"}})
    client.update_item(TableName=TABLE, Key={"pk": {"S": "a"}}, UpdateExpression="SET qty = :q",
                       ExpressionAttributeValues={":q": {"N": "5"}})
    client.delete_item(TableName=TABLE, Key={"pk": {"S": "b"}})
    client.put_item(TableName=TABLE, Item={"pk": {"S": "c"}, "blob": {"B": b"\x00\xff"},
                                           "tags": {"SS": ["x", "y"]}})


EXPECTED = [
    ("INSERT", {"pk": "a"}, None, {"pk": "a", "qty": 1}),
    ("INSERT", {"pk": "b"}, None, {"pk": "b", "qty": 2}),
    ("MODIFY", {"pk": "a"}, {"pk": "a", "qty": 1}, {"pk": "a", "qty": 5}),
    ("REMOVE", {"pk": "b"}, {"pk": "b", "qty": 2}, None),
    ("INSERT", {"pk": "c"}, None, {"pk": "c", "blob": b"\x00\xff", "tags": {"x", "y"}}),
]


class Collector(StreamProcessor):
    """Keeps (event, keys, old, new) of every record; fails the record ``poison`` (``"EVENT:pk"``)
    ``fail_times`` times."""

    def __init__(self, poison: str | None = None, fail_times: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seen: list[tuple[str, dict[str, Any], Any, Any]] = []
        self.sequences: list[str] = []
        self.attempted: list[str] = []
        self.poison, self.fail_times = poison, fail_times

    def on_record(self, record: StreamRecord) -> None:
        self.attempted.append(record.sequence_number)
        if f"{record.event_name}:{record.keys['pk']}" == self.poison and self.fail_times > 0:
            self.fail_times -= 1
            raise RuntimeError("poison")
        self.seen.append((record.event_name, record.keys, record.old_image, record.new_image))
        self.sequences.append(record.sequence_number)


def poller_for(backend: Backend, processor: Any, **kwargs: Any) -> StreamPoller:
    kwargs.setdefault("idle_interval", 0.05)
    return StreamPoller(processor, TABLE, client=backend.client("dynamodbstreams"),
                        dynamodb_client=backend.client("dynamodb"), **kwargs)


# --------------------------------------------------------------------------------------------------
# End to end on the HTTP backends
# --------------------------------------------------------------------------------------------------


def test_poller_sees_exactly_the_changes_in_order(server_backend: Backend) -> None:
    server_backend.require("streams")
    write_changes(create_table(server_backend))
    processor = Collector()
    delivered = poller_for(server_backend, processor).run(max_records=5, timeout=15)
    assert delivered == 5
    assert processor.seen == EXPECTED
    assert [int(s) for s in processor.sequences] == sorted(int(s) for s in processor.sequences)


def test_checkpoints_resume_after_a_restart(server_backend: Backend, tmp_path: Path) -> None:
    server_backend.require("streams")
    client = create_table(server_backend)
    write_changes(client)
    path = tmp_path / "checkpoints.json"
    first = Collector()
    assert poller_for(server_backend, first, checkpoints=JsonFileCheckpointStore(path)).run(
        max_records=5, timeout=15) == 5
    saved = json.loads(path.read_text())
    ((arn, shards),) = saved.items()
    assert TABLE in arn and list(shards.values()) == [first.sequences[-1]]

    client.put_item(TableName=TABLE, Item={"pk": {"S": "d"}})
    client.delete_item(TableName=TABLE, Key={"pk": {"S": "a"}})
    second = Collector()
    assert poller_for(server_backend, second, checkpoints=JsonFileCheckpointStore(path)).run(
        max_records=2, timeout=15) == 2
    assert [(e, k) for e, k, _, _ in second.seen] == [("INSERT", {"pk": "d"}), ("REMOVE", {"pk": "a"})]
    # nothing more: a third poller from the same checkpoint stops idle with no records
    third = Collector()
    assert poller_for(server_backend, third, checkpoints=JsonFileCheckpointStore(path)).run(idle_timeout=0.3) == 0


def test_latest_skips_history_and_sees_new_changes(server_backend: Backend) -> None:
    server_backend.require("streams")
    client = create_table(server_backend)
    write_changes(client)
    processor = Collector()
    poller = poller_for(server_backend, processor, start="latest")
    assert poller.poll_once().records == 0  # iterators now sit at the tip
    client.put_item(TableName=TABLE, Item={"pk": {"S": "new"}})
    assert poller.run(max_records=1, timeout=10) == 1
    assert processor.seen == [("INSERT", {"pk": "new"}, None, {"pk": "new"})]


def test_a_failed_record_is_redelivered_then_dead_lettered(server_backend: Backend) -> None:
    server_backend.require("streams")
    write_changes(create_table(server_backend))
    dead: list[str] = []
    processor = Collector(poison="INSERT:b", fail_times=99, dead_letter=lambda r, e: dead.append(r.event_name),
                          max_attempts=2)
    poller = poller_for(server_backend, processor, retry_delay=0.0, batch_size=10)
    poller.run(idle_timeout=0.5, timeout=15)
    # pass 1: put a, put b fails -> stop (nothing after b runs); pass 2 resumes AT b: it fails again,
    # goes to the dead-letter hook, and the three records after it run exactly once
    seqs = processor.attempted
    assert len(seqs) == 6 and seqs[1] == seqs[2] and len(set(seqs)) == 5
    assert [e for e, _, _, _ in processor.seen] == ["INSERT", "MODIFY", "REMOVE", "INSERT"]
    assert dead == ["INSERT"]


def test_ttl_deletions_reach_on_ttl_expiry(ddb_local_backend: Backend) -> None:
    import time

    ddb_local_backend.require("ttl-expiry")  # DynamoDB Local deletes expired items within seconds
    client = create_table(ddb_local_backend)
    client.update_time_to_live(TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    client.put_item(TableName=TABLE, Item={"pk": {"S": "old"}, "exp": {"N": str(int(time.time()) - 60)}})
    client.put_item(TableName=TABLE, Item={"pk": {"S": "user-deleted"}})
    client.delete_item(TableName=TABLE, Key={"pk": {"S": "user-deleted"}})
    routed: list[tuple[str, str]] = []

    class Ttl(StreamProcessor):
        def on_remove(self, record: StreamRecord) -> None:
            routed.append(("remove", record.keys["pk"]))

        def on_ttl_expiry(self, record: StreamRecord) -> None:
            routed.append(("ttl", record.keys["pk"]))

    poller_for(ddb_local_backend, Ttl()).run(max_records=4, timeout=30)
    assert routed == [("remove", "user-deleted"), ("ttl", "old")]


def test_a_table_without_a_stream_is_a_clear_error(server_backend: Backend) -> None:
    create_table(server_backend, stream=False)
    with pytest.raises(StreamNotFound, match="has no stream"):
        poller_for(server_backend, Collector()).poll_once()
    with pytest.raises(StreamNotFound, match="not found"):
        StreamPoller(Collector(), "missing-table", dynamodb_client=server_backend.client("dynamodb")).poll_once()


# --------------------------------------------------------------------------------------------------
# The CLI
# --------------------------------------------------------------------------------------------------


def test_cli_tail_prints_json_lines(server_backend: Backend) -> None:
    server_backend.require("streams")
    write_changes(create_table(server_backend))
    result = CliRunner().invoke(cli, ["streams", "tail", TABLE, "--endpoint-url", str(server_backend.endpoint_url),
                                      "--region", server_backend.region, "--from", "trim-horizon", "--json",
                                      "--max-records", "5", "--timeout", "15"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(x["eventName"], x["keys"]) for x in lines] == [(e, k) for e, k, _, _ in EXPECTED]
    assert lines[2]["changed"] == ["qty"] and lines[2]["oldImage"] == {"pk": "a", "qty": 1}
    assert lines[4]["newImage"] == {"pk": "c", "blob": "AP8=", "tags": ["x", "y"]}
    assert all(x["table"] == TABLE for x in lines)


def test_cli_tail_human_lines_and_missing_stream_error(server_backend: Backend) -> None:
    server_backend.require("streams")
    write_changes(create_table(server_backend))
    create_table(server_backend, "no-stream", stream=False)
    runner = CliRunner()
    base = ["streams", "tail", "--endpoint-url", str(server_backend.endpoint_url), "--region", server_backend.region]
    ok = runner.invoke(cli, [*base[:2], TABLE, *base[2:], "--from", "trim-horizon", "--max-records", "3",
                             "--timeout", "15"])
    assert ok.exit_code == 0, ok.output
    lines = ok.stdout.splitlines()
    assert len(lines) == 3
    assert "INSERT" in lines[0] and 'keys={"pk": "a"}' in lines[0] and 'new={"pk": "a", "qty": 1}' in lines[0]
    assert "MODIFY" in lines[2] and "changed=qty" in lines[2]
    assert "-- 3 record(s)" in ok.stderr
    bad = runner.invoke(cli, [*base[:2], "no-stream", *base[2:], "--timeout", "1"])
    assert bad.exit_code == 1 and "has no stream" in bad.stderr


# --------------------------------------------------------------------------------------------------
# Poller logic on a fake dynamodbstreams client (shard lineage, expiry, LATEST)
# --------------------------------------------------------------------------------------------------


class FakeError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.response = {"Error": {"Code": code}}


class FakeStreams:
    """A stream with a closed parent shard and an open child; records as boto3 returns them."""

    ARN = "arn:aws:dynamodb:us-east-1:1:table/t/stream/label"

    def __init__(self) -> None:
        self.shards: dict[str, list[dict[str, Any]]] = {"parent": [], "child": []}
        self.closed = {"parent"}
        self.iterators: dict[str, tuple[str, int]] = {}
        self.expire_next = False
        self.calls: list[str] = []

    def add(self, shard: str, seq: int, pk: str) -> None:
        self.shards[shard].append({"eventName": "INSERT", "eventSource": "aws:dynamodb", "dynamodb": {
            "Keys": {"pk": {"S": pk}}, "NewImage": {"pk": {"S": pk}}, "SequenceNumber": str(seq)}})

    def describe_stream(self, StreamArn: str, ExclusiveStartShardId: str | None = None) -> dict[str, Any]:  # noqa: N803
        # two pages, to exercise LastEvaluatedShardId
        if ExclusiveStartShardId is None:
            return {"StreamDescription": {"Shards": [self._shard("child")], "LastEvaluatedShardId": "child"}}
        return {"StreamDescription": {"Shards": [self._shard(name) for name in self.shards if name != "child"]}}

    def _shard(self, name: str) -> dict[str, Any]:
        rng = {"StartingSequenceNumber": "1"}
        if name in self.closed:
            rng["EndingSequenceNumber"] = "99"
        out: dict[str, Any] = {"ShardId": name, "SequenceNumberRange": rng}
        if name == "child":
            out["ParentShardId"] = "parent"
        return out

    def get_shard_iterator(self, StreamArn: str, ShardId: str, ShardIteratorType: str,  # noqa: N803
                           SequenceNumber: str | None = None) -> dict[str, Any]:
        records = self.shards[ShardId]
        seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
        pos = {"TRIM_HORIZON": 0, "LATEST": len(records)}.get(ShardIteratorType)
        if pos is None:
            assert SequenceNumber is not None
            target = int(SequenceNumber) + (ShardIteratorType == "AFTER_SEQUENCE_NUMBER")
            pos = next((i for i, s in enumerate(seqs) if s >= target), len(records))
        it = f"it{len(self.iterators)}"
        self.iterators[it] = (ShardId, pos)
        self.calls.append(f"iter {ShardId} {ShardIteratorType}")
        return {"ShardIterator": it}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:  # noqa: N803
        if self.expire_next:
            self.expire_next = False
            raise FakeError("ExpiredIteratorException")
        shard, pos = self.iterators[ShardIterator]
        page = self.shards[shard][pos:pos + Limit]
        self.calls.append(f"get {shard} {len(page)}")
        end = pos + len(page)
        if shard in self.closed and end >= len(self.shards[shard]):
            return {"Records": page}  # closed and read to its end: no NextShardIterator
        nxt = f"it{len(self.iterators)}"
        self.iterators[nxt] = (shard, end)
        return {"Records": page, "NextShardIterator": nxt}


@pytest.fixture
def fake() -> Iterator[FakeStreams]:
    f = FakeStreams()
    for seq, pk in ((1, "p1"), (2, "p2")):
        f.add("parent", seq, pk)
    for seq, pk in ((10, "c1"), (11, "c2")):
        f.add("child", seq, pk)
    yield f


def test_parent_shards_are_read_before_their_children(fake: FakeStreams) -> None:
    processor = Collector()
    poller = StreamPoller(processor, stream_arn=fake.ARN, client=fake, sleep=lambda s: None)
    assert poller.run(max_records=4, timeout=5) == 4
    assert [k["pk"] for _, k, _, _ in processor.seen] == ["p1", "p2", "c1", "c2"]
    assert fake.calls.index("get parent 2") < fake.calls.index("iter child TRIM_HORIZON")


def test_latest_skips_closed_shards_and_starts_open_ones_at_the_tip(fake: FakeStreams) -> None:
    processor = Collector()
    poller = StreamPoller(processor, stream_arn=fake.ARN, client=fake, start="LATEST", sleep=lambda s: None)
    assert poller.poll_once().records == 0
    fake.add("child", 12, "c3")
    assert poller.poll_once().records == 1
    assert [k["pk"] for _, k, _, _ in processor.seen] == ["c3"]
    assert "iter parent TRIM_HORIZON" not in fake.calls and "iter child LATEST" in fake.calls


def test_an_expired_iterator_is_renewed_from_the_checkpoint(fake: FakeStreams) -> None:
    del fake.shards["parent"]  # trimmed away: the child (now unparented) is read at once
    store = MemoryCheckpointStore()
    processor = Collector()
    poller = StreamPoller(processor, stream_arn=fake.ARN, client=fake, checkpoints=store, batch_size=1, sleep=lambda s: None)
    assert poller.poll_once().records == 1  # c1
    assert store.get(fake.ARN, "child") == "10"
    fake.expire_next = True
    assert poller.poll_once().records == 0  # expired: dropped
    assert poller.poll_once().records == 1  # renewed after the checkpoint: c2, not c1 again
    assert [k["pk"] for _, k, _, _ in processor.seen] == ["c1", "c2"]
    assert "iter child AFTER_SEQUENCE_NUMBER" in fake.calls


def test_lambda_shape_conversion_and_bad_arguments() -> None:
    from datetime import datetime, timezone

    raw = {"eventName": "REMOVE", "userIdentity": {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"},
           "dynamodb": {"ApproximateCreationDateTime": datetime(2024, 1, 1, tzinfo=timezone.utc),
                        "SequenceNumber": "1", "Keys": {"pk": {"S": "a"}}}}
    out = to_lambda_record(raw, "arn:x")
    assert out["eventSourceARN"] == "arn:x" and out["dynamodb"]["ApproximateCreationDateTime"] == 1704067200
    assert out["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert StreamRecord(out).is_ttl_expiry and StreamRecord(raw).is_ttl_expiry  # either spelling
    local_ttl = {"eventName": "UNKNOWN_TO_SDK_VERSION", "dynamodb": {"SequenceNumber": "2", "Keys": {"pk": {"S": "a"}},
                                                                    "OldImage": {"pk": {"S": "a"}}}}
    converted = StreamRecord(to_lambda_record(local_ttl, "arn:x"))
    assert converted.event_name == "REMOVE" and converted.is_ttl_expiry
    assert isinstance(raw["dynamodb"]["ApproximateCreationDateTime"], datetime)  # input untouched
    with pytest.raises(ValueError, match="table_name or stream_arn"):
        StreamPoller(Collector())
    with pytest.raises(ValueError, match="trim-horizon"):
        StreamPoller(Collector(), "t", start="oldest")
    with pytest.raises(ValueError, match="1000"):
        StreamPoller(Collector(), "t", batch_size=5000)


def test_json_checkpoint_file_round_trip_and_garbage(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "cp.json"
    store = JsonFileCheckpointStore(path)
    store.put("arn1", "shard-1", "100")
    store.put("arn1", "shard-1", "99999999999999999999999")
    store.put("arn2", "shard-9", "7")
    again = JsonFileCheckpointStore(path)
    assert again.get("arn1", "shard-1") == "99999999999999999999999" and again.get("arn2", "shard-9") == "7"
    assert again.get("arn1", "nope") is None
    assert [p.name for p in path.parent.iterdir()] == ["cp.json"]  # no temp files left
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a checkpoint file"):
        JsonFileCheckpointStore(path)


# --------------------------------------------------------------------------------------------------
# Damaged GetRecords replies (issue 13, item 12): a fault proxy in front of the real server
# --------------------------------------------------------------------------------------------------


class Keys(StreamProcessor):
    def __init__(self) -> None:
        super().__init__()
        self.keys: list[str] = []

    def on_record(self, record: StreamRecord) -> None:
        self.keys.append(record.keys["pk"])


def test_damaged_get_records_replies_never_end_an_open_shard(server_backend: Backend, tmp_path: Path) -> None:
    """2,000 changes read through a proxy that cuts, corrupts or empties a third of the GetRecords replies
    (and some GetShardIterator/DescribeStream replies): every record is delivered, and a
    restarted poller resumes from its checkpoints. Before the fix a cut reply (no NextShardIterator) finished
    the open shard: run() returned early with most records undelivered."""
    from parity.fault_integrity import FaultProxy, ReplyFaults

    from ddbkit import Table

    server_backend.require("streams")
    create_table(server_backend)
    keys = [f"k{i:05d}" for i in range(2000)]
    Table(TABLE, key="pk", endpoint_url=server_backend.endpoint_url, region_name=server_backend.region).batch_write(
        {"pk": k} for k in keys)
    faults = ReplyFaults(rate=0.35, seed=11, modes=("truncate", "truncate_framed", "truncate_nocrc", "corrupt", "empty"),
                         operations=frozenset({"GetRecords", "GetShardIterator", "DescribeStream"}))
    path = tmp_path / "cp.json"
    assert server_backend.endpoint_url is not None
    with FaultProxy(server_backend.endpoint_url, faults) as proxy:
        def poller(processor: Keys) -> StreamPoller:
            return StreamPoller(processor, TABLE, endpoint_url=proxy.endpoint_url, region_name=server_backend.region,
                                dynamodb_client=server_backend.client("dynamodb"), batch_size=100,
                                checkpoints=JsonFileCheckpointStore(path), idle_interval=0.01, retry_delay=0.0,
                                max_errors=50)

        first = Keys()
        assert poller(first).run(max_records=1200, timeout=120) == 1200
        second = Keys()  # a restart: resumes after the checkpoint, reads until idle
        poller(second).run(idle_timeout=3.0, timeout=120)
    delivered = first.keys + second.keys
    repeated = sorted(k for k in set(delivered) if delivered.count(k) > 1)
    print(f"\n{len(delivered)} deliveries of 2000 records, {len(repeated)} repeated; damaged replies: "
          f"{ {k: v for k, v in faults.counters.items() if ':' not in k} }")
    assert sorted(set(delivered)) == keys, f"{len(set(keys) - set(delivered))} never delivered"
    # streams are at-least-once, but a restart resumes from the checkpoint, not from the start
    assert len(repeated) <= 100, (len(repeated), repeated[:5], json.loads(path.read_text()))
    assert len(second.keys) >= 800
    assert faults.counters["GetRecords:truncate"] and faults.counters["GetRecords:corrupt"]


def test_an_open_shard_without_next_iterator_is_retried_not_finished(fake: FakeStreams) -> None:
    """A parsed reply that lacks NextShardIterator on an open shard (a damaged reply a client did not catch)
    is an error: the shard is read again (same iterator, or after the checkpoint), never marked done."""
    del fake.shards["parent"]
    real = fake.get_records
    damaged = {"n": 2}

    def get_records(ShardIterator: str, Limit: int) -> dict[str, Any]:  # noqa: N803
        page = real(ShardIterator, Limit)
        if damaged["n"] > 0:
            damaged["n"] -= 1
            page.pop("NextShardIterator", None)  # records delivered, then no iterator: re-read after them
            if damaged["n"] == 0:
                return {}  # nothing parsed at all: the same iterator again
        return page

    fake.get_records = get_records  # type: ignore[method-assign]
    processor = Collector()
    poller = StreamPoller(processor, stream_arn=fake.ARN, client=fake, batch_size=1, retry_delay=0.0,
                          sleep=lambda s: None)
    assert poller.run(max_records=2, timeout=5) == 2
    assert [k["pk"] for _, k, _, _ in processor.seen] == ["c1", "c2"]
    assert not poller._shards["child"].done
    fake.add("child", 12, "c3")
    assert poller.run(max_records=1, timeout=5) == 1
    assert [k["pk"] for _, k, _, _ in processor.seen] == ["c1", "c2", "c3"]


def test_read_errors_in_a_row_raise_instead_of_skipping(fake: FakeStreams) -> None:
    from ddbkit.errors import CorruptResponse
    from ddbkit.streams.poller import StreamReadError

    del fake.shards["parent"]

    def broken(ShardIterator: str, Limit: int) -> dict[str, Any]:  # noqa: N803
        raise CorruptResponse("CRC32CheckFailed", "response CRC32 mismatch", operation="GetRecords")

    fake.get_records = broken  # type: ignore[method-assign]
    poller = StreamPoller(Collector(), stream_arn=fake.ARN, client=fake, retry_delay=0.0, max_errors=3,
                          sleep=lambda s: None)
    with pytest.raises(StreamReadError, match="3 read errors in a row"):
        poller.run(timeout=5)
