"""The C decoder of Query/Scan pages (``ddbkit.core._speedups``, issue 26) against the pure codec.

The contract (``ddbkit.core.codec.decode_page``): for any reply bytes, the result is None ("not sure": the
transport then runs the pure path) or exactly what the pure path gives, ``orjson.loads`` then
``unmarshal_items``, types included (int vs Decimal vs float, set vs list, bytes). Checked here:

* every DynamoDB type, nested, in every number mode, with JSON as orjson writes it and as ``json.dumps``
  writes it (``\\uXXXX`` escapes, surrogate pairs, whitespace), members in any order; for these valid pages
  the C path must be taken (not None), or the test would prove nothing;
* damaged pages (bytes cut, dropped, inserted, replaced) and wrong content (unknown types, bad numbers,
  AttributeValues with two members): where the pure path raises, the C path must say None;
* the switch ``DDBKIT_NO_SPEEDUPS=1`` and an interpreter without the extension use the pure path;
* end to end on moto's server: the four transports return the same pages, and the fast ones decoded them in C.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from backends import Backend
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ddbkit.core import codec
from ddbkit.core.codec import (DecodedItem, DecodedItems, NumberMode, decode_page, speedups_active,
                               unmarshal_item, unmarshal_items)

ROOT = Path(__file__).resolve().parents[2]
MODES = list(NumberMode)

needs_ext = pytest.mark.skipif(not speedups_active(), reason="ddbkit.core._speedups is not built (make setup builds it)")


def typed(value: Any) -> Any:
    """``value`` with every leaf tagged by its type, so that 1, 1.0, True and Decimal("1") differ."""
    if isinstance(value, dict):
        return ("dict", {k: typed(v) for k, v in value.items()})
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    if isinstance(value, (set, frozenset)):
        return ("set", frozenset(typed(v) for v in value))
    if isinstance(value, Decimal):
        return ("Decimal", str(value))
    if isinstance(value, float):
        return ("float", repr(value))
    return (type(value).__name__, value)


def pure(body: bytes, number: NumberMode, operation: str = "Query") -> Any:
    """What the transport and engine give without the extension (raises where they raise)."""
    data = orjson.loads(body)
    if not isinstance(data, dict):
        raise ValueError("not an object")
    if operation == "GetItem":
        data["Item"] = unmarshal_item(data["Item"], number)
    else:
        data["Items"] = unmarshal_items(data["Items"], number)
    return data


def outcome(body: bytes, number: NumberMode, operation: str = "Query") -> Any:
    try:
        return typed(pure(body, number, operation))
    except Exception as err:  # noqa: BLE001 - any failure of the pure path is the expected outcome
        return ("raises", type(err).__name__)


def plain(got: dict[str, Any]) -> dict[str, Any]:
    """The reply with its decoded member as the plain type the engine hands on (after checking its marker)."""
    if "Item" in got and type(got["Item"]) is DecodedItem:
        return {**got, "Item": dict(got["Item"])}
    assert type(got["Items"]) is DecodedItems
    return {**got, "Items": list(got["Items"])}


def check(body: bytes, number: NumberMode, operation: str = "Query", *, must_decode: bool) -> None:
    got = decode_page(body, number, operation)
    expected = outcome(body, number, operation)
    if got is None:
        assert not must_decode, f"the C path declined a valid page: {body[:300]!r}"
        return
    assert expected[0] != "raises", f"the pure path raises {expected[1]} but the C path decoded: {body[:300]!r}"
    assert typed(plain(got)) == expected


# --------------------------------------------------------------------------------------------------
# wire pages from hypothesis: every type, nested
# --------------------------------------------------------------------------------------------------

TRICKY_NUMBERS = ["0", "-0", "007", "1.0", "1.50", "12.5", "-12.5", "1E+2", "1e2", "1.5E+3", "-0.0", "0.000001",
                  "123456789012345678", "-123456789012345678", "1234567890123456789", "9999999999999999999999",
                  "1.23E-130", "9.9999999999999999999999999999999999999E+125", "10", "100.000", "+5", "5.",
                  ".5"]

text = st.text(max_size=12)
number_text = st.one_of(st.sampled_from(TRICKY_NUMBERS), st.integers().map(str),
                        st.decimals(allow_nan=False, allow_infinity=False).map(str))
b64 = st.binary(max_size=12).map(lambda b: base64.b64encode(b).decode())
scalar_av = st.one_of(
    text.map(lambda s: {"S": s}),
    number_text.map(lambda s: {"N": s}),
    b64.map(lambda s: {"B": s}),
    st.booleans().map(lambda b: {"BOOL": b}),
    st.just({"NULL": True}),
    st.lists(text, min_size=1, max_size=4, unique=True).map(lambda v: {"SS": v}),
    st.lists(st.sampled_from(TRICKY_NUMBERS[:12]), min_size=1, max_size=4, unique=True).map(lambda v: {"NS": v}),
    st.lists(b64, min_size=1, max_size=3, unique=True).map(lambda v: {"BS": v}),
)
av = st.recursive(scalar_av, lambda inner: st.one_of(
    st.dictionaries(text, inner, max_size=4).map(lambda m: {"M": m}),
    st.lists(inner, max_size=4).map(lambda v: {"L": v})), max_leaves=12)
item = st.dictionaries(text, av, max_size=6)


@st.composite
def pages(draw: Any, operation: str = "Query") -> bytes:
    items = draw(st.lists(item, max_size=5))
    members: list[tuple[str, Any]] = [("Items", items), ("Count", len(items)), ("ScannedCount", len(items) + 3)]
    if operation == "GetItem":  # one item
        members = [("Item", draw(item))]
    elif draw(st.booleans()):
        members.append(("LastEvaluatedKey", {"pk": {"S": draw(text)}, "sk": {"N": "7"}}))
    if draw(st.booleans()):
        members.append(("ConsumedCapacity", {"TableName": "t", "CapacityUnits": 1.5}))
    members = draw(st.permutations(members))
    style = draw(st.sampled_from(["orjson", "ascii", "indent", "spaced"]))
    if style == "orjson":
        return orjson.dumps(dict(members))
    if style == "ascii":  # every non-ASCII character as \\uXXXX, astral ones as surrogate pairs
        return json.dumps(dict(members)).encode()
    if style == "indent":
        return json.dumps(dict(members), indent=2, ensure_ascii=False).encode()
    return json.dumps(dict(members), separators=(" , ", " : "), ensure_ascii=False).encode()


@needs_ext
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["Query", "GetItem"]).flatmap(lambda op: st.tuples(st.just(op), pages(op))),
       st.sampled_from(MODES))
def test_valid_pages_decode_exactly_as_the_pure_path(reply: tuple[str, bytes], number: NumberMode) -> None:
    operation, body = reply
    expected = outcome(body, number, operation)
    # a page the pure path itself refuses (e.g. "+5" in FLOAT mode is fine, "5." in AUTO is not) is not valid
    check(body, number, operation, must_decode=expected[0] != "raises")


@needs_ext
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["Query", "GetItem"]).flatmap(lambda op: st.tuples(st.just(op), pages(op))),
       st.sampled_from(MODES), st.data())
def test_damaged_pages_are_declined_or_decoded_exactly(reply: tuple[str, bytes], number: NumberMode,
                                                       data: Any) -> None:
    operation, body = reply
    raw = bytearray(body)
    for _ in range(data.draw(st.integers(1, 3))):
        if not raw:
            break
        at = data.draw(st.integers(0, len(raw) - 1))
        how = data.draw(st.sampled_from(["cut", "drop", "insert", "replace"]))
        piece = data.draw(st.sampled_from([b'"', b"\\", b"{", b"}", b"[", b"]", b",", b":", b" ", b"1", b"\x00",
                                           b"\xff", b"\\u", b"\\ud800", b'{"S":"x"}', b"S", b"N", b"M"]))
        if how == "cut":
            del raw[at:]
        elif how == "drop":
            del raw[at]
        elif how == "insert":
            raw[at:at] = piece
        else:
            raw[at:at + len(piece)] = piece
    check(bytes(raw), number, operation, must_decode=False)


@needs_ext
@pytest.mark.parametrize("items", [
    '[{"a":{"X":"1"}}]',                       # unknown type: the pure decoder's CodecError
    '[{"a":{}}]',                              # empty AttributeValue
    '[{"a":{"S":"x","N":"1"}}]',               # two members
    '[{"a":{"N":"abc"}}]',                     # not a number
    '[{"a":{"N":1}}]',                         # a JSON number where DynamoDB sends a string
    '[{"a":{"S":1}}]',
    '[{"a":{"BOOL":"yes"}}]',
    '[{"a":{"NULL":false}}]',
    '[{"a":{"SS":[1]}}]',
    '[{"a":{"B":"not base64!"}}]',
    '[{"a":{"M":[]}}]',
    '[{"a":{"L":{}}}]',
    '[{"a":{"S":"\\ud800"}}]',                 # a lone surrogate
    '[{"a":{"S":"x"}},]',                      # a trailing comma
    '[1]',
    '{"a":1}',
    '[{"a":{"S":"x"}}] junk',
], ids=lambda s: s[:30])
@pytest.mark.parametrize("number", MODES)
def test_content_the_pure_path_refuses_is_declined(items: str, number: NumberMode) -> None:
    for operation, body in (("Query", ('{"Count":1,"Items":' + items + "}").encode()),
                            ("GetItem", ('{"Item":' + items[1:-1] + "}").encode())):
        got = decode_page(body, number, operation)
        expected = outcome(body, number, operation)
        if expected[0] == "raises":
            assert got is None, operation
        else:  # the few rows the pure path accepts in this mode must then be equal
            assert got is None or typed(plain(got)) == expected, operation


@needs_ext
def test_duplicate_and_escaped_items_members_follow_json_rules() -> None:
    two = b'{"Items":[{"a":{"S":"first"}}],"Count":1,"Items":[{"a":{"S":"last"}}]}'
    got = decode_page(two, NumberMode.AUTO)
    assert got is not None and got["Items"] == [{"a": "last"}] == pure(two, NumberMode.AUTO)["Items"]
    escaped = b'{"Items":[{"a":{"S":"raw"}}],"Ite\\u006ds":[{"a":{"S":"escaped"}}]}'
    assert decode_page(escaped, NumberMode.AUTO) is None  # the pure path decides (and takes the escaped one)
    assert decode_page(b'{"Count":0}', NumberMode.AUTO) is None  # Select=COUNT: nothing to decode
    deep = b'{"Items":[{"a":' + b'{"L":[' * 70 + b'{"S":"x"}' + b"]}" * 70 + b"}]}"
    assert decode_page(deep, NumberMode.AUTO) is None  # beyond the C path's depth: the pure path decodes it
    assert pure(deep, NumberMode.AUTO)["Items"][0]["a"] is not None


@needs_ext
def test_member_names_are_shared_and_big_pages_decode() -> None:
    page = orjson.dumps({"Items": [{"userId": {"S": f"u{i}"}, "n": {"N": str(i)}} for i in range(5000)]})
    got = decode_page(page, NumberMode.AUTO)
    assert got is not None and got["Items"][4999] == {"userId": "u4999", "n": 4999}
    keys = [next(iter(i)) for i in got["Items"]]
    assert all(k is keys[0] for k in keys)  # one str per member name, as orjson does


def test_the_switch_and_a_missing_extension_use_the_pure_path(tmp_path: Path) -> None:
    probe = ("from ddbkit.core.codec import decode_page, speedups_active, NumberMode; "
             "print(speedups_active(), decode_page(b'{\"Items\":[]}', NumberMode.AUTO))")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DDBKIT_NO_SPEEDUPS": "1"}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "None"]
    # an interpreter where the module cannot be imported at all (as on a machine without a C compiler)
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text("import sys\nclass B:\n    def find_spec(self, name, *a):\n"
                       "        if name == 'ddbkit.core._speedups':\n            raise ImportError(name)\n"
                       "sys.meta_path.insert(0, B())\n")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    env.pop("DDBKIT_NO_SPEEDUPS", None)
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "None"]
    # a stale in-place build (another API version) is ignored, not half used
    stale = ("import sys, types; m = types.ModuleType('ddbkit.core._speedups'); m.API = 1; "
             "sys.modules['ddbkit.core._speedups'] = m; " + probe)
    out = subprocess.run([sys.executable, "-c", stale], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "None"]


# --------------------------------------------------------------------------------------------------
# wire dicts already in memory (botocore replies, stream images): the C walk against the pure decoder
# --------------------------------------------------------------------------------------------------


def pure_item(item: Any, number: NumberMode) -> Any:
    try:
        return typed(codec._DECODE[number][1](item))
    except Exception as err:  # noqa: BLE001 - any failure of the pure path is the expected outcome
        return ("raises", type(err).__name__)


def check_item(item: Any, number: NumberMode, *, must_decode: bool) -> None:
    sp = codec._SPEEDUPS
    got = sp.unmarshal_item(item, codec._MODE[number], codec._NUMBER[number], Decimal, codec._DECODE[number][0])
    expected = pure_item(item, number)
    if got is None:
        assert not must_decode, f"the C walk declined a valid item: {item!r:.300}"
        return
    assert expected[0] != "raises", f"the pure decoder raises {expected[1]} but the C walk decoded"
    assert typed(got) == expected
    assert typed(codec.unmarshal_item(item, number)) == expected  # the public function, whichever runs


def as_botocore(item: dict[str, Any]) -> dict[str, Any]:
    """A JSON-shaped wire item as botocore hands it over: B/BS values as bytes (walked by structure, so an
    attribute that happens to be named "B" stays a name)."""

    def av(value: dict[str, Any]) -> dict[str, Any]:
        tag, inner = next(iter(value.items()))
        if tag == "B":
            return {"B": base64.b64decode(inner)}
        if tag == "BS":
            return {"BS": [base64.b64decode(x) for x in inner]}
        if tag == "M":
            return {"M": {k: av(x) for k, x in inner.items()}}
        if tag == "L":
            return {"L": [av(x) for x in inner]}
        return value

    return {k: av(v) for k, v in item.items()}


@needs_ext
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(item, st.sampled_from(MODES), st.booleans())
def test_wire_dicts_decode_exactly_as_the_pure_decoder(wire: dict[str, Any], number: NumberMode,
                                                       botocore_shape: bool) -> None:
    value = as_botocore(wire) if botocore_shape else wire
    check_item(value, number, must_decode=pure_item(value, number)[0] != "raises")


@needs_ext
@pytest.mark.parametrize("item", [
    {"a": {"X": "1"}}, {"a": {}}, {"a": {"S": "x", "N": "1"}}, {"a": {"N": "abc"}}, {"a": {"N": 1}},
    {"a": {"S": 1}}, {"a": ["S", "x"]}, {"a": {"M": []}}, {"a": {"L": {}}}, {"a": {"L": [1]}},
    {"a": {"M": {"b": "x"}}}, {"a": {"SS": 5}}, {"a": {"B": "not base64!"}}, {1: {"S": "x"}},
    {"a": {"BOOL": "yes"}}, {"a": {"NULL": False}}, {"a": {"N": "\u0661"}},
], ids=lambda v: repr(v)[:30])
@pytest.mark.parametrize("number", MODES)
def test_wire_dicts_the_pure_decoder_refuses_are_declined(item: Any, number: NumberMode) -> None:
    check_item(item, number, must_decode=False)


# --------------------------------------------------------------------------------------------------
# end to end: the four transports on moto's server
# --------------------------------------------------------------------------------------------------

EVERY_TYPE = {"pk": "p", "s": "x\u00e9\U0001f600", "n": 7, "d": Decimal("12.5"), "big": 12345678901234567890,
              "b": b"\x00\xff", "t": True, "z": None, "ss": {"a", "b"}, "ns": {1, Decimal("2.5")},
              "bs": {b"\x01"}, "m": {"l": [1, "x", {"k": Decimal("-0.5")}], "e": {}}, "l": []}


class Spy:
    """Counts the C extension's decodes, not its declines (every transport runs in this process)."""

    def __init__(self, real: Any) -> None:
        self.real, self.calls = real, 0

    def unmarshal_item(self, *args: Any) -> Any:
        return self.real.unmarshal_item(*args)

    def decode_page(self, *args: Any) -> Any:
        found = self.real.decode_page(*args)
        self.calls += found is not None
        return found


