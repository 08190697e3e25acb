"""Typed operations: ``table.typed(Session)`` -> :class:`TypedTable` (sync) / :class:`AsyncTypedTable`.

Every operation turns models into the plain items the dict client takes and runs the dict client's own
operation generator (``TableCore._op_*``): the wire request is the one ``table.put(model.to_item())``
would send, and sync and async share every rule. What is checked before sending: the model belongs to
this table, field names in keys/updates/conditions exist on the model, an index exists and the key names
the index's keys, the model's required fields are projected by the index.

A field set to None (or an empty set) is absent in every typed write: ``put``/``batch_write``/``tx_put`` omit
it and ``update``/``tx_update`` REMOVE it, so equal models are stored as identical items whichever write
stored them. A stored item that does not validate raises :class:`ItemValidationError` (no value in it) unless
the read is given ``on_invalid="skip"`` or ``"collect"``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TYPE_CHECKING, TypeVar, cast

from ddbkit.core import transactions as tx
from ddbkit.core.batch import BatchWriteResult
from ddbkit.core.engine import Op
from ddbkit.errors import ClientValidationError, ConditionalCheckFailed
from ddbkit.core.expressions import Attr, Condition, Key, KeyCondition, Update
from ddbkit.core.keys import KeySchema
from ddbkit.models.base import (
    ItemValidationError,
    Model,
    ModelInfo,
    check_index_model,
    convert,
    decode_item,
    stores_nothing,
)
from ddbkit.core.operations import Page, TableCore, VersionConflict

if TYPE_CHECKING:
    from ddbkit.aio import AsyncTable
    from ddbkit.table import Table

__all__ = ["TypedTable", "AsyncTypedTable", "KeyLike", "TypedPage", "ItemList", "OnInvalid"]

M = TypeVar("M", bound=Model)
KeyLike = Mapping[str, Any] | Model | str | int | bytes | tuple[Any, Any]
CondLike = Condition | str | None
PathKey = str | Callable[[Any], Any]
OnInvalid = Literal["raise", "skip", "collect"]
"""What a read does with a stored item that does not validate: raise :class:`ItemValidationError` (the
default), skip it, or skip it and collect the error on the page (``page.invalid``) / list (``.invalid``)."""
_ON_INVALID = ("raise", "skip", "collect")


@dataclass
class TypedPage(Page[M]):
    """A page of models; ``invalid`` holds the items skipped with ``on_invalid="collect"``."""

    invalid: list[ItemValidationError] = field(default_factory=list)


class ItemList(list[M]):
    """``batch_get``'s models; ``invalid`` holds the items skipped with ``on_invalid="collect"``."""

    invalid: list[ItemValidationError]

    def __init__(self, items: Iterable[M] = (), invalid: list[ItemValidationError] | None = None) -> None:
        super().__init__(items)
        self.invalid = invalid if invalid is not None else []


def _check_on_invalid(on_invalid: str, allowed: tuple[str, ...] = _ON_INVALID) -> None:
    if on_invalid not in allowed:
        raise ClientValidationError(f"on_invalid is one of {list(allowed)}", "on_invalid", "model.on_invalid")


