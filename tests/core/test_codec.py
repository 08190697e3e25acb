"""The codec: exact round trips, DynamoDB's rules enforced before sending, and parity with the real service."""

from __future__ import annotations

import base64
import math
from decimal import Decimal
from typing import Any

import pytest
from backends import Backend
from hypothesis import given, settings
from hypothesis import strategies as st

from ddbkit.core.codec import (
    MAX_ITEM_BYTES,
    NumberMode,
    check_item,
    check_key,
    item_size,
    marshal,
    marshal_item,
    marshal_put,
    number_to_wire,
    unmarshal,
    unmarshal_item,
)
from ddbkit.errors import CodecError


def test_types_marshal_to_wire() -> None:
    item = {"s": "x", "i": 7, "f": 0.1, "d": Decimal("1.50"), "t": True, "n": None, "b": b"\x00\xff",
            "ba": bytearray(b"ab"), "mv": memoryview(b"cd"), "l": [1, "a"], "tu": (1, 2), "m": {"k": "v"},
            "ss": {"b", "a"}, "ns": frozenset({1, 2.5}), "bs": {b"x"}}
    wire = marshal_item(item)
    assert wire["s"] == {"S": "x"} and wire["i"] == {"N": "7"} and wire["f"] == {"N": "0.1"}
    assert wire["d"] == {"N": "1.50"} and wire["t"] == {"BOOL": True} and wire["n"] == {"NULL": True}
    assert wire["b"] == {"B": b"\x00\xff"} and wire["ba"] == {"B": b"ab"} and wire["mv"] == {"B": b"cd"}
    assert wire["l"] == {"L": [{"N": "1"}, {"S": "a"}]} and wire["tu"] == {"L": [{"N": "1"}, {"N": "2"}]}
    assert wire["m"] == {"M": {"k": {"S": "v"}}} and sorted(wire["ss"]["SS"]) == ["a", "b"]
    assert sorted(wire["ns"]["NS"]) == ["1", "2.5"] and wire["bs"] == {"BS": [b"x"]}


def test_numbers_come_back_int_or_decimal() -> None:
    back = unmarshal_item(marshal_item({"a": 3, "b": 0.1, "c": 2.0, "d": Decimal("1E+3"), "e": -5}))
    assert back == {"a": 3, "b": Decimal("0.1"), "c": 2, "d": 1000, "e": -5}
    assert type(back["a"]) is int and type(back["b"]) is Decimal and type(back["c"]) is int


def test_number_modes() -> None:
    wire = marshal_item({"a": 3, "b": 0.25})
    assert unmarshal_item(wire, NumberMode.FLOAT) == {"a": 3.0, "b": 0.25}
    assert unmarshal_item(wire, NumberMode.DECIMAL) == {"a": Decimal(3), "b": Decimal("0.25")}
    assert type(unmarshal_item(wire, NumberMode.FLOAT)["a"]) is float


def test_float_stored_as_shortest_repr() -> None:
    assert number_to_wire(0.1) == "0.1"
    assert number_to_wire(1e-05) == "0.00001"
    assert number_to_wire(123456789.125) == "123456789.125"


def test_binary_from_base64_text_decodes_to_bytes() -> None:
    text = base64.b64encode(b"\x01\x02").decode()
    assert unmarshal({"B": text}) == b"\x01\x02"
    assert unmarshal({"BS": [text]}) == {b"\x01\x02"}


@pytest.mark.parametrize("value,rule", [
    (set(), "set.empty"), (frozenset(), "set.empty"),
    (math.nan, "number.finite"), (math.inf, "number.finite"), (Decimal("NaN"), "number.finite"),
    (Decimal("1E+126"), "number.range"), (Decimal("1E-131"), "number.range"), (10**126, "number.range"),
    (Decimal("1." + "1" * 38), "number.precision"), (int("1" * 39), "number.precision"),
    (object(), "type.unsupported"), ({1, "a"}, "set.mixed"), ({True}, "set.type"), ({1: "x"}, "map.key"),
])
def test_rejected_values_name_the_path(value: Any, rule: str) -> None:
    with pytest.raises(CodecError) as exc:
        marshal_item({"outer": {"inner": [value]}})
    assert exc.value.rule == rule
    assert exc.value.path.startswith("outer.inner[0]"), exc.value.path


