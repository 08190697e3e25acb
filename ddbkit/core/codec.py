"""Python values <-> DynamoDB AttributeValues, with DynamoDB's rules checked before sending.

``marshal``/``marshal_item`` turn plain Python into the wire shape (``{"S": "x"}``, ``{"N": "1"}``...);
``unmarshal``/``unmarshal_item`` go back. Unlike boto3's TypeSerializer:

* floats are accepted and stored exactly as their shortest repr (``0.1`` -> ``"0.1"``);
* numbers come back as ``int`` when integral, ``Decimal`` otherwise (or all ``float``/``Decimal`` by
  choice, see :class:`NumberMode`);
* what DynamoDB would reject is rejected here with the attribute path: empty sets, NaN/Infinity, numbers
  over 38 significant digits or outside 1E-130..9.99E+125, nesting deeper than 32, unsupported types;
  :func:`check_item` adds the 400 KB item size and key rules.

B values are ``bytes`` on the way in; on the way out both ``bytes`` (botocore) and base64 text (raw JSON
transports) decode to ``bytes``. Dispatch is by exact type with an ``isinstance`` fallback for
subclasses: about 4x faster than TypeSerializer on small items (see bench/).
"""

from __future__ import annotations

import base64
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from decimal import Context, Decimal, InvalidOperation
from enum import Enum
from collections.abc import Callable
from typing import Any, cast

from ddbkit.core.gcpause import paused, paused_for
from ddbkit.errors import CodecError

__all__ = [
    "NumberMode",
    "marshal",
    "marshal_item",
    "unmarshal",
    "unmarshal_item",
    "unmarshal_items",
    "number_to_wire",
    "item_size",
    "check_item",
    "check_key",
    "canonical_number",
    "marshal_put",
    "marshal_key",
    "encode_put",
    "encode_key",
    "PageRequest",
    "DecodedItems",
    "DecodedItem",
    "decode_page",
    "speedups_active",
    "MAX_ITEM_BYTES",
    "MAX_DEPTH",
]

MAX_ITEM_BYTES = 400 * 1024
MAX_DEPTH = 32
MAX_HASH_KEY_BYTES = 2048
MAX_RANGE_KEY_BYTES = 1024
_MAX_DIGITS = 38
_INT_FAST = 10**38  # |ints| below this need no further checks
_MAX_MAGNITUDE = Decimal("9.9999999999999999999999999999999999999E+125")
_MIN_MAGNITUDE = Decimal("1E-130")
_CTX = Context(prec=60)
_STR_ONLY = {str}

AV = dict[str, Any]


class NumberMode(str, Enum):
    """How N values come back: ``auto`` int when integral else Decimal; ``decimal``; ``float``."""

    AUTO = "auto"
    DECIMAL = "decimal"
    FLOAT = "float"


def _path(path: str, key: object) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


# --------------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------------


def _check_decimal(d: Decimal, path: str, shown: object) -> str:
    # errors name the path and the type (``shown``'s), never the value (it may be a card number)
    kind = type(shown).__name__
    if not d.is_finite():
        raise CodecError(f"a {kind} that is not a finite number; DynamoDB stores no NaN or Infinity", path,
                         "number.finite")
    if d.is_zero():
        return "0"
    digits = d.as_tuple().digits
    # significant digits: strip leading and trailing zeros of the coefficient
    sig = len(digits)
    i = 0
    while i < sig and digits[i] == 0:
        i += 1
    j = sig
    while j > i and digits[j - 1] == 0:
        j -= 1
    if j - i > _MAX_DIGITS:
        raise CodecError(f"a {kind} with {j - i} significant digits; DynamoDB keeps at most 38", path,
                         "number.precision")
    mag = d.copy_abs()  # abs() would round to the context precision (28 digits)
    if mag > _MAX_MAGNITUDE or mag < _MIN_MAGNITUDE:
        raise CodecError(f"a {kind} outside DynamoDB's range 1E-130 .. 9.9999999999999999999999999999999999999E+125",
                         path, "number.range")
    return str(d)


def canonical_number(text: str) -> str:
    """One text per number value: ``"1"``, ``"1.0"``, ``"1E0"`` and ``"01"`` all give ``"1"`` (exact: no
    rounding to the default 28-digit context)."""
    try:
        return str(Decimal(text).normalize(_CTX))
    except ArithmeticError:  # pragma: no cover - not a number text
        return text


