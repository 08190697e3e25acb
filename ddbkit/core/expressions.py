"""Expression builders with automatic ``#name`` / ``:value`` placeholders.

Every attribute name in a built expression becomes a placeholder, so reserved words (``status``,
``name``, ``count``... all 573), dotted paths (``address.city``) and list indexes (``tags[0]``) just work::

    Key("userId").eq(uid) & Key("createdAt").gt(since)          # key condition
    (Attr("status") == "ACTIVE") & Attr("expiresAt").gt(now)     # filter / condition
    Update().set("visits", Attr("visits") + 1).remove("tmp")     # update
    Update().set("n", if_not_exists("n", 0)).add("tags", {"a"})

A path string is split at dots and ``[n]``; an attribute whose *name* contains a dot is written
``Attr(Name("a.b"))``. Hand-written expression strings are still accepted (``names``/``values``
dicts), and a bare reserved word in them is reported before sending.

Compilation is pure: :class:`Compiler` collects placeholders and marshals values; the Table client
merges the result into the request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ddbkit.core.codec import marshal
from ddbkit.errors import ExpressionError
from ddbkit.core.reserved_words import RESERVED_WORDS

__all__ = [
    "Name",
    "Path",
    "Attr",
    "Key",
    "Condition",
    "KeyCondition",
    "Update",
    "Compiler",
    "if_not_exists",
    "list_append",
    "size",
    "check_expression",
    "MAX_EXPRESSION_BYTES",
]

MAX_EXPRESSION_BYTES = 4096
_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class Name:
    """One attribute name taken literally (no splitting at dots or brackets)."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Name({self.value!r})"


_PATHS_MAX = 4096


class Path:
    """A document path: names and list indexes, e.g. ``("address", "lines", 0)``. Treat as immutable: parsed
    string paths are shared (:meth:`of` caches them)."""

    __slots__ = ("parts",)

    def __init__(self, parts: tuple[str | int, ...]) -> None:
        self.parts = parts

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Path) and other.parts == self.parts

    def __hash__(self) -> int:
        return hash(self.parts)

    def __repr__(self) -> str:
        return f"Path({self.parts!r})"

    @classmethod
    def of(cls, path: str | Name | Path | Sequence[str | int]) -> Path:
        if isinstance(path, Path):
            return path
        if isinstance(path, Name):
            if not path.value:
                raise ExpressionError("attribute names must not be empty", "", "expression.path")
            return cls((path.value,))
        if isinstance(path, str):
            found = _PATHS.get(path)
            if found is not None:  # the same few paths on every call of a service: parsed once
                return found
            if not path:
                raise ExpressionError("attribute paths must not be empty", "", "expression.path")
            parts: list[str | int] = []
            pos = 0
            for m in _SEGMENT.finditer(path):
                if m.start() != pos and path[pos:m.start()] != ".":
                    raise ExpressionError(f"cannot parse attribute path {path!r}", path, "expression.path")
                parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
                pos = m.end()
            if pos != len(path) or not parts or isinstance(parts[0], int):
                raise ExpressionError(f"cannot parse attribute path {path!r}", path, "expression.path")
            parsed = cls(tuple(parts))
            if len(_PATHS) < _PATHS_MAX:  # bounded: paths built from data must not grow it without end
                _PATHS[path] = parsed
            return parsed
        return cls(tuple(path))

    def __str__(self) -> str:
        out = ""
        for p in self.parts:
            out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
        return out


PathLike = str | Name | Path | Sequence[str | int]

#: ``Path.of``'s parsed string paths (a dict read is ~20x cheaper than the regex walk, on every update call)
_PATHS: dict[str, Path] = {}


