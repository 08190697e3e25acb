"""The sans-I/O engine with a scripted transport: retries, batch chunking, never losing an item, cursors."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
from fakes import FakeDynamo
from hypothesis import given, settings
from hypothesis import strategies as st

from ddbkit import Table
from ddbkit.core.codec import marshal_item
from ddbkit.core.cursor import CursorCodec
from ddbkit.errors import (
    BatchGetError,
    BatchWriteError,
    ClientValidationError,
    ConditionalCheckFailed,
    CursorError,
    ResourceNotFound,
    ServiceError,
    ThrottledError,
    TransactionCanceled,
    error_from_response,
)
from ddbkit.core.retry import RetryPolicy
from ddbkit.transport.errors import error_from_response as transport_error

FAST = RetryPolicy(max_attempts=5, base_delay=0.0, max_delay=0.0, seed=1)


def table(fake: FakeDynamo, **kw: Any) -> Table:
    return Table(fake.table, transport=fake, retry=kw.pop("retry", FAST), **kw)


# --------------------------------------------------------------------------------------------------
# errors and retry policy
# --------------------------------------------------------------------------------------------------


def test_error_mapping_keeps_code_and_message() -> None:
    err = error_from_response("com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException", "slow down",
                              operation="PutItem", status=400)
    assert isinstance(err, ThrottledError) and err.code == "ProvisionedThroughputExceededException"
    assert err.message == "slow down" and err.retryable and "PutItem" in str(err)
    assert isinstance(error_from_response("Weird", "x", status=503), ServiceError)
    assert isinstance(error_from_response("ResourceNotFoundException", "x"), ResourceNotFound)
    response = {"CancellationReasons": [{"Code": "None"}, {"Code": "ConditionalCheckFailed", "Message": "c",
                                                         "Item": {"pk": {"S": "a"}}}]}
    raw = error_from_response("TransactionCanceledException", "no", response=response)
    assert isinstance(raw, TransactionCanceled) and raw.failed[0].wire_item == {"pk": {"S": "a"}}  # no codec here
    cancelled = transport_error("TransactionCanceledException", "no", response=response)  # what transports raise
    assert isinstance(cancelled, TransactionCanceled)
    assert [r.code for r in cancelled.failed] == ["ConditionalCheckFailed"]
    assert cancelled.failed[0].item == {"pk": "a"} and cancelled.failed[0].index == 1


def test_backoff_is_full_jitter_and_capped() -> None:
    policy = RetryPolicy(base_delay=0.1, max_delay=1.0, seed=3)
    for n in range(1, 12):
        d = policy.backoff(n)
        assert 0 <= d <= min(1.0, 0.1 * 2 ** (n - 1))
    assert len({round(policy.backoff(5), 6) for _ in range(20)}) > 10  # jittered, not constant


def test_throttled_call_is_retried_then_succeeds() -> None:
    fake = FakeDynamo()
    t = table(fake)
    fake.errors = [None, fake.error("ThrottlingException"), fake.error("InternalServerError", 500), None]
    t.put({"pk": "a"})
    assert t.get({"pk": "a"}) == {"pk": "a"}
    assert fake.count("PutItem") == 3 and t.usage.retries["PutItem"] == 2 and t.usage.throttles["PutItem"] == 1


def test_retries_are_bounded() -> None:
    fake = FakeDynamo()
    t = table(fake)
    t.key_schema  # noqa: B018 - describe once
    fake.fault = lambda op, req: fake.error("ProvisionedThroughputExceededException")
    with pytest.raises(ThrottledError):
        t.get({"pk": "a"})
    assert fake.count("GetItem") == FAST.max_attempts
    assert t.usage.errors["GetItem"] == 1


def test_non_retryable_errors_are_not_retried() -> None:
    fake = FakeDynamo()
    t = table(fake)
    fake.errors = [None, fake.error("ConditionalCheckFailedException")]
    with pytest.raises(ConditionalCheckFailed):
        t.put({"pk": "a"})
    assert fake.count("PutItem") == 1


def test_bad_input_fails_before_sending() -> None:
    fake = FakeDynamo()
    t = table(fake, key="pk")
    with pytest.raises(ClientValidationError) as exc:
        t.put({"pk": "a", "bad": float("nan")})
    assert exc.value.path == "item.bad"
    with pytest.raises(ClientValidationError, match="not key attributes"):
        t.get({"pk": "a", "other": 1})
    with pytest.raises(ClientValidationError, match="limit"):
        t.scan(limit=0)
    assert fake.calls == []


# --------------------------------------------------------------------------------------------------
# batch write
# --------------------------------------------------------------------------------------------------


def test_batch_write_chunks_to_25_and_dedups_last_wins() -> None:
    fake = FakeDynamo()
    t = table(fake, key="pk")
    items = [{"pk": f"k{i}", "v": i} for i in range(60)] + [{"pk": "k1", "v": "last"}]
    result = t.batch_write(items, deletes=[{"pk": "k2"}], validate_first=True)
    sizes = [len(req["RequestItems"]["Things"]) for op, req in fake.calls if op == "BatchWriteItem"]
    assert sorted(sizes) == [10, 25, 25] and result.written == 60 and result.deduplicated == 2
    assert fake.items[(("S", "k1"),)]["v"] == {"S": "last"} and (("S", "k2"),) not in fake.items


def test_streaming_batch_write_applies_a_repeat_after_the_earlier_write() -> None:
    # streaming: k1 and k2 were sent in the first chunk before their repeats were read; the repeats
    # are written after it (the pipeline drains), so the last request still wins
    fake = FakeDynamo()
    fake.delay = 0.005
    t = table(fake, key="pk")
    items = [{"pk": f"k{i}", "v": i} for i in range(60)] + [{"pk": "k1", "v": "last"}]
    result = t.batch_write(iter(items), deletes=[{"pk": "k2"}, {"pk": "k59"}], concurrency=4)
    sizes = [len(req["RequestItems"]["Things"]) for op, req in fake.calls if op == "BatchWriteItem"]
    assert sorted(sizes) == [12, 25, 25] and result.written == 62 and result.deduplicated == 1
    assert fake.items[(("S", "k1"),)]["v"] == {"S": "last"} and (("S", "k2"),) not in fake.items
    assert (("S", "k59"),) not in fake.items


def test_batch_write_resends_unprocessed_until_done() -> None:
    fake = FakeDynamo(unprocessed_rate=0.5, seed=7)
    t = table(fake, key="pk", retry=RetryPolicy(max_attempts=50, base_delay=0, max_delay=0))
    result = t.batch_write([{"pk": f"k{i}"} for i in range(500)])
    assert result.written == 500 and len(fake.items) == 500 and result.rounds > 0


def test_batch_write_error_carries_exactly_the_unwritten_items() -> None:
    fake = FakeDynamo(unprocessed_rate=0.6, seed=11)
    t = table(fake, key="pk", retry=RetryPolicy(max_attempts=2, base_delay=0, max_delay=0))
    items = [{"pk": f"k{i}", "n": i} for i in range(200)]
    with pytest.raises(BatchWriteError) as exc:
        t.batch_write(items)
    stored = {kid[0][1] for kid in fake.items}
    lost = {it["pk"] for it in exc.value.items}
    assert lost and stored | lost == {it["pk"] for it in items} and not stored & lost
    assert exc.value.written == len(stored)
    assert all(it is next(x for x in items if x["pk"] == it["pk"]) for it in exc.value.items)  # caller's objects


def test_batch_write_error_on_service_failure_keeps_the_chunk() -> None:
    fake = FakeDynamo()
    t = table(fake, key="pk", retry=RetryPolicy(max_attempts=1))
    calls = {"n": 0}

    def fail_second(op: str, req: dict[str, Any]) -> Any:
        if op == "BatchWriteItem":
            calls["n"] += 1
            if calls["n"] == 2:
                return fake.error("ValidationException")
        return None

    fake.fault = fail_second
    with pytest.raises(BatchWriteError) as exc:
        t.batch_write([{"pk": f"k{i}"} for i in range(50)], concurrency=1)
    assert len(exc.value.unprocessed) == 25 and exc.value.written == 25 and exc.value.cause is not None


def test_batch_concurrency_is_bounded() -> None:
    fake = FakeDynamo()
    fake.delay = 0.01
    t = table(fake, key="pk")
    t.batch_write([{"pk": f"k{i}"} for i in range(25 * 12)], concurrency=3)
    assert 1 < fake.max_in_flight <= 3


def test_batch_writer_flushes_on_exit_even_after_error() -> None:
    fake = FakeDynamo()
    t = table(fake, key="pk")
    with pytest.raises(RuntimeError):
        with t.batch_writer(flush_every=10) as w:
            for i in range(15):
                w.put({"pk": f"k{i}"})
            raise RuntimeError("boom")
    assert len(fake.items) == 15 and w.written == 15


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["put", "delete"]), st.integers(0, 60)), max_size=150),
       st.floats(0, 0.7), st.integers(0, 1000))
def test_property_batch_write_then_scan_is_exactly_the_written_set(ops: list[tuple[str, int]], rate: float,
                                                                  seed: int) -> None:
    fake = FakeDynamo(unprocessed_rate=rate, seed=seed)
    t = table(fake, key="pk", retry=RetryPolicy(max_attempts=200, base_delay=0, max_delay=0))
    expected: dict[str, int] = {}
    requests = []
    for i, (kind, k) in enumerate(ops):
        if kind == "put":
            requests.append(("put", {"pk": f"k{k}", "seq": i}))
            expected[f"k{k}"] = i
        else:
            requests.append(("delete", {"pk": f"k{k}"}))
            expected.pop(f"k{k}", None)
    t.batch_write(requests=requests)
    fake.unprocessed_rate = 0
    assert {it["pk"]: it["seq"] for it in t.scan_iter(limit=7)} == expected


# --------------------------------------------------------------------------------------------------
# batch get
# --------------------------------------------------------------------------------------------------


def test_batch_get_chunks_dedups_keeps_order_and_reports_missing() -> None:
    fake = FakeDynamo()
    t = table(fake, key="pk")
    t.batch_write([{"pk": f"k{i}", "v": i} for i in range(250)])
    keys = [{"pk": f"k{i}"} for i in reversed(range(260))] + [{"pk": "k5"}]
    result = t.batch_get(keys)
    assert [it["pk"] for it in result.items] == [f"k{i}" for i in reversed(range(250))]
    assert result.missing == [{"pk": f"k{i}"} for i in reversed(range(250, 260))]
    sizes = [len(req["RequestItems"]["Things"]["Keys"]) for op, req in fake.calls if op == "BatchGetItem"]
    assert sorted(sizes) == [60, 100, 100]


def test_batch_get_retries_unprocessed_and_raises_with_partial_results() -> None:
    fake = FakeDynamo(seed=5)
    t = table(fake, key="pk", retry=RetryPolicy(max_attempts=100, base_delay=0, max_delay=0))
    t.batch_write([{"pk": f"k{i}"} for i in range(300)])
    fake.unprocessed_rate = 0.5
    assert len(t.batch_get([{"pk": f"k{i}"} for i in range(300)])) == 300
    t2 = table(fake, key="pk", retry=RetryPolicy(max_attempts=1))
    with pytest.raises(BatchGetError) as exc:
        t2.batch_get([{"pk": f"k{i}"} for i in range(300)])
    got = {it["pk"] for it in exc.value.items} | {k["pk"] for k in exc.value.unprocessed}
    assert got == {f"k{i}" for i in range(300)} and exc.value.unprocessed


# --------------------------------------------------------------------------------------------------
# cursors
# --------------------------------------------------------------------------------------------------

KEY = marshal_item({"userId": "u1", "createdAt": 5, "sessionId": "s"})
# A cursor secret encrypts with AES-GCM from the `crypto` extra; the runtime-only install of the
# compatibility matrix (tests/install/test_install.py) runs this file without it.
needs_crypto = pytest.mark.skipif(importlib.util.find_spec("cryptography") is None,
                                  reason="cursor secrets need the crypto extra (cryptography)")


@needs_crypto
def test_cursor_round_trip_plain_and_signed() -> None:
    for codec in (CursorCodec(), CursorCodec("s3cret" * 6)):
        token = codec.encode(KEY, "T/idx")
        assert token and "=" not in token and "/" not in token and "+" not in token
        assert codec.decode(token, "T/idx", ["sessionId", "userId", "createdAt"]) == KEY


@needs_crypto
def test_signed_cursor_rejects_tampering_forgery_and_other_scope() -> None:
    codec = CursorCodec("s3cret" * 6)
    token = codec.encode(KEY, "T/idx")
    assert token
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    for bad in (tampered, CursorCodec().encode(KEY, "T/idx"), CursorCodec("other" * 7).encode(KEY, "T/idx"), "2xx"):
        with pytest.raises(CursorError):
            codec.decode(bad or "", "T/idx")
    with pytest.raises(CursorError, match="signature"):
        codec.decode(token, "T/")


def test_cursor_bound_to_partition_and_key_names() -> None:
    codec = CursorCodec()
    token = codec.encode(KEY, "T/idx")
    assert token
    with pytest.raises(CursorError, match="partition"):
        codec.decode(token, "T/idx", ["userId", "createdAt", "sessionId"], {"userId": {"S": "someone-else"}})
    with pytest.raises(CursorError, match="lacks"):
        codec.decode(token, "T/idx", ["pk"])
    for junk in ("", "1", "1!!!", "1" + "A" * 10, "9abc", "x" * 9000):
        with pytest.raises(CursorError):
            codec.decode(junk)


def test_binary_keys_survive_cursors() -> None:
    key = {"pk": {"B": b"\x00\xff"}}
    codec = CursorCodec()
    token = codec.encode(key)
    assert token and codec.decode(token) == key