def _decimal_to_wire(d: Decimal, path: str = "") -> str:
    # fast accept: plain notation of at most 38 characters (so <= 38 digits and a magnitude within
    # 1E-7 .. 1E38) that is finite and non-zero; everything else takes the full check
    text = str(d)
    if len(text) <= 38 and "E" not in text and d.is_finite() and not d.is_zero():
        return text
    return _check_decimal(d, path, d)


def number_to_wire(value: int | float | Decimal, path: str = "") -> str:
    """The N string for a number, or :class:`CodecError` naming ``path`` if DynamoDB cannot store it."""
    t = type(value)
    if t is int:
        if -_INT_FAST < value < _INT_FAST:
            return str(value)
        return _check_decimal(Decimal(value), path, value)
    if t is float:
        if value != value or value in (math.inf, -math.inf):
            raise CodecError("a float that is not a finite number; DynamoDB stores no NaN or Infinity", path,
                             "number.finite")
        # the shortest repr round-trips exactly: 0.1 is stored as "0.1", not 0.1000000000000000055...
        return _check_decimal(Decimal(repr(value)), path, value)
    if isinstance(value, bool):
        raise CodecError("bool is not a number here", path, "number.type")
    if t is Decimal:
        return _decimal_to_wire(value, path)  # type: ignore[arg-type]  # hot path: `t is Decimal` already proved the type (isinstance would cost a call)
    if isinstance(value, Decimal):
        return _check_decimal(value, path, value)
    if isinstance(value, int):
        return number_to_wire(int(value), path)
    if isinstance(value, float):
        return number_to_wire(float(value), path)
    raise CodecError(f"{type(value).__name__} is not a number", path, "number.type")


# --------------------------------------------------------------------------------------------------
# Marshal
# --------------------------------------------------------------------------------------------------


def marshal(value: Any, path: str = "", _depth: int = 0) -> AV:
    """One Python value as an AttributeValue. ``path`` names it in errors."""
    t = type(value)
    if t is str:
        return {"S": value}
    if t is int:
        if -_INT_FAST < value < _INT_FAST:
            return {"N": str(value)}
        return {"N": number_to_wire(value, path)}
    if t is dict:
        return {"M": _marshal_map(value, path, _depth + 1)}
    if t is bool:
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if t is float or t is Decimal:
        return {"N": number_to_wire(value, path)}
    if t is list or t is tuple:
        return {"L": _marshal_list(value, path, _depth + 1)}
    if t is bytes:
        return {"B": value}
    if t is set or t is frozenset:
        return _marshal_set(value, path)
    return _marshal_other(value, path, _depth)


def _marshal_other(value: Any, path: str, depth: int) -> AV:
    # subclasses and less common types
    if isinstance(value, bool):
        return {"BOOL": bool(value)}
    if isinstance(value, str):
        return {"S": str(value)}
    if isinstance(value, (int, float, Decimal)):
        return {"N": number_to_wire(value, path)}
    if isinstance(value, (bytearray, memoryview)):
        return {"B": bytes(value)}
    if isinstance(value, bytes):
        return {"B": bytes(value)}
    if isinstance(value, Mapping):
        return {"M": _marshal_map(value, path, depth + 1)}
    if isinstance(value, (set, frozenset)):
        return _marshal_set(value, path)
    if isinstance(value, (list, tuple)):
        return {"L": _marshal_list(value, path, depth + 1)}
    raise CodecError(
        f"cannot store a {type(value).__name__} (use str, int, float, Decimal, bool, None, bytes, list, dict or set)",
        path, "type.unsupported")


def _marshal_map(value: Mapping[Any, Any], path: str, depth: int) -> dict[str, AV]:
    if depth > MAX_DEPTH:
        raise CodecError(f"nesting deeper than {MAX_DEPTH} levels", path, "nesting.depth")
    out: dict[str, AV] = {}
    for k, v in value.items():
        if type(k) is not str:
            raise CodecError(f"map keys must be strings, got a {type(k).__name__}", path, "map.key")
        out[k] = {"S": v} if type(v) is str else marshal(v, f"{path}.{k}" if path else k, depth)
    return out