class Compiler:
    """Collects ``#n`` name and ``:v`` value placeholders for one request (shared by its expressions)."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, dict[str, Any]] = {}
        self._name_ids: dict[str, str] = {}

    def name(self, name: str) -> str:
        ph = self._name_ids.get(name)
        if ph is None:
            ph = f"#n{len(self._name_ids)}"
            self._name_ids[name] = ph
            self.names[ph] = name
        return ph

    def path(self, path: Path) -> str:
        out = ""
        for p in path.parts:
            if isinstance(p, int):
                out += f"[{p}]"
            else:
                ph = self.name(p)
                out += f".{ph}" if out else ph
        return out

    def value(self, value: Any, where: str = "") -> str:
        ph = f":v{len(self.values)}"
        self.values[ph] = marshal(value, where or ph)
        return ph

    def operand(self, value: Any, where: str = "") -> str:
        if isinstance(value, Operand):
            return value._compile(self)
        return self.value(value, where)

    def add_user(self, names: Mapping[str, str] | None, values: Mapping[str, Any] | None) -> None:
        """Merge hand-written placeholders (values are plain Python, marshalled here)."""
        for k, v in (names or {}).items():
            if not k.startswith("#"):
                raise ExpressionError(f"name placeholder {k!r} must start with '#'", k, "expression.placeholder")
            if k in self.names and self.names[k] != v:
                raise ExpressionError(f"name placeholder {k!r} is used for two names", k, "expression.placeholder")
            self.names[k] = v
        for k, v in (values or {}).items():
            if not k.startswith(":"):
                raise ExpressionError(f"value placeholder {k!r} must start with ':'", k, "expression.placeholder")
            self.values[k] = marshal(v, k)

    def apply(self, request: dict[str, Any]) -> dict[str, Any]:
        """Put the collected placeholders into ``request`` (only when there are any)."""
        if self.names:
            request["ExpressionAttributeNames"] = self.names
        if self.values:
            request["ExpressionAttributeValues"] = self.values
        return request


# --------------------------------------------------------------------------------------------------
# Operands
# --------------------------------------------------------------------------------------------------


class Operand:
    __slots__ = ()

    def _compile(self, c: Compiler) -> str:
        raise NotImplementedError

    # arithmetic for SET
    def __add__(self, other: Any) -> _Arith:
        return _Arith(self, "+", other)

    def __sub__(self, other: Any) -> _Arith:
        return _Arith(self, "-", other)


class _Arith(Operand):
    __slots__ = ("left", "op", "right")

    def __init__(self, left: Any, op: str, right: Any) -> None:
        self.left, self.op, self.right = left, op, right

    def _compile(self, c: Compiler) -> str:
        return f"{c.operand(self.left)} {self.op} {c.operand(self.right)}"


class _Func(Operand):
    __slots__ = ("name", "args")

    def __init__(self, name: str, args: tuple[Any, ...]) -> None:
        self.name, self.args = name, args

    def _compile(self, c: Compiler) -> str:
        return f"{self.name}({', '.join(c.operand(a) for a in self.args)})"


# One rule for function arguments: where DynamoDB takes only a path (the first argument of if_not_exists,
# size, attribute_exists...) or a path or a list (either operand of list_append), a ``str`` (or Name/Path)
# is an attribute path; everywhere else (SET values, if_not_exists' default, comparison and arithmetic
# right-hand sides) a ``str`` is a value. ``Attr(...)`` is a path anywhere. A list/tuple where only a path
# fits is refused (it could be path segments or a list value): wrap segments in ``Attr``/``Path``.


def _path_arg(func: str, pos: int, arg: Any) -> Attr:
    if isinstance(arg, Attr):
        return arg
    if isinstance(arg, (str, Name, Path)):
        return Attr(arg)
    raise ExpressionError(f"takes an attribute path (a str, Name, Path or Attr), got a {type(arg).__name__}",
                          f"{func}(argument {pos})", "expression.function")


def _list_arg(pos: int, arg: Any) -> Any:
    if isinstance(arg, Operand):  # Attr, or a nested if_not_exists/list_append
        return arg
    if isinstance(arg, (str, Name, Path)):
        return Attr(arg)
    if isinstance(arg, (list, tuple)):
        return list(arg)
    raise ExpressionError(f"takes a list or an attribute path (a str, Name, Path or Attr), got a "
                          f"{type(arg).__name__}", f"list_append(argument {pos})", "expression.function")


def if_not_exists(path: PathLike | Attr, default: Any) -> Operand:
    """``if_not_exists(path, default)`` for SET: keep the current value, else use ``default``.

    ``path`` is an attribute path (str, :class:`Name`, :class:`Path` or :class:`Attr`); ``default`` is a
    value, a ``str`` included (``Attr("other")`` to default to another attribute)."""
    return _Func("if_not_exists", (_path_arg("if_not_exists", 1, path), default))


def list_append(first: Any, second: Any) -> Operand:
    """``list_append(a, b)`` for SET. Each side is a list value (list or tuple) or an attribute path: a
    ``str`` is a path (``list_append("lst", [5])`` appends 5 to ``lst``; ``list_append([0], "lst")``
    prepends), as are :class:`Name`, :class:`Path`, :class:`Attr` and nested ``if_not_exists(...)``."""
    return _Func("list_append", (_list_arg(1, first), _list_arg(2, second)))


def size(path: PathLike) -> Attr:
    """``size(path)`` as an operand of comparisons (``size("tags") > 3``); ``path`` is an attribute path."""
    return _SizeAttr(_path_arg("size", 1, path).path)


class Attr(Operand):
    """An attribute path in a condition, filter or update (``Attr("status") == "ACTIVE"``)."""

    __slots__ = ("path",)

    def __init__(self, path: PathLike) -> None:
        self.path = Path.of(path)

    def __repr__(self) -> str:
        return f"Attr({str(self.path)!r})"

    def _compile(self, c: Compiler) -> str:
        return c.path(self.path)

    def _cmp(self, op: str, value: Any) -> Condition:
        return _Compare(self, op, value)

    def __eq__(self, value: Any) -> Condition:  # type: ignore[override]  # Attr == value builds a Condition (as boto3's conditions and SQLAlchemy do)
        return self._cmp("=", value)

    def __ne__(self, value: Any) -> Condition:  # type: ignore[override]  # Attr == value builds a Condition (as boto3's conditions and SQLAlchemy do)
        return self._cmp("<>", value)

    def __lt__(self, value: Any) -> Condition:
        return self._cmp("<", value)

    def __le__(self, value: Any) -> Condition:
        return self._cmp("<=", value)

    def __gt__(self, value: Any) -> Condition:
        return self._cmp(">", value)

    def __ge__(self, value: Any) -> Condition:
        return self._cmp(">=", value)

    __hash__ = None  # type: ignore[assignment]  # Attr == value builds a Condition (as boto3's conditions and SQLAlchemy do)

    def eq(self, value: Any) -> Condition:
        return self._cmp("=", value)

    def ne(self, value: Any) -> Condition:
        return self._cmp("<>", value)

    def lt(self, value: Any) -> Condition:
        return self._cmp("<", value)

    def lte(self, value: Any) -> Condition:
        return self._cmp("<=", value)

    def gt(self, value: Any) -> Condition:
        return self._cmp(">", value)

    def gte(self, value: Any) -> Condition:
        return self._cmp(">=", value)

    def between(self, low: Any, high: Any) -> Condition:
        return _Between(self, low, high)

    def begins_with(self, prefix: Any) -> Condition:
        return _FuncCond("begins_with", (self, prefix))

    def contains(self, value: Any) -> Condition:
        return _FuncCond("contains", (self, value))

    def exists(self) -> Condition:
        return _FuncCond("attribute_exists", (self,))

    def not_exists(self) -> Condition:
        return _FuncCond("attribute_not_exists", (self,))

    def attribute_type(self, type_code: str) -> Condition:
        return _FuncCond("attribute_type", (self, type_code))

    def is_in(self, values: Iterable[Any]) -> Condition:
        vals = list(values)
        if not 1 <= len(vals) <= 100:
            raise ExpressionError(f"IN takes 1-100 values, got {len(vals)}", str(self.path), "expression.in")
        return _In(self, tuple(vals))

    def size(self) -> Attr:
        return _SizeAttr(self.path)


class _SizeAttr(Attr):
    def _compile(self, c: Compiler) -> str:
        return f"size({c.path(self.path)})"


# --------------------------------------------------------------------------------------------------
# Conditions
# --------------------------------------------------------------------------------------------------


class Condition:
    """A boolean expression; combine with ``&``, ``|`` and ``~``."""

    __slots__ = ()

    def compile(self, c: Compiler) -> str:
        raise NotImplementedError

    def __and__(self, other: Condition) -> Condition:
        return _Bool("AND", self, other)

    def __or__(self, other: Condition) -> Condition:
        return _Bool("OR", self, other)

    def __invert__(self) -> Condition:
        return _Not(self)

    def __bool__(self) -> bool:
        raise TypeError("use & | ~ to combine conditions, not and/or/not")


class _Compare(Condition):
    __slots__ = ("left", "op", "right")

    def __init__(self, left: Attr, op: str, right: Any) -> None:
        self.left, self.op, self.right = left, op, right

    def compile(self, c: Compiler) -> str:
        return f"{self.left._compile(c)} {self.op} {c.operand(self.right, str(self.left.path))}"


class _Between(Condition):
    __slots__ = ("attr", "low", "high")

    def __init__(self, attr: Attr, low: Any, high: Any) -> None:
        self.attr, self.low, self.high = attr, low, high

    def compile(self, c: Compiler) -> str:
        where = str(self.attr.path)
        return f"{self.attr._compile(c)} BETWEEN {c.operand(self.low, where)} AND {c.operand(self.high, where)}"


class _FuncCond(Condition):
    __slots__ = ("name", "args")

    def __init__(self, name: str, args: tuple[Any, ...]) -> None:
        self.name, self.args = name, args

    def compile(self, c: Compiler) -> str:
        return f"{self.name}({', '.join(c.operand(a) for a in self.args)})"


class _In(Condition):
    __slots__ = ("attr", "values")

    def __init__(self, attr: Attr, values: tuple[Any, ...]) -> None:
        self.attr, self.values = attr, values

    def compile(self, c: Compiler) -> str:
        where = str(self.attr.path)
        return f"{self.attr._compile(c)} IN ({', '.join(c.operand(v, where) for v in self.values)})"


class _Bool(Condition):
    __slots__ = ("op", "left", "right")

    def __init__(self, op: str, left: Condition, right: Condition) -> None:
        self.op, self.left, self.right = op, left, right

    def compile(self, c: Compiler) -> str:
        return f"({self.left.compile(c)} {self.op} {self.right.compile(c)})"


class _Not(Condition):
    __slots__ = ("inner",)

    def __init__(self, inner: Condition) -> None:
        self.inner = inner

    def compile(self, c: Compiler) -> str:
        return f"(NOT {self.inner.compile(c)})"


# --------------------------------------------------------------------------------------------------
# Key conditions
# --------------------------------------------------------------------------------------------------


class KeyCondition:
    """A Query key condition: partition key equality and an optional sort key condition."""

    __slots__ = ("parts",)

    def __init__(self, parts: list[tuple[str, str, tuple[Any, ...]]] | None = None) -> None:
        self.parts = parts or []

    def __and__(self, other: KeyCondition) -> KeyCondition:
        return KeyCondition(self.parts + other.parts)

    def compile(self, c: Compiler) -> str:
        if not 1 <= len(self.parts) <= 2:
            raise ExpressionError("a key condition is the partition key's equality and at most one sort key "
                                  "condition", "", "expression.key")
        out = []
        for name, op, args in self.parts:
            ph = c.name(name)
            vals = [c.value(a, name) for a in args]
            if op == "BETWEEN":
                out.append(f"{ph} BETWEEN {vals[0]} AND {vals[1]}")
            elif op == "begins_with":
                out.append(f"begins_with({ph}, {vals[0]})")
            else:
                out.append(f"{ph} {op} {vals[0]}")
        return " AND ".join(out)

    def equality(self) -> dict[str, Any]:
        """``{name: value}`` of the equality parts (the partition key), for cursor checks."""
        return {name: args[0] for name, op, args in self.parts if op == "="}


class Key:
    """A key attribute in a Query key condition (``Key("userId").eq(u) & Key("ts").gt(t)``)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def _part(self, op: str, *args: Any) -> KeyCondition:
        return KeyCondition([(self.name, op, args)])

    def eq(self, value: Any) -> KeyCondition:
        return self._part("=", value)

    def lt(self, value: Any) -> KeyCondition:
        return self._part("<", value)

    def lte(self, value: Any) -> KeyCondition:
        return self._part("<=", value)

    def gt(self, value: Any) -> KeyCondition:
        return self._part(">", value)

    def gte(self, value: Any) -> KeyCondition:
        return self._part(">=", value)

    def between(self, low: Any, high: Any) -> KeyCondition:
        return self._part("BETWEEN", low, high)

    def begins_with(self, prefix: Any) -> KeyCondition:
        return self._part("begins_with", prefix)


