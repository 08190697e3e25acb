"""Issue 24 item 9: every cursor, plain or encrypted, is bound to the table, index, operation (query/scan)
and key condition (partition value included, string conditions too) it was issued for, and checked before
any request; an empty cursor is refused.

Each case runs on the sync Table and the AsyncTable (the checks live in the shared core), without a secret
(plain, forgeable cursors: the binding is checked client-side) and with one (AES-GCM: the binding is the
associated data).
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Iterator
from typing import Any

import pytest
from fakes import FakeDynamo
from test_aio import AsyncFake

from ddbkit import Key, Table
from ddbkit.aio import AsyncTable
from ddbkit.core.codec import marshal_item
from ddbkit.core.cursor import CursorCodec, CursorScope
from ddbkit.errors import CursorError
from ddbkit.core.keys import KeySchema

SECRET = "k" * 32
KEY = marshal_item({"pk": "tenant-1", "sk": "ORDER#secret-42"})
SECRETS = [pytest.param(None, id="plain"),
           pytest.param(SECRET, id="encrypted",
                        marks=pytest.mark.skipif(importlib.util.find_spec("cryptography") is None,
                                                 reason="cursor secrets need the crypto extra"))]


class Client:
    """A sync Table or an AsyncTable behind one blocking interface, over one FakeDynamo."""

    def __init__(self, kind: str, name: str, fake: FakeDynamo, secret: str | None) -> None:
        self.kind = kind
        schema = KeySchema("pk", "sk", {"pk": "S", "sk": "S"}, {"ByG": ("gpk", "sk")}, complete=True)
        if kind == "sync":
            self.table: Any = Table(name, key=schema, transport=fake, cursor_secret=secret)
        else:
            self.loop = asyncio.new_event_loop()
            self.table = AsyncTable(name, key=schema, transport=AsyncFake(fake), cursor_secret=secret)

    def __getattr__(self, op: str) -> Any:
        method = getattr(self.table, op)
        if self.kind == "sync":
            return method
        return lambda *a, **kw: self.loop.run_until_complete(method(*a, **kw))

    def close(self) -> None:
        if self.kind != "sync":
            self.loop.close()


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fake() -> FakeDynamo:
    fake = FakeDynamo(table="Tab1", keys=("pk", "sk"))
    # every page has a next page whose last key is in tenant-1's partition, whatever was asked
    fake._Query = lambda req: {"Items": [], "Count": 0, "LastEvaluatedKey": KEY}  # type: ignore[attr-defined]
    fake._Scan = lambda req: {"Items": [], "Count": 0, "LastEvaluatedKey": KEY}  # type: ignore[attr-defined]
    return fake


@pytest.fixture
def clients(kind: str, fake: FakeDynamo, request: pytest.FixtureRequest) -> Iterator[Any]:
    made: list[Client] = []

    def make(name: str = "Tab1", secret: str | None = None) -> Client:
        made.append(Client(kind, name, fake, secret))
        return made[-1]

    yield make
    for c in made:
        c.close()


def _refused(fake: FakeDynamo, call: Any, match: str) -> CursorError:
    before = len(fake.calls)
    with pytest.raises(CursorError, match=match) as exc:
        call()
    assert fake.calls[before:] == []  # refused before any request
    text = str(exc.value) + repr(exc.value)
    assert "tenant" not in text and "ORDER" not in text and "secret-42" not in text and "\n" not in text
    return exc.value


@pytest.mark.parametrize("secret", SECRETS)
def test_string_key_condition_cursor_is_bound_to_its_partition(clients: Any, fake: FakeDynamo,
                                                              secret: str | None) -> None:
    t = clients(secret=secret)
    cur = t.query("pk = :p", values={":p": "tenant-1"}).cursor
    t.query("pk = :p", values={":p": "tenant-1"}, cursor=cur)  # the same query resumes
    _refused(fake, lambda: t.query("pk = :p", values={":p": "tenant-2"}, cursor=cur), "key condition")
    # a cursor bound to tenant-2's query whose key lies in tenant-1's partition (what a forger builds)
    forged = t.query("#k = :p", names={"#k": "pk"}, values={":p": "tenant-2"}).cursor
    err = _refused(fake, lambda: t.query("#k = :p", names={"#k": "pk"}, values={":p": "tenant-2"}, cursor=forged),
                   "partition")
    assert err.rule == "cursor.partition"


@pytest.mark.parametrize("secret", SECRETS)
def test_cursor_from_another_table_with_the_same_keys_is_refused(clients: Any, fake: FakeDynamo,
                                                                 secret: str | None) -> None:
    one, other = clients("Tab1", secret), clients("Tab2", secret)
    cur = one.query({"pk": "tenant-1"}).cursor
    _refused(fake, lambda: other.query({"pk": "tenant-1"}, cursor=cur), "another table")
    scan_cur = one.scan().cursor
    _refused(fake, lambda: other.scan(cursor=scan_cur), "another table")


@pytest.mark.parametrize("secret", SECRETS)
def test_query_cursor_is_refused_by_a_scan_and_back(clients: Any, fake: FakeDynamo, secret: str | None) -> None:
    t = clients(secret=secret)
    query_cur = t.query({"pk": "tenant-1"}).cursor
    _refused(fake, lambda: t.scan(cursor=query_cur), "operation")
    scan_cur = t.scan().cursor
    _refused(fake, lambda: t.query({"pk": "tenant-1"}, cursor=scan_cur), "operation")
    t.scan(cursor=scan_cur)  # a scan cursor resumes the scan


@pytest.mark.parametrize("secret", SECRETS)
def test_cursor_from_another_sort_key_condition_is_refused(clients: Any, fake: FakeDynamo,
                                                           secret: str | None) -> None:
    t = clients(secret=secret)
    orders = Key("pk").eq("tenant-1") & Key("sk").begins_with("ORDER#")
    cur = t.query(orders, limit=5).cursor
    t.query(orders, limit=5, cursor=cur)
    _refused(fake, lambda: t.query(Key("pk").eq("tenant-1") & Key("sk").begins_with("INVOICE#"), cursor=cur),
             "key condition")
    _refused(fake, lambda: t.query({"pk": "tenant-1"}, cursor=cur), "key condition")


@pytest.mark.parametrize("secret", SECRETS)
def test_empty_cursor_is_refused_not_the_first_page(clients: Any, fake: FakeDynamo, secret: str | None) -> None:
    t = clients(secret=secret)
    for call in (lambda: t.query({"pk": "tenant-1"}, cursor=""), lambda: t.scan(cursor=""),
                 lambda: t.query("pk = :p", values={":p": "x"}, cursor="")):
        err = _refused(fake, call, "empty")
        assert err.rule == "cursor.format"


@pytest.mark.parametrize("secret", SECRETS)
def test_cursor_from_another_index_is_refused(clients: Any, fake: FakeDynamo, secret: str | None) -> None:
    fake._Query = lambda req: {"Items": [], "Count": 0,  # type: ignore[attr-defined]
                               "LastEvaluatedKey": {**KEY, "gpk": {"S": "g"}}}
    t = clients(secret=secret)
    cur = t.scan(index="ByG").cursor
    _refused(fake, lambda: t.scan(cursor=cur), "index")


def test_plain_binding_names_the_binding_that_differs() -> None:
    codec = CursorCodec()
    scope = CursorScope("Tab1", None, "query", "COND-ONE")
    token = codec.encode(KEY, scope)
    assert token
    assert codec.decode(token, scope) == KEY
    for other, what in [(CursorScope("Tab2", None, "query", "COND-ONE"), "another table"),
                        (CursorScope("Tab1", "ByG", "query", "COND-ONE"), "another index"),
                        (CursorScope("Tab1", None, "scan"), "another operation"),
                        (CursorScope("Tab1", None, "query", "COND-TWO"), "another key condition")]:
        with pytest.raises(CursorError, match=what) as exc:
            codec.decode(token, other)
        assert exc.value.rule == "cursor.scope" and "Tab" not in str(exc.value) and "COND" not in str(exc.value)


def test_plain_cursor_without_a_binding_is_refused() -> None:
    import base64
    import json

    unbound = "1" + base64.urlsafe_b64encode(json.dumps(KEY).encode()).rstrip(b"=").decode()
    with pytest.raises(CursorError, match="first page"):
        CursorCodec().decode(unbound, CursorScope("Tab1", None, "query", "c"))
