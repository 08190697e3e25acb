"""Typed models store what they read back (issue #24 items 10, 13, 14, 17).

- None and an empty set remove the attribute in every typed write, so equal models are stored identically
  whichever write stored them (put, update, transactions, batches);
- a stored item that does not validate raises ItemValidationError naming table, index, key attribute names,
  a digest of the key and the failing field paths and types, never a value; reads can skip or collect it;
- datetimes: put returns what get returns (microseconds kept by EpochSeconds, TTL whole seconds), one
  sortable UTC text format by default, PynamoDB's and dyntastic's formats for migrations.
"""

from __future__ import annotations

import asyncio
import traceback
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

import pytest
from backends import Backend, create_example_table
from hypothesis import given, settings
from hypothesis import strategies as st
from models_example import CONFIG, Session, session
from pydantic import Field

from ddbkit import Table
from ddbkit.aio import AsyncTable
from ddbkit.errors import ClientValidationError, ConditionalCheckFailed
from ddbkit.models import DateTimeFormat, EpochSeconds, HashKey, ItemValidationError, Model

UTC = timezone.utc


class Sparse(Model, table=CONFIG):
    """Optional fields, one of them a GSI key (sessionType: SessionTypeIndex's sort key, an S)."""

    session_id: str = Field(alias="sessionId")
    user_id: str = Field(alias="userId")
    session_type: str | None = Field(default=None, alias="sessionType")
    owner: str | None = None
    tags: set[str] = Field(default_factory=set)


def _raw(backend: Backend, sid: str) -> dict[str, Any]:
    item = backend.client("dynamodb").get_item(TableName="UserSessions", Key={"sessionId": {"S": sid}})["Item"]
    return {k: v for k, v in item.items() if k != "sessionId"}


FULL = {"session_type": "web", "owner": "ada", "tags": {"x"}}
CLEARED: dict[str, Any] = {"session_type": None, "owner": None, "tags": set()}


# -- item 13: None / empty set remove the attribute in every typed write ----------------------------------------
@pytest.mark.parametrize("transport", ["fast", "botocore"])
def test_none_removes_the_attribute_sync(server_backend: Backend, transport: str) -> None:
    create_example_table(server_backend.client("dynamodb"), "session-store")
    table = (Table.from_config(CONFIG, client=server_backend.client("dynamodb")) if transport == "botocore" else
             Table.from_config(CONFIG, endpoint_url=server_backend.endpoint_url, region_name=server_backend.region))
    repo = table.typed(Sparse)
    repo.put(Sparse(session_id="put", user_id="u"))                         # None fields omitted
    repo.put(Sparse(session_id="upd", user_id="u", **FULL))
    got = repo.update("upd", set=CLEARED)                                   # None / set() -> REMOVE
    assert got == Sparse(session_id="upd", user_id="u")
    repo.put(Sparse(session_id="tx", user_id="u", **FULL))
    repo.transact_write([repo.tx_update("tx", set=CLEARED), repo.tx_put(Sparse(session_id="txput", user_id="u"))])
    repo.batch_write([Sparse(session_id="batch", user_id="u", owner=None, tags=set())])
    expected = _raw(server_backend, "put")
    assert expected == {"userId": {"S": "u"}}
    for sid in ("upd", "tx", "txput", "batch"):
        assert _raw(server_backend, sid) == expected, sid                   # byte-identical raw items
    for sid in ("put", "upd", "tx", "txput", "batch"):                     # not_exists() sees them alike
        repo.update(sid, set={"owner": "bob"}, condition=Sparse.attr("owner").not_exists())
    with pytest.raises(ConditionalCheckFailed):
        repo.update("put", set={"owner": "eve"}, condition=Sparse.attr("owner").not_exists())


