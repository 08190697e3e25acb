"""ddbkit.Model: every field type both ways, typed operations on every transport, checks before sending,
identical wire requests on the typed and dict paths, boto3 conditions, single-table routing, streams."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import pytest
from backends import Backend, create_example_table
from models_example import CONFIG, Address, Color, Doc, Money, Session, SessionKeys, Status, session
from pydantic import Field

from ddbkit import Attr, Key, Table, Update
from ddbkit.aio import AsyncTable
from ddbkit.errors import ClientValidationError, ExpressionError
from ddbkit.models import HashKey, Model, Router, TypedTable
from ddbkit.core.operations import VersionConflict
from ddbkit.streams.records import StreamRecord

ROOT = Path(__file__).resolve().parents[2]
UTC = timezone.utc


# -- conversion ---------------------------------------------------------------------------------------
def test_every_field_type_round_trips() -> None:
    d = Doc(pk="p", sk=1, nothing=None, tags=["a"], meta={"k": [1, {"x": None}]},
            address=Address(city="Paris", zip_code="75001"), addresses=[Address(city="Oslo", zip_code="1")],
            labels={"a", "b"}, scores={1, 2}, blobs={b"x"}, money=Money(amount=Decimal("1.50"), currency="USD"))
    wire = d.to_wire()
    assert wire["ratio"] == {"N": "0.1"} and wire["price"] == {"N": "9.99"} and wire["flag"] == {"BOOL": False}
    assert wire["blob"] == {"B": b"\x00\x01"} and "nothing" not in wire
    assert wire["pair"] == {"L": [{"N": "1"}, {"S": "a"}]}
    assert wire["address"] == {"M": {"city": {"S": "Paris"}, "zip": {"S": "75001"}}}
    assert wire["labels"]["SS"] and wire["scores"]["NS"] and wire["blobs"] == {"BS": [b"x"]}
    assert wire["when"] == {"S": "2024-01-02T03:04:05.000000Z"} and wire["day"] == {"S": "2024-01-02"}
    assert wire["epoch"] == {"N": "1704153600"} and wire["color"] == {"N": "1"}
    assert wire["ident"] == {"S": "00000000-0000-0000-0000-000000000007"} and wire["kind"] == {"S": "a"}
    assert wire["money"] == {"S": "1.50 USD"} and wire["for"] == {"S": "reserved"} and "x-dash" in wire
    back = Doc.from_wire(wire)
    assert back == d and back.color is Color.RED and back.ratio == 0.1 and isinstance(back.pair, tuple)


def test_ttl_and_epoch_fields_come_from_config() -> None:
    s = session()
    item = s.to_item()
    assert item["expiresAt"] == 1893456000 and item["createdAt"] == 1704067201   # N, as the config defines
    assert Session.__ddb__.ttl_attr == "expiresAt" and Session.__ddb__.version_attr == "version"
    assert Session.__ddb__.keys is not None and Session.__ddb__.keys.names == ("sessionId",)
    assert Session.from_item(item) == s


def test_bound_by_component_name() -> None:
    from ddbkit.config import load_component_file

    loaded = load_component_file(ROOT / "examples" / "session-store" / "component.yaml")

    class ByName(Model, table=(loaded, "user-sessions")):
        session_id: str = Field(alias="sessionId")

    assert ByName.__ddb__.table_name == "UserSessions" and ByName.__ddb__.ttl_attr is None
    assert ByName.__ddb__.keys is not None and ByName.__ddb__.keys.indexes.keys() == {"UserIdIndex", "ExpirationIndex",
                                                                                       "SessionTypeIndex"}


def test_model_declaration_errors() -> None:
    with pytest.raises(ClientValidationError, match="no field for the key attributes"):
        class NoKey(Model, table=CONFIG):
            user_id: str = Field(alias="userId")
    with pytest.raises(ClientValidationError, match="not projected"):
        class TooWide(Model, table=CONFIG, index="ExpirationIndex"):
            session_id: str = Field(alias="sessionId")
            user_id: str = Field(alias="userId")
    with pytest.raises(ClientValidationError, match="no index named"):
        class NoIndex(Model, table=CONFIG, index="Nope"):
            session_id: str = Field(alias="sessionId")


def test_field_paths_are_checked_when_built() -> None:
    assert str(Session.attr("status").path) == "status"
    assert str(Session.attr(lambda s: s.user_agent).path) == "user-agent"
    assert str(Doc.attr(lambda d: d.addresses[0].zip_code).path) == "addresses[0].zip"
    assert str(Doc.attr("address.zip_code").path) == "address.zip" and str(Doc.attr("meta.free.form").path)
    with pytest.raises(ExpressionError, match="Session has no field 'stauts'"):
        Session.attr("stauts")
    with pytest.raises(ExpressionError, match="Address has no field 'town'"):
        Doc.attr(lambda d: d.address.town)
    # values compared to a typed field are stored as the field stores them (TTL: epoch seconds)
    from ddbkit.core.expressions import Compiler
    c = Compiler()
    (Session.attr("expires_at") > datetime(2030, 1, 1, tzinfo=UTC)).compile(c)
    assert c.values == {":v0": {"N": "1893456000"}}


# -- identical wire requests ----------------------------------------------------------------------------
class Capture:
    """A transport that records requests and answers with canned responses."""

    def __init__(self, item: dict[str, Any] | None = None) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.item = item

    def send(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        self.requests.append((operation, request))
        if operation in ("GetItem",):
            return {"Item": self.item} if self.item else {}
        if operation == "UpdateItem":
            return {"Attributes": self.item}
        if operation in ("Query", "Scan"):
            return {"Items": [self.item] if self.item else [], "Count": 1 if self.item else 0}
        if operation == "BatchGetItem":
            return {"Responses": {name: [self.item] for name in request["RequestItems"]}}
        return {}

    def close(self) -> None:
        pass


def test_typed_and_dict_paths_send_identical_requests() -> None:
    doc = Doc(pk="p", sk=1, address=Address(city="Paris", zip_code="75001"), labels={"a"})
    item = doc.to_item()
    key = {"pk": "p", "sk": 1}
    typed_t, dict_t = Capture(doc.to_wire()), Capture(doc.to_wire())
    repo = Table("Docs", key=("pk", "sk"), transport=typed_t).typed(Doc)
    plain = Table("Docs", key=("pk", "sk"), transport=dict_t)

    repo.put(doc, condition=Doc.attr("flag") == False)  # noqa: E712
    plain.put(item, condition=Attr("flag") == False)  # noqa: E712
    assert repo.get({"pk": "p", "sk": 1}) == doc
    plain.get(key)
    repo.update(doc, set={"name": "y", "when": datetime(2024, 5, 1, tzinfo=UTC)}, remove=["tags"])
    plain.update(key, Update().set("name", "y").set("when", "2024-05-01T00:00:00.000000Z").remove("tags"),
                 condition=Attr("pk").exists(), return_values="ALL_NEW")
    repo.delete(("p", 1))
    plain.delete(key)
    assert repo.query({"pk": "p"}, filter=Doc.attr("color") == Color.BLUE, limit=5).items == [doc]
    plain.query(Key("pk").eq("p"), filter=Attr("color") == 2, limit=5)
    repo.query(Doc.key("pk").eq("p") & Doc.key("sk").between(1, 3))
    plain.query(Key("pk").eq("p") & Key("sk").between(1, 3))
    repo.batch_write([doc], deletes=[{"pk": "q", "sk": 2}])
    plain.batch_write([item], deletes=[{"pk": "q", "sk": 2}])
    assert repo.batch_get([("p", 1)]) == [doc]
    plain.batch_get([key])
    repo.transact_write([repo.tx_put(doc), repo.tx_delete({"pk": "q", "sk": 2}, condition=Doc.attr("flag").exists())],
                        token="t")
    from ddbkit.core import transactions as tx
    plain.transact_write([tx.Put(item=item), tx.Delete(key={"pk": "q", "sk": 2}, condition=Attr("flag").exists())],
                         token="t")
    assert [op for op, _ in typed_t.requests] == [op for op, _ in dict_t.requests]
    for (op, a), (_, b) in zip(typed_t.requests, dict_t.requests, strict=True):
        assert a == b, op


def test_async_typed_path_sends_the_same_requests() -> None:
    class AsyncCapture(Capture):
        async def send(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:  # type: ignore[override]
            return Capture.send(self, operation, request)

        async def close(self) -> None:
            pass

    doc = Doc(pk="p", sk=1)
    sync_t, async_t = Capture(doc.to_wire()), AsyncCapture(doc.to_wire())
    repo = Table("Docs", key=("pk", "sk"), transport=sync_t).typed(Doc)
    arepo = AsyncTable("Docs", key=("pk", "sk"), transport=async_t).typed(Doc)

    async def run() -> None:
        await arepo.put(doc)
        assert await arepo.get(("p", 1)) == doc
        await arepo.update(doc, set={"name": "z"})
        await arepo.query({"pk": "p"}, filter=Doc.attr("flag").exists())
        await arepo.batch_get([("p", 1)])
        await arepo.delete(doc)

    asyncio.run(run())
    repo.put(doc)
    repo.get(("p", 1))
    repo.update(doc, set={"name": "z"})
    repo.query({"pk": "p"}, filter=Doc.attr("flag").exists())
    repo.batch_get([("p", 1)])
    repo.delete(doc)
    assert async_t.requests == sync_t.requests and len(sync_t.requests) == 6


def test_boto3_conditions_are_accepted() -> None:
    from boto3.dynamodb.conditions import Attr as BAttr
    from boto3.dynamodb.conditions import Key as BKey

    a, b = Capture(), Capture()
    ta, tb = Table("Docs", key=("pk", "sk"), transport=a), Table("Docs", key=("pk", "sk"), transport=b)
    ta.query(BKey("pk").eq("p") & BKey("sk").gt(1), filter=BAttr("n").between(1, 5) & ~BAttr("m").exists()
             | BAttr("s").begins_with("x") & BAttr("t").is_in([1, 2]) & BAttr("l").size().gte(2))
    tb.query(Key("pk").eq("p") & Key("sk").gt(1), filter=Attr("n").between(1, 5) & ~Attr("m").exists()
             | Attr("s").begins_with("x") & Attr("t").is_in([1, 2]) & Attr("l").size().gte(2))
    ta.put({"pk": "p", "sk": 1}, condition=BAttr("pk").not_exists() | BAttr("v").ne(3))
    tb.put({"pk": "p", "sk": 1}, condition=Attr("pk").not_exists() | Attr("v").ne(3))
    assert a.requests == b.requests
    with pytest.raises(ExpressionError, match="key condition"):
        ta.query(BKey("pk").eq("p") | BKey("sk").eq(1))


# -- checks before sending --------------------------------------------------------------------------------
def test_index_queries_are_checked_before_sending() -> None:
    cap = Capture()
    repo = Table("UserSessions", transport=cap).typed(Session)   # keys from the model's config: no Describe
    with pytest.raises(ClientValidationError, match="no index named 'UserIndex'"):
        repo.query({"user_id": "u1"}, index="UserIndex")
    with pytest.raises(ClientValidationError, match="keyed by 'userId' and 'createdAt'"):
        repo.query({"session_type": "web"}, index="UserIdIndex")
    with pytest.raises(ClientValidationError, match="projects KEYS_ONLY"):
        repo.query({"expires_at": 5}, index="ExpirationIndex")
    with pytest.raises(ClientValidationError, match="bound to table 'UserSessions'"):
        Table("Other", transport=cap).typed(Session)
    with pytest.raises(ClientValidationError, match="has no field 'nope'"):
        repo.update({"session_id": "s1"}, set={"nope": 1})
    assert cap.requests == []
    keys = Table("UserSessions", transport=cap).typed(SessionKeys)
    cap.item = {"sessionId": {"S": "s1"}, "expiresAt": {"N": "1893456000"}}
    page = keys.query(SessionKeys.key("expires_at").eq(datetime(2030, 1, 1, tzinfo=UTC)), index="ExpirationIndex")
    assert page.items == [SessionKeys(session_id="s1", expires_at=datetime(2030, 1, 1, tzinfo=UTC))]
    assert cap.requests[0][1]["ExpressionAttributeValues"] == {":v0": {"N": "1893456000"}}


# -- typed operations on every transport -------------------------------------------------------------------
def _sync_table(backend: Backend, transport: str) -> Table:
    if transport == "botocore":
        return Table.from_config(CONFIG, client=backend.client("dynamodb"))
    return Table.from_config(CONFIG, transport="fast", endpoint_url=backend.endpoint_url,
                             region_name=backend.region)


@pytest.mark.parametrize("transport", ["fast", "botocore"])
def test_typed_operations_sync(server_backend: Backend, transport: str) -> None:
    create_example_table(server_backend.client("dynamodb"), "session-store")
    repo: TypedTable[Session] = _sync_table(server_backend, transport).typed(Session)
    s1 = repo.put(session(1))
    assert s1.version == 1
    assert repo.get({"session_id": "s1"}) == s1 and repo.get("missing") is None
    with pytest.raises(VersionConflict):
        repo.put(session(1))                      # version 0 = new item, but it exists
    s1 = repo.put(s1.model_copy(update={"user_agent": "curl"}))
    assert s1.version == 2 and repo.get("s1") == s1
    moved = repo.update("s1", set={"status": Status.EXPIRED, "expires_at": datetime(2031, 1, 1, tzinfo=UTC)},
                        expected_version=2)
    assert moved.status is Status.EXPIRED and moved.version == 3 and moved.expires_at.year == 2031
    with pytest.raises(VersionConflict):
        repo.update("s1", set={"status": Status.ACTIVE}, expected_version=2)
    from ddbkit.errors import ConditionalCheckFailed
    with pytest.raises(ConditionalCheckFailed):
        repo.update("nope", set={"status": Status.ACTIVE})
    repo.batch_write([session(n) for n in range(2, 30)] + [session(40, user="u2")])
    page = repo.query({"user_id": "u1"}, index="UserIdIndex", limit=10, forward=False)
    assert len(page.items) == 10 and all(isinstance(s, Session) for s in page.items) and page.cursor
    assert page.items[0].created_at > page.items[-1].created_at
    assert len(list(repo.query_iter({"user_id": "u1"}, index="UserIdIndex", page_size=7))) == 29
    newer = repo.query(Session.key("user_id").eq("u1") & Session.key("created_at").gt(session(25).created_at),
                       index="UserIdIndex")
    assert sorted(s.session_id for s in newer.items) == [f"s{n}" for n in range(26, 30)]
    got = repo.batch_get(["s2", "s3", "missing", "s40"])
    assert [s.session_id for s in got] == ["s2", "s3", "s40"]
    repo.transact_write([repo.tx_put(session(50)), repo.tx_update("s2", set={"user_agent": "x"}),
                         repo.tx_delete("s3"), repo.tx_check("s4", Session.attr("status") == Status.ACTIVE)])
    snap = repo.transact_get(["s50", "s2", "s3"])
    assert snap[0] is not None and snap[0].version == 1 and snap[1] is not None and snap[1].user_agent == "x"
    assert snap[2] is None
    repo.delete("s50")
    assert repo.get("s50") is None


@pytest.mark.parametrize("transport", ["fast", "botocore"])
def test_typed_operations_async(server_backend: Backend, transport: str) -> None:
    server_backend.require("aioboto3") if transport == "botocore" else None
    create_example_table(server_backend.client("dynamodb"), "session-store")

    async def main() -> None:
        async with AsyncTable.from_config(CONFIG, transport=transport, endpoint_url=server_backend.endpoint_url,
                                          region_name=server_backend.region) as table:
            repo = table.typed(Session)
            s1 = await repo.put(session(1))
            assert await repo.get("s1") == s1
            with pytest.raises(VersionConflict):
                await repo.put(session(1))
            moved = await repo.update("s1", set={"status": Status.EXPIRED}, expected_version=1)
            assert moved.status is Status.EXPIRED and moved.version == 2
            await repo.batch_write([session(n) for n in range(2, 12)])
            page = await repo.query({"user_id": "u1"}, index="UserIdIndex", limit=4)
            assert len(page.items) == 4 and isinstance(page.items[0], Session)
            assert len([s async for s in repo.query_iter({"user_id": "u1"}, index="UserIdIndex", page_size=3)]) == 11
            assert [s.session_id for s in await repo.batch_get(["s2", "zz", "s3"])] == ["s2", "s3"]
            await repo.transact_write([repo.tx_put(session(20)), repo.tx_delete("s2")])
            assert [s is None for s in await repo.transact_get(["s20", "s2"])] == [False, True]
            await repo.delete("s20")
            assert await repo.get("s20") is None
            scanned = [s async for s in repo.scan_iter(Session.attr("user_id") == "u1")]
            assert len(scanned) == 10 and (await repo.scan(limit=2)).cursor

    asyncio.run(main())


# -- single-table design --------------------------------------------------------------------------------------


def _single_table(backend: Backend) -> Table:
    client = backend.client("dynamodb")
    client.create_table(TableName="App", BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"}
                                              for n in ("PK", "SK", "GSI1PK", "GSI1SK")],
                        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"},
                                   {"AttributeName": "SK", "KeyType": "RANGE"}],
                        GlobalSecondaryIndexes=[{"IndexName": "GSI1", "Projection": {"ProjectionType": "ALL"},
                                                 "KeySchema": [{"AttributeName": "GSI1PK", "KeyType": "HASH"},
                                                               {"AttributeName": "GSI1SK", "KeyType": "RANGE"}]}])
    return Table("App", client=client)


class User(Model, table="App", entity="User", pk="USER#{user_id}", sk="PROFILE"):
    user_id: str
    name: str
    joined: datetime = datetime(2024, 1, 1, tzinfo=UTC)


class Order(Model, table="App", entity="Order", pk="USER#{user_id}", sk="ORDER#{order_id}",
            gsi={"GSI1": ("ORDER#{order_id}", "DETAIL")}):
    user_id: str
    order_id: str
    total: Decimal


def test_single_table_models(server_backend: Backend) -> None:
    table = _single_table(server_backend)
    users, orders = table.typed(User), table.typed(Order)
    users.put(User(user_id="1", name="Ada"))
    orders.batch_write([Order(user_id="1", order_id=str(n), total=Decimal(n) / 4) for n in range(3)])
    raw = table.get({"PK": "USER#1", "SK": "ORDER#2"})
    assert raw is not None and raw["_type"] == "Order" and raw["GSI1PK"] == "ORDER#2"
    assert users.get({"user_id": "1"}) == User(user_id="1", name="Ada")
    assert [o.order_id for o in orders.query({"user_id": "1"}).items] == ["0", "1", "2"]   # no User mixed in
    assert orders.query({"order_id": "2"}, index="GSI1").items[0].total == Decimal("0.5")
    mixed = Router(User, Order).query(table, User, user_id="1")
    assert [type(m).__name__ for m in mixed.items] == ["Order", "Order", "Order", "User"]
    groups = Router(User, Order).collection(table, User, user_id="1")
    assert len(groups[Order]) == 3 and groups[User][0].name == "Ada"  # type: ignore[attr-defined]
    assert [u.name for u in users.scan_iter()] == ["Ada"]

    async def routed() -> list[str]:   # the async twin routes the same page
        async with AsyncTable("App", endpoint_url=server_backend.endpoint_url,
                              region_name=server_backend.region) as at:
            page = await Router(User, Order).aquery(at, User, user_id="1")
            return [type(m).__name__ async for m in Router(User, Order).aquery_iter(at, User, user_id="1")] + \
                [type(m).__name__ for m in page.items]
    assert asyncio.run(routed()) == ["Order", "Order", "Order", "User"] * 2


# -- streams --------------------------------------------------------------------------------------------------
def test_stream_records_as_models() -> None:
    from ddbkit.models import ModelStreamProcessor

    s = session(1)
    raw = {"eventName": "MODIFY", "eventSource": "aws:dynamodb",
           "dynamodb": {"SequenceNumber": "1", "Keys": {"sessionId": {"S": "s1"}},
                        "OldImage": s.to_wire(),
                        "NewImage": s.model_copy(update={"status": Status.EXPIRED}).to_wire()}}
    rec = StreamRecord(raw)
    assert rec.new_as(Session) is not None and rec.new_as(Session).status is Status.EXPIRED  # type: ignore[union-attr]
    assert rec.old_as(Session) == s

    seen: list[tuple[Status | None, Status]] = []

    class Watch(ModelStreamProcessor[Session]):
        def on_modify_model(self, old: Session | None, new: Session, record: StreamRecord) -> None:
            seen.append((old.status if old else None, new.status))

    assert Watch(Session).process([raw]).ok and seen == [(Status.ACTIVE, Status.EXPIRED)]


def test_import_ddbkit_stays_light() -> None:
    import subprocess

    code = "import ddbkit, sys; assert 'pydantic' not in sys.modules; ddbkit.Model; assert 'pydantic' in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0



def test_model_info_is_per_class() -> None:
    class Base(Model, table="T1"):
        a: Annotated[str, HashKey]

    class Child(Base):
        b: str = "x"

    assert Child.__ddb__ is not Base.__ddb__ and Child.__ddb__.table_name == "T1"
    assert set(Child.__ddb__.attr_of) == {"a", "b"} and set(Base.__ddb__.attr_of) == {"a"}
