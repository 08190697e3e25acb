"""Small-item marshal/unmarshal: ddbkit's codec vs boto3's TypeSerializer/TypeDeserializer and aiodynamo.

Run: ``.venv/bin/python -m bench.bench_codec``. Prints µs per item and the ratio (anchor / ddbkit, so
higher is better for ddbkit). Targets (issue 3/9): marshal >= 4x and unmarshal >= 2x boto3.
"""

from __future__ import annotations

import timeit
from decimal import Decimal
from typing import Any

from ddbkit.codec import marshal_item, unmarshal_item

# A typical small session item: strings, integers, a bool, a small map and a string set.
ITEM: dict[str, Any] = {
    "sessionId": "9f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b",
    "userId": "user-1234",
    "createdAt": 1_700_000_000,
    "expiresAt": 1_700_086_400,
    "status": "ACTIVE",
    "sessionType": "web",
    "ipAddress": "203.0.113.7",
    "userAgent": "Mozilla/5.0 (X11; Linux x86_64)",
    "visits": 42,
    "mfa": True,
    "geo": {"country": "NO", "city": "Oslo"},
    "roles": {"reader", "writer"},
}


def best_us(fn: Any, number: int = 20_000, repeat: int = 5) -> float:
    """Best-of-``repeat`` mean µs per call (best-of filters scheduler noise on a shared machine)."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def line(figure: str, ours: float, anchor_name: str, anchor: float, unit: str = "µs/item") -> str:
    return f"{figure}: ddbkit {ours:.2f} {unit} | {anchor_name} {anchor:.2f} {unit} | ratio {anchor / ours:.1f}x"


def main() -> list[str]:
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    ser, de = TypeSerializer(), TypeDeserializer()
    boto_item = {k: (Decimal(v) if isinstance(v, float) else v) for k, v in ITEM.items()}
    wire = marshal_item(ITEM)
    assert {k: de.deserialize(v) for k, v in wire.items()} == unmarshal_item(wire)

    out = []
    ours_m = best_us(lambda: marshal_item(ITEM))
    boto_m = best_us(lambda: {k: ser.serialize(v) for k, v in boto_item.items()})
    ours_u = best_us(lambda: unmarshal_item(wire))
    boto_u = best_us(lambda: {k: de.deserialize(v) for k, v in wire.items()})
    out.append(line("small item marshal", ours_m, "boto3 TypeSerializer", boto_m))
    out.append(line("small item unmarshal", ours_u, "boto3 TypeDeserializer", boto_u))
    try:
        from aiodynamo.types import Numeric  # noqa: F401
        from aiodynamo.utils import deserialize, serialize_dict

        ad_m = best_us(lambda: serialize_dict(ITEM))
        ad_u = best_us(lambda: {k: deserialize(v, Decimal) for k, v in wire.items()})
        out.append(line("small item marshal", ours_m, "aiodynamo", ad_m))
        out.append(line("small item unmarshal", ours_u, "aiodynamo", ad_u))
    except ImportError:  # pragma: no cover - aiodynamo is a dev dependency
        out.append("small item marshal: aiodynamo not installed")
    for text in out:
        print(text)
    return out


if __name__ == "__main__":
    main()