def test_none_removes_the_attribute_async(server_backend: Backend) -> None:
    create_example_table(server_backend.client("dynamodb"), "session-store")

    async def main() -> None:
        async with AsyncTable.from_config(CONFIG, endpoint_url=server_backend.endpoint_url,
                                          region_name=server_backend.region) as table:
            repo = table.typed(Sparse)
            await repo.put(Sparse(session_id="put", user_id="u"))
            await repo.put(Sparse(session_id="upd", user_id="u", **FULL))
            assert await repo.update("upd", set=CLEARED) == Sparse(session_id="upd", user_id="u")
            await repo.put(Sparse(session_id="tx", user_id="u", **FULL))
            await repo.transact_write([repo.tx_update("tx", set=CLEARED)])
            for sid in ("put", "upd", "tx"):
                await repo.update(sid, set={"owner": "bob"}, condition=Sparse.attr("owner").not_exists())

    asyncio.run(main())
    # after the loop: every item got owner=bob through the same not_exists() condition, and is the same item
    assert _raw(server_backend, "put") == _raw(server_backend, "upd") == _raw(server_backend, "tx")


def test_empty_set_update_is_a_remove_not_a_codec_error() -> None:
    from ddbkit.core.expressions import Compiler

    repo = Table("UserSessions").typed(Sparse)
    up = repo._fields_update(None, {"tags": set(), "owner": None, "user_id": "u"}, None, None, None)  # noqa: SLF001
    c = Compiler()
    text = up.compile(c)
    assert "REMOVE" in text and c.values == {":v0": {"S": "u"}}


# -- items 14 and 10: invalid stored items ------------------------------------------------------------------------
SECRET = "SSN-123-45-6789"
KEYVAL = "KEY-SECRET-77"


def _seed_bad(backend: Backend) -> None:
    create_example_table(backend.client("dynamodb"), "session-store")
    good = Table.from_config(CONFIG, endpoint_url=backend.endpoint_url, region_name=backend.region).typed(Session)
    good.batch_write([session(1), session(2)])
    bad = session(3).to_wire()
    bad["sessionId"] = {"S": KEYVAL}
    bad["status"] = {"S": SECRET}                 # not a Status
    bad["sessionType"] = {"S": SECRET}            # not a Literal
    backend.client("dynamodb").put_item(TableName="UserSessions", Item=bad)


def _check_error(err: ItemValidationError, index: str | None) -> None:
    assert err.table == "UserSessions" and err.index == index and err.model == "Session"
    assert err.key == {"sessionId": KEYVAL} and err.key_names == ("sessionId",)
    assert sorted(err.errors) == [("sessionType", "literal_error"), ("status", "enum")]
    text = "".join(traceback.format_exception(err)) + str(err) + repr(err) + repr(err.errors)
    assert SECRET not in text and KEYVAL not in text and "123-45" not in text
    assert "sessionId" in str(err) and err.key_digest in str(err) and "status: enum" in str(err)
    assert "\n" not in str(err) and err.__cause__ is None and err.__context__ is None


def test_invalid_item_sync(server_backend: Backend) -> None:
    _seed_bad(server_backend)
    repo = Table.from_config(CONFIG, endpoint_url=server_backend.endpoint_url,
                             region_name=server_backend.region).typed(Session)
    with pytest.raises(ItemValidationError) as e:
        repo.get(KEYVAL)
    _check_error(e.value, None)
    assert repo.get(KEYVAL, on_invalid="skip") is None
    with pytest.raises(ItemValidationError) as e:
        repo.query({"user_id": "u1"}, index="UserIdIndex")
    _check_error(e.value, "UserIdIndex")
    page = repo.query({"user_id": "u1"}, index="UserIdIndex", on_invalid="skip")
    assert [s.session_id for s in page.items] == ["s1", "s2"] and page.invalid == []
    page = repo.query({"user_id": "u1"}, index="UserIdIndex", on_invalid="collect")
    assert [s.session_id for s in page.items] == ["s1", "s2"] and len(page.invalid) == 1
    _check_error(page.invalid[0], "UserIdIndex")
    with pytest.raises(ItemValidationError):
        repo.scan()
    scanned = repo.scan(on_invalid="collect")
    assert len(scanned.items) == 2 and [e.key for e in scanned.invalid] == [{"sessionId": KEYVAL}]
    assert len(list(repo.scan_iter(on_invalid="skip"))) == 2
    assert len(list(repo.query_iter({"user_id": "u1"}, index="UserIdIndex", on_invalid="skip"))) == 2
    found = repo.batch_get(["s1", KEYVAL], on_invalid="collect")
    assert [s.session_id for s in found] == ["s1"] and found.invalid[0].key == {"sessionId": KEYVAL}
    with pytest.raises(ItemValidationError):
        repo.batch_get(["s1", KEYVAL])
    with pytest.raises(ClientValidationError, match="on_invalid"):
        repo.scan(on_invalid="ignore")  # type: ignore[arg-type]


