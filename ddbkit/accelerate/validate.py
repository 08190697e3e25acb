"""A compiled "certainly valid" check, so botocore's ParamValidator only runs when it may find something.

botocore's ``validate_parameters`` walks every value of a request through generic, per-shape dispatch (~40% of
an accelerated BatchWriteItem's CPU). :func:`compile_check` turns an input shape, once per operation, into
nested closures applying the same rules (``botocore/validate.py``): structures are ``dict`` with their required
members, no unknown member and, for tagged unions such as ``AttributeValue``, exactly one member set; strings
``str``, lists ``list``/``tuple`` and maps ``dict``, each at least the shape's ``min`` long; integers/longs
``int``, doubles ``float``/``Decimal``/``int`` at least ``min``; booleans ``bool``; blobs ``bytes``,
``bytearray`` or ``str``.

The check answers only True ("botocore would report nothing") or False ("not sure"). On False the engine runs
botocore's own validator, which raises the ``ParamValidationError`` with botocore's message - so the errors are
always botocore's, and the check can only ever be too cautious (timestamps, documents, JSON-value headers,
host labels and file-like blobs always answer False).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

__all__ = ["compile_check"]

Check = Callable[[Any], bool]


def _never(_value: Any) -> bool:
    return False


def compile_check(shape: Any) -> Check:
    """The check for values of ``shape`` (a botocore Shape); see the module docstring."""
    table: dict[str, Check] = {}
    return _compile(shape, table)


def _compile(shape: Any, table: dict[str, Check]) -> Check:
    name = shape.name
    if name in table:
        return table[name]
    # recursive shapes (AttributeValue -> M -> AttributeValue): refer through the table until compiled
    table[name] = lambda value: table[name](value)
    check = _build(shape, table)
    table[name] = check
    return check


def _build(shape: Any, table: dict[str, Check]) -> Check:
    from botocore.utils import is_json_value_header

    kind = shape.type_name
    metadata = shape.metadata
    if is_json_value_header(shape) or getattr(shape, "is_document_type", False):
        return _never
    if "min" not in metadata and getattr(shape, "serialization", {}).get("hostLabel"):
        return _never
    low = metadata.get("min")
    if kind == "structure":
        members = {m: _compile(s, table) for m, s in shape.members.items()}
        required = tuple(metadata.get("required", ()))
        union = bool(shape.is_tagged_union)

        def structure(value: Any) -> bool:
            if not isinstance(value, dict) or (union and len(value) != 1):
                return False
            for r in required:
                if r not in value:
                    return False
            for k, v in value.items():
                check = members.get(k)
                if check is None or not check(v):
                    return False
            return True
        return structure
    if kind == "string":
        if low is None:
            return lambda value: isinstance(value, str)
        return lambda value: isinstance(value, str) and len(value) >= low
    if kind == "list":
        member = _compile(shape.member, table)

        def sequence(value: Any) -> bool:
            if not isinstance(value, (list, tuple)) or (low is not None and len(value) < low):
                return False
            for v in value:
                if not member(v):
                    return False
            return True
        return sequence
    if kind == "map":
        key = _compile(shape.key, table)
        val = _compile(shape.value, table)

        def mapping(value: Any) -> bool:
            if not isinstance(value, dict):
                return False
            for k, v in value.items():
                if not key(k) or not val(v):
                    return False
            return True
        return mapping
    if kind in ("integer", "long"):
        return lambda value: isinstance(value, int) and (low is None or value >= low)
    if kind in ("double", "float"):
        return lambda value: isinstance(value, (float, Decimal, int)) and (low is None or value >= low)
    if kind == "boolean":
        return lambda value: isinstance(value, bool)
    if kind == "blob":
        return lambda value: isinstance(value, (bytes, bytearray, str))
    return _never  # timestamps and anything newer: botocore decides
