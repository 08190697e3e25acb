"""The two items every write/read bench uses (issue 15), as plain Python and in wire format.

* ``session``: the session item the benches have always used (strings, ints, a bool, a small map and a
  string set; no Decimal, no list).
* ``mixed8``: 8 attributes with a Decimal, a list and a nested map (two more Decimals inside it): the
  item that showed ddbkit behind aiodynamo in issue 15.

Write benches add their key attributes (``pk``/``sk``) to these; reads get them back from the stub with
the same attributes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bench.stub_server import SMALL_ITEM

SESSION: dict[str, Any] = {
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

MIXED8: dict[str, Any] = {
    "orderId": "o-000123",
    "customer": "c-981",
    "total": Decimal("149.95"),
    "qty": 3,
    "lines": ["sku-1", "sku-2", 7],
    "ship": {"street": "Karl Johans gate 1", "zip": "0154",
             "geo": {"lat": Decimal("59.9127"), "lon": Decimal("10.7461")}},
    "paid": True,
    "placedAt": 1_700_000_000,
}

# the stub's canned item (bench/stub_server.py) with its partition key: one definition of the session item
SESSION_WIRE: dict[str, Any] = {"sessionId": {"S": "9f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b"}, **SMALL_ITEM}

MIXED8_WIRE: dict[str, Any] = {
    "orderId": {"S": "o-000123"},
    "customer": {"S": "c-981"},
    "total": {"N": "149.95"},
    "qty": {"N": "3"},
    "lines": {"L": [{"S": "sku-1"}, {"S": "sku-2"}, {"N": "7"}]},
    "ship": {"M": {"street": {"S": "Karl Johans gate 1"}, "zip": {"S": "0154"},
                   "geo": {"M": {"lat": {"N": "59.9127"}, "lon": {"N": "10.7461"}}}}},
    "paid": {"BOOL": True},
    "placedAt": {"N": "1700000000"},
}

ITEMS: dict[str, dict[str, Any]] = {"session": SESSION, "mixed8": MIXED8}
WIRE: dict[str, dict[str, Any]] = {"session": SESSION_WIRE, "mixed8": MIXED8_WIRE}

# The stream bench's record image (issue 15: "10-attribute mixed-type"): every wire type but B.
STREAM10: dict[str, Any] = {
    "sessionId": "9f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b",
    "userId": "user-1234",
    "createdAt": 1_700_000_000,
    "status": "ACTIVE",
    "score": Decimal("87.25"),
    "mfa": True,
    "tags": ["web", "eu", 3],
    "geo": {"country": "NO", "city": "Oslo", "pos": {"lat": Decimal("59.91"), "lon": Decimal("10.75")}},
    "roles": {"reader", "writer"},
    "note": None,
}
