"""``ddbkit.Model``: pydantic v2 models stored as DynamoDB items, checked against the table's schema.

A model is bound to a table by name, a :class:`ddbkit.Table`, or a component's :class:`TableConfig`
(class keywords), and knows its key fields (declared with ``Annotated[str, HashKey]``/``RangeKey`` or
taken from the config's key schema)::

    class Session(Model, table=config):                  # keys, indexes and TTL from the config
        session_id: str = Field(alias="sessionId")
        user_id: str = Field(alias="userId")
        expires_at: datetime = Field(alias="expiresAt")  # the config's TTL attribute: epoch seconds
        version: Annotated[int, Version] = 0             # optimistic locking

Conversion both ways goes through pydantic's own (Rust) serializer and validator, then ddbkit's codec
(:func:`ddbkit.core.codec.marshal_item`): so a field's ``PlainSerializer``/``field_serializer`` applies, and
numbers follow the codec's exact policy. What the codec cannot store is converted per field type, decided
once per class: ``datetime`` to fixed-width UTC text (``2026-12-04T22:40:07.123456Z``, or a
:class:`DateTimeFormat`), epoch seconds with ``EpochSeconds`` (microseconds kept) and for the TTL attribute
(whole seconds), ``date``/``time`` to ISO 8601 text, ``UUID`` to text, ``Enum`` to its value, tuples to
lists. A naive datetime is refused. ``None`` fields and empty sets are not written (an absent attribute
reads back as the field's default), which keeps sparse indexes sparse.
"""

from __future__ import annotations

import datetime as _dt
import enum
import hashlib
import hmac
import os
import types
import typing
import uuid
from collections import abc
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import to_jsonable_python
from typing_extensions import Self

from ddbkit.core.codec import NumberMode, marshal_item, unmarshal_item
from ddbkit.errors import ClientValidationError, DdbkitError, ExpressionError
from ddbkit.core.expressions import Attr, Key, KeyCondition, Path
from ddbkit.core.keys import KeySchema
from ddbkit.models.templates import KeyTemplate

__all__ = ["Model", "HashKey", "RangeKey", "Version", "TTL", "EpochSeconds", "DateTimeFormat", "ModelAttr",
           "ModelKey", "ModelInfo", "ItemValidationError", "decode_item", "key_digest",
           "stores_nothing", "convert"]


class _Marker:
    """A marker placed in ``Annotated[...]`` metadata (``Annotated[int, Version]``)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


HashKey: Any = _Marker("HashKey")
"""The field is the table's partition key (``Annotated[str, HashKey]``)."""
RangeKey: Any = _Marker("RangeKey")
"""The field is the table's sort key."""
Version: Any = _Marker("Version")
"""Optimistic locking: writes check the stored version and store it plus one (``Annotated[int, Version]``)."""
TTL: Any = _Marker("TTL")
"""The TTL attribute: a ``datetime`` stored as epoch seconds (also inferred from the config's TTL spec)."""
EpochSeconds: Any = _Marker("EpochSeconds")
"""Store a ``datetime`` as epoch seconds (an N) instead of ISO 8601 text."""

Conv = Callable[[Any], Any]
_ModelT = typing.TypeVar("_ModelT", bound=BaseModel)
_PLAIN: frozenset[Any] = frozenset({str, int, float, Decimal, bool, bytes, type(None), Any})
_PLAIN_SCALARS = (str, int, float, Decimal, bool, bytes, type(None))


# --------------------------------------------------------------------------------------------------
# per-type converters from pydantic's python dump to what the codec stores (None = unchanged)
# --------------------------------------------------------------------------------------------------


class DateTimeFormat(str, enum.Enum):
    """How a ``datetime`` field is stored as text: ``Annotated[datetime, DateTimeFormat.PYNAMODB]``.

    Every format is read back (whatever a field's format, pydantic parses all of them)."""

    UTC = "utc"
    """The default: ``2026-12-04T22:40:07.123456Z``, always UTC, always 6 fraction digits: fixed width, so
    text order is time order (sort keys)."""
    PYNAMODB = "pynamodb"
    """PynamoDB's ``UTCDateTimeAttribute``: ``2026-12-04T22:40:07.123456+0000`` (fixed width, sortable)."""
    DYNTASTIC = "dyntastic"
    """dyntastic's (pydantic's JSON form): the datetime's own offset, ``Z`` for UTC, no fraction when it is
    zero (``2026-12-04T22:40:07Z``). Not fixed width: for migrations, not for sort keys."""
    ISOFORMAT = "isoformat"
    """Python's ``isoformat()`` (``2026-12-04T22:40:07.123456+00:00``, the datetime's own offset): what
    ddbkit wrote before the UTC default. Not fixed width."""


