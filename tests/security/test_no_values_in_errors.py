"""Issue 24 item 10 (codec part): an error names the attribute path and the rule, never the value.

docs/security.md promises item values never appear in exception messages. Each bad input below carries a
sentinel (a card-number-like number, a marker string) that must appear in neither ``str(exc)`` nor
``repr(exc)``, while the path does, on every route a value takes: codec, single-item put, update values,
condition/filter values, key checks, batch writes and gets, and transactions.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fakes import FakeDynamo

from ddbkit import Attr, Table
from ddbkit.core import transactions as tx
from ddbkit.core.codec import MAX_ITEM_BYTES, check_item, check_key, marshal, marshal_item, marshal_put
from ddbkit.errors import ClientValidationError


class _Secret:
    def __repr__(self) -> str:
        return "SENTINEL-OBJECT-4111"


CARD = "4111111111111111111111111111111111111111"  # 40 digits: over DynamoDB's 38

# (value, sentinel that must not be shown) -- each value is put at the path "doc.lines[1]"
BAD_VALUES: list[tuple[str, Any, str]] = [
    ("over 38 digits", Decimal(CARD), "41111111"),
    ("over 38 digits int", int(CARD), "41111111"),
    ("over 38 digits float-like", Decimal("4111111111111111111111111111111111111111.5"), "41111111"),
    ("too large", Decimal("4242424242E+200"), "2424242"),
    ("too small", Decimal("-4242424242E-200"), "2424242"),
    ("float nan", float("nan"), "nan"),
    ("float inf", float("inf"), "inf"),
    ("float -inf", float("-inf"), "-inf"),
    ("Decimal NaN", Decimal("NaN"), "Decimal("),
    ("Decimal sNaN", Decimal("-sNaN"), "sNaN"),
    ("set with a bad number", {Decimal(CARD)}, "41111111"),
    ("set with nan", {1.5, float("nan")}, "nan"),
    ("set of an unsupported type", {("SENTINEL-TUPLE",)}, "SENTINEL-TUPLE"),
    ("mixed set", {"SENTINEL-MIXED", 424242}, "SENTINEL-MIXED"),
    ("unsupported type", _Secret(), "SENTINEL-OBJECT"),
    ("map with a non-string key", {98765432: "x"}, "98765432"),
]


def _assert_hidden(exc: BaseException, sentinel: str, path: str) -> None:
    for text in (str(exc), repr(exc)):
        assert sentinel not in text, text
        assert path in text, text
        assert "\n" not in text


@pytest.mark.parametrize("what,value,sentinel", BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
def test_codec_errors_name_the_path_not_the_value(what: str, value: Any, sentinel: str) -> None:
    item = {"pk": "k", "doc": {"lines": ["ok", value]}}
    path = "doc.lines[1]"
    with pytest.raises(ClientValidationError) as exc:
        marshal_item(item)
    _assert_hidden(exc.value, sentinel, path)
    with pytest.raises(ClientValidationError) as exc:
        marshal_put(item, ["pk"], where=lambda: "requests[3]")  # the batch hot path
    _assert_hidden(exc.value, sentinel, "requests[3]." + path)
    with pytest.raises(ClientValidationError) as exc:
        marshal(value, "v")
    _assert_hidden(exc.value, sentinel, "v")


@pytest.mark.parametrize("what,value,sentinel", BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
def test_table_operations_hide_bad_values(what: str, value: Any, sentinel: str) -> None:
    fake = FakeDynamo(table="Things", keys=("pk",))
    t = Table("Things", key="pk", transport=fake)
    calls = [
        (lambda: t.put({"pk": "k", "doc": {"lines": ["ok", value]}}), "doc.lines[1]"),
        (lambda: t.update({"pk": "k"}, set={"doc": value}), "doc"),
        (lambda: t.put({"pk": "k"}, condition=Attr("doc") == value), "doc"),
        (lambda: t.scan(Attr("doc").is_in(["a", value])), "doc"),
        (lambda: t.batch_write([{"pk": "a"}, {"pk": "k", "doc": value}]), "requests[1].doc"),
        (lambda: t.transact_write([tx.Put({"pk": "k", "doc": value})]), "actions[0].doc"),
    ]
    for call, path in calls:
        with pytest.raises(ClientValidationError) as exc:
            call()
        _assert_hidden(exc.value, sentinel, path)
    assert not [c for c in fake.calls if c[0] != "DescribeTable"]  # refused before anything was sent


@pytest.mark.parametrize("key,types,sentinel,rule", [
    ({"pk": "", "sk": "SENTINEL-SK"}, None, "SENTINEL-SK", "key.empty"),
    ({"pk": 424242424242, "sk": "x"}, {"pk": "S"}, "424242424242", "key.type"),
    ({"pk": "SENTINEL-LONG" + "x" * 2100, "sk": "x"}, None, "SENTINEL-LONG", "key.size"),
    ({"pk": ["SENTINEL-LIST"], "sk": "x"}, None, "SENTINEL-LIST", "key.type"),
])
def test_key_errors_hide_the_key_values(key: dict[str, Any], types: dict[str, str] | None, sentinel: str,
                                        rule: str) -> None:
    with pytest.raises(ClientValidationError) as exc:
        check_key(marshal_item(key), ["pk", "sk"], "keys[0]", types)
    assert exc.value.rule == rule
    _assert_hidden(exc.value, sentinel, "keys[0].")
    t = Table("Things", key=("pk", "sk"), transport=FakeDynamo(table="Things", keys=("pk", "sk")))
    for call in (lambda: t.get(key), lambda: t.batch_get([key]), lambda: t.delete(key)):
        if types:  # the table declares no types: the S/N rule needs a typed table
            break
        with pytest.raises(ClientValidationError) as exc:
            call()
        assert sentinel not in str(exc.value) and sentinel not in repr(exc.value)


def test_attribute_names_that_are_not_strings_are_named_by_type() -> None:
    with pytest.raises(ClientValidationError) as exc:
        marshal_item({"pk": "k", 4111111111: "x"})  # type: ignore[dict-item]
    assert "4111111111" not in str(exc.value) and "int" in str(exc.value)


def test_oversize_item_names_the_item_not_its_content() -> None:
    item = marshal_item({"pk": "k", "pad": "SENTINEL-PAD" + "x" * MAX_ITEM_BYTES})
    with pytest.raises(ClientValidationError) as exc:
        check_item(item, ["pk"], "requests[0]")
    _assert_hidden(exc.value, "SENTINEL-PAD", "requests[0]")
