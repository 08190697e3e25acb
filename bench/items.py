"""The two items every bench uses (issue 26), as plain Python and in wire format.

* ``small``: 6 attributes (strings, numbers, a bool): the typical small item.
* ``nested``: 23 attributes, about 2 KB on the wire, 9 Decimals, maps (two levels), lists and a string set:
  the item where per-value codec cost and Python's cyclic GC dominate.

Write benches add their key attributes (``pk``/``sk``) to these; reads get them back from the stub
(bench/stub_server.py, ``StubConfig.item``) with the same attributes plus the keys.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ddbkit.core.codec import marshal_item

SMALL: dict[str, Any] = {
    "userId": "user-1234",
    "createdAt": 1_700_000_000,
    "status": "ACTIVE",
    "ipAddress": "203.0.113.7",
    "visits": 42,
    "mfa": True,
}

NESTED: dict[str, Any] = {
    "orderId": "o-000123-2024-01-01",
    "customerId": "c-981-nordic",
    "status": "SHIPPED",
    "channel": "web",
    "currency": "NOK",
    "total": Decimal("1499.95"),
    "tax": Decimal("299.99"),
    "discount": Decimal("50.00"),
    "qty": 3,
    "placedAt": 1_700_000_000,
    "paid": True,
    "gift": False,
    "note": "Leave at the door if nobody answers; the neighbour at number 3 can also take it. "
            "Call +47 000 00 000 before delivery; the gate code is 1234 and the parcel box is on the left.",
    "tags": {"priority", "fragile", "eu"},
    "lines": [
        {"sku": "sku-000001", "name": "Wool sweater, dark blue, size M, hand knitted in Setesdal", "qty": 1, "price": Decimal("899.00")},
        {"sku": "sku-000002", "name": "Mittens, grey, pair, lined with merino wool", "qty": 2, "price": Decimal("300.475")},
    ],
    "ship": {"name": "Kari Nordmann", "street": "Karl Johans gate 1", "zip": "0154", "city": "Oslo",
             "country": "NO", "geo": {"lat": Decimal("59.9127"), "lon": Decimal("10.7461")}},
    "bill": {"name": "Kari Nordmann", "street": "Karl Johans gate 1", "zip": "0154", "city": "Oslo",
             "country": "NO"},
    "history": [["placed", 1_700_000_000], ["paid", 1_700_000_060], ["shipped", 1_700_086_400]],
    "carrier": {"name": "Posten", "tracking": "70701234567890123", "service": "express"},
    "weightKg": Decimal("1.25"),
    "shippingCost": Decimal("99.00"),
    "userAgent": "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
    "attributes": {"wrap": False, "message": "Happy birthday!", "codes": ["SUMMER", "VIP"], "score": 97},
}

ITEMS: dict[str, dict[str, Any]] = {"small": SMALL, "nested": NESTED}
WIRE: dict[str, dict[str, Any]] = {name: marshal_item(item) for name, item in ITEMS.items()}