@pytest.mark.parametrize("value", [Decimal("9.9999999999999999999999999999999999999E+125"), Decimal("1E-130"),
                                   int("9" * 38), 10**125, -(10**125), Decimal("-1E-130"), 0, Decimal("0E-200")])
def test_boundary_numbers_accepted(value: Any) -> None:
    assert marshal(value)["N"]


def test_nesting_limit() -> None:
    ok: Any = "leaf"
    for _ in range(31):
        ok = {"m": ok}
    marshal_item({"a": ok})
    with pytest.raises(CodecError) as exc:
        marshal_item({"a": {"m": ok}})
    assert exc.value.rule == "nesting.depth"


def test_key_rules() -> None:
    with pytest.raises(CodecError, match="empty") as exc:
        check_key(marshal_item({"pk": ""}), ["pk"])
    assert exc.value.path == "pk"
    with pytest.raises(CodecError, match="empty"):
        check_key(marshal_item({"pk": "a", "sk": b""}), ["pk", "sk"])
    with pytest.raises(CodecError, match="2048"):
        check_key(marshal_item({"pk": "x" * 2049}), ["pk"])
    check_key(marshal_item({"pk": "x" * 2048}), ["pk"])
    with pytest.raises(CodecError, match="1024"):
        check_key(marshal_item({"pk": "a", "sk": "é" * 513}), ["pk", "sk"])  # 1026 UTF-8 bytes
    with pytest.raises(CodecError, match="missing"):
        check_key(marshal_item({"pk": "a"}), ["pk", "sk"])
    with pytest.raises(CodecError, match="defined as N"):
        check_key(marshal_item({"pk": "a"}), ["pk"], key_types={"pk": "N"})
    with pytest.raises(CodecError, match="string, number or bytes"):
        check_key(marshal_item({"pk": [1]}), ["pk"])


def test_item_size_rules() -> None:
    assert item_size(marshal_item({"ab": "cde"})) == 5
    assert item_size(marshal_item({"é": "é"})) == 4
    assert item_size(marshal_item({"b": True, "n": None})) == 4
    big = {"pk": "k", "data": "x" * (MAX_ITEM_BYTES - 10)}
    assert check_item(marshal_item(big), ["pk"]) <= MAX_ITEM_BYTES
    with pytest.raises(CodecError, match="400 KB") as exc:
        check_item(marshal_item({"pk": "k", "data": "x" * MAX_ITEM_BYTES}), ["pk"])
    assert exc.value.rule == "item.size"


# --------------------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------------------

numbers = st.one_of(
    st.integers(min_value=-(10**37), max_value=10**37),
    st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e100, max_value=1e100).filter(
        lambda f: f == 0 or abs(f) > 1e-100),
)
scalars = st.one_of(st.text(max_size=20), numbers, st.booleans(), st.none(), st.binary(max_size=20))
sets = st.one_of(st.frozensets(st.text(max_size=5), min_size=1, max_size=5),
                 st.frozensets(st.integers(-1000, 1000), min_size=1, max_size=5),
                 st.frozensets(st.binary(min_size=1, max_size=5), min_size=1, max_size=5))
values = st.recursive(st.one_of(scalars, sets),
                      lambda inner: st.one_of(st.lists(inner, max_size=4),
                                              st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=4)),
                      max_leaves=20)


def _expected(v: Any) -> Any:
    # what a round trip gives back: numbers as int/Decimal, tuples as lists, frozensets as sets
    if isinstance(v, bool) or v is None or isinstance(v, (str, bytes)):
        return v
    if isinstance(v, (int, float, Decimal)):
        d = Decimal(repr(v)) if isinstance(v, float) else Decimal(v)
        return int(d) if d == d.to_integral_value() else d
    if isinstance(v, (set, frozenset)):
        return {_expected(x) for x in v}
    if isinstance(v, dict):
        return {k: _expected(x) for k, x in v.items()}
    return [_expected(x) for x in v]


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=10), values, max_size=6))
def test_round_trip_any_valid_value(item: dict[str, Any]) -> None:
    assert unmarshal_item(marshal_item(item)) == _expected(item)