_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_SECOND = _dt.timedelta(seconds=1)
_NAIVE = "a naive datetime (no tzinfo) is refused: give it a timezone, e.g. datetime.now(timezone.utc)"


def _aware(value: _dt.datetime) -> _dt.datetime:
    if value.utcoffset() is None:
        raise ClientValidationError(_NAIVE, "", "model.datetime")
    return value


def _utc(value: _dt.datetime) -> _dt.datetime:
    return _aware(value).astimezone(_dt.timezone.utc)


def _utc_text(value: _dt.datetime, suffix: str = "Z") -> str:
    u = _utc(value)
    return (f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
            f".{u.microsecond:06d}{suffix}")


def _datetime_text(fmt: DateTimeFormat) -> Conv:
    if fmt is DateTimeFormat.PYNAMODB:
        return lambda v: _utc_text(v, "+0000")
    if fmt is DateTimeFormat.DYNTASTIC:
        return lambda v: to_jsonable_python(_aware(v))
    if fmt is DateTimeFormat.ISOFORMAT:
        return lambda v: _aware(v).isoformat()
    return _utc_text


def _epoch(value: Any) -> Any:
    """Epoch seconds of an aware datetime, exact: an int when whole, else a Decimal with the microseconds."""
    if isinstance(value, _dt.datetime):
        delta = _aware(value) - _EPOCH
        whole = delta.days * 86400 + delta.seconds
        return whole if not delta.microseconds else Decimal(whole) + Decimal(delta.microseconds).scaleb(-6)
    return value


def _ttl(value: Any) -> Any:
    """The TTL attribute: whole epoch seconds (what DynamoDB's TTL reads); a fraction is dropped."""
    if isinstance(value, _dt.datetime):
        return (_aware(value) - _EPOCH) // _SECOND
    return value


def _from_epoch(value: Any) -> Any:
    """A stored epoch number back to an exact UTC datetime (pydantic would read large values as ms)."""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        seconds = Decimal(value)
        whole = int(seconds.to_integral_value(rounding="ROUND_FLOOR"))
        micro = int(((seconds - whole) * 1_000_000).to_integral_value())
        try:
            return _EPOCH + _dt.timedelta(seconds=whole, microseconds=micro)
        except OverflowError:
            return value  # out of datetime's range: pydantic reports it
    return value