# --------------------------------------------------------------------------------------------------
# Updates
# --------------------------------------------------------------------------------------------------


class Update:
    """An UpdateExpression built clause by clause (SET, REMOVE, ADD, DELETE); methods chain."""

    def __init__(self) -> None:
        self._set: list[tuple[Path, Any]] = []
        self._remove: list[Path] = []
        self._add: list[tuple[Path, Any]] = []
        self._delete: list[tuple[Path, Any]] = []

    @classmethod
    def from_dicts(cls, set: Mapping[str, Any] | None = None, remove: Iterable[str] | None = None,
                   add: Mapping[str, Any] | None = None, delete: Mapping[str, Any] | None = None) -> Update:
        u = cls()
        for k, v in (set or {}).items():
            u.set(k, v)
        for k in remove or ():
            u.remove(k)
        for k, v in (add or {}).items():
            u.add(k, v)
        for k, v in (delete or {}).items():
            u.delete(k, v)
        return u

    def set(self, path: PathLike, value: Any) -> Update:
        """``SET path = value``; ``value`` may be ``Attr(...) + 1``, ``if_not_exists``, ``list_append``."""
        self._set.append((Path.of(path), value))
        return self

    def remove(self, *paths: PathLike) -> Update:
        self._remove.extend(Path.of(p) for p in paths)
        return self

    def add(self, path: PathLike, value: Any) -> Update:
        """``ADD``: increment a number or add elements to a set."""
        self._add.append((Path.of(path), value))
        return self

    def delete(self, path: PathLike, value: Any) -> Update:
        """``DELETE``: remove elements from a set."""
        self._delete.append((Path.of(path), value))
        return self

    def __bool__(self) -> bool:
        return bool(self._set or self._remove or self._add or self._delete)

    def paths(self) -> list[Path]:
        return [p for p, _ in self._set] + self._remove + [p for p, _ in self._add] + [p for p, _ in self._delete]

    def compile(self, c: Compiler) -> str:
        if not self:
            raise ExpressionError("an update needs at least one SET, REMOVE, ADD or DELETE", "", "expression.update")
        clauses = []
        if self._set:
            clauses.append("SET " + ", ".join(f"{c.path(p)} = {c.operand(v, str(p))}" for p, v in self._set))
        if self._remove:
            clauses.append("REMOVE " + ", ".join(c.path(p) for p in self._remove))
        if self._add:
            clauses.append("ADD " + ", ".join(f"{c.path(p)} {c.value(v, str(p))}" for p, v in self._add))
        if self._delete:
            clauses.append("DELETE " + ", ".join(f"{c.path(p)} {c.value(v, str(p))}" for p, v in self._delete))
        # Compare paths as tuples of segments, not rendered strings: Name("a.b") is one attribute whose
        # name has a dot, and does not overlap "a" (DynamoDB accepts SET #n0 = :v0 REMOVE #n1).
        seen: list[Path] = []
        for p in self.paths():
            for other in seen:
                n = min(len(p.parts), len(other.parts))
                if p.parts[:n] == other.parts[:n]:
                    raise ExpressionError(f"paths {str(other)!r} and {str(p)!r} overlap in one update; DynamoDB "
                                          "rejects that", str(p), "expression.overlap")
            seen.append(p)
        return " ".join(clauses)