def _marshal_list(value: Sequence[Any], path: str, depth: int) -> list[AV]:
    if depth > MAX_DEPTH:
        raise CodecError(f"nesting deeper than {MAX_DEPTH} levels", path, "nesting.depth")
    return [marshal(v, f"{path}[{i}]", depth) for i, v in enumerate(value)]


def _marshal_set(value: set[Any] | frozenset[Any], path: str) -> AV:
    if not value:
        raise CodecError("empty sets cannot be stored (DynamoDB has no empty set; use None or omit it)", path,
                         "set.empty")
    if set(map(type, value)) == _STR_ONLY:  # the common case, checked at C speed
        return {"SS": list(value)}
    kinds = set()
    for v in value:
        if isinstance(v, str):
            kinds.add("SS")
        elif isinstance(v, (bytes, bytearray, memoryview)):
            kinds.add("BS")
        elif isinstance(v, (int, float, Decimal)) and not isinstance(v, bool):
            kinds.add("NS")
        else:
            raise CodecError(f"sets hold only strings, numbers or bytes, got {type(v).__name__}", path, "set.type")
    if len(kinds) != 1:
        raise CodecError(f"a set must hold one kind of value, got {sorted(kinds)}", path, "set.mixed")
    kind = kinds.pop()
    if kind == "SS":
        return {"SS": [str(v) for v in value]}
    if kind == "BS":
        return {"BS": [bytes(v) for v in value]}
    wires = sorted({number_to_wire(v, path) for v in value})
    if all(type(v) is int for v in value):  # distinct ints have distinct texts: no duplicates possible
        return {"NS": wires}
    # 0.1 and Decimal("0.10") are one number to DynamoDB, which rejects a set holding both: keep one
    # text per number (the first in sorted order, so the wire form is deterministic)
    unique: dict[str, str] = {}
    for w in wires:
        unique.setdefault(canonical_number(w), w)
    return {"NS": list(unique.values())}


def _plain(v: Any, depth: int) -> AV:
    """``marshal(v, "", depth)`` building no path strings: the common types inline (also for the values of
    maps and lists, so a scalar inside a container costs no call), the rest through :func:`marshal`.
    Callers re-run the path-naming :func:`marshal` when it raises, for the error."""
    t = type(v)
    if t is dict:
        depth += 1
        if depth > MAX_DEPTH:
            raise CodecError(f"nesting deeper than {MAX_DEPTH} levels", "", "nesting.depth")
        m: dict[str, AV] = {}
        for k, x in v.items():
            if type(k) is not str:
                raise CodecError("map keys must be strings", "", "map.key")
            tx = type(x)
            if tx is str:
                m[k] = {"S": x}
            elif tx is int and -_INT_FAST < x < _INT_FAST:
                m[k] = {"N": str(x)}
            elif tx is bool:
                m[k] = {"BOOL": x}
            else:
                m[k] = _plain(x, depth)
        return {"M": m}
    if t is list:
        depth += 1
        if depth > MAX_DEPTH:
            raise CodecError(f"nesting deeper than {MAX_DEPTH} levels", "", "nesting.depth")
        out: list[AV] = []
        add = out.append
        for x in v:
            tx = type(x)
            if tx is str:
                add({"S": x})
            elif tx is int and -_INT_FAST < x < _INT_FAST:
                add({"N": str(x)})
            else:
                add(_plain(x, depth))
        return {"L": out}
    if t is str:
        return {"S": v}
    if t is int and -_INT_FAST < v < _INT_FAST:
        return {"N": str(v)}
    if t is Decimal:
        # fast accept (as _decimal_to_wire): plain notation of at most 38 characters, finite and non-zero
        text = str(v)
        if len(text) <= 38 and "E" not in text and v.is_finite() and not v.is_zero():
            return {"N": text}
        return {"N": _check_decimal(v, "", v)}
    if t is bool:
        return {"BOOL": v}
    if v is None:
        return {"NULL": True}
    if t is set and v and set(map(type, v)) == _STR_ONLY:  # string sets, checked at C speed
        return {"SS": list(v)}
    return marshal(v, "", depth)


