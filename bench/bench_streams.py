"""Stream records, both images read: ddbkit's StreamProcessor vs Powertools' BatchProcessor and a boto3 loop.

Run: ``.venv/bin/python -m bench.bench_streams``. Lambda batches of 100 MODIFY records with NEW_AND_OLD_IMAGES
of each bench/items.py item (small and nested, with keys), in the event's JSON shape, go through a full
handler call (parse, dispatch, failure bookkeeping, response). The handler reads EVERY attribute of BOTH
images. CPU per record; contenders interleaved over rounds (bench/goals.py), median kept. Goals (issue 26):
<= 0.33x Powertools' BatchProcessor and <= 0.5x a plain boto3 TypeDeserializer loop.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from bench.goals import BUDGET, interleaved, ratio_line
from bench.items import ITEMS
from ddbkit.core.codec import marshal_item
from ddbkit.streams.records import StreamRecord
from ddbkit.streams.processors import StreamProcessor

BATCH = 100

GOALS = {"Powertools BatchProcessor": 0.33, "boto3 TypeDeserializer loop": 0.5}
ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/user-sessions/stream/2024-01-01T00:00:00.000"


def make_event(old_item: dict[str, Any], new_item: dict[str, Any], n: int = BATCH) -> dict[str, Any]:
    """A Lambda event of ``n`` MODIFY records, JSON round-tripped like the real payload."""
    old, new = marshal_item(old_item), marshal_item(new_item)
    records = [{
        "eventID": f"{i:032x}", "eventName": "MODIFY", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1", "eventSourceARN": ARN,
        "dynamodb": {"ApproximateCreationDateTime": 1_700_000_000 + i, "Keys": {"pk": old["pk"], "sk": old["sk"]},
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


def cpu_per_record(handle: Callable[[dict[str, Any]], Any], event: dict[str, Any]) -> Callable[[], float]:
    """One measurement: handler calls for about BUDGET seconds, CPU µs per record."""
    def one() -> float:
        n = 0
        c0, t0 = time.process_time(), time.perf_counter()
        while True:
            handle(event)
            n += len(event["Records"])
            if time.perf_counter() - t0 >= BUDGET:
                return (time.process_time() - c0) / n * 1e6
    return one


def main() -> list[str]:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from boto3.dynamodb.types import TypeDeserializer

    de = TypeDeserializer()
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)

    def boto3_loop(ev: dict[str, Any]) -> dict[str, Any]:
        for r in ev["Records"]:
            ddb = r["dynamodb"]
            touch({k: de.deserialize(v) for k, v in ddb["NewImage"].items()})
            touch({k: de.deserialize(v) for k, v in ddb["OldImage"].items()})
        return {"batchItemFailures": []}

    def pt_both(record: Any) -> None:
        ddb = record.dynamodb  # a new wrapper per access: keep it
        touch(ddb.new_image)
        touch(ddb.old_image)

    out: list[str] = []
    for kind, item in ITEMS.items():
        old = {"pk": "p", "sk": "s", **item}
        first_attr = list(item)[0]
        new = {**old, first_attr: f"{item[first_attr]}-v2"}  # a MODIFY: one value changed
        event = make_event(old, new)
        both = ReadBoth()
        assert both.handler(event) == {"batchItemFailures": []}  # sanity: every path sees the same values
        first = both.parse(event)[0]
        assert first.new_image == new and first.old_image == old
        contenders: dict[str, Callable[[dict[str, Any]], Any]] = {
            "ddbkit StreamProcessor": both.handler,
            "Powertools BatchProcessor": lambda ev: process_partial_response(ev, pt_both, processor),
            "boto3 TypeDeserializer loop": boto3_loop,
        }
        for handle in contenders.values():
            handle(event)  # warm up
        cpu = interleaved({name: cpu_per_record(handle, event) for name, handle in contenders.items()})
        for peer, goal in GOALS.items():
            out.append(ratio_line("streams", f"{BATCH}-record batch, both images read", kind,
                                  "ddbkit StreamProcessor", peer, cpu["ddbkit StreamProcessor"], cpu[peer],
                                  "µs/record", goal))
    print("\n".join(out))
    return out


if __name__ == "__main__":
    main()
