"""boto3's resource-layer transformation (TypeSerializer / TypeDeserializer semantics), done in one pass.

boto3's resource ``Table`` registers, on its client's events, a deep copy of the parameters
(``copy_dynamodb_params``), condition-object building and a model walk that serializes every
``AttributeValue`` with ``TypeSerializer`` (and deserializes replies with ``TypeDeserializer``). An
accelerated client does the same here: :class:`ShapeCodec` compiles, once per operation, where the
AttributeValues are in the input and output shapes and converts them by exact type - str, bool, None, int,
Decimal (through boto3's ``DYNAMODB_CONTEXT``), bytes/Binary, dict, list/tuple and sets of those.

Anything else (a float, a subclass, an empty set, a value DYNAMODB_CONTEXT rejects, a non-dict mapping)
raises :class:`Fallback`, and the caller redoes the whole transformation with boto3's own
``copy_dynamodb_params`` and ``TransformationInjector`` - so the results and every error (the float
``TypeError``, ``decimal.Inexact``/``Rounded``, the empty-set error) are boto3's own.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from decimal import Decimal
from typing import Any

__all__ = ["Fallback", "ShapeCodec", "serialize", "deserialize", "setup"]

_LIMIT = 10**38
Transform = Callable[[Any], Any]


class Fallback(Exception):  # noqa: N818 - a signal, not an error the caller sees
    """A value outside the fast cases: redo with boto3's own transformation."""


def _context() -> Any:
    from boto3.dynamodb.types import DYNAMODB_CONTEXT

    return DYNAMODB_CONTEXT


def _binary() -> Any:
    from boto3.dynamodb.types import Binary

    return Binary


_CTX: Any = None
_BINARY: Any = None


def setup() -> None:
    """Load boto3's DYNAMODB_CONTEXT and Binary (on first use: boto3 is imported lazily)."""
    global _CTX, _BINARY
    if _CTX is None:
        _BINARY = _binary()
        _CTX = _context()


def _number(value: Any) -> str:
    if type(value) is int and -_LIMIT < value < _LIMIT:
        return str(value)
    if type(value) is Decimal:
        try:
            text = str(_CTX.create_decimal(value))
        except Exception:  # noqa: BLE001 - boto3 raises it; let boto3's own code raise it
            raise Fallback from None
        if text in ("Infinity", "NaN", "-Infinity", "sNaN", "-NaN", "-sNaN"):
            raise Fallback
        return text
    raise Fallback


def serialize(value: Any) -> dict[str, Any]:
    """``TypeSerializer().serialize(value)`` for the fast cases, else :class:`Fallback`."""
    kind = type(value)
    if kind is str:
        return {"S": value}
    if kind is dict:
        return {"M": {k: serialize(v) for k, v in value.items()}}
    if kind is int or kind is Decimal:
        return {"N": _number(value)}
    if kind is bool:
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if kind is list or kind is tuple:
        return {"L": [serialize(v) for v in value]}
    if kind is bytes:
        return {"B": value}
    if kind is _BINARY:
        return {"B": value.value}
    if kind is set or kind is frozenset:
        if not value:
            raise Fallback
        kinds = {type(v) for v in value}
        if kinds == {str}:
            return {"SS": list(value)}
        if kinds <= {int, Decimal}:
            return {"NS": [_number(v) for v in value]}
        if kinds == {bytes}:
            return {"BS": list(value)}
    raise Fallback


def deserialize(av: Any) -> Any:
    """``TypeDeserializer().deserialize(av)`` for a wire AttributeValue (B as base64 text or bytes)."""
    if type(av) is not dict or len(av) != 1:
        raise Fallback
    for tag, value in av.items():
        if tag == "S":
            return value
        if tag == "N":
            return _CTX.create_decimal(value)
        if tag == "M":
            return {k: deserialize(v) for k, v in value.items()}
        if tag == "L":
            return [deserialize(v) for v in value]
        if tag == "BOOL":
            return value
        if tag == "NULL":
            return None
        if tag == "B":
            return _BINARY(_blob(value))
        if tag == "SS":
            return set(value)
        if tag == "NS":
            return {_CTX.create_decimal(v) for v in value}
        if tag == "BS":
            return {_BINARY(_blob(v)) for v in value}
    raise Fallback


def _blob(value: Any) -> bytes:
    return base64.b64decode(value) if isinstance(value, str) else bytes(value)


def _compile(shape: Any, leaf: Transform, memo: dict[str, Transform | None]) -> Transform | None:
    """A function applying ``leaf`` at every ``AttributeValue`` inside a value of ``shape`` (new containers,
    as boto3's walk over its deep copy), or None when the shape holds no AttributeValue."""
    name = shape.name
    if name == "AttributeValue":
        return leaf
    if name in memo:
        return memo[name]
    memo[name] = None  # a recursive shape that reaches no AttributeValue while being compiled
    kind = shape.type_name
    fn: Transform | None = None
    if kind == "structure":
        members = {m: f for m, s in shape.members.items() if (f := _compile(s, leaf, memo)) is not None}
        if members:
            def structure(value: Any, members: dict[str, Transform] = members) -> Any:
                if type(value) is not dict:
                    raise Fallback
                return {k: (members[k](v) if k in members else v) for k, v in value.items()}
            fn = structure
    elif kind == "map":
        inner = _compile(shape.value, leaf, memo)
        if inner is not None:
            def mapping(value: Any, inner: Transform = inner) -> Any:
                if type(value) is not dict:
                    raise Fallback
                return {k: inner(v) for k, v in value.items()}
            fn = mapping
    elif kind == "list":
        inner = _compile(shape.member, leaf, memo)
        if inner is not None:
            def sequence(value: Any, inner: Transform = inner) -> Any:
                if type(value) is not list:
                    raise Fallback
                return [inner(v) for v in value]
            fn = sequence
    memo[name] = fn
    return fn


def _has_shape(shape: Any, names: frozenset[str], seen: set[str]) -> bool:
    if shape.name in names:
        return True
    if shape.name in seen:
        return False
    seen.add(shape.name)
    kind = shape.type_name
    if kind == "structure":
        return any(_has_shape(s, names, seen) for s in shape.members.values())
    if kind == "map":
        return _has_shape(shape.value, names, seen)
    if kind == "list":
        return _has_shape(shape.member, names, seen)
    return False


_CONDITION_SHAPES = frozenset({"ConditionExpression", "KeyExpression"})


class ShapeCodec:
    """The resource layer's transformation for one operation model.

    ``fast`` is False for operations whose condition expressions sit below the top level (the transactions):
    those always use boto3's own code. ``conditions`` are the top-level members that take condition objects.
    """

    def __init__(self, model: Any) -> None:
        setup()
        self.model = model
        shape = model.input_shape
        self.conditions = tuple(m for m, s in shape.members.items() if s.name in _CONDITION_SHAPES)
        nested = any(_has_shape(s, _CONDITION_SHAPES, set()) for s in shape.members.values()
                     if s.name not in _CONDITION_SHAPES)
        self.fast = not nested
        self.encode = _compile(shape, serialize, {})
        out = model.output_shape
        self.decode = _compile(out, deserialize, {}) if out is not None else None
