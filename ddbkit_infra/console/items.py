"""Items as the console shows, parses, checks and saves them (pure: no I/O, unit-tested).

An item travels through the console in two shapes: the plain one (``{"pk": "a", "n": 1}``, numbers as
``int``/``Decimal``) and DynamoDB JSON (``{"pk": {"S": "a"}, "n": {"N": "1"}}``). Everything typed into a
form is parsed and checked here (key attributes and their types, DynamoDB's number rules, the 400 KB size)
before anything is sent; every error is one line naming the attribute and the rule, never a value.

Saving an edit is optimistic: the page carries the item *as shown* (DynamoDB JSON) and its
:func:`fingerprint`; :func:`edit_plan` turns the edit into an UpdateItem that changes only what the person
changed, under a condition that every attribute still has the value that was shown
(:func:`shown_condition`). An item that changed since it was shown is refused and :func:`diff` names the
attributes that differ, so nothing is ever overwritten.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from ddbkit.core.codec import canonical_number, item_size, marshal_item, marshal_put, unmarshal_item
from ddbkit.errors import ClientValidationError

__all__ = ["AttributeDiff", "EditPlan", "ItemInputError", "diff", "edit_plan", "fingerprint", "key_of",
           "parse_item", "parse_key_value", "plain_json", "shown_condition", "to_wire", "wire_json"]

Format = Literal["plain", "dynamodb"]
_TAGS = frozenset({"S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M"})


class ItemInputError(ClientValidationError):
    """What was typed is not a valid item or key (one line: the field and the rule, never the value)."""


def _load_json(text: str, what: str) -> Any:
    try:
        return json.loads(text, parse_float=Decimal, parse_int=int)
    except json.JSONDecodeError as err:
        raise ItemInputError(f"not valid JSON ({err.msg} at line {err.lineno} column {err.colno})", what,
                             "item.json") from None


def parse_item(text: str, fmt: Format = "plain") -> dict[str, Any]:
    """The item typed as ``fmt`` JSON, as plain Python values. DynamoDB JSON is checked tag by tag."""
    data = _load_json(text, "item")
    if not isinstance(data, dict):
        raise ItemInputError("an item is a JSON object of attributes", "item", "item.type")
    if fmt == "plain":
        return data
    for name, av in data.items():
        if not isinstance(av, dict) or len(av) != 1 or next(iter(av)) not in _TAGS:
            raise ItemInputError("DynamoDB JSON gives each attribute as {\"S\": ...}, {\"N\": ...}, ... (one type "
                                 "tag)", f"item.{name}", "item.dynamodb-json")
    try:
        return unmarshal_item(data)
    except (ValueError, TypeError, KeyError, ArithmeticError) as err:
        raise ItemInputError(f"DynamoDB JSON value does not match its type tag ({type(err).__name__})", "item",
                             "item.dynamodb-json") from None


def to_wire(item: Mapping[str, Any], key_names: Sequence[str], key_types: Mapping[str, str]) -> dict[str, Any]:
    """The item as wire attributes after every client-side rule (keys present and typed, numbers, size)."""
    return marshal_put(dict(item), list(key_names), dict(key_types), where=lambda: "item")


def parse_key_value(text: str, attr_type: str, name: str) -> Any:
    """A key value typed into a form field as its attribute type (``S``, ``N`` or ``B`` base64)."""
    if text == "":
        raise ItemInputError("a value is required", name, "key.missing")
    if attr_type == "N":
        try:
            value = Decimal(text.strip())
        except ArithmeticError:
            raise ItemInputError("the key is a number (N): type digits", name, "key.type") from None
        marshal_item({name: value})  # DynamoDB's number rules (range, 38 digits), errors name the attribute
        return int(value) if value == value.to_integral_value() and "e" not in text.lower() else value
    if attr_type == "B":
        try:
            return base64.b64decode(text, validate=True)
        except ValueError:
            raise ItemInputError("the key is binary (B): type base64", name, "key.type") from None
    return text


def key_of(wire: Mapping[str, Any], key_names: Sequence[str]) -> dict[str, Any]:
    """The key attributes of a wire item (DynamoDB JSON)."""
    return {k: wire[k] for k in key_names if k in wire}


def _normal(av: Any) -> Any:
    """A wire value for comparison: set members sorted (DynamoDB returns sets in any order) and numbers in
    one spelling (``1``, ``1.0`` and ``1E0`` are one number)."""
    if isinstance(av, dict) and len(av) == 1:
        tag, v = next(iter(av.items()))
        if tag in ("SS", "BS"):
            return {tag: sorted(v)}
        if tag == "NS":
            return {tag: sorted(canonical_number(x) for x in v)}
        if tag == "N":
            return {tag: canonical_number(v)}
        if tag == "M":
            return {tag: {k: _normal(x) for k, x in v.items()}}
        if tag == "L":
            return {tag: [_normal(x) for x in v]}
    return av


def _shown_value(av: Any) -> Any:
    """A wire value for the page: as DynamoDB sent it, with set members sorted so the view is stable."""
    if isinstance(av, dict) and len(av) == 1:
        tag, v = next(iter(av.items()))
        if tag in ("SS", "BS"):
            return {tag: sorted(v)}
        if tag == "NS":
            return {tag: sorted(v, key=Decimal)}
        if tag == "M":
            return {tag: {k: _shown_value(x) for k, x in v.items()}}
        if tag == "L":
            return {tag: [_shown_value(x) for x in v]}
    return av


def _b64(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(type(value).__name__)


def wire_json(wire: Mapping[str, Any], indent: int | None = None) -> str:
    """DynamoDB JSON text of a wire item (bytes as base64, as the AWS console shows them)."""
    return json.dumps({k: _shown_value(v) for k, v in wire.items()}, indent=indent, sort_keys=True, default=_b64)


def _plain_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$binary": base64.b64encode(bytes(value)).decode("ascii")}
    raise TypeError(type(value).__name__)


def plain_json(item: Mapping[str, Any], indent: int | None = None) -> str:
    """Plain JSON text of an item for reading (sets as lists, bytes as ``{"$binary": base64}``)."""
    return json.dumps(item, indent=indent, sort_keys=True, default=_plain_default)


def needs_dynamodb_json(item: Mapping[str, Any]) -> bool:
    """True when plain JSON cannot carry the item back unchanged (sets, bytes, non-float decimals)."""

    def odd(v: Any) -> bool:
        if isinstance(v, set | frozenset | bytes | bytearray):
            return True
        if isinstance(v, Decimal):
            return True  # 1.10 would come back as 1.1 through a JSON float: keep DynamoDB JSON's exact text
        if isinstance(v, dict):
            return any(odd(x) for x in v.values())
        if isinstance(v, list):
            return any(odd(x) for x in v)
        return False

    return any(odd(v) for v in item.values())


def fingerprint(wire: Mapping[str, Any]) -> str:
    """A SHA-256 of the item's canonical DynamoDB JSON: equal exactly when the items are equal."""
    canonical = json.dumps({k: _normal(v) for k, v in wire.items()}, sort_keys=True, default=_b64)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AttributeDiff:
    """One attribute that differs between the item as shown and as stored now (values for the page only)."""

    name: str
    change: Literal["added", "removed", "changed"]
    shown: str | None
    current: str | None