class _TypedCore(Generic[M]):
    """The I/O-free half of a typed table: conversions and operation generators."""

    def __init__(self, core: TableCore, model: type[M]) -> None:
        if not (isinstance(model, type) and issubclass(model, Model)) or model is Model:
            raise ClientValidationError(f"typed() takes a ddbkit.Model subclass, got {model!r}", "model", "model.type")
        info: ModelInfo = model.__ddb__
        if info.table_name is not None and info.table_name != core.name:
            raise ClientValidationError(f"{model.__name__} is bound to table {info.table_name!r}, not {core.name!r}",
                                        model.__name__, "model.table")
        known = core.known_keys
        if info.keys is not None:
            if known is None:
                if info.keys.complete or not info.templated:
                    core.known_keys = info.keys
            elif known.names != info.keys.names:
                raise ClientValidationError(f"{model.__name__} has keys {list(info.keys.names)}; table {core.name} "
                                            f"has {list(known.names)}", model.__name__, "model.keys")
        self.core = core
        self.model = model
        self.info = info

    def op_ready(self) -> Op[None]:
        """A single-table model bound by table name learns the key attributes (and GSIs) its templates
        fill from the table (DescribeTable once, if the table was built without ``key=``)."""
        if self.info.templated and self.info.keys is None:
            keys = yield from self.core.op_keys()
            if not keys.complete:
                yield from self.core.op_describe()
                assert self.core.known_keys is not None
                keys = self.core.known_keys
            self.info.keys = keys

    # -- conversion -----------------------------------------------------------------------------------
    def _encode(self, obj: M, where: str = "item") -> dict[str, Any]:
        if not isinstance(obj, self.model):
            raise ClientValidationError(f"expected a {self.model.__name__}, got {type(obj).__name__}", where,
                                        "model.type")
        return obj.to_item()

    def _decode(self, item: Mapping[str, Any] | None, index: str | None = None, on_invalid: str = "raise",
                invalid: list[ItemValidationError] | None = None) -> M | None:
        if item is None:
            return None
        info = self.info
        if info.templated and not info.owns(item):
            return None
        try:
            return cast("M | None", decode_item(self.model, item, self.core.name, index))
        except ItemValidationError as err:
            if on_invalid == "raise":
                raise
            if on_invalid == "collect" and invalid is not None:
                invalid.append(err)
            return None

    def _decode_all(self, items: Iterable[Mapping[str, Any]], index: str | None = None, on_invalid: str = "raise",
                    invalid: list[ItemValidationError] | None = None) -> list[M]:
        out = []
        for i in items:
            m = self._decode(i, index, on_invalid, invalid)
            if m is not None:
                out.append(m)
        return out

    def _page(self, page: Page, index: str | None, on_invalid: str) -> TypedPage[M]:
        invalid: list[ItemValidationError] = []
        return TypedPage(items=self._decode_all(page.items, index, on_invalid, invalid), cursor=page.cursor,
                         count=page.count, scanned_count=page.scanned_count,
                         consumed_capacity=page.consumed_capacity, last_key=page.last_key, invalid=invalid)

    def _attr_name(self, name: str, where: str) -> str:
        info = self.info
        if name in info.attr_of:
            return info.attr_of[name]
        if name in info.field_of:
            return name
        raise ClientValidationError(f"{self.model.__name__} has no field {name!r}", where, "model.field")

    def _value(self, attr: str, value: Any) -> Any:
        conv = self.info.convs.get(attr)
        return value if conv is None or value is None else convert(attr, conv, value)

    def _key(self, key: KeyLike, where: str = "key") -> dict[str, Any]:
        info = self.info
        if isinstance(key, Model):
            if not isinstance(key, self.model):
                raise ClientValidationError(f"expected a {self.model.__name__} key, got {type(key).__name__}", where,
                                            "model.type")
            return key.key_item()
        if info.templated:
            if not isinstance(key, Mapping):
                raise ClientValidationError(f"{self.model.__name__}'s key is a mapping of its template fields", where,
                                            "key.type")
            fields = {info.field_of.get(k, k): v for k, v in key.items()}
            return info.template_keys(fields)
        if isinstance(key, Mapping):
            return {(a := self._attr_name(k, where)): self._value(a, v) for k, v in key.items()}
        keys = info.keys or self.core.known_keys
        if keys is None:
            raise ClientValidationError("a key given as a value needs a known key schema; pass a mapping", where,
                                        "key.type")
        values = key if isinstance(key, tuple) else (key,)
        if len(values) != len(keys.names):
            raise ClientValidationError(f"the key of {self.core.name} is {list(keys.names)}; got {len(values)} value(s)",
                                        where, "key.arity")
        return {a: self._value(a, v) for a, v in zip(keys.names, values, strict=True)}

    def _fields_update(self, update: Update | None, set: Mapping[PathKey, Any] | None,
                       remove: Iterable[PathKey] | None, add: Mapping[PathKey, Any] | None,
                       delete: Mapping[PathKey, Any] | None) -> Update:
        if update is not None and (set or remove or add or delete):
            raise ClientValidationError("give either an Update or set=/remove=/add=/delete=, not both", "update",
                                        "update.args")
        out = update if update is not None else Update()
        for path, value in (set or {}).items():
            a = self.model.attr(path)
            stored = None if value is None else a.stored_value(value)
            if stores_nothing(stored):  # None / an empty set: absent, as put stores it
                out.remove(a.path)
            else:
                out.set(a.path, stored)
        for path in remove or ():
            out.remove(self.model.attr(path).path)
        for path, value in (add or {}).items():
            out.add(self.model.attr(path).path, value)
        for path, value in (delete or {}).items():
            out.delete(self.model.attr(path).path, value)
        return out

    def _keys_now(self) -> KeySchema | None:
        keys = self.info.keys if self.info.keys is not None and self.info.keys.complete else self.core.known_keys
        return keys if keys is not None and keys.complete else None

    def _key_condition(self, key: Mapping[str, Any] | KeyCondition | Any, index: str | None) -> Any:
        """The key condition, with names checked against the index's key schema when it is known."""
        info = self.info
        check_index_model(info, index)
        keys = self._keys_now()
        if info.templated and isinstance(key, Mapping):
            return self._template_condition(key, index)
        if isinstance(key, Mapping):
            key = {self._attr_name(k, "key_condition"): v for k, v in key.items()}
            key = {k: self._value(k, v) for k, v in key.items()}
            names = list(key)
            eq = names
        elif isinstance(key, KeyCondition):
            names = [n for n, _, _ in key.parts]
            eq = list(key.equality())
        else:
            return key  # a string or a boto3 condition: checked by the dict client
        if keys is not None:
            ihash, irange = keys.index(index)
            where = f"index {index}" if index else f"table {self.core.name}"
            wrong = [n for n in names if n not in (ihash, irange)]
            if wrong or ihash not in eq:
                raise ClientValidationError(f"{where} is keyed by {ihash!r}" + (f" and {irange!r}" if irange else "")
                                            + f"; the query names {names} (partition key needs equality)",
                                            "key_condition", "query.key")
        return key

    def _template_condition(self, fields: Mapping[str, Any], index: str | None) -> KeyCondition:
        info = self.info
        keys = info.require_keys()
        fields = {info.field_of.get(k, k): v for k, v in fields.items()}
        if index is None:
            assert info.pk is not None
            pk_t, sk_t = info.pk, info.sk
            pk_a, sk_a = keys.hash_key, keys.range_key
        else:
            if index not in info.gsi:
                raise ClientValidationError(f"{self.model.__name__} has no key templates on {index}", index,
                                            "entity.index")
            pk_t, sk_t = info.gsi[index]
            pk_a, sk_a = keys.index(index)
        cond = Key(pk_a).eq(pk_t.format(fields))
        if sk_t is not None and sk_a is not None:
            if sk_t.fields and all(f in fields for f in sk_t.fields):
                cond = cond & Key(sk_a).eq(sk_t.format(fields))
            elif sk_t.prefix:
                cond = cond & Key(sk_a).begins_with(sk_t.prefix)
        return cond

    # -- operations (generators run by the sync or async driver) --------------------------------------
    def op_get(self, key: KeyLike, consistent: bool, on_invalid: str = "raise") -> Op[M | None]:
        _check_on_invalid(on_invalid, ("raise", "skip"))
        yield from self.op_ready()
        item = yield from self.core.op_get(self._key(key), consistent)
        return self._decode(item, None, on_invalid)

    def op_put(self, obj: M, condition: CondLike) -> Op[M]:
        yield from self.op_ready()
        info = self.info
        item = self._encode(obj)
        if info.version_attr is None:
            yield from self.core.op_put(item, condition)
            return info.stored(obj)  # as get returns it (a TTL datetime in whole seconds)
        current = item.get(info.version_attr)
        keys = yield from self.core.op_keys()
        check: Condition = (Attr(keys.hash_key).not_exists() if not current
                            else Attr(info.version_attr) == current)
        if isinstance(condition, Condition):
            check = check & condition
        elif condition is not None:
            raise ClientValidationError("a versioned put takes a Condition, not a string", "condition",
                                        "model.version")
        new_version = int(current or 0) + 1
        item[info.version_attr] = new_version
        try:
            yield from self.core.op_put(item, check)
        except ConditionalCheckFailed as err:
            raise VersionConflict(err.code, f"{self.model.__name__}.{info.field_of[info.version_attr]} is no longer "
                                  f"{current!r} (or the condition failed)", operation="PutItem", status=err.status,
                                  response=err.response) from None
        return info.stored(obj.model_copy(update={info.field_of[info.version_attr]: new_version}))

    def op_update(self, key: KeyLike, update: Update, condition: CondLike, expected_version: int | None,
                  must_exist: bool) -> Op[M]:
        yield from self.op_ready()
        info = self.info
        wire_key = self._key(key)
        keys = yield from self.core.op_keys()
        if info.templated:  # an update may create the item: it is then of this entity too
            update.set(info.type_attr, info.entity)
        cond: Condition | str | None = condition
        extra: list[Condition] = []
        if must_exist:
            extra.append(Attr(keys.hash_key).exists())
        if info.version_attr is not None:
            update.add(info.version_attr, 1)
            if expected_version is not None:
                extra.append(Attr(info.version_attr) == expected_version)
        elif expected_version is not None:
            raise ClientValidationError(f"{self.model.__name__} has no Version field", "expected_version",
                                        "model.version")
        if extra:
            if isinstance(cond, str):
                raise ClientValidationError("pass a Condition (not a string) with must_exist/expected_version",
                                            "condition", "update.condition")
            for e in extra:
                cond = e if cond is None else cond & e
        try:
            new = yield from self.core.op_update(wire_key, update, condition=cond,
                                                  return_values="ALL_NEW")
        except ConditionalCheckFailed as err:
            if expected_version is not None:
                raise VersionConflict(err.code, f"{self.model.__name__} version is no longer {expected_version} "
                                      "(or the item is gone, or the condition failed)", operation="UpdateItem",
                                      status=err.status, response=err.response) from None
            raise
        out = self._decode(new)
        assert out is not None
        return out

    def op_delete(self, key: KeyLike, condition: CondLike) -> Op[None]:
        yield from self.op_ready()
        yield from self.core.op_delete(self._key(key), condition)

    def op_query(self, key: Any, index: str | None, filter: CondLike, limit: int | None, forward: bool,
                 cursor: str | None, consistent: bool, on_invalid: str = "raise") -> Op[TypedPage[M]]:
        _check_on_invalid(on_invalid)
        yield from self.op_ready()
        kc = self._key_condition(key, index)
        page = yield from self.core.op_query(kc, index=index, filter=filter, limit=limit,
                                              forward=forward, cursor=cursor, consistent=consistent)
        return self._page(page, index, on_invalid)

    def op_scan(self, filter: CondLike, index: str | None, limit: int | None, cursor: str | None,
                on_invalid: str = "raise") -> Op[TypedPage[M]]:
        _check_on_invalid(on_invalid)
        yield from self.op_ready()
        check_index_model(self.info, index)
        info = self.info
        if info.templated:
            f: Condition = Attr(info.type_attr) == info.entity
            if isinstance(filter, Condition):
                f = f & filter
            elif filter is not None:
                raise ClientValidationError("a single-table scan takes a Condition filter", "filter", "scan.filter")
            filter = f
        page = yield from self.core.op_scan(filter, index=index, limit=limit, cursor=cursor)
        return self._page(page, index, on_invalid)

    def op_batch_write(self, puts: Iterable[M], deletes: Iterable[KeyLike]) -> Op[BatchWriteResult]:
        yield from self.op_ready()
        items = [self._encode(m, f"puts[{i}]") for i, m in enumerate(puts)]
        dels = [self._key(k, f"deletes[{i}]") for i, k in enumerate(deletes)]
        result = yield from self.core.op_batch_write(items, dels)
        return result

    def op_batch_get(self, keys: Iterable[KeyLike], consistent: bool, on_invalid: str = "raise") -> Op[ItemList[M]]:
        _check_on_invalid(on_invalid)
        yield from self.op_ready()
        wire = [self._key(k, f"keys[{i}]") for i, k in enumerate(keys)]
        result = yield from self.core.op_batch_get(wire, consistent)
        invalid: list[ItemValidationError] = []
        return ItemList(self._decode_all(result.items, None, on_invalid, invalid), invalid)

    def op_transact_get(self, keys: Sequence[KeyLike]) -> Op[list[M | None]]:
        yield from self.op_ready()
        gets = [tx.Get(key=self._key(k, f"keys[{i}]"), table=self.core) for i, k in enumerate(keys)]
        items = yield from self.core.op_transact_get(gets)
        return [self._decode(i) for i in items]

    # -- transaction actions (pass to transact_write of any table) --------------------------------------
    def tx_put(self, obj: M, condition: CondLike = None) -> tx.Put:
        """A transaction Put of ``obj`` (its version checked and bumped when the model has one)."""
        item = self._encode(obj)
        info = self.info
        if info.version_attr is not None:
            current = item.get(info.version_attr)
            keys = self.core.known_keys
            first = keys.hash_key if keys is not None else next(iter(self._key(obj)))
            check: Condition = Attr(first).not_exists() if not current else Attr(info.version_attr) == current
            if isinstance(condition, Condition):
                check = check & condition
            item[info.version_attr] = int(current or 0) + 1
            condition = check
        return tx.Put(item=item, condition=condition, table=self.core)

    def tx_update(self, key: KeyLike, update: Update | None = None, *, set: Mapping[PathKey, Any] | None = None,
                  remove: Iterable[PathKey] | None = None, add: Mapping[PathKey, Any] | None = None,
                  delete: Mapping[PathKey, Any] | None = None, condition: CondLike = None) -> tx.Update:
        """A transaction Update; field names checked against the model."""
        up = self._fields_update(update, set, remove, add, delete)
        return tx.Update(key=self._key(key), update=up, condition=condition, table=self.core)

    def tx_delete(self, key: KeyLike, condition: CondLike = None) -> tx.Delete:
        return tx.Delete(key=self._key(key), condition=condition, table=self.core)

    def tx_check(self, key: KeyLike, condition: Condition | str) -> tx.ConditionCheck:
        return tx.ConditionCheck(key=self._key(key), condition=condition, table=self.core)