invalid = st.one_of(st.just(math.nan), st.just(math.inf), st.just(set()), st.just(Decimal("1E+200")),
                    st.builds(object), st.just(complex(1, 2)))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=4), invalid)
def test_invalid_values_named_by_path(path: list[str], bad: Any) -> None:
    value: Any = bad
    for part in reversed(path[1:]):
        value = {part: value}
    with pytest.raises(CodecError) as exc:
        marshal_item({path[0]: value})
    assert exc.value.path == ".".join(path)


# --------------------------------------------------------------------------------------------------
# our rules match AWS's own emulator
# --------------------------------------------------------------------------------------------------


def _table(backend: Backend) -> Any:
    client = backend.client("dynamodb")
    client.create_table(TableName="Codec", BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    return client


@pytest.mark.parametrize("value,accepted", [
    (Decimal("9.9999999999999999999999999999999999999E+125"), True),
    (Decimal("1E+126"), False),
    (Decimal("1E-130"), True),
    (Decimal("1E-131"), False),
    (int("9" * 38), True),
    (int("1" * 39), False),
])
def test_number_rules_match_dynamodb_local(ddb_local_backend: Backend, value: Any, accepted: bool) -> None:
    from botocore.exceptions import ClientError

    client = _table(ddb_local_backend)
    try:
        ours = marshal(value)
    except CodecError:
        ours = None
    assert (ours is not None) is accepted
    raw = {"N": str(value)}
    try:
        client.put_item(TableName="Codec", Item={"pk": {"S": "k"}, "n": raw})
        theirs = True
    except ClientError:
        theirs = False
    assert theirs is accepted


def test_nesting_and_size_rules_match_dynamodb_local(ddb_local_backend: Backend) -> None:
    from botocore.exceptions import ClientError

    client = _table(ddb_local_backend)
    deep: Any = "leaf"
    for _ in range(31):
        deep = {"m": deep}
    client.put_item(TableName="Codec", Item=marshal_item({"pk": "ok", "a": deep}))
    too_deep = marshal_item({"pk": "deep", "a": "x"})
    too_deep["a"] = marshal(deep)
    too_deep["a"] = {"M": {"m": too_deep["a"]}}  # one level more, built by hand past our check
    with pytest.raises(ClientError):
        client.put_item(TableName="Codec", Item=too_deep)
    near = {"pk": "big", "data": "x" * (MAX_ITEM_BYTES - 20)}
    check_item(marshal_item(near), ["pk"])
    client.put_item(TableName="Codec", Item=marshal_item(near))
    over = {"pk": "big2", "data": "x" * (MAX_ITEM_BYTES + 1)}
    with pytest.raises(CodecError):
        check_item(marshal_item(over), ["pk"])
    with pytest.raises(ClientError):
        client.put_item(TableName="Codec", Item=marshal_item(over))


# --------------------------------------------------------------------------------------------------
# issue 15/17: DynamoDB's number size rule, equal numbers in a set, number unmarshal paths
# --------------------------------------------------------------------------------------------------


def test_number_size_counts_significant_digits_not_characters() -> None:
    assert item_size({"n": {"N": str(10**30)}}) == 1 + 2  # one significant digit: 1 + 1 byte
    assert item_size({"n": {"N": "-0.000123400"}}) == 1 + 5  # 0.00|01|23|40: 3 base-100 digits + 1 + sign
    assert item_size({"n": {"N": "1.5E+100"}}) == 1 + 3  # 1|50 x 100^49: 2 base-100 digits + 1
    assert item_size({"n": {"N": "12345"}}) == 1 + 4
    # boto3 stores this item; the old rule (text length) called it 432 KB and refused it
    item = {"pk": "k", "big": [10**30] * 24000}
    assert check_item(marshal_item(item), ["pk"]) == item_size(marshal_item(item)) == 2 + 3 + 24000 * 3 + 4
    assert marshal_put(item, ["pk"]) == marshal_item(item)  # the batch path's one-walk check agrees


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=10), values, max_size=6), st.one_of(st.none(), invalid))
def test_one_walk_batch_marshal_agrees_with_marshal_then_check(item: dict[str, Any], bad: Any) -> None:
    item = {**item, "pk": "k"}
    if bad is not None:
        item["deep"] = {"x": [1, {"y": bad}]}
    try:
        expected: Any = check_item(marshal_item(item, "requests[7]"), ["pk"], "requests[7]") and marshal_item(item)
    except CodecError as err:
        expected = (err.path, err.rule)
    try:
        got: Any = marshal_put(item, ["pk"], where=lambda: "requests[7]")
    except CodecError as err:
        got = (err.path, err.rule)
    assert got == expected