def marshal_item(item: Mapping[str, Any], path: str = "") -> dict[str, AV]:
    """A whole item (attribute name -> Python value) as wire attributes. Nesting/type errors name the path."""
    if type(item) is not dict and not isinstance(item, Mapping):
        raise CodecError(f"an item must be a mapping of attribute names, got {type(item).__name__}", path,
                         "item.type")
    if "" in item:
        raise CodecError("attribute names must not be empty", path, "item.key")
    out: dict[str, AV] = {}
    lim, _str, _int, _bool = _INT_FAST, str, int, bool  # locals: faster than global lookups in the loop
    for k, v in item.items():
        if type(k) is not _str:
            raise CodecError(f"attribute names must be strings, got a {type(k).__name__}", path, "item.key")
        # inline the commonest cases
        t = type(v)
        if t is _str:
            out[k] = {"S": v}
        elif t is _int and -lim < v < lim:
            out[k] = {"N": _str(v)}
        elif t is _bool:
            out[k] = {"BOOL": v}
        else:
            try:
                out[k] = _plain(v, 1)
            except CodecError:  # again with paths, for an error that names the value
                out[k] = marshal(v, f"{path}.{k}" if path else k, 1)
    return out


# --------------------------------------------------------------------------------------------------
# Unmarshal
# --------------------------------------------------------------------------------------------------


def _num_general(s: str) -> int | Decimal:
    d = Decimal(s)
    try:
        if d == d.to_integral_value(context=_CTX):
            return int(d)
    except InvalidOperation:  # pragma: no cover - huge exponents
        pass
    return d


def _num_auto(s: str) -> int | Decimal:
    """int when integral, else Decimal, without raising on the way (an exception costs ~1 us)."""
    if "." in s:
        if s[-1] != "0" and "E" not in s and "e" not in s:
            return Decimal(s)  # a last fraction digit that is not 0: not integral (DynamoDB's usual form)
        return _num_general(s)  # "3.0", "1.5E+3": rare, exact check
    if "E" in s or "e" in s:
        return _num_general(s)
    return int(s)


_NUMBER: dict[NumberMode, Callable[[str], Any]] = {
    NumberMode.AUTO: _num_auto,
    NumberMode.DECIMAL: Decimal,
    NumberMode.FLOAT: float,
}


def _bin(v: bytes | str) -> bytes:
    return v if type(v) is bytes else base64.b64decode(v)