class TypedTable(_TypedCore[M]):
    """Typed access to a :class:`ddbkit.Table` for one model (``table.typed(Session)``)."""

    table: Table

    def __init__(self, table: Table, model: type[M]) -> None:
        super().__init__(table, model)
        self.table = table

    def get(self, key: KeyLike, *, consistent: bool = False, on_invalid: Literal["raise", "skip"] = "raise") -> M | None:
        """The item with ``key`` (a mapping of field names, a model, or the key value(s)) as a model, or None
        (also for an item that does not validate, with ``on_invalid="skip"``)."""
        return self.table.run_op("get", self.op_get(key, consistent, on_invalid))

    def put(self, obj: M, *, condition: CondLike = None) -> M:
        """Write ``obj``; returns it as written (with its version bumped for a versioned model, which raises
        :class:`VersionConflict` when the stored version is not the one ``obj`` carries)."""
        return self.table.run_op("put", self.op_put(obj, condition))

    def update(self, key: KeyLike, update: Update | None = None, *, set: Mapping[PathKey, Any] | None = None,
               remove: Iterable[PathKey] | None = None, add: Mapping[PathKey, Any] | None = None,
               delete: Mapping[PathKey, Any] | None = None, condition: CondLike = None,
               expected_version: int | None = None, must_exist: bool = True) -> M:
        """Update fields by name (``set={"status": Status.DONE}`` or ``{Session.attr(...): ...}`` paths; values
        stored as the field stores them) and return the new item. The item must exist unless ``must_exist``
        is False; a versioned model's version is bumped and checked against ``expected_version``."""
        up = self._fields_update(update, set, remove, add, delete)
        op = self.op_update(key, up, condition, expected_version, must_exist)
        return self.table.run_op("update", op)

    def delete(self, key: KeyLike, *, condition: CondLike = None) -> None:
        self.table.run_op("delete", self.op_delete(key, condition))

    def query(self, key: Mapping[str, Any] | KeyCondition | Any, *, index: str | None = None,
              filter: CondLike = None, limit: int | None = None, forward: bool = True, cursor: str | None = None,
              consistent: bool = False, on_invalid: OnInvalid = "raise") -> TypedPage[M]:
        """One page of models. ``key`` is ``{"user_id": u}`` (field names; a single-table model's template
        fields) or ``Session.key("user_id").eq(u) & Session.key("created_at").gt(t)``; checked against the
        index's key schema before sending. ``on_invalid``: see :data:`OnInvalid`."""
        op = self.op_query(key, index, filter, limit, forward, cursor, consistent, on_invalid)
        return self.table.run_op("query", op, index)

    def query_iter(self, key: Mapping[str, Any] | KeyCondition | Any, *, index: str | None = None,
                   filter: CondLike = None, forward: bool = True, cursor: str | None = None,
                   consistent: bool = False, page_size: int | None = None,
                   on_invalid: Literal["raise", "skip"] = "raise") -> Iterator[M]:
        """Every model of a query, page after page."""
        _check_on_invalid(on_invalid, ("raise", "skip"))
        while True:
            page = self.query(key, index=index, filter=filter, limit=page_size, forward=forward, cursor=cursor,
                              consistent=consistent, on_invalid=on_invalid)
            yield from page.items
            cursor = page.cursor
            if cursor is None:
                return

    def scan(self, filter: CondLike = None, *, index: str | None = None, limit: int | None = None,
             cursor: str | None = None, on_invalid: OnInvalid = "raise") -> TypedPage[M]:
        """One page of a scan (a single-table model scans only its own entity type)."""
        return self.table.run_op("scan", self.op_scan(filter, index, limit, cursor, on_invalid), index)

    def scan_iter(self, filter: CondLike = None, *, index: str | None = None,
                  on_invalid: Literal["raise", "skip"] = "raise") -> Iterator[M]:
        _check_on_invalid(on_invalid, ("raise", "skip"))
        cursor: str | None = None
        while True:
            page = self.scan(filter, index=index, cursor=cursor, on_invalid=on_invalid)
            yield from page.items
            cursor = page.cursor
            if cursor is None:
                return

    def batch_write(self, puts: Iterable[M] = (), deletes: Iterable[KeyLike] = ()) -> BatchWriteResult:
        """Write models and delete keys in batches; nothing is dropped (see ``Table.batch_write``)."""
        return self.table.run_op("batch_write", self.op_batch_write(puts, deletes))

    def batch_get(self, keys: Iterable[KeyLike], *, consistent: bool = False,
                  on_invalid: OnInvalid = "raise") -> ItemList[M]:
        """The models found for ``keys``, in request order (missing keys are skipped)."""
        return self.table.run_op("batch_get", self.op_batch_get(keys, consistent, on_invalid))

    def transact_get(self, keys: Sequence[KeyLike]) -> list[M | None]:
        """A consistent snapshot of these keys as models (None where absent)."""
        return self.table.run_op("transact_get", self.op_transact_get(keys))

    def transact_write(self, actions: Sequence[tx.WriteAction], *, token: str | None = None) -> str:
        """All-or-nothing writes of ``tx_put``/``tx_update``/``tx_delete``/``tx_check`` actions (any tables)."""
        return self.table.transact_write(actions, token=token)


