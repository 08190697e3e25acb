"""boto3's condition objects (``boto3.dynamodb.conditions.Key/Attr``) as ddbkit expressions.

A migration aid: code written for boto3's resource layer passes ``Key("userId").eq(u)`` or
``Attr("status").eq("ACTIVE") & Attr("n").gt(1)`` where ddbkit takes a key condition, condition or filter,
and ddbkit compiles it with its own placeholders and checks. Values are plain Python either way. The
objects are read through their public ``get_expression()``; boto3 itself is not imported here.
"""

from __future__ import annotations

from typing import Any

from ddbkit.errors import ExpressionError
from ddbkit.core.expressions import Attr, Condition, KeyCondition, size

__all__ = ["from_boto3"]

_COMPARE = {"=": "eq", "<>": "ne", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}


def from_boto3(cond: Any, where: str = "ConditionExpression") -> Condition | KeyCondition:
    """The ddbkit :class:`Condition` (or :class:`KeyCondition` for ``KeyConditionExpression``) of a boto3
    condition object. Raises :class:`ExpressionError` naming ``where`` for what cannot be translated."""
    if where == "KeyConditionExpression":
        return _key(cond, where)
    return _cond(cond, where)


def _expr(cond: Any, where: str) -> tuple[str, tuple[Any, ...]]:
    get = getattr(cond, "get_expression", None)
    if get is None:
        raise ExpressionError(f"{type(cond).__name__} is not a boto3 condition", where, "expression.boto3")
    e = get()
    return str(e["operator"]), tuple(e["values"])


def _operand(value: Any, where: str) -> Any:
    """A boto3 operand: an attribute (``Attr``/``Key``/``size``) or a plain value."""
    kind = type(value).__name__
    if type(value).__module__ == "boto3.dynamodb.conditions":
        if kind in ("Attr", "Key"):
            return Attr(value.name)
        if kind == "Size":
            _, (inner,) = _expr(value, where)
            return size(inner.name)
    return value


def _cond(cond: Any, where: str) -> Condition:
    op, vals = _expr(cond, where)
    if op in ("AND", "OR"):
        left, right = _cond(vals[0], where), _cond(vals[1], where)
        return left & right if op == "AND" else left | right
    if op == "NOT":
        return ~_cond(vals[0], where)
    first = _operand(vals[0], where)
    if not isinstance(first, Attr):
        raise ExpressionError(f"boto3 condition {op} must start with an attribute", where, "expression.boto3")
    rest = [_operand(v, where) for v in vals[1:]]
    if op in _COMPARE:
        result: Condition = getattr(first, _COMPARE[op])(rest[0])
        return result
    if op == "IN":
        return first.is_in(rest[0])
    if op == "BETWEEN":
        return first.between(rest[0], rest[1])
    if op == "begins_with":
        return first.begins_with(rest[0])
    if op == "contains":
        return first.contains(rest[0])
    if op == "attribute_type":
        return first.attribute_type(rest[0])
    if op == "attribute_exists":
        return first.exists()
    if op == "attribute_not_exists":
        return first.not_exists()
    raise ExpressionError(f"boto3 operator {op!r} has no ddbkit equivalent", where, "expression.boto3")


_KEY_OPS = {"=": "=", "<": "<", "<=": "<=", ">": ">", ">=": ">=", "BETWEEN": "BETWEEN",
            "begins_with": "begins_with"}


def _key(cond: Any, where: str) -> KeyCondition:
    op, vals = _expr(cond, where)
    if op == "AND":
        return _key(vals[0], where) & _key(vals[1], where)
    if op not in _KEY_OPS:
        raise ExpressionError(f"a key condition allows =, <, <=, >, >=, BETWEEN, begins_with and AND; got {op}",
                              where, "expression.key")
    attr = vals[0]
    if type(attr).__name__ not in ("Key", "Attr"):
        raise ExpressionError("a key condition starts with Key(name)", where, "expression.key")
    return KeyCondition([(attr.name, _KEY_OPS[op], tuple(vals[1:]))])
