"""Stream record throughput: ddbkit's StreamProcessor vs Powertools' BatchProcessor and a boto3 loop.

Run: ``.venv/bin/python -m bench.bench_streams`` (about 10 s). Lambda batches of 100 MODIFY records with
NEW_AND_OLD_IMAGES of a 10-attribute mixed-type item (bench/items.py STREAM10: S, N, Decimal, BOOL, L, a
nested M, SS, NULL), in the event's JSON shape, go through a full handler call (parse, dispatch, failure
bookkeeping, response). The handler reads EVERY attribute of BOTH images (the earlier figure counted
records whose images were never decoded). Figures are records/s (best of several runs); ``ratio`` is
ddbkit / anchor, so higher is better for ddbkit. Targets (issue 15): >= 3x Powertools' BatchProcessor and
>= 2x a plain boto3 TypeDeserializer loop, both images read.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from bench.items import STREAM10
from ddbkit.core.codec import marshal_item
from ddbkit.streams.records import StreamRecord
from ddbkit.streams.processors import StreamProcessor

BATCH = 100

OLD: dict[str, Any] = STREAM10
NEW = {**OLD, "status": "CLOSED", "createdAt": 1_700_000_001}
ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/user-sessions/stream/2024-01-01T00:00:00.000"


def make_event(n: int = BATCH) -> dict[str, Any]:
    """A Lambda event of ``n`` MODIFY records, JSON round-tripped like the real payload."""
    old, new = marshal_item(OLD), marshal_item(NEW)
    records = [{
        "eventID": f"{i:032x}", "eventName": "MODIFY", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1", "eventSourceARN": ARN,
        "dynamodb": {"ApproximateCreationDateTime": 1_700_000_000 + i, "Keys": {"sessionId": old["sessionId"]},
                     "NewImage": new, "OldImage": old, "SequenceNumber": str(4421584500000000017450439091 + i),
                     "SizeBytes": 420, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    } for i in range(n)]
    return json.loads(json.dumps({"Records": records}))  # type: ignore[no-any-return]


def records_per_s(handle: Callable[[dict[str, Any]], Any], event: dict[str, Any], seconds: float = 0.4,
                  repeat: int = 5) -> float:
    """Best-of-``repeat`` records/s of ``handle(event)``, each run lasting about ``seconds``."""
    handle(event)  # warm up, and fail fast
    t0 = time.perf_counter()
    handle(event)
    calls = max(1, int(seconds / max(time.perf_counter() - t0, 1e-6)))
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(calls):
            handle(event)
        best = min(best, time.perf_counter() - t0)
    return calls * len(event["Records"]) / best


def line(figure: str, ours: float, anchor_name: str, anchor: float, unit: str = "records/s") -> str:
    """One figure; the ratio says how many times better ddbkit is (rates: ours/anchor, times: anchor/ours)."""
    if unit == "records/s":
        return f"{figure}: ddbkit {ours:,.0f} {unit} | {anchor_name} {anchor:,.0f} {unit} | ratio {ours / anchor:.1f}x"
    return f"{figure}: ddbkit {ours:.2f} {unit} | {anchor_name} {anchor:.2f} {unit} | ratio {anchor / ours:.1f}x"


def touch(image: Any) -> None:
    """Read every attribute (and every nested value) of an image, as a handler using all of it would."""
    for v in image.values():
        if type(v) is dict:
            touch(v)


class ReadBoth(StreamProcessor):
    def on_modify(self, record: StreamRecord) -> None:
        touch(record.new_image)
        touch(record.old_image)


class ReadNeither(StreamProcessor):
    def on_modify(self, record: StreamRecord) -> None:
        assert record.sequence_number


def main() -> list[str]:
    event = make_event()
    out: list[str] = []

    # sanity: every path sees the same values
    both = ReadBoth()
    assert both.handler(event) == {"batchItemFailures": []}
    first = both.parse(event)[0]
    assert first.new_image == NEW and first.old_image == OLD

    ours_read = records_per_s(both.handler, event)
    ours_skip = records_per_s(ReadNeither().handler, event)

    from boto3.dynamodb.types import TypeDeserializer

    de = TypeDeserializer()

    def boto3_loop(ev: dict[str, Any]) -> dict[str, Any]:
        for r in ev["Records"]:
            ddb = r["dynamodb"]
            touch({k: de.deserialize(v) for k, v in ddb["NewImage"].items()})
            touch({k: de.deserialize(v) for k, v in ddb["OldImage"].items()})
        return {"batchItemFailures": []}

    boto_read = records_per_s(boto3_loop, event)

    try:
        from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    except ImportError:  # pragma: no cover - a dev dependency
        pt_read = pt_skip = None
    else:
        processor = BatchProcessor(event_type=EventType.DynamoDBStreams)

        def pt_both(record: Any) -> None:
            ddb = record.dynamodb  # a new wrapper per access: keep it
            touch(ddb.new_image)
            touch(ddb.old_image)

        def pt_neither(record: Any) -> None:
            assert record.dynamodb.sequence_number

        pt_read = records_per_s(lambda ev: process_partial_response(ev, pt_both, processor), event)
        pt_skip = records_per_s(lambda ev: process_partial_response(ev, pt_neither, processor), event)

    if pt_read is not None and pt_skip is not None:
        out.append(line("NEW_AND_OLD_IMAGES 10-attribute records, every attribute of both images read", ours_read, "Powertools BatchProcessor", pt_read))
    out.append(line("NEW_AND_OLD_IMAGES 10-attribute records, every attribute of both images read", ours_read, "boto3 TypeDeserializer loop", boto_read))
    if pt_read is not None and pt_skip is not None:
        out.append(line("images not read", ours_skip, "Powertools BatchProcessor", pt_skip))
        out.append(line("per record, images not read", 1e6 / ours_skip, "Powertools BatchProcessor", 1e6 / pt_skip,
                        unit="µs/record"))
    print("\n".join(out))
    return out


if __name__ == "__main__":
    main()