def _list_item_of_size(target: int) -> dict[str, Any]:
    # {"pk": "k", "l": [10**30] * n, "pad": "x" * m} sized exactly ``target`` by our rule
    n = 100_000
    base = item_size(marshal_item({"pk": "k", "l": [10**30] * n, "pad": ""}))
    return {"pk": "k", "l": [10**30] * n, "pad": "x" * (target - base)}


def test_number_size_rule_matches_dynamodb_local_at_the_limit(ddb_local_backend: Backend) -> None:
    from botocore.exceptions import ClientError

    client = _table(ddb_local_backend)
    at_limit = _list_item_of_size(MAX_ITEM_BYTES)
    over = _list_item_of_size(MAX_ITEM_BYTES + 1)
    assert check_item(marshal_item(at_limit), ["pk"]) == MAX_ITEM_BYTES
    with pytest.raises(CodecError, match="400 KB"):
        check_item(marshal_item(over), ["pk"])
    client.put_item(TableName="Codec", Item=marshal_item(at_limit))  # DynamoDB stores what we accept...
    with pytest.raises(ClientError, match="size"):
        client.put_item(TableName="Codec", Item=marshal_item(over))  # ...and refuses what we refuse
    # and ddbkit's own paths agree: the issue's item and the limit item go through put and batch_write
    from ddbkit import Table

    table = Table("Codec", key="pk", client=client)
    table.put({"pk": "boto3-stores-this", "big": [10**30] * 24000})
    client.delete_item(TableName="Codec", Key={"pk": {"S": "k"}})
    assert table.batch_write([at_limit]).written == 1  # the same "k" key: exactly 400 KB again
    with pytest.raises(CodecError, match="400 KB"):
        table.batch_write([over])
    assert len(table.get({"pk": "k"})["l"]) == 100_000  # type: ignore[index]


def test_equal_numbers_in_a_set_are_sent_once() -> None:
    assert marshal({0.1, Decimal("0.10")}) == {"NS": ["0.1"]}
    assert marshal({1, Decimal("1.0"), 2.0, Decimal("1E0")})["NS"] in (["1", "2.0"], ["1", "2"], ["1.0", "2.0"])
    wire = marshal({Decimal("1.50"), Decimal("1.5"), Decimal("2")})["NS"]
    assert len(wire) == 2 and {Decimal(x) for x in wire} == {Decimal("1.5"), Decimal(2)}
    assert marshal({3, 1, 2}) == {"NS": ["1", "2", "3"]}


def test_equal_numbers_in_a_set_are_accepted_by_dynamodb_local(ddb_local_backend: Backend) -> None:
    client = _table(ddb_local_backend)
    client.put_item(TableName="Codec", Item=marshal_item({"pk": "ns", "s": {0.1, Decimal("0.10"), 5}}))
    got = client.get_item(TableName="Codec", Key={"pk": {"S": "ns"}})["Item"]
    assert unmarshal_item(got) == {"pk": "ns", "s": {Decimal("0.1"), 5}}


@pytest.mark.parametrize("text,expected", [
    ("1", 1), ("-12", -12), ("0", 0), ("1.5", Decimal("1.5")), ("-0.25", Decimal("-0.25")), ("3.0", 3),
    ("1E+3", 1000), ("1.5E-3", Decimal("0.0015")), ("12345678901234567890123456789012345678", 12345678901234567890123456789012345678),
    ("0.1234567890123456789012345678901234567", Decimal("0.1234567890123456789012345678901234567")),
])
def test_numbers_unmarshal_on_cheap_paths(text: str, expected: Any) -> None:
    got = unmarshal({"N": text})
    assert got == expected and type(got) is type(expected)
    assert unmarshal({"NS": [text]}) == {expected}