def test_invalid_item_async(server_backend: Backend) -> None:
    _seed_bad(server_backend)

    async def main() -> None:
        async with AsyncTable.from_config(CONFIG, endpoint_url=server_backend.endpoint_url,
                                          region_name=server_backend.region) as table:
            repo = table.typed(Session)
            with pytest.raises(ItemValidationError) as e:
                await repo.get(KEYVAL)
            _check_error(e.value, None)
            assert await repo.get(KEYVAL, on_invalid="skip") is None
            with pytest.raises(ItemValidationError) as e:
                await repo.query({"user_id": "u1"}, index="UserIdIndex")
            _check_error(e.value, "UserIdIndex")
            page = await repo.query({"user_id": "u1"}, index="UserIdIndex", on_invalid="collect")
            assert len(page.items) == 2 and len(page.invalid) == 1
            scanned = await repo.scan(on_invalid="collect")
            assert len(scanned.items) == 2 and len(scanned.invalid) == 1
            assert len([s async for s in repo.scan_iter(on_invalid="skip")]) == 2
            found = await repo.batch_get(["s1", KEYVAL], on_invalid="skip")
            assert [s.session_id for s in found] == ["s1"] and found.invalid == []

    asyncio.run(main())


def test_from_item_error_names_no_value() -> None:
    item = session(1).to_item() | {"sessionId": KEYVAL, "status": SECRET, "sessionType": SECRET}
    with pytest.raises(ItemValidationError) as e:
        Session.from_item(item)
    _check_error(e.value, None)
    assert isinstance(e.value, ValueError)            # callers catching ValueError still catch it


# -- item 17: datetimes ---------------------------------------------------------------------------------------------
class Stamped(Model, table="Stamped"):
    pk: Annotated[str, HashKey]
    at: datetime = datetime(2024, 1, 1, tzinfo=UTC)
    epoch: Annotated[datetime, EpochSeconds] = datetime(2024, 1, 1, tzinfo=UTC)
    pyn: Annotated[datetime, DateTimeFormat.PYNAMODB] = datetime(2024, 1, 1, tzinfo=UTC)
    dyn: Annotated[datetime, DateTimeFormat.DYNTASTIC] = datetime(2024, 1, 1, tzinfo=UTC)
    maybe: Annotated[datetime | None, DateTimeFormat.PYNAMODB] = None


AWARE = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                     timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)),
                                                timezone(timedelta(hours=-8))]))


@settings(max_examples=300, deadline=None)
@given(a=AWARE, b=AWARE)
def test_default_text_sorts_like_the_datetimes(a: datetime, b: datetime) -> None:
    ta, tb = Stamped(pk="p", at=a).to_item()["at"], Stamped(pk="p", at=b).to_item()["at"]
    assert len(ta) == len(tb) == 27 and ta.endswith("Z")
    assert (ta < tb) == (a < b) and (ta == tb) == (a == b)
    assert Stamped.from_item({"pk": "p", "at": ta}).at == a


@settings(max_examples=200, deadline=None)
@given(d=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)))
def test_pynamodb_and_dyntastic_formats_are_byte_identical(d: datetime) -> None:
    from pydantic_core import to_jsonable_python
    from pynamodb.attributes import UTCDateTimeAttribute

    item = Stamped(pk="p", pyn=d, dyn=d, maybe=d).to_item()
    assert item["pyn"] == item["maybe"] == UTCDateTimeAttribute().serialize(d)
    assert item["dyn"] == to_jsonable_python(d)       # dyntastic stores pydantic's JSON form (attr.serialize)
    back = Stamped.from_item(item)
    assert back.pyn == back.dyn == back.maybe == d


