"""The Table client against real local servers (moto in-process, moto's server, DynamoDB Local)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from backends import Backend, create_example_table

from ddbkit import Attr, Key, Table, Update, if_not_exists, list_append
from ddbkit.core import transactions as tx
from ddbkit.errors import (
    ConditionalCheckFailed,
    CursorError,
    ExpressionError,
    ResourceNotFound,
    TransactionCanceled,
)
from ddbkit.core.operations import VersionConflict, ttl_epoch

ROOT = Path(__file__).resolve().parents[2]


def make_orders(backend: Backend) -> Table:
    client = backend.client("dynamodb")
    client.create_table(
        TableName="Orders", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": t} for a, t in
                              [("pk", "S"), ("sk", "S"), ("gpk", "S"), ("n", "N")]],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{"IndexName": "ByG", "KeySchema": [{"AttributeName": "gpk", "KeyType": "HASH"},
                                                                  {"AttributeName": "n", "KeyType": "RANGE"}],
                                 "Projection": {"ProjectionType": "ALL"}}])
    return Table("Orders", client=client)


def test_crud_and_return_values(backend: Backend) -> None:
    t = make_orders(backend)
    item = {"pk": "u1", "sk": "A", "name": "x", "score": 1.5, "tags": {"a", "b"}, "blob": b"\x00", "nested": {"l": [1]}}
    assert t.put(item) is None
    assert t.get({"pk": "u1", "sk": "A"}) == {**item, "score": Decimal("1.5")}
    assert t.get({"pk": "u1", "sk": "A"}, attributes=["name", "nested.l"]) == {"name": "x", "nested": {"l": [1]}}
    assert t.exists({"pk": "u1", "sk": "A"}) and not t.exists({"pk": "u1", "sk": "B"})
    old = t.put({"pk": "u1", "sk": "A", "name": "y"}, return_values="ALL_OLD")
    assert old is not None and old["name"] == "x"
    assert t.delete({"pk": "u1", "sk": "A"}, return_values="ALL_OLD") == {"pk": "u1", "sk": "A", "name": "y"}
    assert t.get({"pk": "u1", "sk": "A"}, consistent=True) is None


def test_list_append_with_a_path_string_appends_to_the_stored_list(backend: Backend) -> None:
    """Issue 24 item 16: ``list_append("lst", [5])`` named the attribute, not the string "lst"."""
    t = make_orders(backend)
    key = {"pk": "u1", "sk": "L"}
    t.put({**key, "lst": [1], "n": 7})
    assert t.update(key, set={"lst": list_append("lst", [5])}, return_values="ALL_NEW") == {**key, "lst": [1, 5],
                                                                                             "n": 7}
    assert t.update(key, Update().set("lst", list_append([0], "lst")), return_values="UPDATED_NEW") == {
        "lst": [0, 1, 5]}
    new = t.update(key, set={"fresh": list_append(if_not_exists("fresh", []), ["a"]),
                             "n": if_not_exists("n", 0), "m": if_not_exists("m", "dflt")}, return_values="ALL_NEW")
    assert new == {**key, "lst": [0, 1, 5], "n": 7, "fresh": ["a"], "m": "dflt"}


def test_conditions(backend: Backend) -> None:
    t = make_orders(backend)
    t.put({"pk": "u1", "sk": "A", "status": "ACTIVE"}, condition=Attr("pk").not_exists())
    with pytest.raises(ConditionalCheckFailed):
        t.put({"pk": "u1", "sk": "A"}, condition=Attr("pk").not_exists())
    with pytest.raises(ConditionalCheckFailed):
        t.delete({"pk": "u1", "sk": "A"}, condition=Attr("status") == "GONE")
    t.delete({"pk": "u1", "sk": "A"}, condition="#s = :v", names={"#s": "status"}, values={":v": "ACTIVE"})
    assert t.get({"pk": "u1", "sk": "A"}) is None
    with pytest.raises(ExpressionError, match="reserved"):
        t.put({"pk": "u1", "sk": "A"}, condition="status = :v", values={":v": 1})


def test_updates(backend: Backend) -> None:
    t = make_orders(backend)
    key = {"pk": "u1", "sk": "A"}
    t.put({**key, "visits": 1, "log": ["a"], "tags": {"x", "y"}, "tmp": 1, "address": {"city": "Oslo"}})
    new = t.update(key, Update().set("visits", Attr("visits") + 2).set("log", list_append(Attr("log"), ["b"]))
                   .set("first", if_not_exists("first", "yes")).set("address.city", "Bergen").remove("tmp")
                   .add("count", 5).delete("tags", {"x"}), return_values="ALL_NEW")
    assert new == {**key, "visits": 3, "log": ["a", "b"], "first": "yes", "address": {"city": "Bergen"},
                   "count": 5, "tags": {"y"}}
    assert t.update(key, set={"status": "DONE"}, add={"count": 1}, return_values="UPDATED_NEW") == {
        "status": "DONE", "count": 6}
    with pytest.raises(ConditionalCheckFailed):
        t.update(key, set={"x": 1}, condition=Attr("status") == "OPEN")
    with pytest.raises(Exception, match="key attribute"):
        t.update(key, set={"sk": "B"})


def test_query_pages_with_cursor_and_index(backend: Backend) -> None:
    t = make_orders(backend)
    t.batch_write([{"pk": "u1", "sk": f"O#{i:03d}", "gpk": "g", "n": i, "status": "ACTIVE" if i % 3 else "OLD"}
                   for i in range(25)] + [{"pk": "u2", "sk": "O#000"}])
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = t.query(Key("pk").eq("u1") & Key("sk").begins_with("O#"), limit=10, cursor=cursor)
        seen += [it["sk"] for it in page.items]
        pages += 1
        cursor = page.cursor
        if cursor is None:
            break
    assert seen == [f"O#{i:03d}" for i in range(25)] and pages >= 3
    desc = t.query({"pk": "u1"}, forward=False, limit=3)
    assert [it["sk"] for it in desc.items] == ["O#024", "O#023", "O#022"]
    active = list(t.query_iter(Key("gpk").eq("g") & Key("n").between(0, 11), index="ByG",
                               filter=Attr("status") == "ACTIVE"))
    assert [it["n"] for it in active] == [i for i in range(12) if i % 3]
    assert t.count({"pk": "u1"}) == 25
    assert t.count(filter=Attr("status") == "OLD") == 9
    # a cursor from u1 cannot be replayed against u2's partition
    first = t.query({"pk": "u1"}, limit=5)
    assert first.cursor
    with pytest.raises(CursorError, match="partition"):
        t.query({"pk": "u2"}, cursor=first.cursor)


def test_scan_and_parallel_scan(backend: Backend) -> None:
    t = make_orders(backend)
    t.batch_write([{"pk": f"u{i % 7}", "sk": f"{i}", "v": i} for i in range(120)])
    assert sorted(it["v"] for it in t.scan_iter(limit=25)) == list(range(120))
    assert sorted(it["v"] for it in t.parallel_scan(total_segments=3)) == list(range(120))
    page = t.scan(filter=Attr("v") < 10, attributes=["v"])
    assert all(set(it) == {"v"} for it in page.items)


def test_batch_write_and_get(backend: Backend) -> None:
    t = make_orders(backend)
    result = t.batch_write([{"pk": "u", "sk": f"{i:04d}", "v": i} for i in range(130)],
                           deletes=[{"pk": "u", "sk": "0000"}])
    assert result.written == 131  # streaming: the put of 0000 left in the first call, the delete after it
    got = t.batch_get([{"pk": "u", "sk": f"{i:04d}"} for i in (5, 0, 129, 999)], attributes=["v"])
    assert [it["v"] for it in got.items] == [5, 129]
    assert got.missing == [{"pk": "u", "sk": "0000"}, {"pk": "u", "sk": "0999"}]


def test_transactions(backend: Backend) -> None:
    backend.require("transactions")
    t = make_orders(backend)
    t.put({"pk": "acct", "sk": "A", "balance": 100})
    t.put({"pk": "acct", "sk": "B", "balance": 0})
    token = t.transact_write([
        tx.Update({"pk": "acct", "sk": "A"}, Update().set("balance", Attr("balance") - 30),
                  condition=Attr("balance") >= 30),
        tx.Update({"pk": "acct", "sk": "B"}, Update().set("balance", Attr("balance") + 30)),
        tx.Put({"pk": "log", "sk": "1", "amount": 30}, condition=Attr("pk").not_exists()),
    ])
    assert len(token) == 36
    a, b, missing = t.transact_get([{"pk": "acct", "sk": "A"}, tx.Get({"pk": "acct", "sk": "B"}),
                                    {"pk": "nope", "sk": "x"}])
    assert (a or {})["balance"] == 70 and (b or {})["balance"] == 30 and missing is None
    with pytest.raises(TransactionCanceled) as exc:
        t.transact_write([
            tx.ConditionCheck({"pk": "acct", "sk": "A"}, Attr("balance") > 1000),
            tx.Delete({"pk": "log", "sk": "1"}),
        ])
    assert len(exc.value.reasons) == 2 and exc.value.reasons[0].code == "ConditionalCheckFailed"
    assert t.get({"pk": "log", "sk": "1"}) is not None  # nothing applied
    with pytest.raises(Exception, match="same item"):
        t.transact_write([tx.Delete({"pk": "a", "sk": "1"}), tx.Delete({"pk": "a", "sk": "1"})])
    with pytest.raises(Exception, match="at most 100"):
        t.transact_write([tx.Delete({"pk": "a", "sk": str(i)}) for i in range(101)])


def test_optimistic_locking_and_ttl(backend: Backend) -> None:
    t = make_orders(backend)
    v1 = t.put_versioned({"pk": "doc", "sk": "1", "body": "a"})
    assert v1["version"] == 1
    v2 = t.put_versioned({**v1, "body": "b"})
    assert v2["version"] == 2
    with pytest.raises(VersionConflict):
        t.put_versioned({**v1, "body": "stale"})
    with pytest.raises(VersionConflict):
        t.put_versioned({"pk": "doc", "sk": "1", "body": "new?"})
    new = t.update_versioned({"pk": "doc", "sk": "1"}, Update().set("body", "c"), expected=2)
    assert new is not None and new["version"] == 3 and new["body"] == "c"
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert ttl_epoch(timedelta(hours=1), now=now) == int(now.timestamp()) + 3600
    assert ttl_epoch(datetime(2026, 1, 1)) == int(now.timestamp()) and ttl_epoch(5.7) == 5


def test_errors_map_to_ddbkit_exceptions(backend: Backend) -> None:
    t = Table("NoSuchTable", key=("pk", None), client=backend.client("dynamodb"))
    with pytest.raises(ResourceNotFound) as exc:
        t.get({"pk": "a"})
    assert exc.value.code == "ResourceNotFoundException" and exc.value.operation == "GetItem"


def test_describes_key_schema_lazily_and_counts_capacity(backend: Backend) -> None:
    t = make_orders(backend)
    assert t.key_schema.names == ("pk", "sk") and t.key_schema.indexes["ByG"] == ("gpk", "n")
    t.put({"pk": "a", "sk": "b"})
    t.get({"pk": "a", "sk": "b"})
    usage = t.usage
    assert usage.calls["PutItem"] == 1 and usage.calls["GetItem"] == 1
    assert usage.write_units > 0 and usage.read_units > 0


# --------------------------------------------------------------------------------------------------
# the spec's DynamoDBService, on the session-store table
# --------------------------------------------------------------------------------------------------


def session_table(backend: Backend) -> Table:
    client = backend.client("dynamodb")
    cfg = create_example_table(client, "session-store")
    return Table.from_config(cfg, client=client, cursor_secret="demo-secret-" * 3)


def sessions(n: int, users: int = 50) -> list[dict[str, Any]]:
    return [{"sessionId": f"s{i:05d}", "userId": f"user{i % users}", "createdAt": 1_700_000_000 + i,
             "expiresAt": 1_800_000_000 + i, "status": "ACTIVE" if i % 4 else "EXPIRED", "sessionType": "web"}
            for i in range(n)]


@pytest.mark.slow
def test_spec_batch_write_sessions_get_user_sessions_and_active_filter(server_backend: Backend) -> None:
    t = session_table(server_backend)
    items = sessions(10_000)
    result = t.batch_write(items)  # batchWriteSessions: 10,000 items
    assert result.written == 10_000
    # getUserSessions(userId, limit=20, lastKey): newest first, paged by cursor
    got: list[int] = []
    cursor = None
    while True:
        page = t.query(Key("userId").eq("user7"), index="UserIdIndex", forward=False, limit=20, cursor=cursor)
        got += [it["createdAt"] for it in page.items]
        cursor = page.cursor
        if not cursor:
            break
    expected = sorted((it["createdAt"] for it in items if it["userId"] == "user7"), reverse=True)
    assert got == expected and len(got) == 200
    # getActiveSessions: `status` is a reserved word; the builder adds the placeholder
    active = list(t.query_iter(Key("userId").eq("user7"), index="UserIdIndex",
                               filter=(Attr("status") == "ACTIVE") & Attr("expiresAt").gt(1_800_000_000)))
    assert len(active) == sum(1 for it in items if it["userId"] == "user7" and it["status"] == "ACTIVE")
    assert t.count() == 10_000


def test_table_with_only_key_names_learns_its_indexes(backend: Backend) -> None:
    make_orders(backend)
    t = Table("Orders", key=("pk", "sk"), client=backend.client("dynamodb"))
    t.put({"pk": "a", "sk": "1", "gpk": "g", "n": 1})
    assert [it["pk"] for it in t.query({"gpk": "g"}, index="ByG").items] == ["a"]
    with pytest.raises(Exception, match="no index named"):
        t.query({"gpk": "g"}, index="Nope")