# --------------------------------------------------------------------------------------------------
# issue 24 item 15: the number size is DynamoDB's, byte for byte (probed at the 400 KB boundary)
# --------------------------------------------------------------------------------------------------

# sizes measured on DynamoDB Local (largest padding accepted at the 400 KB boundary)
_MEASURED = {"0": 1, "1": 2, "-1": 3, "15": 2, "-15": 3, "1.5": 3, "-1.5E-100": 4, "-123456": 5, "123456": 4,
             "1E+30": 2, "100": 2, "123": 3, "0.1": 2, "0.001": 2, "1.01": 3, "-0.5": 3, "500": 2, "0.05": 2,
             "12345678901234567890123456789012345678": 20, "-12345678901234567890123456789012345678": 21,
             "1.2345678901234567890123456789012345678": 21, "-1E-130": 3,
             "9.9999999999999999999999999999999999999E+125": 20,
             "-1.2345678901234567890123456789012345678": 21,  # 20 base-100 digits: no sign terminator
             "-125962805268424131642951363297101946680": 21, "-9.9916442618926649773043454209072885561E+42": 21}


@pytest.mark.parametrize("text,size", sorted(_MEASURED.items()))
def test_number_size_is_dynamodbs_exactly(text: str, size: int) -> None:
    assert item_size({"n": {"N": text}}) == 1 + size
    assert item_size({"s": {"NS": [text]}}) == 1 + size


def _random_numbers(seed: int, count: int) -> list[str]:
    """Numbers DynamoDB stores, in every shape: signs, fractions, exponents, 1..38 digits, zeros."""
    import random

    rnd = random.Random(seed)
    out = []
    for _ in range(count):
        ndig = rnd.choice([1, 1, 2, 3, 4, 5, 7, 10, 19, 20, 37, 38, rnd.randint(1, 38)])
        digits = str(rnd.randint(1, 9)) + "".join(rnd.choice("0123456789") for _ in range(ndig - 1))
        sign = rnd.choice(["", "-"])
        shape = rnd.randrange(4)
        if shape == 0:  # integer, maybe with trailing zeros
            text = digits + "0" * rnd.choice([0, 0, 1, 2, 5])
        elif shape == 1:  # a fraction: point inside or before the digits, leading zeros
            point = rnd.randint(0, len(digits))
            text = (digits[:point] or "0") + "." + "0" * (rnd.choice([0, 0, 1, 3]) if point == 0 else 0) + \
                digits[point:] + "0" * rnd.choice([0, 0, 1])
        else:  # scientific notation over the whole range
            exp = rnd.randint(-129 + 0, 125 - len(digits) + 1)
            text = f"{digits[0]}.{digits[1:] or '0'}E{exp:+d}" if shape == 2 else f"{digits}E{exp - len(digits) + 1:+d}"
        text = sign + text
        d = Decimal(text)
        if not (Decimal("1E-130") <= abs(d) <= _MAX_N):
            continue
        out.append(text)
    return out + ["0", "-0", "0.000", "0E+5"]


_MAX_N = Decimal("9.9999999999999999999999999999999999999E+125")


def test_number_size_matches_dynamodb_local_on_generated_numbers(ddb_local_backend: Backend) -> None:
    """For each generated number, the item ddbkit sizes at exactly 400 KB is stored and one byte more is
    refused, by DynamoDB Local and by ddbkit alike."""
    from botocore.exceptions import ClientError

    client = _table(ddb_local_backend)
    numbers = _random_numbers(24, 300)
    assert len(numbers) > 250

    def item(text: str, pad: int) -> dict[str, Any]:
        return {"pk": {"S": "k"}, "n": {"N": text}, "p": {"S": "x" * pad}}

    wrong = []
    for text in numbers:
        pad = MAX_ITEM_BYTES - item_size(item(text, 0))
        assert check_item(item(text, pad), ["pk"]) == MAX_ITEM_BYTES
        with pytest.raises(CodecError, match="400 KB"):
            check_item(item(text, pad + 1), ["pk"])
        try:
            client.put_item(TableName="Codec", Item=item(text, pad))
        except ClientError:
            wrong.append((text, "refused at ddbkit's 400 KB"))
            continue
        try:
            client.put_item(TableName="Codec", Item=item(text, pad + 1))
            wrong.append((text, "accepted one byte over ddbkit's 400 KB"))
        except ClientError as err:
            assert "size" in str(err)
    assert wrong == []