def _read(backend: Backend, path: str, number: NumberMode) -> tuple[list[Any], list[Any]]:
    """(every item of the query's pages, [get of three keys]) through ``path``."""
    from ddbkit import Table
    from ddbkit.aio import AsyncTable

    keys = [{"pk": "p", "sk": 3}, {"pk": "p", "sk": 9}, {"pk": "p", "sk": 99}]
    if path in ("fast-sync", "botocore-sync"):
        t = Table("Speedups", key=("pk", "sk"), transport="fast" if path == "fast-sync" else "botocore",
                  endpoint_url=backend.endpoint_url, session=backend.session(), number=number)
        out = [it for page in t.query_pages({"pk": "p"}, limit=4) for it in page.items]
        got = [t.get(k) for k in keys]
        t.close()
        return out, got

    async def run() -> tuple[list[Any], list[Any]]:
        if path == "aioboto3":
            import aioboto3

            session: Any = aioboto3.Session(**{k: v for k, v in backend.client_kwargs().items()
                                               if k != "endpoint_url"})
            transport = "botocore"
        else:
            session, transport = backend.session(), "fast"
        async with AsyncTable("Speedups", key=("pk", "sk"), transport=transport, endpoint_url=backend.endpoint_url,
                              session=session, number=number) as t:
            out = [it async for page in t.query_pages({"pk": "p"}, limit=4) for it in page.items]
            got = [await t.get(k) for k in keys]
        return out, got

    return asyncio.run(run())


