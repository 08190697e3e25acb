"""The console's item rules without a server: parsing, client-side checks, fingerprints, diffs, the edit
UpdateItem and its optimistic condition."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ddbkit_infra.console import items as it

KEYS = ("pk", "sk")
TYPES = {"pk": "S", "sk": "N"}


def test_plain_and_dynamodb_json_give_the_same_item() -> None:
    plain = it.parse_item('{"pk": "a", "sk": 1, "price": 1.10, "tags": ["x"]}')
    typed = it.parse_item('{"pk": {"S": "a"}, "sk": {"N": "1"}, "price": {"N": "1.10"}, "tags": {"L": [{"S": "x"}]}}',
                          "dynamodb")
    assert plain == {"pk": "a", "sk": 1, "price": Decimal("1.10"), "tags": ["x"]}
    assert typed["price"] == Decimal("1.10") and typed["sk"] == 1 and typed["tags"] == ["x"]


@pytest.mark.parametrize(("text", "fmt", "field", "rule"), [
    ('{"pk": "a",', "plain", "item", "item.json"),
    ('["a"]', "plain", "item", "item.type"),
    ('{"pk": "a"}', "dynamodb", "item.pk", "item.dynamodb-json"),
    ('{"pk": {"S": "a", "N": "1"}}', "dynamodb", "item.pk", "item.dynamodb-json"),
])
def test_input_errors_are_one_line_naming_the_field_and_rule(text: str, fmt: it.Format, field: str,
                                                             rule: str) -> None:
    with pytest.raises(it.ItemInputError) as err:
        it.parse_item(text, fmt)
    assert err.value.path == field and err.value.rule == rule and "\n" not in str(err.value)


@pytest.mark.parametrize(("item", "rule"), [
    ({"pk": "a"}, "key.missing"),
    ({"pk": "a", "sk": "not-a-number"}, "key.type"),
    ({"pk": "", "sk": 1}, "key.empty"),
    ({"pk": "a", "sk": 1, "n": Decimal("1e999")}, "number.range"),
    ({"pk": "a", "sk": 1, "big": "x" * 410_000}, "item.size"),
])
def test_client_side_rules_refuse_before_sending_and_never_show_the_value(item: dict, rule: str) -> None:
    with pytest.raises(Exception) as err:
        it.to_wire(item, KEYS, TYPES)
    assert getattr(err.value, "rule", "") == rule
    assert "not-a-number" not in str(err.value) and "1e999" not in str(err.value).lower()


def test_key_values_from_form_fields_follow_the_attribute_type() -> None:
    assert it.parse_key_value("42", "N", "sk") == 42
    assert it.parse_key_value("4.5", "N", "sk") == Decimal("4.5")
    assert it.parse_key_value("aGk=", "B", "b") == b"hi"
    assert it.parse_key_value("x", "S", "pk") == "x"
    for text, kind in (("abc", "N"), ("@@", "B"), ("", "S")):
        with pytest.raises(it.ItemInputError):
            it.parse_key_value(text, kind, "k")


def test_fingerprint_ignores_set_order_and_number_spelling_but_nothing_else() -> None:
    a = {"pk": {"S": "a"}, "s": {"SS": ["x", "y"]}, "n": {"N": "1.0"}}
    b = {"n": {"N": "1"}, "s": {"SS": ["y", "x"]}, "pk": {"S": "a"}}
    assert it.fingerprint(a) == it.fingerprint(b)
    assert it.fingerprint(a) != it.fingerprint({**a, "n": {"N": "2"}})
    assert it.wire_json({"n": {"N": "10"}, "s": {"NS": ["10", "9"]}}) == '{"n": {"N": "10"}, "s": {"NS": ["9", "10"]}}'


def test_diff_names_added_removed_and_changed_attributes() -> None:
    shown = {"pk": {"S": "a"}, "x": {"N": "1"}, "gone": {"S": "g"}}
    now = {"pk": {"S": "a"}, "x": {"N": "2"}, "new": {"BOOL": True}}
    assert [(d.name, d.change) for d in it.diff(shown, now)] == [("gone", "removed"), ("new", "added"),
                                                                 ("x", "changed")]
    assert [d.change for d in it.diff(shown, None)] == ["removed"] * 3  # deleted meanwhile


def test_edit_plan_sets_and_removes_only_what_changed_with_placeholders() -> None:
    shown = {"pk": {"S": "a"}, "sk": {"N": "1"}, "a.b": {"S": "old"}, "keep": {"N": "5"}, "drop": {"S": "d"}}
    edited = {"pk": {"S": "a"}, "sk": {"N": "1"}, "a.b": {"S": "new"}, "keep": {"N": "5.0"}, "add": {"N": "7"}}
    plan = it.edit_plan(shown, edited, KEYS)
    assert sorted(plan.changed) == ["a.b", "add", "drop"]
    assert plan.expression is not None and plan.expression.startswith("SET ") and " REMOVE " in plan.expression
    assert sorted(plan.names.values()) == ["a.b", "add", "drop"]  # a dotted name stays one attribute
    assert sorted(plan.values.values(), key=str) == [7, "new"]
    assert it.edit_plan(shown, shown, KEYS).expression is None


def test_key_attributes_cannot_change_in_an_edit() -> None:
    shown = {"pk": {"S": "a"}, "sk": {"N": "1"}}
    with pytest.raises(it.ItemInputError) as err:
        it.edit_plan(shown, {"pk": {"S": "b"}, "sk": {"N": "1"}}, KEYS)
    assert err.value.path == "pk" and err.value.rule == "item.key"


def test_shown_condition_tests_every_attribute_through_placeholders() -> None:
    expr, names, values = it.shown_condition({"pk": {"S": "a"}, "x.y": {"N": "3"}, "s": {"SS": ["b", "a"]}})
    assert expr == "#c0 = :c0 AND #c1 = :c1 AND #c2 = :c2"
    assert names == {"#c0": "pk", "#c1": "s", "#c2": "x.y"}
    assert values == {":c0": "a", ":c1": {"a", "b"}, ":c2": 3}


def test_plain_json_shows_sets_bytes_and_decimals_readably() -> None:
    text = it.plain_json({"s": {"b", "a"}, "b": b"hi", "d": Decimal("1.5"), "i": Decimal("2")})
    assert text == '{"b": {"$binary": "aGk="}, "d": 1.5, "i": 2, "s": ["a", "b"]}'
    assert it.needs_dynamodb_json({"s": {"a"}}) and not it.needs_dynamodb_json({"n": 1, "l": ["x"]})