# -- a page of items decoded with the cyclic collector paused (issue 26) --------------------------------------


def test_unmarshal_items_decodes_a_page_like_unmarshal_item_and_restores_the_collector() -> None:
    """A Query page's items decode in one call with Python's cyclic GC paused (decoded values hold no
    cycles, so collections during the decode only cost time); the collector's state is restored after, also
    when it was off already and when the decode raises."""
    import gc

    from ddbkit.core.codec import unmarshal_items

    page = [marshal_item({"pk": f"p{i}", "n": i, "d": Decimal("1.5"), "m": {"l": [1, "x", {"b": True}]},
                          "s": {"a", "b"}}) for i in range(50)]
    seen: list[str] = []
    gc.callbacks.append(lambda phase, info: seen.append(phase))
    try:
        assert gc.isenabled()
        big = page * 40  # thousands of new containers: enough to trigger collections when the GC runs
        decoded = [unmarshal_item(i) for i in big]
        assert "start" in seen  # the collector does run during a plain decode
        seen.clear()
        assert unmarshal_items(big) == decoded
        assert seen == []  # ... and not during a page decode
        for mode in NumberMode:
            assert unmarshal_items(page, mode) == [unmarshal_item(i, mode) for i in page]
        assert gc.isenabled()
        gc.disable()
        try:
            assert unmarshal_items(page) == [unmarshal_item(i) for i in page]
            assert not gc.isenabled()  # left off: the caller's choice
        finally:
            gc.enable()
        with pytest.raises(CodecError):
            unmarshal_items([*page, {"bad": {"Q": "1"}}])
        assert gc.isenabled()
        assert unmarshal_items([]) == []
    finally:
        gc.callbacks.pop()


# -- differential: ddbkit's codec against boto3's TypeSerializer / TypeDeserializer (issue 26) ------------------

_decimals = st.decimals(min_value=-10**9, max_value=10**9, allow_nan=False, allow_infinity=False, places=4) \
    .filter(lambda d: not d.is_zero())
_scalars = st.one_of(st.text(max_size=8), st.integers(min_value=-10**37, max_value=10**37), _decimals, st.booleans(),
                     st.none(), st.binary(min_size=1, max_size=8))
_sets = st.one_of(st.frozensets(st.text(max_size=5), min_size=1, max_size=4).map(set),
                  st.frozensets(st.integers(min_value=-10**6, max_value=10**6), min_size=1, max_size=4).map(set))
_values = st.recursive(st.one_of(_scalars, _sets), lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(min_size=1, max_size=5), inner, max_size=4)), max_leaves=12)


def _norm(av: dict[str, Any]) -> dict[str, Any]:
    """One AttributeValue with set members sorted (set order is not part of DynamoDB's meaning), B as bytes."""
    (tag, v), = av.items()
    if tag == "M":
        return {"M": {k: _norm(x) for k, x in v.items()}}
    if tag == "L":
        return {"L": [_norm(x) for x in v]}
    if tag in ("SS", "NS"):
        return {tag: sorted(str(x) for x in v)}
    if tag == "BS":
        return {tag: sorted(bytes(x) for x in v)}
    if tag == "B":
        return {tag: bytes(v)}
    return {tag: v}


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=8), _values, max_size=8))
def test_codec_matches_boto3_both_directions(item: dict[str, Any]) -> None:
    """For every DynamoDB type ddbkit and boto3 both accept: the same wire form, and the same values back
    from boto3's wire (boto3's Decimal for N compares equal to ddbkit's int; its Binary to bytes)."""
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    ser, de = TypeSerializer(), TypeDeserializer()
    ours = marshal_item(item)
    theirs = {k: ser.serialize(v) for k, v in item.items()}
    assert {k: _norm(v) for k, v in ours.items()} == {k: _norm(v) for k, v in theirs.items()}
    assert unmarshal_item(theirs) == {k: de.deserialize(v) for k, v in theirs.items()}