def _walk(value: Any) -> Any:
    """Generic conversion for values whose type is not known in advance (``Any``, user serializers)."""
    t = type(value)
    if t in (str, int, float, bool, bytes, Decimal) or value is None:
        return value
    if isinstance(value, dict):
        return {k: _walk(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_walk(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return {_walk(v) for v in value}
    if isinstance(value, _dt.datetime):
        return _utc_text(value)
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return _walk(value.value)
    if isinstance(value, BaseModel):
        return _walk(value.model_dump(by_alias=True, exclude_none=True))
    return value


_OMIT: Any = object()


def stores_nothing(value: Any) -> bool:
    """Whether a converted field value is stored as no attribute at all (None, an empty set)."""
    return value is None or value is _OMIT or (isinstance(value, (set, frozenset)) and not value)


def _is_set(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _is_set(get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_is_set(a) for a in get_args(annotation))
    return origin in (set, frozenset, abc.Set, abc.MutableSet) or annotation in (set, frozenset)


def _omit_empty(conv: Conv | None) -> Conv:
    def omit(value: Any) -> Any:
        if isinstance(value, (set, frozenset)) and not value:
            return _OMIT
        return value if conv is None else conv(value)
    return omit


def _to_list(value: Any) -> Any:
    return value if isinstance(value, (set, frozenset)) else list(value)


def _optional(conv: Conv) -> Conv:
    return lambda v: None if v is None else conv(v)


def _conv_for(annotation: Any, metadata: list[Any]) -> Conv | None:  # noqa: C901 - one branch per type form
    """The converter for one annotation, or None when pydantic's python dump is already storable."""
    if any(m is TTL for m in metadata):
        return _optional(_ttl)
    if any(m is EpochSeconds for m in metadata):
        return _optional(_epoch)
    if any(type(m).__name__ in ("PlainSerializer", "WrapSerializer") for m in metadata):
        return _walk
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        base, *meta = get_args(annotation)
        return _conv_for(base, list(meta))
    if annotation in _PLAIN:
        return None
    if origin is Literal:
        return None if all(isinstance(a, _PLAIN_SCALARS) for a in get_args(annotation)) else _walk
    if origin in (typing.Union, types.UnionType):
        convs = [_conv_for(a, metadata) for a in get_args(annotation) if a is not type(None)]
        if all(c is None for c in convs):
            return None
        return _optional(convs[0]) if len(convs) == 1 and convs[0] is not None else _walk
    if isinstance(annotation, type):
        if issubclass(annotation, bool | str | int | float | Decimal | bytes) and not issubclass(annotation, enum.Enum):
            return None
        if issubclass(annotation, _dt.datetime):
            fmt = next((m for m in metadata if isinstance(m, DateTimeFormat)), DateTimeFormat.UTC)
            return _optional(_datetime_text(fmt))
        if issubclass(annotation, _dt.date | _dt.time):
            return _optional(lambda v: v.isoformat())
        if issubclass(annotation, uuid.UUID):
            return _optional(str)
        if issubclass(annotation, enum.Enum):
            return _optional(lambda v: v.value if isinstance(v, enum.Enum) else v)
        if issubclass(annotation, Model):
            info = annotation.__ddb__
            return None if not info.convs else _optional(info.fix)
        if issubclass(annotation, BaseModel):
            return _plain_model_conv(annotation)
    if origin in (list, tuple, set, frozenset, abc.Sequence, abc.Set, abc.MutableSequence, abc.MutableSet):
        args = [a for a in get_args(annotation) if a is not Ellipsis]
        inner = _walk if len({repr(a) for a in args}) > 1 else (_conv_for(args[0], []) if args else None)
        if inner is None:
            return None if origin is list or origin in (set, frozenset) else _optional(_to_list)
        if origin in (set, frozenset, abc.Set, abc.MutableSet):
            return _optional(lambda v: {inner(x) for x in v})
        return _optional(lambda v: [inner(x) for x in v])
    if origin in (dict, abc.Mapping, abc.MutableMapping):
        dargs = get_args(annotation)
        vconv = _conv_for(dargs[1], []) if len(dargs) == 2 else None
        if vconv is None:
            return None
        return _optional(lambda v: {k: vconv(x) for k, x in v.items()})
    return _walk


_PLAIN_MODEL_CONVS: dict[type, Conv | None] = {}


def _plain_model_conv(cls: type[BaseModel]) -> Conv | None:
    """The converter of a nested pydantic model's dump (None when every field is storable as dumped)."""
    if cls in _PLAIN_MODEL_CONVS:
        return _PLAIN_MODEL_CONVS[cls]
    _PLAIN_MODEL_CONVS[cls] = _walk  # while building: a self-referencing model is walked
    dec = cls.__pydantic_decorators__
    result: Conv | None
    if dec.model_serializers or cls.model_config.get("extra") == "allow":
        result = _walk
    else:
        serialized = {f for d in dec.field_serializers.values() for f in d.info.fields}
        convs: dict[str, Conv] = {}
        for name, f in cls.model_fields.items():
            conv = _walk if name in serialized else _conv_for(f.annotation, list(f.metadata))
            if _is_set(f.annotation):
                conv = _omit_empty(conv)
            if conv is not None:
                convs[f.serialization_alias or f.alias or name] = conv
        result = None if not convs else _optional(lambda d: _fix_map(d, convs))
    _PLAIN_MODEL_CONVS[cls] = result
    return result


def _at(attr: str, err: ClientValidationError) -> ClientValidationError:
    """``err`` (a value refused by a converter) located at attribute ``attr``."""
    return ClientValidationError(err.reason, f"{attr}.{err.path}" if err.path else attr, err.rule)


def convert(attr: str, conv: Conv, value: Any) -> Any:
    """``conv(value)``, a refused value named by its attribute path."""
    try:
        return conv(value)
    except ClientValidationError as err:
        raise _at(attr, err) from None


def _fix_map(dumped: dict[str, Any], convs: Mapping[str, Conv]) -> dict[str, Any]:
    for attr, conv in convs.items():
        if attr in dumped:
            value = convert(attr, conv, dumped[attr])
            if value is _OMIT:
                del dumped[attr]
            else:
                dumped[attr] = value
    return dumped


# --------------------------------------------------------------------------------------------------
# a stored item that does not validate
# --------------------------------------------------------------------------------------------------

_DIGEST_KEY = os.urandom(32)


def key_digest(key: Mapping[str, Any]) -> str:
    """A 12-hex-digit digest naming a key in messages without its values: HMAC-SHA256 under a random
    per-process secret, so equal keys match within one process and a low-entropy key value (an SSN) cannot
    be recovered from a log by trying every candidate."""
    text = repr(sorted((str(k), type(v).__name__, repr(v)) for k, v in key.items()))
    return hmac.new(_DIGEST_KEY, text.encode(), hashlib.sha256).hexdigest()[:12]


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class ItemValidationError(DdbkitError, ValueError):
    """A stored item does not validate as its model. The message names the model, the table, the index,
    the key attribute names, a digest of the key (:func:`key_digest`) and each failing field's path and
    pydantic error type; never a value (the item's values, key values included, are item data).

    ``.key`` holds the key's values, for code that fixes or deletes the item; it is not in ``str()``/``repr()``.
    ``.errors`` is ``[(attribute path, pydantic error type), ...]``."""

    def __init__(self, model: str, table: str | None, index: str | None, key_names: tuple[str, ...],
                 key: dict[str, Any], errors: list[tuple[str, str]]) -> None:
        self.model = model
        self.table = table
        self.index = index
        self.key_names = key_names
        self.key = key
        self.key_digest = key_digest(key)
        self.errors = errors
        where = (table or "?") + (f" index {index}" if index else "")
        names = ", ".join(key_names) or "?"
        fields = "; ".join(f"{p or '(item)'}: {t}" for p, t in errors)
        super().__init__(f"{where}: the item with key ({names}) #{self.key_digest} does not validate as "
                         f"{model}: {fields}")

    def __reduce__(self) -> Any:
        return (type(self), (self.model, self.table, self.index, self.key_names, self.key, self.errors))


def decode_item(cls: type[Model], item: Mapping[str, Any], table: str | None, index: str | None) -> Any:
    """``cls.from_item(item)``, an :class:`ItemValidationError` naming ``table`` and ``index`` (the typed
    tables' reads)."""
    info = cls.__ddb__
    stored = item
    if info.pk is not None:
        managed = info.managed() or {info.type_attr}
        data = {k: v for k, v in item.items() if k not in managed}
        keys = info.keys
        if keys is not None:
            for template, attr in ((info.pk, keys.hash_key), (info.sk, keys.range_key)):
                if template is not None and attr is not None:
                    for k, v in (template.parse(str(item.get(attr, ""))) or {}).items():
                        data.setdefault(info.attr_of.get(k, k), v)
        item = data
    return _validate(cls, item, stored, table, index)


def _validate(cls: type[Model], item: Mapping[str, Any], stored: Mapping[str, Any], table: str | None,
              index: str | None) -> Any:
    info = cls.__ddb__
    if info.reads:
        item = dict(item)
        for attr, read in info.reads.items():
            if attr in item:
                item[attr] = read(item[attr])
    try:
        return cls.__pydantic_validator__.validate_python(item)
    except ValidationError as err:
        errors = [(_loc(e["loc"]), e["type"]) for e in err.errors(include_url=False, include_input=False,
                                                                   include_context=False)]
    # raised outside the except block: no chained pydantic error (its text holds the input values)
    keys = info.keys
    names = keys.names if keys is not None else ()
    key = {n: stored[n] for n in names if n in stored}
    raise ItemValidationError(cls.__name__, table, index, names, key, errors)


# --------------------------------------------------------------------------------------------------
# the per-class plan
# --------------------------------------------------------------------------------------------------


class ModelInfo:
    """What ddbkit knows of one model class: attribute names, keys, converters, table binding."""

    def __init__(self, cls: type[Model]) -> None:
        self.cls = cls
        self.table_name: str | None = None
        self.config: Any = None
        self.keys: KeySchema | None = None
        self.index: str | None = None
        self.attr_of: dict[str, str] = {}      # field name -> attribute name
        self.field_of: dict[str, str] = {}     # attribute name -> field name
        self.convs: dict[str, Conv] = {}       # attribute name -> converter (only where one is needed)
        self.reads: dict[str, Conv] = {}       # attribute name -> converter of the stored value, before validation
        self.version_attr: str | None = None
        self.ttl_attr: str | None = None
        self.ttl_field: str | None = None      # a datetime TTL field: stored in whole seconds
        self.entity: str | None = None
        self.type_attr = "_type"
        self.pk: KeyTemplate | None = None
        self.sk: KeyTemplate | None = None
        self.gsi: dict[str, tuple[KeyTemplate, KeyTemplate]] = {}
        self.field_serializers = False

    # -- conversion ----------------------------------------------------------------------------------
    def fix(self, dumped: dict[str, Any]) -> dict[str, Any]:
        # an empty set (_OMIT) is dropped: DynamoDB has none; absent reads back as the default
        return _fix_map(dumped, self.convs)

    def stored(self, obj: _ModelT) -> _ModelT:
        """``obj`` as it reads back: a datetime TTL field in whole seconds (what is stored)."""
        name = self.ttl_field
        if name is not None:
            value = getattr(obj, name)
            if isinstance(value, _dt.datetime) and value.microsecond:
                return obj.model_copy(update={name: value.replace(microsecond=0)})
        return obj

    @property
    def templated(self) -> bool:
        return self.pk is not None

    def managed(self) -> set[str]:
        """Attributes ddbkit writes for single-table models (template keys and the entity type)."""
        if self.keys is None or not self.templated:
            return set()
        out = {*self.keys.names, self.type_attr}
        for idx in self.gsi:
            out.update(n for n in self.keys.index(idx) if n is not None)
        return out

    def template_keys(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """The key attributes a single-table model's templates give for these (python-named) fields."""
        keys = self.require_keys()
        assert self.pk is not None
        out: dict[str, Any] = {keys.hash_key: self.pk.format(fields)}
        if keys.range_key is not None:
            if self.sk is None:
                raise ClientValidationError(f"{self.cls.__name__} needs an sk= template: the table's sort key is "
                                            f"{keys.range_key!r}", self.cls.__name__, "model.template")
            out[keys.range_key] = self.sk.format(fields)
        return out

    def owns(self, item: Mapping[str, Any]) -> bool:
        """Whether a stored item is of this single-table entity: its type attribute names it, or (an index
        that does not project the type attribute) its keys match this entity's templates."""
        kind = item.get(self.type_attr)
        if kind is not None:
            return bool(kind == self.entity)
        keys = self.keys
        if keys is None or self.pk is None:
            return False
        if self.pk.parse(str(item.get(keys.hash_key, ""))) is None:
            return False
        return self.sk is None or keys.range_key is None or self.sk.parse(str(item.get(keys.range_key, ""))) is not None

    def require_keys(self) -> KeySchema:
        if self.keys is None:
            raise ClientValidationError(f"{self.cls.__name__} has no key schema: declare HashKey/RangeKey fields or "
                                        "bind it to a table config (table=config)", self.cls.__name__, "model.keys")
        return self.keys

    def attr_path(self, path: str) -> Path:
        """``"address.city"`` (python names) as the stored attribute path, checked against the model."""
        parts = Path.of(path).parts
        out: list[str | int] = []
        model: Any = self.cls
        for i, part in enumerate(parts):
            if isinstance(part, int):
                out.append(part)
                continue
            if model is None:
                out.append(part)  # inside a dict/Any: free-form keys
                continue
            info: ModelInfo = model.__ddb__ if isinstance(model, type) and issubclass(model, Model) else _info_of(model)
            if part in info.attr_of:
                name = part
            elif part in info.field_of:
                name = info.field_of[part]
            else:
                raise ExpressionError(f"{model.__name__} has no field {part!r} (fields: {sorted(info.attr_of)})",
                                      ".".join(str(p) for p in parts[: i + 1]), "model.field")
            out.append(info.attr_of[name])
            model = _nested_model(model.model_fields[name].annotation)
        return Path(tuple(out))


def _info_of(model: type[BaseModel]) -> ModelInfo:
    # a plain pydantic model nested inside a ddbkit Model: names from its aliases
    info = ModelInfo.__new__(ModelInfo)
    info.cls = model  # type: ignore[assignment]  # a plain pydantic model stands in for a ddbkit Model: ModelInfo reads only its fields
    info.attr_of = {n: (f.alias or n) for n, f in model.model_fields.items()}
    info.field_of = {a: n for n, a in info.attr_of.items()}
    return info


def _is_datetime(annotation: Any) -> bool:
    """Whether a field holds a datetime (through Annotated and Optional)."""
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _is_datetime(get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_is_datetime(a) for a in get_args(annotation) if a is not type(None))
    return isinstance(annotation, type) and issubclass(annotation, _dt.datetime)


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model type a path can step into (through Optional, list[...] and dict[str, ...])."""
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _nested_model(get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if origin in (typing.Union, types.UnionType):
        models = [m for m in (_nested_model(a) for a in get_args(annotation)) if m is not None]
        return models[0] if len(models) == 1 else None
    if origin in (list, tuple):
        args = get_args(annotation)
        return _nested_model(args[0]) if args else None
    return None


def _projected(config: Any, index: str, keys: KeySchema) -> tuple[str, set[str] | None]:
    """(projection type, attributes an index holds; None = all) from a table config."""
    for idx in [*config.global_secondary_indexes, *config.local_secondary_indexes]:
        if idx.index_name == index:
            p = idx.projection
            if p.projection_type == "ALL":
                return "ALL", None
            names = {*keys.names, *(n for n in keys.index(index) if n is not None)}
            if p.projection_type == "INCLUDE":
                names.update(p.non_key_attributes or ())
            return str(p.projection_type), names
    raise ClientValidationError(f"no index named {index!r}; the table has {sorted(keys.indexes)}", "index",
                                "index.unknown")


class _Recorder:
    """Records attribute accesses for ``Model.attr(lambda s: s.address.city)``."""

    __slots__ = ("_parts",)
    _parts: tuple[str | int, ...]

    def __init__(self, parts: tuple[str | int, ...] = ()) -> None:
        object.__setattr__(self, "_parts", parts)

    def __getattr__(self, name: str) -> _Recorder:
        return _Recorder((*self._parts, name))

    def __getitem__(self, index: int) -> _Recorder:
        return _Recorder((*self._parts, index))


# --------------------------------------------------------------------------------------------------
# typed expression helpers
# --------------------------------------------------------------------------------------------------


class ModelAttr(Attr):
    """An :class:`Attr` made from a model field: the stored name, and values converted as the field stores
    them (a ``datetime`` compared to a TTL field is sent as epoch seconds)."""

    __slots__ = ("_conv",)

    def __init__(self, path: Path, conv: Conv | None) -> None:
        super().__init__(path)
        self._conv = conv

    def stored_value(self, value: Any) -> Any:
        """``value`` as this field stores it (its converter applied; an ``Attr`` passes through): what a typed
        write or condition sends for the field."""
        return value if self._conv is None or isinstance(value, Attr) else convert(str(self.path), self._conv, value)

    def _cmp(self, op: str, value: Any) -> Any:
        return super()._cmp(op, self.stored_value(value))

    def between(self, low: Any, high: Any) -> Any:
        return super().between(self.stored_value(low), self.stored_value(high))

    def begins_with(self, prefix: Any) -> Any:
        return super().begins_with(self.stored_value(prefix))

    def is_in(self, values: Any) -> Any:
        return super().is_in([self.stored_value(v) for v in values])


class ModelKey(Key):
    """A :class:`Key` made from a model field (stored name, values converted as the field stores them)."""

    __slots__ = ("_conv", "field")

    def __init__(self, name: str, conv: Conv | None, field: str) -> None:
        super().__init__(name)
        self._conv = conv
        self.field = field

    def _part(self, op: str, *args: Any) -> KeyCondition:
        conv = self._conv
        return super()._part(op, *(args if conv is None else [convert(self.field, conv, a) for a in args]))


# --------------------------------------------------------------------------------------------------
# the model base class
# --------------------------------------------------------------------------------------------------


class _InfoSlot:
    """``Model.__ddb__``: the ModelInfo of the class it is read on."""

    def __get__(self, obj: Any, cls: type[Model]) -> ModelInfo:
        if "_ddb_pending_" not in cls.__dict__:
            raise AttributeError(f"{cls.__name__} is the Model base class, not a model of a table")
        return _info_for(cls)


class Model(BaseModel):
    """Base class of typed DynamoDB items (pydantic v2). Class keywords bind it to its table:

    ``table``: a table name, a :class:`ddbkit.Table`, a :class:`ddbkit.config.TableConfig` or
    ``(loaded component file, component name)`` (with a config, keys, indexes and TTL are checked). ``index``: this is a partial model of that index
    (KEYS_ONLY/INCLUDE projections; every field must be projected). ``entity``, ``pk``, ``sk``, ``gsi``,
    ``type_attr``: single-table design (key templates such as ``"USER#{user_id}"``, an entity-type
    attribute written on every item and used to route mixed pages).
    """

    model_config = ConfigDict(populate_by_name=True, extra="ignore", arbitrary_types_allowed=True)

    if TYPE_CHECKING:
        __ddb__: ClassVar[ModelInfo]
    else:
        __ddb__ = _InfoSlot()

    def __init_subclass__(cls, *, table: Any = None, index: str | None = None, entity: str | None = None,
                          pk: str | None = None, sk: str | None = None,
                          gsi: Mapping[str, tuple[str, str]] | None = None, type_attr: str | None = None,
                          **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)

    @classmethod
    def __pydantic_init_subclass__(cls, *, table: Any = None, index: str | None = None, entity: str | None = None,
                                   pk: str | None = None, sk: str | None = None,
                                   gsi: Mapping[str, tuple[str, str]] | None = None, type_attr: str | None = None,
                                   **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        type.__setattr__(cls, "_ddb_pending_", {"table": table, "index": index, "entity": entity, "pk": pk, "sk": sk,
                                                 "gsi": gsi, "type_attr": type_attr})
        type.__setattr__(cls, "__ddb__", _InfoSlot())  # not the parent's info: this class's, built on first use
        if cls.__pydantic_complete__:  # declaration errors surface at class definition
            _info_for(cls)
        # else: forward references not resolvable yet; built on first use (after pydantic's rebuild)

    # -- conversion -----------------------------------------------------------------------------------
    def to_item(self) -> dict[str, Any]:
        """The item as plain Python the codec stores (attribute names, storable values; None omitted)."""
        cls = type(self)
        info = cls.__ddb__
        item: dict[str, Any] = cls.__pydantic_serializer__.to_python(self, by_alias=True, exclude_none=True)
        if info.convs:
            info.fix(item)
        if info.pk is not None:
            fields = self.__dict__
            item.update(info.template_keys(fields))
            item[info.type_attr] = info.entity
            if info.keys is not None:
                for idx, (p, s) in info.gsi.items():
                    pa, sa = info.keys.index(idx)
                    item[pa] = p.format(fields)
                    if sa is not None:
                        item[sa] = s.format(fields)
        return item

    def to_wire(self) -> dict[str, Any]:
        """The item in DynamoDB's wire form (``{"name": {"S": "..."}}``)."""
        return marshal_item(self.to_item())

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Any:
        """An instance from a stored item as plain Python (``Table.get``'s result, a stream image); an item
        that does not validate raises :class:`ItemValidationError` (no value in it)."""
        return decode_item(cls, item, cls.__ddb__.table_name, None)

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any], number: NumberMode = NumberMode.AUTO) -> Any:
        """An instance from an item in wire form."""
        return cls.from_item(unmarshal_item(wire, number))

    # -- typed paths -----------------------------------------------------------------------------------
    @classmethod
    def attr(cls, field: str | Callable[[Self], Any]) -> ModelAttr:
        """A condition/update path checked against the model: ``Session.attr("status")``, dotted
        ``"address.city"``, or ``Session.attr(lambda s: s.address.city)`` (checked by mypy too).
        A name the model does not have raises :class:`ExpressionError` here, before any request."""
        info = cls.__ddb__
        if callable(field):
            parts = field(_Recorder())._parts  # type: ignore[arg-type]  # the recorder stands in for the model instance the typed lambda expects
            path = info.attr_path(".".join(p if isinstance(p, str) else f"[{p}]" for p in parts).replace(".[", "["))
        else:
            path = info.attr_path(field)
        conv = info.convs.get(str(path.parts[0])) if len(path.parts) == 1 else None
        return ModelAttr(path, conv)

    @classmethod
    def key(cls, field: str | Callable[[Self], Any]) -> ModelKey:
        """A key condition builder on a field (``Session.key("user_id").eq("u1")``), checked against the model."""
        a = cls.attr(field)
        if len(a.path.parts) != 1:
            raise ExpressionError("a key is a top-level attribute", str(a.path), "model.key")
        name = str(a.path.parts[0])
        return ModelKey(name, cls.__ddb__.convs.get(name), cls.__ddb__.field_of[name])

    def key_item(self) -> dict[str, Any]:
        """This instance's primary key (attribute names, storable values)."""
        info = type(self).__ddb__
        if info.pk is not None:
            return info.template_keys(self.__dict__)
        keys = info.require_keys()
        out: dict[str, Any] = {}
        for attr in keys.names:
            name = info.field_of.get(attr)
            if name is None:
                raise ClientValidationError(f"{type(self).__name__} has no field for key attribute {attr!r}",
                                            attr, "model.keys")
            value = getattr(self, name)
            conv = info.convs.get(attr)
            out[attr] = conv(value) if conv is not None else value
        return out



def _info_for(cls: type[Model]) -> ModelInfo:
    """The class's ModelInfo, built once (after pydantic completed the class: aliases and types resolved)."""
    info: ModelInfo | None = cls.__dict__.get("_ddb_info_")
    if info is None:
        if not cls.__pydantic_complete__:
            cls.model_rebuild(raise_errors=True)
        info = _build_info(cls, **cls.__dict__["_ddb_pending_"])
        type.__setattr__(cls, "_ddb_info_", info)
        type.__setattr__(cls, "__ddb__", info)  # later reads are a plain class attribute (no descriptor call)
    return info


def _build_info(cls: type[Model], *, table: Any, index: str | None, entity: str | None, pk: str | None,
                sk: str | None, gsi: Mapping[str, tuple[str, str]] | None, type_attr: str | None) -> ModelInfo:
    parent: ModelInfo | None = None
    for base in cls.__mro__[1:]:
        if isinstance(base, type) and issubclass(base, Model) and base is not Model:
            parent = base.__ddb__
            break
    info = ModelInfo(cls)
    if parent is not None:  # a subclass inherits its parent's binding unless it names its own
        for name in ("table_name", "config", "keys", "entity", "type_attr", "pk", "sk", "gsi", "index"):
            setattr(info, name, getattr(parent, name))
    if table is not None:
        _bind(info, table)
    if type_attr is not None:
        info.type_attr = type_attr
    if entity is not None or pk is not None:
        info.entity = entity or cls.__name__
        if pk is None:
            raise ClientValidationError(f"{cls.__name__}: a single-table entity needs a pk= template",
                                        cls.__name__, "model.template")
        info.pk, info.sk = KeyTemplate(pk), (KeyTemplate(sk) if sk is not None else None)
        info.gsi = {i: (KeyTemplate(p), KeyTemplate(s)) for i, (p, s) in (gsi or {}).items()}
    info.field_serializers = bool(cls.__pydantic_decorators__.field_serializers)
    serialized = {f for d in cls.__pydantic_decorators__.field_serializers.values() for f in d.info.fields}
    hash_f = range_f = None
    ttl_name = info.config.ttl_attribute if info.config is not None else None
    for name, f in cls.model_fields.items():
        attr = f.serialization_alias or f.alias or name
        info.attr_of[name], info.field_of[attr] = attr, name
        meta = list(f.metadata)
        if any(m is HashKey for m in meta):
            hash_f = attr
        if any(m is RangeKey for m in meta):
            range_f = attr
        if any(m is Version for m in meta):
            info.version_attr = attr
        if any(m is TTL for m in meta) or attr == ttl_name:
            info.ttl_attr = attr
            meta.append(TTL)
            if _is_datetime(f.annotation):
                info.ttl_field = name
        if (TTL in meta or EpochSeconds in meta) and _is_datetime(f.annotation):
            info.reads[attr] = _from_epoch
        conv = _walk if name in serialized else _conv_for(f.annotation, meta)
        if _is_set(f.annotation):
            conv = _omit_empty(conv)
        if conv is not None:
            info.convs[attr] = conv
    _keys_from_fields(info, hash_f, range_f)
    if index is not None:
        info.index = index
    if info.index is not None and info.config is not None and index is not None:
        _check_partial(info)
    if info.templated and info.keys is not None:
        for idx in info.gsi:
            info.keys.index(idx)  # an unknown index is an error at class definition
    return info


def _bind(info: ModelInfo, table: Any) -> None:
    if isinstance(table, tuple) and len(table) == 2 and hasattr(table[0], "tables"):
        table = table[0].table(table[1])  # (a loaded component file, component name)
    if isinstance(table, str):
        info.table_name, info.config, info.keys = table, None, info.keys
        return
    if hasattr(table, "key_schema") and hasattr(table, "table_name") and hasattr(table, "attribute_definitions"):
        info.table_name, info.config = table.table_name, table  # a TableConfig
        info.keys = KeySchema.from_config(table)
        return
    name = getattr(table, "name", None)
    if isinstance(name, str):  # a Table / AsyncTable
        info.table_name = name
        known = getattr(table, "known_keys", None)
        if isinstance(known, KeySchema):
            info.keys = known
        return
    raise ClientValidationError(f"table= takes a table name, a Table or a TableConfig, got {type(table).__name__}",
                                "table", "model.table")


def _keys_from_fields(info: ModelInfo, hash_f: str | None, range_f: str | None) -> None:
    name = info.cls.__name__
    if hash_f is None and range_f is not None:
        raise ClientValidationError(f"{name} declares a RangeKey but no HashKey", name, "model.keys")
    if hash_f is not None:
        declared = KeySchema(hash_f, range_f)
        if info.keys is not None and info.keys.complete and declared.names != info.keys.names:
            raise ClientValidationError(f"{name} declares keys {list(declared.names)} but table "
                                        f"{info.table_name} has {list(info.keys.names)}", name, "model.keys")
        if info.keys is None or not info.keys.complete:
            info.keys = declared
    if info.keys is not None and info.config is not None and not info.templated and info.index is None:
        missing = [k for k in info.keys.names if k not in info.field_of]
        if missing:
            raise ClientValidationError(f"{name} has no field for the key attributes {missing} of table "
                                        f"{info.table_name} (fields store as {sorted(info.field_of)})", name,
                                        "model.keys")


def _check_partial(info: ModelInfo) -> None:
    assert info.index is not None and info.keys is not None
    kind, names = _projected(info.config, info.index, info.keys)
    if names is None:
        return
    extra = sorted(a for a in info.field_of if a not in names)
    if extra:
        raise ClientValidationError(f"{info.cls.__name__} is a partial model of {info.index} ({kind}) but "
                                    f"{extra} are not projected (it holds {sorted(names)})", info.cls.__name__,
                                    "model.projection")


def check_index_model(info: ModelInfo, index: str | None) -> None:
    """Before a query/scan of ``index``: a model whose required fields the index does not project fails
    here (declare a partial model with ``index=``) rather than in validation after the read."""
    if index is None or info.config is None or info.keys is None:
        return
    kind, names = _projected(info.config, index, info.keys)
    if names is None or info.index == index:
        return
    missing = sorted(info.attr_of[n] for n, f in info.cls.model_fields.items()
                     if f.is_required() and info.attr_of[n] not in names)
    if missing:
        raise ClientValidationError(f"index {index} projects {kind} ({sorted(names)}); {info.cls.__name__} requires "
                                    f"{missing}: query it with a partial model (class ...(Model, table=..., "
                                    f"index={index!r}))", index, "model.projection")
