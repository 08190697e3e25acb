"""Single-table, time-series and session patterns on real local servers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from backends import Backend, create_example_table
from pydantic import BaseModel, ValidationError

from ddbkit import Table
from ddbkit.errors import ClientValidationError
from ddbkit.patterns.sessions import SessionStore
from ddbkit.patterns.single_table import KeyTemplate, SingleTable
from ddbkit.patterns.time_series import TimeSeries

ROOT = Path(__file__).resolve().parents[2]


def create(backend: Backend, name: str, keys: list[tuple[str, str, str]],
           gsis: dict[str, list[tuple[str, str, str]]] | None = None) -> Table:
    client = backend.client("dynamodb")
    attrs: dict[str, str] = {}
    for group in [keys, *(gsis or {}).values()]:
        for a, t, _ in group:
            attrs[a] = t
    req: dict[str, Any] = {
        "TableName": name, "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": t} for a, t in attrs.items()],
        "KeySchema": [{"AttributeName": a, "KeyType": k} for a, _, k in keys]}
    if gsis:
        req["GlobalSecondaryIndexes"] = [{"IndexName": n, "KeySchema": [{"AttributeName": a, "KeyType": k}
                                                                      for a, _, k in ks],
                                          "Projection": {"ProjectionType": "ALL"}} for n, ks in gsis.items()]
    client.create_table(**req)
    return Table(name, client=client)


def test_key_templates() -> None:
    t = KeyTemplate("ORDER#{order_id}#{line}")
    assert t.format({"order_id": "o1", "line": 3}) == "ORDER#o1#3" and t.prefix == "ORDER#"
    assert t.parse("ORDER#o1#3") == {"order_id": "o1", "line": "3"} and t.parse("USER#1") is None
    with pytest.raises(ClientValidationError, match="needs"):
        t.format({"order_id": "o1"})


class UserModel(BaseModel):
    user_id: str
    name: str
    email: str | None = None


def test_single_table_spec_pattern(backend: Backend) -> None:
    table = create(backend, "UserManagement", [("PK", "S", "HASH"), ("SK", "S", "RANGE")],
                   {"GSI1": [("GSI1PK", "S", "HASH"), ("GSI1SK", "S", "RANGE")]})
    app = SingleTable(table)
    User = app.entity("User", pk="USER#{user_id}", sk="PROFILE", model=UserModel)
    Order = app.entity("Order", pk="USER#{user_id}", sk="ORDER#{order_id}",
                       gsi={"GSI1": ("ORDER#{order_id}", "USER#{user_id}")})
    Detail = app.entity("OrderDetail", pk="ORDER#{order_id}", sk="DETAIL")
    Session = app.entity("Session", pk="USER#{user_id}", sk="SESSION#{session_id}")

    User.put({"user_id": "123", "name": "Ada"})
    for oid in ("456", "457"):
        Order.put({"user_id": "123", "order_id": oid, "total": 30})
        Detail.put({"order_id": oid, "lines": ["a", "b"]})
    Session.put({"user_id": "123", "session_id": "789", "ip": "203.0.113.7"})
    Order.put({"user_id": "999", "order_id": "1", "total": 1})

    user = User.get(user_id="123")
    assert isinstance(user, UserModel) and user.name == "Ada"
    orders, cursor = Order.query(user_id="123")
    assert sorted(o["order_id"] for o in orders) == ["456", "457"] and cursor is None
    assert all(o["user_id"] == "123" and "PK" not in o and "_type" not in o for o in orders)
    by_gsi, _ = Order.query(index="GSI1", order_id="456")
    assert [o["user_id"] for o in by_gsi] == ["123"]
    groups = app.collection(User, user_id="123")
    assert len(groups["User"]) == 1 and len(groups["Order"]) == 2 and len(groups["Session"]) == 1
    assert groups["OrderDetail"] == []
    assert Detail.get(order_id="456") == {"order_id": "456", "lines": ["a", "b"]}
    assert Session.get(user_id="123", session_id="nope") is None
    # an item of another entity under a key is not mis-parsed as this one
    assert User.get(user_id="123") is not None and Order.get(user_id="123", order_id="PROFILE") is None
    with pytest.raises(ClientValidationError, match="managed"):
        Order.put({"user_id": "1", "order_id": "2", "PK": "x"})
    with pytest.raises(ValidationError):
        User.put({"user_id": "1"})  # the model requires a name


def test_time_series_sharding_and_merge(backend: Backend) -> None:
    table = create(backend, "SensorData", [("deviceId", "S", "HASH"), ("timestamp", "N", "RANGE")],
                   {"SensorTypeIndex": [("sensorType", "S", "HASH"), ("timestamp", "N", "RANGE")]})
    series = TimeSeries(table, shards=4, retention=timedelta(days=7))
    base = datetime(2026, 11, 1, tzinfo=timezone.utc)
    readings = [("hot-1", base + timedelta(seconds=i), {"v": i, "sensorType": "temp"}) for i in range(60)]
    readings += [("cold-1", base + timedelta(seconds=i), {"v": -i, "sensorType": "hum"}) for i in range(5)]
    assert series.put_many(readings) == 65
    partitions = {it["deviceId"] for it in table.scan_iter()}
    assert {"hot-1#0", "hot-1#1", "hot-1#2", "hot-1#3"} <= partitions  # writes spread over 4 shards
    window = series.range("hot-1", base + timedelta(seconds=10), base + timedelta(seconds=29))
    assert [r["v"] for r in window] == list(range(10, 30)) and all(r["deviceId"] == "hot-1" for r in window)
    assert [r["v"] for r in series.latest("hot-1", 5)] == [59, 58, 57, 56, 55]
    assert [r["v"] for r in series.range("hot-1", base, base + timedelta(hours=1), newest_first=True, limit=3)] == [59, 58, 57]
    temps = series.by_type("temp", base, base + timedelta(seconds=4))
    assert sorted(r["v"] for r in temps) == [0, 1, 2, 3, 4]
    ttl = table.scan(limit=1).items[0]["expiresAt"]
    assert ttl > int(base.timestamp())


def test_time_series_single_shard_uses_device_as_key(backend: Backend) -> None:
    table = create(backend, "Readings", [("deviceId", "S", "HASH"), ("timestamp", "N", "RANGE")])
    series = TimeSeries(table)
    series.put("d1", 1000, {"v": 1})
    series.put("d1", 2000, {"v": 2})
    assert table.get({"deviceId": "d1", "timestamp": 1000}) is not None
    assert [r["v"] for r in series.latest("d1", 1)] == [2]


def test_session_store(backend: Backend) -> None:
    client = backend.client("dynamodb")
    cfg = create_example_table(client, "session-store")
    now = [1_800_000_000.0]
    store = SessionStore(Table.from_config(cfg, client=client), ttl=timedelta(hours=1), clock=lambda: now[0])
    created = [store.create("u1") for _ in range(5)]
    now[0] += 2
    other = store.create("u2")
    assert store.get(created[0]["sessionId"]) is not None
    page = store.list_for_user("u1", limit=3)
    assert len(page.items) == 3 and page.cursor
    rest = store.list_for_user("u1", limit=3, cursor=page.cursor)
    assert len(page.items) + len(rest.items) == 5
    assert store.expire(created[1]["sessionId"]) and not store.expire("missing")
    assert store.get(created[1]["sessionId"]) is None
    assert store.touch(created[1]["sessionId"]) is None
    touched = store.touch(created[2]["sessionId"], ttl=timedelta(hours=5))
    assert touched is not None and touched["expiresAt"] == int(now[0]) + 5 * 3600
    assert len(store.active_for_user("u1")) == 4
    now[0] += 2 * 3600  # one hour sessions are now expired; the touched one is not
    assert [s["sessionId"] for s in store.active_for_user("u1")] == [created[2]["sessionId"]]
    assert store.get(other["sessionId"]) is None


def test_dict_and_typed_single_table_read_each_other(ddb_local_backend: Backend) -> None:
    """patterns.single_table (dicts) and ddbkit.Model templates write one layout: each reads the other's items."""
    from decimal import Decimal

    from ddbkit.models import Model, Router

    class TUser(Model, entity="User", pk="USER#{user_id}", sk="PROFILE"):
        user_id: str
        name: str

    class TOrder(Model, entity="Order", pk="USER#{user_id}", sk="ORDER#{order_id}",
                 gsi={"GSI1": ("ORDER#{order_id}", "USER#{user_id}")}):
        user_id: str
        order_id: str
        total: Decimal

    table = create(ddb_local_backend, "Interop", [("PK", "S", "HASH"), ("SK", "S", "RANGE")],
                   {"GSI1": [("GSI1PK", "S", "HASH"), ("GSI1SK", "S", "RANGE")]})
    app = SingleTable(table)
    user = app.entity("User", pk="USER#{user_id}", sk="PROFILE")
    order = app.entity("Order", pk="USER#{user_id}", sk="ORDER#{order_id}",
                       gsi={"GSI1": ("ORDER#{order_id}", "USER#{user_id}")})
    user.put({"user_id": "1", "name": "Ada"})                              # dict writes, typed reads
    assert table.typed(TUser).get({"user_id": "1"}) == TUser(user_id="1", name="Ada")
    table.typed(TOrder).put(TOrder(user_id="1", order_id="9", total=Decimal("2.5")))   # typed writes, dict reads
    assert order.get(user_id="1", order_id="9") == {"user_id": "1", "order_id": "9", "total": Decimal("2.5")}
    assert order.query(index="GSI1", order_id="9")[0][0]["total"] == Decimal("2.5")
    assert sorted(app.collection(user, user_id="1")) == ["Order", "User"]
    mixed = Router(TUser, TOrder).query(table, TUser, user_id="1").items
    assert [type(m).__name__ for m in mixed] == ["TOrder", "TUser"]