def projection(paths: Iterable[PathLike], c: Compiler) -> str:
    """A ProjectionExpression for ``paths``."""
    out = [c.path(Path.of(p)) for p in paths]
    if not out:
        raise ExpressionError("a projection needs at least one attribute", "", "expression.projection")
    return ", ".join(out)


# --------------------------------------------------------------------------------------------------
# Hand-written expressions
# --------------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"[#:]?[A-Za-z_][A-Za-z0-9_]*")
_KEYWORDS = frozenset({"AND", "OR", "NOT", "BETWEEN", "IN", "SET", "REMOVE", "ADD", "DELETE"})
_FUNCTIONS = frozenset({"attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains",
                        "size", "if_not_exists", "list_append"})


def check_expression(expr: str, what: str, names: Mapping[str, str] | None = None,
                     values: Mapping[str, Any] | None = None) -> None:
    """Check a hand-written expression before sending: length, reserved words, placeholders defined.

    DynamoDB rejects unused placeholders too (moto does not), so those are reported here as well by the
    Table client once all expressions of a request are known (see :func:`check_placeholders`).
    """
    if len(expr.encode("utf-8")) > MAX_EXPRESSION_BYTES:
        raise ExpressionError(f"expression is {len(expr.encode())} bytes; DynamoDB allows {MAX_EXPRESSION_BYTES}",
                              what, "expression.length")
    stripped = re.sub(r"'[^']*'", "", expr)
    for m in _TOKEN.finditer(stripped):
        tok = m.group(0)
        if tok[0] == "#":
            if names is not None and tok not in names:
                raise ExpressionError(f"{tok} is not defined in names", what, "expression.placeholder")
        elif tok[0] == ":":
            if values is not None and tok not in values:
                raise ExpressionError(f"{tok} is not defined in values", what, "expression.placeholder")
        elif tok.upper() in _KEYWORDS or tok in _FUNCTIONS:
            continue
        elif tok.upper() in RESERVED_WORDS:
            raise ExpressionError(
                f"{tok!r} is a DynamoDB reserved word; write #{tok} and pass names={{'#{tok}': '{tok}'}}, or use the "
                "expression builder (Attr/Key/Update), which adds placeholders itself", what, "expression.reserved")