@pytest.mark.parametrize("number", MODES)
def test_every_transport_returns_the_same_items(moto_backend: Backend, number: NumberMode,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from ddbkit import Table

    moto_backend.client("dynamodb").create_table(
        TableName="Speedups", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "N"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
    writer = Table("Speedups", key=("pk", "sk"), endpoint_url=moto_backend.endpoint_url,
                   session=moto_backend.session())
    writer.batch_write([{**EVERY_TYPE, "sk": i} for i in range(10)])
    spy = Spy(codec._SPEEDUPS) if speedups_active() else None
    if spy is not None:
        monkeypatch.setattr(codec, "_SPEEDUPS", spy)
    results, decoded = {}, {}
    for path in ("fast-sync", "fast-async", "botocore-sync", "aioboto3"):
        before = spy.calls if spy is not None else 0
        results[path] = _read(moto_backend, path, number)
        decoded[path] = (spy.calls if spy is not None else 0) - before
    reference = typed(results["botocore-sync"])
    assert len(results["botocore-sync"][0]) == 10 and results["botocore-sync"][1][2] is None
    for path, found in results.items():
        assert typed(found) == reference, path
        assert all(type(i) is dict for i in found[0]) and type(found[1][0]) is dict, path  # plain types
    # the fast transports decoded every page (3) and every found item (2; a miss has no Item) in C
    expected = 5 if speedups_active() else 0
    assert decoded == {"fast-sync": expected, "fast-async": expected, "botocore-sync": 0, "aioboto3": 0}


@pytest.mark.slow
def test_the_suites_that_decode_pass_without_the_extension() -> None:
    """``make test`` with the extension built runs the C decoder almost everywhere; this runs the codec, table,
    stream, batch-pipeline and fast-transport suites again with ``DDBKIT_NO_SPEEDUPS=1`` (the pure codec, as
    on a machine without a C compiler), in a child pytest (about 1.5 minutes)."""
    suites = ["tests/core/test_codec.py", "tests/core/test_table.py", "tests/streams", "tests/core/test_batch_pipeline.py",
              "tests/transport/test_fast_transport.py"]
    env = {**os.environ, "DDBKIT_NO_SPEEDUPS": "1", "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *suites], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:]
    assert " passed" in res.stdout.splitlines()[-1] and "failed" not in res.stdout.splitlines()[-1]
