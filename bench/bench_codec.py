"""Marshal/unmarshal on both bench items: ddbkit's codec vs boto3's TypeSerializer/TypeDeserializer and
aiodynamo, in the same run.

Run: ``.venv/bin/python -m bench.bench_codec``. Items: bench/items.py (``small``: 6 attributes; ``nested``:
23 attributes, ~2 KB, 9 Decimals, maps, lists, a string set). Prints µs per item and the ratio (peer /
ddbkit, higher is better for ddbkit; the goal lines of the other benches print ddbkit / peer). ``marshal``
is ``marshal_item``; ``batch marshal`` is ``marshal_put`` (marshal + key/size checks in one walk: what
batch_write runs per item). Information for the goals, not a goal itself (issue 26 sets none on the codec
alone).
"""

from __future__ import annotations

import timeit
from typing import Any

from bench.items import ITEMS
from ddbkit.core.codec import marshal_item, marshal_put, unmarshal_item


def best_us(*fns: Any, number: int = 4_000, rounds: int = 9) -> list[float]:
    """Best-of-``rounds`` mean µs per call of each fn, the fns timed in turn within every round, so a
    burst of load from other processes on this shared machine hits ddbkit and its anchors alike."""
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            best[i] = min(best[i], timeit.timeit(fn, number=number) / number * 1e6)
    return best


def line(figure: str, ours: float, anchor_name: str, anchor: float, unit: str = "µs/item") -> str:
    return f"{figure}: ddbkit {ours:.2f} {unit} | {anchor_name} {anchor:.2f} {unit} | ratio {anchor / ours:.1f}x"


def main() -> list[str]:
    from aiodynamo.utils import deserialize, serialize_dict
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    ser, de = TypeSerializer(), TypeDeserializer()
    out = []
    for name, item in ITEMS.items():
        keyed = {"pk": "p", "sk": "s", **item}
        wire = marshal_item(item)
        assert {k: de.deserialize(v) for k, v in wire.items()} == unmarshal_item(wire)
        ours_m, ours_b, boto_m, ad_m = best_us(
            lambda: marshal_item(item),  # noqa: B023 - called inside this iteration
            lambda: marshal_put(keyed, ("pk", "sk")),  # noqa: B023
            lambda: {k: ser.serialize(v) for k, v in item.items()},  # noqa: B023
            lambda: serialize_dict(item))  # noqa: B023
        ours_u, boto_u, ad_u = best_us(
            lambda: unmarshal_item(wire),  # noqa: B023
            lambda: {k: de.deserialize(v) for k, v in wire.items()},  # noqa: B023
            lambda: {k: deserialize(v, float) for k, v in wire.items()})  # noqa: B023
        out.append(line(f"{name} item marshal", ours_m, "boto3 TypeSerializer", boto_m))
        out.append(line(f"{name} item marshal", ours_m, "aiodynamo", ad_m))
        out.append(line(f"{name} item batch marshal (+key and size checks)", ours_b, "boto3 TypeSerializer", boto_m))
        out.append(line(f"{name} item unmarshal", ours_u, "boto3 TypeDeserializer", boto_u))
        out.append(line(f"{name} item unmarshal", ours_u, "aiodynamo", ad_u))
    for text in out:
        print(text)
    return out


if __name__ == "__main__":
    main()