class AsyncTypedTable(_TypedCore[M]):
    """Typed access to a :class:`ddbkit.aio.AsyncTable` (``table.typed(Session)``); methods of
    :class:`TypedTable`, awaited."""

    table: AsyncTable

    def __init__(self, table: AsyncTable, model: type[M]) -> None:
        super().__init__(table, model)
        self.table = table

    async def get(self, key: KeyLike, *, consistent: bool = False,
                  on_invalid: Literal["raise", "skip"] = "raise") -> M | None:
        return await self.table.run_op("get", self.op_get(key, consistent, on_invalid))

    async def put(self, obj: M, *, condition: CondLike = None) -> M:
        return await self.table.run_op("put", self.op_put(obj, condition))

    async def update(self, key: KeyLike, update: Update | None = None, *, set: Mapping[PathKey, Any] | None = None,
                     remove: Iterable[PathKey] | None = None, add: Mapping[PathKey, Any] | None = None,
                     delete: Mapping[PathKey, Any] | None = None, condition: CondLike = None,
                     expected_version: int | None = None, must_exist: bool = True) -> M:
        up = self._fields_update(update, set, remove, add, delete)
        op = self.op_update(key, up, condition, expected_version, must_exist)
        return await self.table.run_op("update", op)

    async def delete(self, key: KeyLike, *, condition: CondLike = None) -> None:
        await self.table.run_op("delete", self.op_delete(key, condition))

    async def query(self, key: Mapping[str, Any] | KeyCondition | Any, *, index: str | None = None,
                    filter: CondLike = None, limit: int | None = None, forward: bool = True,
                    cursor: str | None = None, consistent: bool = False,
                    on_invalid: OnInvalid = "raise") -> TypedPage[M]:
        op = self.op_query(key, index, filter, limit, forward, cursor, consistent, on_invalid)
        return await self.table.run_op("query", op, index)

    async def query_iter(self, key: Mapping[str, Any] | KeyCondition | Any, *, index: str | None = None,
                         filter: CondLike = None, forward: bool = True, cursor: str | None = None,
                         consistent: bool = False, page_size: int | None = None,
                         on_invalid: Literal["raise", "skip"] = "raise") -> AsyncIterator[M]:
        _check_on_invalid(on_invalid, ("raise", "skip"))
        while True:
            page = await self.query(key, index=index, filter=filter, limit=page_size, forward=forward,
                                    cursor=cursor, consistent=consistent, on_invalid=on_invalid)
            for m in page.items:
                yield m
            cursor = page.cursor
            if cursor is None:
                return

    async def scan(self, filter: CondLike = None, *, index: str | None = None, limit: int | None = None,
                   cursor: str | None = None, on_invalid: OnInvalid = "raise") -> TypedPage[M]:
        return await self.table.run_op("scan", self.op_scan(filter, index, limit, cursor, on_invalid), index)

    async def scan_iter(self, filter: CondLike = None, *, index: str | None = None,
                        on_invalid: Literal["raise", "skip"] = "raise") -> AsyncIterator[M]:
        _check_on_invalid(on_invalid, ("raise", "skip"))
        cursor: str | None = None
        while True:
            page = await self.scan(filter, index=index, cursor=cursor, on_invalid=on_invalid)
            for m in page.items:
                yield m
            cursor = page.cursor
            if cursor is None:
                return

    async def batch_write(self, puts: Iterable[M] = (), deletes: Iterable[KeyLike] = ()) -> BatchWriteResult:
        return await self.table.run_op("batch_write", self.op_batch_write(puts, deletes))

    async def batch_get(self, keys: Iterable[KeyLike], *, consistent: bool = False,
                        on_invalid: OnInvalid = "raise") -> ItemList[M]:
        return await self.table.run_op("batch_get", self.op_batch_get(keys, consistent, on_invalid))

    async def transact_get(self, keys: Sequence[KeyLike]) -> list[M | None]:
        return await self.table.run_op("transact_get", self.op_transact_get(keys))

    async def transact_write(self, actions: Sequence[tx.WriteAction], *, token: str | None = None) -> str:
        return await self.table.transact_write(actions, token=token)