def diff(shown: Mapping[str, Any], current: Mapping[str, Any] | None) -> list[AttributeDiff]:
    """Attributes that differ between two wire items (``current`` None: the item was deleted)."""
    now = current or {}
    out: list[AttributeDiff] = []
    for name in sorted(set(shown) | set(now)):
        a, b = shown.get(name), now.get(name)
        if a is None and b is not None:
            out.append(AttributeDiff(name, "added", None, wire_json({name: b})))
        elif b is None and a is not None:
            out.append(AttributeDiff(name, "removed", wire_json({name: a}), None))
        elif a is not None and b is not None and _normal(a) != _normal(b):
            out.append(AttributeDiff(name, "changed", wire_json({name: a}), wire_json({name: b})))
    return out


def shown_condition(shown: Mapping[str, Any], prefix: str = "c") -> tuple[str, dict[str, str], dict[str, Any]]:
    """A ConditionExpression true only while every attribute still has the value shown:
    ``#c0 = :c0 AND #c1 = :c1 ...`` (names and values as placeholders, so any attribute name works)."""
    plain = unmarshal_item(dict(shown))
    parts, names, values = [], {}, {}
    for i, name in enumerate(sorted(plain)):
        names[f"#{prefix}{i}"] = name
        values[f":{prefix}{i}"] = plain[name]
        parts.append(f"#{prefix}{i} = :{prefix}{i}")
    return " AND ".join(parts) or "attribute_exists(#none)", names, values


@dataclass(frozen=True)
class EditPlan:
    """The UpdateItem an edit becomes: ``expression`` is None when nothing changed."""

    expression: str | None
    names: dict[str, str]
    values: dict[str, Any]
    changed: tuple[str, ...]


def edit_plan(shown: Mapping[str, Any], edited: Mapping[str, Any], key_names: Sequence[str]) -> EditPlan:
    """SET the attributes added or changed and REMOVE those deleted, comparing wire items; key attributes
    cannot change (that is another item: create it, then delete this one)."""
    for k in key_names:
        if k not in edited:
            raise ItemInputError("key attributes cannot be removed", k, "item.key")
        if k in shown and _normal(shown[k]) != _normal(edited[k]):
            raise ItemInputError("key attributes cannot change (create a new item instead)", k, "item.key")
    new_plain = unmarshal_item(dict(edited))
    sets, removes, names, values, changed = [], [], {}, {}, []
    for i, name in enumerate(sorted(set(shown) | set(edited))):
        if name in key_names:
            continue
        if name not in edited:
            names[f"#u{i}"] = name
            removes.append(f"#u{i}")
            changed.append(name)
        elif name not in shown or _normal(shown[name]) != _normal(edited[name]):
            names[f"#u{i}"] = name
            values[f":u{i}"] = new_plain[name]
            sets.append(f"#u{i} = :u{i}")
            changed.append(name)
    clauses = ([f"SET {', '.join(sets)}"] if sets else []) + ([f"REMOVE {', '.join(removes)}"] if removes else [])
    return EditPlan(" ".join(clauses) or None, names, values, tuple(changed))


def size_of(item: Mapping[str, Any]) -> int:
    """Bytes an item (plain values) counts for under DynamoDB's size rules."""
    return item_size(marshal_item(dict(item)))