_CHECKED_KEYS = ("ExpressionAttributeNames", "ExpressionAttributeValues", "KeyConditionExpression",
                 "FilterExpression", "ConditionExpression", "UpdateExpression", "ProjectionExpression")


def check_placeholders(request: Mapping[str, Any]) -> None:
    """Every placeholder in ``request``'s maps is used by one of its expressions, as DynamoDB requires."""
    if not any(k in request for k in _CHECKED_KEYS):  # a plain GetItem/PutItem: nothing to check
        return
    text = " ".join(str(request[k]) for k in ("KeyConditionExpression", "FilterExpression", "ConditionExpression",
                                             "UpdateExpression", "ProjectionExpression") if k in request)
    used = set(re.findall(r"[#:][A-Za-z0-9_]+", text))
    for k in request.get("ExpressionAttributeNames", {}):
        if k not in used:
            raise ExpressionError(f"name placeholder {k} is not used by any expression", k, "expression.unused")
    for k in request.get("ExpressionAttributeValues", {}):
        if k not in used:
            raise ExpressionError(f"value placeholder {k} is not used by any expression", k, "expression.unused")
    for k in ("KeyConditionExpression", "FilterExpression", "ConditionExpression", "UpdateExpression",
              "ProjectionExpression"):
        if k in request and len(request[k].encode("utf-8")) > MAX_EXPRESSION_BYTES:
            raise ExpressionError(f"{k} is {len(request[k].encode())} bytes; DynamoDB allows {MAX_EXPRESSION_BYTES}",
                                  k, "expression.length")