def _decoders(conv: Callable[[str], Any]) -> tuple[Callable[[Mapping[str, Any]], Any],
                                                  Callable[[Mapping[str, Mapping[str, Any]]], dict[str, Any]]]:
    """(value decoder, item decoder) for one number conversion: closures, so the recursion passes no
    mode and looks up no table; S and N (most values) are decoded inline without a call."""

    def value(av: Mapping[str, Any]) -> Any:
        # containers first: S and N are decoded inline by the callers, and inside M and L here
        for tag, v in av.items():
            if tag == "M":
                # a loop, not a dict comprehension: no extra frame per map (~10% of a nested item's decode)
                out: dict[str, Any] = {}
                for k, x in v.items():
                    if "S" in x:
                        out[k] = x["S"]
                    elif "N" in x:
                        out[k] = conv(x["N"])
                    else:
                        out[k] = value(x)
                return out
            if tag == "L":
                return [x["S"] if "S" in x else conv(x["N"]) if "N" in x else value(x) for x in v]
            if tag == "S":
                return v
            if tag == "N":
                return conv(v)
            if tag == "BOOL":
                return v
            if tag == "NULL":
                return None
            if tag == "SS":
                return set(v)
            if tag == "NS":
                return {conv(x) for x in v}
            if tag == "B":
                return _bin(v)
            if tag == "BS":
                return {_bin(x) for x in v}
            raise CodecError(f"unknown AttributeValue type {tag!r}", "", "wire.type")
        raise CodecError("empty AttributeValue", "", "wire.type")

    def item(wire: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, av in wire.items():
            if "S" in av:
                out[k] = av["S"]
            elif "N" in av:
                out[k] = conv(av["N"])
            else:
                out[k] = value(av)
        return out

    return value, item


_DECODE = {mode: _decoders(conv) for mode, conv in _NUMBER.items()}


def unmarshal(av: Mapping[str, Any], number: NumberMode = NumberMode.AUTO) -> Any:
    """One AttributeValue as Python (see :class:`NumberMode` for numbers; B -> bytes)."""
    return _DECODE[number][0](av)


def unmarshal_item(item: Mapping[str, Mapping[str, Any]], number: NumberMode = NumberMode.AUTO) -> dict[str, Any]:
    """A wire item as a plain dict, in one pass (nested values decoded as they are met).

    With the C extension (:func:`speedups_active`) the walk is done in C (stream images, batch gets,
    botocore's replies; bench_streams' nested line went 0.343 -> 0.174 of Powertools' CPU per record), which
    returns exactly the pure decoder's result or declines to it (tests/core/test_speedups.py)."""
    sp = _SPEEDUPS
    if sp is not None:
        found = sp.unmarshal_item(item, _MODE[number], _NUMBER[number], Decimal, _DECODE[number][0])
        if found is not None:
            return cast(dict[str, Any], found)
    return _DECODE[number][1](item)


def unmarshal_items(items: Iterable[Mapping[str, Mapping[str, Any]]],
                    number: NumberMode = NumberMode.AUTO) -> list[dict[str, Any]]:
    """A page of wire items (a Query/Scan reply's ``Items``) as plain dicts, with Python's cyclic garbage
    collector paused for the decode.

    Why: decoding a 1 MB page of nested items creates tens of thousands of tracked containers, which
    triggers collections that traverse them (and, for the older generations, every other live object of
    the process; issue 26 found the collector at 35-59% of nested bulk CPU). The decoded values hold no
    reference cycles, so a collection during the decode can free nothing; the next one after it runs as
    usual. ``bench.profile_misses decode`` measured 0-19% off the decode of a nested page. The collector is left off if
    the caller had turned it off, and turned back on when the decode raises."""
    decode = _DECODE[number][1]
    sp = _SPEEDUPS
    with paused():
        if sp is None:
            return [decode(i) for i in items]
        fast, mode, conv, value = sp.unmarshal_item, _MODE[number], _NUMBER[number], _DECODE[number][0]
        out = []
        for i in items:
            found = fast(i, mode, conv, Decimal, value)
            out.append(found if found is not None else decode(i))
        return out


# --------------------------------------------------------------------------------------------------
# A page's wire JSON straight to Python values (the optional C extension)
# --------------------------------------------------------------------------------------------------


def _load_speedups() -> Any:
    """``ddbkit.core._speedups`` when it was built (setup.py, optional) and not switched off with
    ``DDBKIT_NO_SPEEDUPS=1``; else None, and every page goes the pure way."""
    if os.environ.get("DDBKIT_NO_SPEEDUPS", "") not in ("", "0"):
        return None
    import importlib

    try:
        module = importlib.import_module("ddbkit.core._speedups")
    except ImportError:
        return None
    # a build of another version (an in-place build older than this codec) is ignored, not half used
    return module if getattr(module, "API", None) == _SPEEDUPS_API else None


_SPEEDUPS_API = 2  # the C extension's API constant this codec was written for
_SPEEDUPS = _load_speedups()
_MODE = {NumberMode.AUTO: 0, NumberMode.DECIMAL: 1, NumberMode.FLOAT: 2}


def speedups_active() -> bool:
    """Whether Query/Scan pages on the fast transports are decoded by the C extension (see :func:`decode_page`)."""
    return _SPEEDUPS is not None


class PageRequest(dict[str, Any]):
    """A Query/Scan/GetItem request that lets the transport decode the reply's items itself, as ``number`` says.

    The engine sends one only to a transport that declares ``decodes_pages`` (the fast ones); to JSON and to
    botocore it is the plain request dict it holds."""

    __slots__ = ("number",)

    def __init__(self, request: Mapping[str, Any], number: NumberMode) -> None:
        super().__init__(request)
        self.number = number


class DecodedItems(list[dict[str, Any]]):
    """A page's ``Items`` already decoded into plain dicts by the transport (:func:`decode_page`); the engine
    takes them as they are instead of unmarshalling wire items."""

    __slots__ = ()


class DecodedItem(dict[str, Any]):
    """A GetItem reply's ``Item`` already decoded into a plain dict by the transport (:func:`decode_page`)."""

    __slots__ = ()


#: The reply member each operation's items come in, and whether it holds one item.
DECODED_MEMBERS: dict[str, tuple[bytes, bool]] = {"Query": (b"Items", False), "Scan": (b"Items", False),
                                                   "GetItem": (b"Item", True)}


def decode_page(body: bytes, number: NumberMode, operation: str = "Query") -> dict[str, Any] | None:
    """A Query/Scan reply (its JSON bytes) as the reply dict with ``Items`` as :class:`DecodedItems` (a GetItem
    reply: ``Item`` as :class:`DecodedItem`), or None.

    Why: the pure way, ``orjson.loads`` then :func:`unmarshal_items`, builds one dict per AttributeValue only
    to throw it away; parsing alone cost more than the decode (2.6 of ~4 us per small item). The C extension
    reads the ``Items`` array once into the final values (Query per item 7.00 -> 0.86 µs, small item,
    docs/performance.md),
    and orjson parses the small rest. None when the extension is absent or not sure of the input (anything
    DynamoDB does not send: the caller then runs the pure path, which gives the result or the error); when
    not None the result equals the pure path's (tests/core/test_speedups.py). The collector is paused for a
    page's decode (:func:`~ddbkit.core.gcpause.paused_for`), as in :func:`unmarshal_items`."""
    sp = _SPEEDUPS
    if sp is None or operation not in DECODED_MEMBERS:
        return None
    member, single = DECODED_MEMBERS[operation]
    args = (body, member, single, _MODE[number], _NUMBER[number], Decimal, _DECODE[number][0])
    with paused_for(body):
        found = sp.decode_page(*args)
    if found is None:
        return None
    import orjson

    start, end, items = found
    try:
        rest = orjson.loads(body[:start] + b"0" + body[end:])
    except orjson.JSONDecodeError:
        return None
    name = member.decode()
    if type(rest) is not dict or rest.get(name) != 0 or type(rest[name]) is not int:
        return None
    rest[name] = DecodedItem(items) if single else DecodedItems(items)
    return rest


# --------------------------------------------------------------------------------------------------
# Size and key rules
# --------------------------------------------------------------------------------------------------


def _str_bytes(s: str) -> int:
    return len(s) if s.isascii() else len(s.encode("utf-8"))


def _num_bytes(s: str) -> int:
    """DynamoDB's number size, exactly (probed at the 400 KB boundary on DynamoDB Local): numbers are stored
    in base 100, so the size is the count of base-100 digits the significant digits span (pairs aligned on
    even powers of ten: ``1.5`` is 1|50, 2 digits; ``15`` is one) + 1 exponent byte + 1 terminator for a
    negative number of fewer than 20 base-100 digits; zero is 1 byte. ``1E+30`` is 2 bytes, ``-15`` 3,
    ``-1.5E-100`` 4, 38 digits 20 or 21 (at most 21)."""
    e = s.find("E")
    if e < 0:
        e = s.find("e")
    exp = 0
    mantissa = s
    if e >= 0:
        mantissa, exp = s[:e], int(s[e + 1:])
    negative = mantissa.startswith("-")
    mantissa = mantissa.lstrip("+-")
    point = mantissa.find(".")
    if point >= 0:
        exp -= len(mantissa) - point - 1
        mantissa = mantissa[:point] + mantissa[point + 1:]
    digits = mantissa.lstrip("0")
    stripped = digits.rstrip("0")
    if not stripped:
        return 1
    low = exp + len(digits) - len(stripped)  # power of ten of the last significant digit
    high = exp + len(digits) - 1  # ... and of the first
    mantissa_bytes = high // 2 - low // 2 + 1
    return mantissa_bytes + 1 + (negative and mantissa_bytes < 20)


def _value_size(av: Mapping[str, Any]) -> int:
    for tag, v in av.items():
        if tag == "S":
            return _str_bytes(v)
        if tag == "N":
            return _num_bytes(v)
        if tag == "B":
            return len(v) if type(v) is bytes else (len(v) * 3) // 4
        if tag in ("BOOL", "NULL"):
            return 1
        if tag == "M":
            return 3 + sum(_str_bytes(k) + _value_size(x) + 1 for k, x in v.items())
        if tag == "L":
            return 3 + sum(_value_size(x) + 1 for x in v)
        if tag == "SS":
            return sum(_str_bytes(x) for x in v)
        if tag == "NS":
            return sum(_num_bytes(x) for x in v)
        if tag == "BS":
            return sum(len(x) for x in v)
    return 0


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """Bytes an item counts for under DynamoDB's size rules (names + values, UTF-8)."""
    return sum(_str_bytes(k) + _value_size(v) for k, v in item.items())


def check_key(key: Mapping[str, Mapping[str, Any]], key_names: Sequence[str], path: str = "",
              key_types: Mapping[str, str] | None = None) -> None:
    """Check that ``key`` has exactly the key attributes, of key types, non-empty and within size."""
    for i, name in enumerate(key_names):
        av = key.get(name)
        where = f"{path}.{name}" if path else name
        if av is None:
            raise CodecError(f"key attribute {name!r} is missing", where, "key.missing")
        tag = next(iter(av))
        if tag not in ("S", "N", "B"):
            raise CodecError(f"key attribute must be a string, number or bytes, got {tag}", where, "key.type")
        want = key_types.get(name) if key_types else None
        if want and want != tag:
            raise CodecError(f"key attribute is defined as {want} but the value is {tag}", where, "key.type")
        if tag != "N":
            size = _value_size(av)
            if size == 0:
                raise CodecError("key attributes cannot be empty strings or empty bytes", where, "key.empty")
            limit = MAX_HASH_KEY_BYTES if i == 0 else MAX_RANGE_KEY_BYTES
            if size > limit:
                raise CodecError(f"{'partition' if i == 0 else 'sort'} key is {size} bytes; at most {limit}",
                                 where, "key.size")


def _b64(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(type(value).__name__)


_ORJSON: Any = None


def _json_size_bound(item: Mapping[str, Mapping[str, Any]]) -> int:
    body = _json_bytes(item)
    return len(body) if body is not None else item_size(item)


def _json_bytes(item: Mapping[str, Mapping[str, Any]]) -> bytes | None:
    """The wire item's JSON (its length bounds DynamoDB's size from above), None if orjson cannot write it."""
    try:
        return _dumps(item)
    except TypeError:  # pragma: no cover - a value orjson cannot write: the exact walk decides
        return None


def check_item(item: Mapping[str, Mapping[str, Any]], key_names: Sequence[str] = (), path: str = "",
               key_types: Mapping[str, str] | None = None) -> int:
    """Check an item's keys and its 400 KB limit; return its size in bytes, or an upper bound of it
    (the wire JSON length) when that is already within the limit."""
    if key_names:
        check_key(item, key_names, path, key_types)
    # The wire JSON's length bounds DynamoDB's size from above (names, UTF-8 text, number text, base64
    # of binary all count at least as much there): one C call instead of a walk, which runs only when
    # the bound is over the limit.
    size = _json_size_bound(item)
    if size > MAX_ITEM_BYTES:
        size = item_size(item)
    if size > MAX_ITEM_BYTES:
        raise CodecError(f"item is {size} bytes; DynamoDB allows at most {MAX_ITEM_BYTES} (400 KB)",
                         path or "item", "item.size")
    return size


# --------------------------------------------------------------------------------------------------
# The batch hot path: marshal, check and size an item in one walk, building no path strings
# --------------------------------------------------------------------------------------------------


def marshal_put(item: Mapping[str, Any], key_names: Sequence[str], key_types: Mapping[str, str] | None = None,
                where: Callable[[], str] = lambda: "item") -> dict[str, AV]:
    """``check_item(marshal_item(item))`` for the batch hot path: one Python walk that marshals and checks
    values without building any path string, the key attributes checked on the result, and the 400 KB
    rule from a C-speed upper bound (exact walk only near the limit). ``where()`` names the item in an
    error; it is called only when one is raised (then the path-naming walk re-runs to say where)."""
    return _marshal_put(item, key_names, key_types, where)[0]


def encode_put(item: Mapping[str, Any], key_names: Sequence[str], key_types: Mapping[str, str] | None = None,
               where: Callable[[], str] = lambda: "item") -> tuple[bytes, dict[str, AV]]:
    """:func:`marshal_put`, and the item's ``PutRequest`` as the JSON bytes DynamoDB receives (B values
    base64), from the same ``orjson.dumps`` the size check makes. The batch pipeline of the fast
    transports keeps these bytes, not the ~30 dicts of a nested item's wire form, while a chunk is in
    flight: with 16 chunks in flight every wire dict outlived two young collections and was promoted, and
    the full collections that followed were most of a nested bulk write's CPU (issue #26)."""
    wire, body = _marshal_put(item, key_names, key_types, where)
    if body is None:
        body = _dumps(wire)
    return b'{"PutRequest":{"Item":' + body + b"}}", wire


def encode_key(key: Mapping[str, Any], key_names: Sequence[str], key_types: Mapping[str, str] | None = None,
               where: Callable[[], str] = lambda: "key") -> tuple[bytes, dict[str, AV]]:
    """:func:`marshal_key`, and the key's ``DeleteRequest`` as JSON bytes (see :func:`encode_put`)."""
    wire = marshal_key(key, key_names, key_types, where)
    return b'{"DeleteRequest":{"Key":' + _dumps(wire) + b"}}", wire


def _dumps(wire: Mapping[str, Any]) -> bytes:
    """``wire`` as JSON with B values base64 (raises TypeError for a value orjson cannot write)."""
    global _ORJSON
    if _ORJSON is None:  # imported on first use, once (not per item on the batch hot path)
        import orjson

        _ORJSON = orjson
    return bytes(_ORJSON.dumps(wire, default=_b64))


def _marshal_put(item: Mapping[str, Any], key_names: Sequence[str], key_types: Mapping[str, str] | None,
                 where: Callable[[], str]) -> tuple[dict[str, AV], bytes | None]:
    """The wire item, and its JSON when the size bound computed it (None on the slow, path-naming route)."""
    if type(item) is not dict:
        wire = marshal_item(item, where())
        check_item(wire, key_names, where(), key_types)
        return wire, None
    out: dict[str, AV] = {}
    lim, _str, _int, _bool = _INT_FAST, str, int, bool  # locals: faster than global lookups in the loop
    try:
        if "" in item:
            raise CodecError("attribute names must not be empty", "", "item.key")
        for k, v in item.items():
            if type(k) is not _str:
                raise CodecError("attribute names must be strings", "", "item.key")
            t = type(v)
            if t is _str:
                out[k] = {"S": v}
            elif t is _int and -lim < v < lim:
                out[k] = {"N": _str(v)}
            elif t is _bool:
                out[k] = {"BOOL": v}
            else:
                out[k] = _plain(v, 1)
        for name in key_names:
            av = out.get(name)
            key_text = av.get("S") if av is not None else None
            if (not key_text or len(key_text) * 4 > MAX_RANGE_KEY_BYTES
                    or (key_types and key_types.get(name, "S") != "S")):
                check_key(out, key_names, "", key_types)  # N/B/long keys, and every error
                break
        # Size: the wire JSON's length (one C call, ~0.7 us) bounds DynamoDB's size from above; summing
        # sizes in the Python walk measured ~1.5 us per item more. The exact walk runs only near 400 KB.
        body = _json_bytes(out)
        if (len(body) if body is not None else item_size(out)) > MAX_ITEM_BYTES and item_size(out) > MAX_ITEM_BYTES:
            raise CodecError("item too large", "", "item.size")
    except CodecError:
        # the path-naming walk raises the error users see; it is the authority if it accepts
        wire = marshal_item(item, where())
        check_item(wire, key_names, where(), key_types)
        return wire, None
    return out, body


def marshal_key(key: Mapping[str, Any], key_names: Sequence[str], key_types: Mapping[str, str] | None = None,
                where: Callable[[], str] = lambda: "key") -> dict[str, AV]:
    """A key's wire form with the key rules checked (exactly the key attributes), for batch deletes/gets."""
    if type(key) is dict and len(key) == len(key_names):
        out: dict[str, AV] = {}
        for name in key_names:
            v = key.get(name)
            t = type(v)
            if t is str and v:
                if len(v) * 4 > MAX_RANGE_KEY_BYTES:
                    break
                if key_types and key_types.get(name, "S") != "S":
                    break
                out[name] = {"S": v}
            elif t is int and -_INT_FAST < v < _INT_FAST:  # type: ignore[operator]  # hot path: `t is int` already proved the type
                if key_types and key_types.get(name, "N") != "N":
                    break
                out[name] = {"N": str(v)}
            else:
                break
        else:
            return out
    # anything unusual: the general, path-naming route
    if not isinstance(key, Mapping):
        raise CodecError(f"a key is a mapping of {list(key_names)}, got {type(key).__name__}", where(), "key.type")
    extra = [k for k in key if k not in key_names]
    if extra:
        raise CodecError(f"{extra} are not key attributes; the key is {list(key_names)}", where(), "key.extra")
    wire = marshal_item(key, where())
    check_key(wire, key_names, where(), key_types)
    return wire