def test_dyntastic_writes_what_the_dyntastic_format_writes() -> None:
    from dyntastic import attr

    d = datetime(2026, 12, 4, 22, 40, 7, 123456, tzinfo=UTC)
    assert Stamped(pk="p", dyn=d).to_item()["dyn"] == attr.serialize({"d": d})["d"] == "2026-12-04T22:40:07.123456Z"
    assert Stamped(pk="p", dyn=d.replace(microsecond=0)).to_item()["dyn"] == "2026-12-04T22:40:07Z"


def test_every_format_is_read() -> None:
    want = datetime(2026, 12, 4, 22, 40, 7, 123456, tzinfo=UTC)
    for text in ("2026-12-04T22:40:07.123456Z", "2026-12-04T22:40:07.123456+0000", "2026-12-04T22:40:07.123456+00:00",
                 "2026-12-04T23:40:07.123456+01:00"):
        for field in ("at", "pyn", "dyn"):
            assert getattr(Stamped.from_item({"pk": "p", field: text}), field) == want, (field, text)


@settings(max_examples=200, deadline=None)
@given(d=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)))
def test_epoch_seconds_keep_microseconds(d: datetime) -> None:
    from ddbkit.core.codec import marshal_item, unmarshal_item

    item = unmarshal_item(marshal_item(Stamped(pk="p", epoch=d).to_item()))
    assert Stamped.from_item(item).epoch == d


def test_naive_datetimes_are_refused_before_sending() -> None:
    with pytest.raises(ClientValidationError, match=r"^at: a naive datetime.*\[model.datetime\]$"):
        Stamped(pk="p", at=datetime(2026, 1, 1)).to_item()
    with pytest.raises(ClientValidationError, match="epoch: a naive datetime"):
        Stamped(pk="p", epoch=datetime(2026, 1, 1)).to_item()
    with pytest.raises(ClientValidationError, match="at: a naive datetime"):
        _ = Stamped.attr("at") > datetime(2026, 1, 1)


def test_put_returns_what_get_returns_sync(server_backend: Backend) -> None:
    create_example_table(server_backend.client("dynamodb"), "session-store")
    repo = Table.from_config(CONFIG, endpoint_url=server_backend.endpoint_url,
                             region_name=server_backend.region).typed(Session)
    now = datetime.now(UTC).replace(microsecond=123456)
    put = repo.put(Session(session_id="s1", user_id="u1", created_at=now, expires_at=now + timedelta(hours=1)))
    got = repo.get("s1")
    assert got == put and got.created_at == now                  # EpochSeconds: microseconds kept
    assert put.expires_at == (now + timedelta(hours=1)).replace(microsecond=0)   # TTL: whole seconds
    raw = server_backend.client("dynamodb").get_item(TableName="UserSessions", Key={"sessionId": {"S": "s1"}})["Item"]
    assert raw["expiresAt"] == {"N": str(int((now + timedelta(hours=1)).timestamp()))}
    assert raw["createdAt"]["N"].endswith(".123456")
    plain = Table.from_config(CONFIG, endpoint_url=server_backend.endpoint_url,
                              region_name=server_backend.region).typed(Sparse)
    assert plain.put(Sparse(session_id="s2", user_id="u")) == plain.get("s2")


def test_put_returns_what_get_returns_async(server_backend: Backend) -> None:
    create_example_table(server_backend.client("dynamodb"), "session-store")

    class Unversioned(Model, table=CONFIG):
        session_id: str = Field(alias="sessionId")
        user_id: str = Field(alias="userId")
        created_at: Annotated[datetime, EpochSeconds] = Field(alias="createdAt")
        expires_at: datetime = Field(alias="expiresAt")

    async def main() -> None:
        async with AsyncTable.from_config(CONFIG, endpoint_url=server_backend.endpoint_url,
                                          region_name=server_backend.region) as table:
            for model in (Session, Unversioned):
                repo = table.typed(model)
                now = datetime.now(UTC).replace(microsecond=654321)
                put = await repo.put(model(session_id="s1", user_id="u1", created_at=now, expires_at=now))
                assert await repo.get("s1") == put and put.expires_at == now.replace(microsecond=0)

    asyncio.run(main())
