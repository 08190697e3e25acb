"""Request building and response parsing for every Table operation, as I/O-free generators.

:class:`TableCore` holds what a table client knows (name, key schema, codec policy, cursor codec, retry
policy) and turns each call into an operation generator (see ``ddbkit.core.engine``). ``ddbkit.Table`` runs
them with threads, ``ddbkit.aio.AsyncTable`` with asyncio: one implementation of every rule.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Generic, TYPE_CHECKING

from ddbkit.core import batch as _batch
from ddbkit.core.codec import (
    NumberMode,
    check_item,
    check_key,
    encode_key,
    encode_put,
    item_size,
    marshal,
    marshal_item,
    marshal_key,
    marshal_put,
    unmarshal,
    unmarshal_item,
    unmarshal_items,
    DecodedItem,
    DecodedItems,
    PageRequest,
)
from ddbkit.core.cursor import CursorCodec, CursorScope, CursorSecret
from ddbkit.core.cursor import wire_json as _cursor_json
from ddbkit.core.engine import Call, Op
from ddbkit.errors import ClientValidationError, ConditionalCheckFailed, DynamoDBError
from ddbkit.errors import TransactionCanceled  # exactly-once writes
from ddbkit.core.expressions import Path  # exactly-once writes
from ddbkit.core.expressions import (
    Attr,
    Compiler,
    Condition,
    KeyCondition,
    Update,
    Operand,
    check_expression,
    check_placeholders,
    projection,
)
from ddbkit.core.keys import KeySchema
from ddbkit.core.retry import DEFAULT_POLICY, RetryPolicy

if TYPE_CHECKING:  # imported lazily at run time: transactions are rare on the cold-start path
    from typing_extensions import TypeVar

    from ddbkit.core import transactions as tx
    ItemT = TypeVar("ItemT", default=dict[str, Any])  # a bare ``Page`` is a page of dicts
else:
    from typing import TypeVar

    ItemT = TypeVar("ItemT")

_Core = TypeVar("_Core", bound="TableCore")

__all__ = ["TableCore", "Page", "VersionConflict", "ttl_epoch"]

_RETURN_VALUES = frozenset({"NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"})
logger = logging.getLogger("ddbkit")
_ABSENT = object()
_UNKNOWN = object()
# (stored wire item or None) -> True when it is exactly what a retried conditional write would have left
AppliedCheck = Callable[[Mapping[str, Any] | None], bool]


@dataclass
class Page(Generic[ItemT]):
    """One page of a query or scan (``Page[Session]`` from a typed table; items are dicts otherwise).

    ``cursor`` is the opaque token for the next page (None on the last page); ``count`` the items
    returned, ``scanned_count`` the items DynamoDB read before the filter; ``consumed_capacity`` read units.
    """

    items: list[ItemT] = field(default_factory=list)
    cursor: str | None = None
    count: int = 0
    scanned_count: int = 0
    consumed_capacity: float = 0.0
    last_key: dict[str, Any] | None = None

    def __iter__(self) -> Iterator[ItemT]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def _is_boto3(value: object) -> bool:
    return type(value).__module__ == "boto3.dynamodb.conditions"


def _from_boto3(value: Any, where: str) -> Any:
    from ddbkit.core.boto3_conditions import from_boto3

    return from_boto3(value, where)


class VersionConflict(ConditionalCheckFailed):
    """An optimistic-locking write found another version than the one it read."""


def ttl_epoch(when: datetime | timedelta | float | int, now: datetime | None = None) -> int:
    """Epoch seconds for a TTL attribute: an aware/naive-UTC datetime, a delay from now, or seconds."""
    if isinstance(when, timedelta):
        base = now or datetime.now(timezone.utc)
        return int((base + when).timestamp())
    if isinstance(when, datetime):
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return int(when.timestamp())
    return int(when)


class TableCore:
    """Everything a table client does except I/O. Subclasses add a driver (sync or async)."""

    #: The table's TTL attribute when known (``from_env`` reads ``PREFIX_TTL``); for ``ttl_epoch`` values.
    ttl_attribute: str | None = None
    #: Batch writes keep each request as its JSON bytes (:class:`ddbkit.core.batch.EncodedWrites`) while in
    #: flight: set by the table clients when their transport says ``accepts_encoded_writes`` (the fast ones).
    encoded_writes: bool = False
    #: Query/Scan requests go as :class:`ddbkit.core.codec.PageRequest`, so the transport decodes the page's
    #: items straight from its JSON: set by the table clients when their transport says ``decodes_pages``.
    decoded_pages: bool = False
    #: Send updates, conditional puts/deletes and versioned writes as single-action transactions with a
    #: ClientRequestToken reused by every retry, so none applies twice (``Table(exactly_once=True)``).
    exactly_once: bool = False

    def __init__(self, name: str, *, key: KeySchema | tuple[str, str | None] | str | None = None,
                 retry: RetryPolicy | None = None, cursor_secret: CursorSecret | CursorCodec = None,
                 number: NumberMode | str = NumberMode.AUTO, concurrency: int = 8,
                 return_consumed_capacity: str = "TOTAL", tracing: Any = None) -> None:
        if not isinstance(name, str) or not 3 <= len(name) <= 255:
            raise ClientValidationError(f"table name {name!r} must be 3-255 characters", "name", "name.format")
        if concurrency < 1:
            raise ClientValidationError("concurrency must be >= 1", "concurrency", "concurrency")
        if return_consumed_capacity not in ("TOTAL", "INDEXES", "NONE"):
            raise ClientValidationError("return_consumed_capacity is TOTAL, INDEXES or NONE",
                                        "return_consumed_capacity", "capacity")
        self.name = name
        self.known_keys: KeySchema | None = KeySchema.of(key) if key is not None else None
        self.retry = retry or DEFAULT_POLICY
        self.cursors = (cursor_secret if isinstance(cursor_secret, CursorCodec)
                        else CursorCodec(cursor_secret, from_env=True))
        self.number = NumberMode(number)
        self.concurrency = concurrency
        self.rcc = return_consumed_capacity
        self._tracing = tracing
        self._tracer: Any = None

    @property
    def tracer(self) -> Any:
        """The tracer of this client (``tracing=`` argument, else ``DDBKIT_TRACING``), resolved on first use."""
        if self._tracer is None:
            from ddbkit.tracing.api import resolve

            self._tracer = resolve(self._tracing)
        return self._tracer

    # -- exactly-once writes (docs/idempotency.md) -------------------------------------------------
    @property
    def once(self: _Core) -> _Core:
        """This client with ``exactly_once`` on (same connections, usage and retry policy): ``table.once.update(
        key, add={"n": 1})`` is applied once however often a timeout makes it resend (2x the WCU)."""
        view = self.__dict__.get("_once_view")
        if view is None:
            if self.exactly_once:
                return self
            import copy

            view = copy.copy(self)
            view.exactly_once = True
            self.__dict__["_once_view"] = view
        return view

    # ------------------------------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------------------------------
    def op_keys(self) -> Op[KeySchema]:
        if self.known_keys is None:
            resp = yield Call("DescribeTable", {"TableName": self.name})
            self.known_keys = KeySchema.from_description(resp["Table"])
        return self.known_keys

    def op_keys_for(self, index: str | None) -> Op[KeySchema]:
        """The key schema, described once more if ``index`` is not known yet (``key=`` named only the
        table's keys): a Table built with ``key="pk"`` can still query any index."""
        keys = yield from self.op_keys()
        if index is not None and index not in keys.indexes and not keys.complete:
            yield from self.op_describe()
            assert self.known_keys is not None
            keys = self.known_keys
        return keys

    def op_describe(self) -> Op[dict[str, Any]]:
        resp = yield Call("DescribeTable", {"TableName": self.name})
        self.known_keys = KeySchema.from_description(resp["Table"])
        table: dict[str, Any] = resp["Table"]
        return table

    def _key(self, key: Mapping[str, Any], keys: KeySchema, where: str = "key") -> dict[str, Any]:
        if not isinstance(key, Mapping):
            raise ClientValidationError(f"a key is a mapping of {list(keys.names)}, got {type(key).__name__}", where,
                                        "key.type")
        extra = [k for k in key if k not in keys.names]
        if extra:
            raise ClientValidationError(f"{extra} are not key attributes; the key is {list(keys.names)}", where,
                                        "key.extra")
        wire = marshal_item(key, where)
        check_key(wire, keys.names, where, keys.types)
        return wire

    def _item(self, item: Mapping[str, Any], keys: KeySchema, where: str = "item") -> dict[str, Any]:
        wire = marshal_item(item, where)
        check_item(wire, keys.names, where, keys.types)
        return wire

    def _condition(self, c: Compiler, req: dict[str, Any], condition: Condition | str | None,
                   names: Mapping[str, str] | None, values: Mapping[str, Any] | None,
                   field_name: str = "ConditionExpression") -> None:
        if condition is None:
            if names or values:
                c.add_user(names, values)
            return
        if isinstance(condition, str):
            check_expression(condition, field_name, {**c.names, **(names or {})},
                             {**c.values, **(values or {})})
            c.add_user(names, values)
            req[field_name] = condition
        elif isinstance(condition, Condition):
            c.add_user(names, values)
            req[field_name] = condition.compile(c)
        elif _is_boto3(condition):  # boto3.dynamodb.conditions Attr(...) objects (migration aid)
            self._condition(c, req, _from_boto3(condition, field_name), names, values, field_name)
        else:
            raise ClientValidationError(f"{field_name} must be a Condition (Attr(...) == ...) or a string",
                                        field_name, "expression.type")

    def _finish(self, c: Compiler, req: dict[str, Any]) -> dict[str, Any]:
        c.apply(req)
        check_placeholders(req)
        if self.rcc != "NONE":
            req["ReturnConsumedCapacity"] = self.rcc
        return req

    @staticmethod
    def _return_options(req: dict[str, Any], return_values: str | None, return_on_failure: bool,
                        only_old: str | None = None) -> None:
        """ReturnValues (put/delete, named by ``only_old``, allow only ALL_OLD) and the failure item."""
        if return_values is not None:
            rv = return_values.upper()
            if rv not in _RETURN_VALUES:
                raise ClientValidationError(f"return_values must be one of {sorted(_RETURN_VALUES)}",
                                            "return_values", "return-values")
            if only_old and rv not in ("NONE", "ALL_OLD"):
                raise ClientValidationError(f"{only_old} returns only ALL_OLD or NONE", "return_values",
                                            "return-values")
            if rv != "NONE":
                req["ReturnValues"] = rv
        if return_on_failure:
            req["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"

    def _parse_attrs(self, resp: Mapping[str, Any]) -> dict[str, Any] | None:
        attrs = resp.get("Attributes")
        return unmarshal_item(attrs, self.number) if attrs else None

    def op_call(self, operation: str, req: dict[str, Any], applied: AppliedCheck | None = None) -> Op[dict[str, Any]]:
        """One call; a conditional failure comes back with the item as plain Python.

        ``applied`` detects a conditional write that was sent again after a timeout/reset and then failed
        its condition *because its first attempt had been applied*: the stored item (from the failure's
        ``ReturnValuesOnConditionCheckFailure`` item, else one consistent GetItem) is exactly what the write
        leaves. Then the write counts as applied (the returned response is ``{}``, or the stored item as
        ``Attributes`` for ``ALL_NEW``) instead of raising. See docs/reliability.md for when this is possible.
        """
        try:
            resp: dict[str, Any] = yield Call(operation, req)
        except ConditionalCheckFailed as err:
            if err.item is None:
                item = (err.response or {}).get("Item")
                if item:
                    err.item = unmarshal_item(item, self.number)
            if err.retried and applied is not None:
                current = yield from self.op_stored(req, err)
                if current is not _UNKNOWN and applied(current):
                    logger.warning("%s on %s: the condition failed on a retry because the first attempt had been "
                                   "applied (the stored item is what was written); reported as applied",
                                   operation, self.name)
                    if req.get("ReturnValues") == "ALL_NEW" and current:
                        return {"Attributes": current}
                    return {}
            raise
        return resp

    def op_stored(self, req: Mapping[str, Any], err: ConditionalCheckFailed) -> Op[Any]:
        """The stored wire item (None: absent) after a conditional failure, or ``_UNKNOWN``."""
        if req.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD":
            return (err.response or {}).get("Item") or None
        keys = yield from self.op_keys()
        key = req.get("Key") or {k: req["Item"][k] for k in keys.names}
        try:
            resp = yield Call("GetItem", {"TableName": self.name, "Key": key, "ConsistentRead": True})
        except DynamoDBError:
            return _UNKNOWN
        return resp.get("Item") or None

    # ------------------------------------------------------------------------------------------
    # single items
    # ------------------------------------------------------------------------------------------
    def op_get(self, key: Mapping[str, Any], consistent: bool = False,
                attributes: Sequence[str] | None = None) -> Op[dict[str, Any] | None]:
        keys = yield from self.op_keys()
        req: dict[str, Any] = {"TableName": self.name, "Key": self._key(key, keys)}
        if consistent:
            req["ConsistentRead"] = True
        c = Compiler()
        if attributes:
            req["ProjectionExpression"] = projection(attributes, c)
        resp = yield Call("GetItem", self._page_request(self._finish(c, req)))
        item = resp.get("Item")
        if type(item) is DecodedItem:  # decoded by the transport (the C extension): a plain dict to the caller
            return dict(item) or None
        return unmarshal_item(item, self.number) if item else None

    def op_put(self, item: Mapping[str, Any], condition: Condition | str | None = None,
                names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None,
                return_values: str | None = None, return_on_failure: bool = False) -> Op[dict[str, Any] | None]:
        if self.exactly_once and condition is not None:
            yield from self.op_put_once(item, condition, names, values, return_values, return_on_failure)
            return None
        keys = yield from self.op_keys()
        req: dict[str, Any] = {"TableName": self.name, "Item": self._item(item, keys)}
        c = Compiler()
        self._condition(c, req, condition, names, values)
        self._return_options(req, return_values, return_on_failure, only_old="put")
        written = req["Item"]
        check: AppliedCheck | None = None
        if "ConditionExpression" in req:
            def check(stored: Mapping[str, Any] | None) -> bool:
                return stored is not None and _same(stored, written)
        resp = yield from self.op_call("PutItem", self._finish(c, req), check)
        return self._parse_attrs(resp)

    def op_update(self, key: Mapping[str, Any], update: Update | str | None = None, *,
                   set: Mapping[str, Any] | None = None, remove: Iterable[str] | None = None,
                   add: Mapping[str, Any] | None = None, delete: Mapping[str, Any] | None = None,
                   condition: Condition | str | None = None, names: Mapping[str, str] | None = None,
                   values: Mapping[str, Any] | None = None, return_values: str | None = None,
                   return_on_failure: bool = False) -> Op[dict[str, Any] | None]:
        if self.exactly_once:
            yield from self.op_update_once(key, update, set=set, remove=remove, add=add, delete=delete,
                                            condition=condition, names=names, values=values,
                                            return_values=return_values, return_on_failure=return_on_failure)
            return None
        keys = yield from self.op_keys()
        req: dict[str, Any] = {"TableName": self.name, "Key": self._key(key, keys)}
        c = Compiler()
        c.add_user(names, values)
        self._update_expression(c, req, keys, update, set, remove, add, delete)
        self._condition(c, req, condition, None, None)
        self._return_options(req, return_values, return_on_failure)
        outcome = _update_outcome(update, set, remove, add, delete) if "ConditionExpression" in req else None
        check: AppliedCheck | None = None
        if outcome is not None:
            def check(stored: Mapping[str, Any] | None) -> bool:
                return stored is not None and all(_value_at(stored, parts) == want for parts, want in outcome)
        resp = yield from self.op_call("UpdateItem", self._finish(c, req), check)
        return self._parse_attrs(resp)

    def _update_expression(self, c: Compiler, req: dict[str, Any], keys: KeySchema, update: Update | str | None,
                           set: Mapping[str, Any] | None, remove: Iterable[str] | None,
                           add: Mapping[str, Any] | None, delete: Mapping[str, Any] | None) -> None:
        if update is not None and (set or remove or add or delete):
            raise ClientValidationError("give either an Update/expression or set=/remove=/add=/delete=, not both",
                                        "update", "update.args")
        if update is None:
            update = Update.from_dicts(set, remove, add, delete)
        if isinstance(update, str):
            check_expression(update, "UpdateExpression", c.names, c.values)
            req["UpdateExpression"] = update
            return
        for p in update.paths():
            if p.parts[0] in keys.names and len(p.parts) == 1:
                raise ClientValidationError(f"{p.parts[0]!r} is a key attribute and cannot be updated", str(p),
                                            "update.key")
        req["UpdateExpression"] = update.compile(c)

    def op_delete(self, key: Mapping[str, Any], condition: Condition | str | None = None,
                   names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None,
                   return_values: str | None = None, return_on_failure: bool = False) -> Op[dict[str, Any] | None]:
        if self.exactly_once and condition is not None:
            yield from self.op_delete_once(key, condition, names, values, return_values, return_on_failure)
            return None
        keys = yield from self.op_keys()
        req: dict[str, Any] = {"TableName": self.name, "Key": self._key(key, keys)}
        c = Compiler()
        self._condition(c, req, condition, names, values)
        self._return_options(req, return_values, return_on_failure, only_old="delete")
        resp = yield from self.op_call("DeleteItem", self._finish(c, req))
        return self._parse_attrs(resp)

    def op_exists(self, key: Mapping[str, Any], consistent: bool = False) -> Op[bool]:
        keys = yield from self.op_keys()
        item = yield from self.op_get(key, consistent, [keys.hash_key])
        return item is not None

    # ------------------------------------------------------------------------------------------
    # optimistic locking
    # ------------------------------------------------------------------------------------------
    def op_put_versioned(self, item: Mapping[str, Any], version_attr: str = "version") -> Op[dict[str, Any]]:
        """Put ``item`` only if the stored version is the one it carries (absent = new item); bump it."""
        if self.exactly_once:
            return (yield from self.op_put_versioned_once(item, version_attr))
        keys = yield from self.op_keys()
        current = item.get(version_attr)
        new = dict(item)
        new[version_attr] = 1 if current is None else int(current) + 1
        condition = Attr(keys.hash_key).not_exists() if current is None else Attr(version_attr) == current
        try:
            yield from self.op_put(new, condition=condition)
        except ConditionalCheckFailed as err:
            raise VersionConflict(err.code, f"{version_attr} is no longer {current!r}: the item changed since it "
                                  "was read", operation="PutItem", status=err.status, response=err.response) from None
        return new

    def op_update_versioned(self, key: Mapping[str, Any], update: Update, expected: int,
                             version_attr: str = "version") -> Op[dict[str, Any] | None]:
        if self.exactly_once:
            return (yield from self.op_update_versioned_once(key, update, expected, version_attr))
        update.set(version_attr, expected + 1)
        try:
            result = yield from self.op_update(key, update, condition=Attr(version_attr) == expected,
                                                return_values="ALL_NEW")
        except ConditionalCheckFailed as err:
            raise VersionConflict(err.code, f"{version_attr} is no longer {expected}", operation="UpdateItem",
                                  status=err.status, response=err.response) from None
        return result

    # ------------------------------------------------------------------------------------------
    # query / scan
    # ------------------------------------------------------------------------------------------
    def _scope(self, index: str | None) -> CursorScope:
        return CursorScope(self.name, index, "scan")

    def _query_scope(self, index: str | None, kce: str, c: Compiler) -> CursorScope:
        """Table/index plus the key condition with its placeholders resolved: a cursor is bound to the query
        it came from (encrypted: as associated data; plain: as digests checked before sending)."""
        used = set(re.findall(r"[#:][A-Za-z0-9_]+", kce))
        bound = {"e": kce, "n": {k: v for k, v in c.names.items() if k in used},
                 "v": {k: v for k, v in c.values.items() if k in used}}
        return CursorScope(self.name, index, "query", _cursor_json(bound).decode("utf-8"))

    @staticmethod
    def _string_partition(kce: str, c: Compiler, ihash: str) -> dict[str, Any]:
        """``{partition key: AttributeValue}`` of a hand-written key condition (``pk = :p``, ``#k = :p`` or
        ``:p = pk``), so a cursor is checked against the queried partition as for built conditions."""
        for left, right in re.findall(r"([#:]?[A-Za-z0-9_]+)\s*=\s*([#:]?[A-Za-z0-9_]+)", kce):
            for attr, value in ((left, right), (right, left)):
                name = c.names.get(attr, attr) if attr.startswith("#") else attr
                if name == ihash and value.startswith(":") and value in c.values:
                    return {ihash: c.values[value]}
        return {}

    def op_query(self, key_condition: KeyCondition | Mapping[str, Any] | str, *, index: str | None = None,
                  filter: Condition | str | None = None, limit: int | None = None, forward: bool = True,
                  cursor: str | None = None, attributes: Sequence[str] | None = None, consistent: bool = False,
                  names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None,
                  select: str | None = None) -> Op[Page]:
        keys = yield from self.op_keys_for(index)
        ihash, irange = keys.index(index)
        req: dict[str, Any] = {"TableName": self.name}
        if index:
            req["IndexName"] = index
        c = Compiler()
        c.add_user(names, values)
        partition: dict[str, Any] = {}
        if isinstance(key_condition, Mapping):
            unknown = [k for k in key_condition if k not in (ihash, irange)]
            if unknown or ihash not in key_condition:
                raise ClientValidationError(f"a key mapping needs the partition key {ihash!r} (and optionally "
                                            f"{irange!r}); got {list(key_condition)}", "key_condition", "query.key")
            kc = KeyCondition([(k, "=", (v,)) for k, v in key_condition.items()])
            key_condition = kc
        elif _is_boto3(key_condition):  # boto3.dynamodb.conditions Key(...) objects (migration aid)
            key_condition = _from_boto3(key_condition, "KeyConditionExpression")
        if isinstance(key_condition, KeyCondition):
            eq = key_condition.equality()
            if ihash not in eq:
                raise ClientValidationError(f"the key condition must test the partition key {ihash!r} with equality",
                                            "key_condition", "query.key")
            others = [n for n, _, _ in key_condition.parts if n != ihash]
            if any(n != irange for n in others):
                raise ClientValidationError(f"key conditions may use only {ihash!r} and {irange!r}; got {others}",
                                            "key_condition", "query.key")
            partition = {ihash: marshal(eq[ihash], ihash)}
            req["KeyConditionExpression"] = key_condition.compile(c)
        elif isinstance(key_condition, str):
            check_expression(key_condition, "KeyConditionExpression", c.names, c.values)
            req["KeyConditionExpression"] = key_condition
            partition = self._string_partition(key_condition, c, ihash)
        else:
            raise ClientValidationError("key_condition is Key(...).eq(...), a {name: value} mapping or a string",
                                        "key_condition", "query.key")
        scope = self._query_scope(index, req["KeyConditionExpression"], c)
        self._page_params(c, req, filter, limit, cursor, attributes, consistent, select, index, keys, partition,
                          scope)
        if not forward:
            req["ScanIndexForward"] = False
        resp = yield Call("Query", self._page_request(self._finish(c, req)))
        return self._page(resp, index, scope)

    def op_scan(self, filter: Condition | str | None = None, *, index: str | None = None, limit: int | None = None,
                 cursor: str | None = None, attributes: Sequence[str] | None = None, consistent: bool = False,
                 segment: int | None = None, total_segments: int | None = None,
                 names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None,
                 select: str | None = None) -> Op[Page]:
        keys = yield from self.op_keys_for(index)
        keys.index(index)
        req: dict[str, Any] = {"TableName": self.name}
        if index:
            req["IndexName"] = index
        if (segment is None) != (total_segments is None):
            raise ClientValidationError("segment and total_segments go together", "segment", "scan.segment")
        if total_segments is not None and segment is not None:
            if not 1 <= total_segments <= 1_000_000 or not 0 <= segment < total_segments:
                raise ClientValidationError(f"segment {segment} of {total_segments} is out of range", "segment",
                                            "scan.segment")
            req["Segment"], req["TotalSegments"] = segment, total_segments
        c = Compiler()
        c.add_user(names, values)
        self._page_params(c, req, filter, limit, cursor, attributes, consistent, select, index, keys, {})
        resp = yield Call("Scan", self._page_request(self._finish(c, req)))
        return self._page(resp, index)

    def _page_params(self, c: Compiler, req: dict[str, Any], filter: Condition | str | None, limit: int | None,
                     cursor: str | None, attributes: Sequence[str] | None, consistent: bool, select: str | None,
                     index: str | None, keys: KeySchema, partition: Mapping[str, Any],
                     scope: CursorScope | None = None) -> None:
        self._condition(c, req, filter, None, None, "FilterExpression")
        if limit is not None:
            if not isinstance(limit, int) or limit < 1:
                raise ClientValidationError(f"limit must be a positive integer, got {limit!r}", "limit", "limit")
            req["Limit"] = limit
        if cursor is not None:  # "" is refused, not the first page (a client echoing ?cursor= would loop)
            req["ExclusiveStartKey"] = self.cursors.decode(cursor, scope or self._scope(index),
                                                           keys.cursor_names(index), partition, keys.types)
        if attributes:
            req["ProjectionExpression"] = projection(attributes, c)
        if consistent:
            req["ConsistentRead"] = True
        if select:
            req["Select"] = select

    def _page_request(self, req: dict[str, Any]) -> dict[str, Any]:
        return PageRequest(req, self.number) if self.decoded_pages else req

    def _page(self, resp: Mapping[str, Any], index: str | None, scope: CursorScope | None = None) -> Page:
        found = resp.get("Items") or []
        # already decoded by the transport (DecodedItems), else the cyclic GC paused: see unmarshal_items
        items = list(found) if type(found) is DecodedItems else unmarshal_items(found, self.number)
        last = resp.get("LastEvaluatedKey")
        cc = resp.get("ConsumedCapacity") or {}
        return Page(items=items, cursor=self.cursors.encode(last, scope or self._scope(index)) if last else None,
                    count=int(resp.get("Count", len(items))), scanned_count=int(resp.get("ScannedCount", 0)),
                    consumed_capacity=float(cc.get("CapacityUnits") or 0.0), last_key=last)

    def op_count(self, key_condition: KeyCondition | Mapping[str, Any] | str | None = None, *,
                  index: str | None = None, filter: Condition | str | None = None,
                  names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None) -> Op[int]:
        total = 0
        cursor: str | None = None
        while True:
            if key_condition is None:
                page = yield from self.op_scan(filter, index=index, cursor=cursor, names=names, values=values,
                                                select="COUNT")
            else:
                page = yield from self.op_query(key_condition, index=index, filter=filter, cursor=cursor,
                                                 names=names, values=values, select="COUNT")
            total += page.count
            cursor = page.cursor
            if cursor is None:
                return total

    # ------------------------------------------------------------------------------------------
    # batches
    # ------------------------------------------------------------------------------------------
    def op_batch_write(self, puts: Iterable[Mapping[str, Any]] = (), deletes: Iterable[Mapping[str, Any]] = (),
                        requests: Iterable[tuple[str, Mapping[str, Any]]] = (),
                        concurrency: int | None = None, validate_first: bool = False) -> Op[_batch.BatchWriteResult]:
        keys = yield from self.op_keys()
        result = yield from _batch.write_op(self.name, keys.names, _batch.RequestSource(puts, deletes, requests),
                                            self._batch_marshal(keys), self.retry, concurrency or self.concurrency,
                                            self.rcc, validate_first)
        return result

    def _batch_marshal(self, keys: KeySchema) -> Any:
        """``marshal(kind, value, i)`` for the batch pipeline: one walk per item, the error's path
        (``requests[i]...``) built only when one is raised."""
        names, types = keys.names, keys.types
        if self.encoded_writes:
            def encode_one(kind: str, value: Mapping[str, Any], i: int) -> tuple[bytes, dict[str, Any]]:
                if kind == "put":
                    return encode_put(value, names, types, lambda: f"requests[{i}]")
                if kind == "delete":
                    return encode_key(value, names, types, lambda: f"requests[{i}]")
                raise ClientValidationError(f"request kind must be 'put' or 'delete', got {kind!r}",
                                            f"requests[{i}]", "batch.kind")

            return encode_one

        def marshal_one(kind: str, value: Mapping[str, Any], i: int) -> tuple[dict[str, Any], dict[str, Any]]:
            if kind == "put":
                item = marshal_put(value, names, types, lambda: f"requests[{i}]")
                return {"PutRequest": {"Item": item}}, item
            if kind == "delete":
                key = marshal_key(value, names, types, lambda: f"requests[{i}]")
                return {"DeleteRequest": {"Key": key}}, key
            raise ClientValidationError(f"request kind must be 'put' or 'delete', got {kind!r}", f"requests[{i}]",
                                        "batch.kind")

        return marshal_one

    def op_batch_get(self, keys_: Iterable[Mapping[str, Any]], consistent: bool = False,
                      attributes: Sequence[str] | None = None,
                      concurrency: int | None = None, validate_first: bool = False) -> Op[_batch.BatchGetResult]:
        keys = yield from self.op_keys()
        names, types = keys.names, keys.types
        extra: dict[str, Any] = {}
        if consistent:
            extra["ConsistentRead"] = True
        if attributes:
            # key attributes are always read back: results are matched to requests by key
            c = Compiler()
            paths = list(dict.fromkeys([*keys.names, *attributes]))
            extra["ProjectionExpression"] = projection(paths, c)
            extra["ExpressionAttributeNames"] = c.names

        def marshal_one(key: Mapping[str, Any], i: int) -> dict[str, Any]:
            return marshal_key(key, names, types, lambda: f"keys[{i}]")

        result = yield from _batch.get_op(self.name, names, keys_, marshal_one, extra, self.retry,
                                          concurrency or self.concurrency, self.number, self.rcc, validate_first)
        return result

    # ------------------------------------------------------------------------------------------
    # transactions
    # ------------------------------------------------------------------------------------------
    def op_table_of(self, action: Any) -> Op[tuple[str, KeySchema, TableCore]]:
        target = action.table
        if target is None:
            core: TableCore = self
        elif isinstance(target, TableCore):
            core = target
        elif isinstance(target, str):
            core = TableCore(target, retry=self.retry, number=self.number)
        else:
            raise ClientValidationError("table= takes a Table or a table name", "table", "transaction.table")
        keys = yield from core.op_keys()
        return core.name, keys, core

    def op_transact_write(self, actions: Sequence[tx.WriteAction], token: str | None = None) -> Op[str]:
        from ddbkit.core import transactions as tx
        items: list[dict[str, Any]] = []
        ids: list[tuple[str, tuple[Any, ...]]] = []
        size = 0
        for i, a in enumerate(actions):
            name, keys, core = yield from self.op_table_of(a)
            where = f"actions[{i}]"
            c = Compiler()
            body: dict[str, Any] = {"TableName": name}
            if isinstance(a, tx.Put):
                body["Item"] = core._item(a.item, keys, where)
                key_wire = {k: body["Item"][k] for k in keys.names}
                kind = "Put"
            elif isinstance(a, (tx.Update, tx.Delete, tx.ConditionCheck)):
                body["Key"] = key_wire = core._key(a.key, keys, where)
                kind = {tx.Update: "Update", tx.Delete: "Delete", tx.ConditionCheck: "ConditionCheck"}[type(a)]
            else:
                raise ClientValidationError(f"unknown transaction action {type(a).__name__}", where, "transaction.action")
            if isinstance(a, tx.Update):
                c.add_user(a.names, a.values)
                core._update_expression(c, body, keys, a.update, None, None, None, None)
                self._condition(c, body, a.condition, None, None)
            else:
                if isinstance(a, tx.ConditionCheck) and a.condition is None:
                    raise ClientValidationError("a condition check needs a condition", where, "transaction.condition")
                self._condition(c, body, a.condition, a.names, a.values)
            c.apply(body)
            check_placeholders(body)
            if a.return_on_failure:
                body["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
            size += item_size(body.get("Item") or body["Key"]) + sum(len(str(v)) for k, v in body.items()
                                                                        if k.endswith("Expression"))
            ids.append((name, _batch.key_id(key_wire, keys.names)))
            items.append({kind: body})
        tx.check_actions(len(items), size, ids)
        token = token or tx.new_token()
        req: dict[str, Any] = {"TransactItems": items, "ClientRequestToken": token}
        if self.rcc != "NONE":
            req["ReturnConsumedCapacity"] = self.rcc
        try:
            yield Call("TransactWriteItems", req)
        except DynamoDBError as err:
            err.token = token  # the caller may retry with it: applied at most once within 10 minutes
            raise
        return token

    def op_transact_get(self, gets: Sequence[tx.Get | Mapping[str, Any]]) -> Op[list[dict[str, Any] | None]]:
        from ddbkit.core import transactions as tx
        items: list[dict[str, Any]] = []
        ids: list[tuple[str, tuple[Any, ...]]] = []
        for i, g in enumerate(gets):
            action = g if isinstance(g, tx.Get) else tx.Get(key=g)
            name, keys, core = yield from self.op_table_of(action)
            body: dict[str, Any] = {"TableName": name, "Key": core._key(action.key, keys, f"gets[{i}]")}
            if action.projection:
                c = Compiler()
                body["ProjectionExpression"] = projection(action.projection, c)
                c.apply(body)
            ids.append((name, _batch.key_id(body["Key"], keys.names)))
            items.append({"Get": body})
        tx.check_actions(len(items), 0, ids)
        req: dict[str, Any] = {"TransactItems": items}
        if self.rcc != "NONE":
            req["ReturnConsumedCapacity"] = self.rcc
        resp = yield Call("TransactGetItems", req)
        return [unmarshal_item(r["Item"], self.number) if r.get("Item") else None for r in resp.get("Responses", [])]


    # ------------------------------------------------------------------------------------------
    # exactly-once writes: a single-action TransactWriteItems whose ClientRequestToken every retry reuses
    # ------------------------------------------------------------------------------------------
    def op_write_once(self, action: tx.WriteAction, token: str | None = None) -> Op[str]:
        """Apply one write at most once however often it is resent (DynamoDB acknowledges a resend with the
        same token within 10 minutes without applying it again), so a retry after a timeout or a reset
        cannot apply it twice. Raises what the plain write would (:class:`ConditionalCheckFailed`...), or
        :class:`~ddbkit.core.transactions.WriteOutcomeUnknown` when the retries are spent on errors that leave
        the outcome open. Costs 2 WCU per KB instead of 1 (a transactional write)."""
        from ddbkit.core import transactions as tx
        token = token or tx.new_token()
        yield from self.op_table_of(action)  # the key schema, before anything is sent (errors here are plain)
        first_sent = time.time()
        try:
            yield from self.op_transact_write([action], token)
        except TransactionCanceled as err:
            raise tx.single_action_error(err) from None
        except DynamoDBError as err:
            if err.retryable:
                raise tx.WriteOutcomeUnknown(token, self._last_once_request(action, token), err, first_sent) from err
            raise
        return token

    def _last_once_request(self, action: tx.WriteAction, token: str) -> dict[str, Any]:
        """The TransactWriteItems request of a single-action write (for :meth:`op_resend`), rebuilt: the
        same action and token give the same request (placeholders are numbered deterministically)."""
        from ddbkit.core.engine import run_inline

        captured: dict[str, Any] = {}

        def responder(operation: str, request: dict[str, Any]) -> dict[str, Any]:
            if operation == "TransactWriteItems":
                captured.update(request)
                return {}
            raise RuntimeError("the key schema is known once a write was sent")  # pragma: no cover

        run_inline(self.op_transact_write([action], token), responder)
        return captured

    def op_resend(self, request: Mapping[str, Any]) -> Op[str]:
        """Send a TransactWriteItems request again as it was (same ClientRequestToken): see
        :class:`~ddbkit.core.transactions.WriteOutcomeUnknown`."""
        from ddbkit.core import transactions as tx
        req = dict(request)
        token = str(req.get("ClientRequestToken") or "")
        if not token or "TransactItems" not in req:
            raise ClientValidationError("resend takes the request of a WriteOutcomeUnknown (TransactItems and a "
                                        "ClientRequestToken)", "request", "resend.request")
        first_sent = time.time()
        try:
            yield Call("TransactWriteItems", req)
        except TransactionCanceled as err:
            raise tx.single_action_error(err) if len(req["TransactItems"]) == 1 else err from None
        except DynamoDBError as err:
            if err.retryable:
                raise tx.WriteOutcomeUnknown(token, req, err, first_sent) from err
            raise
        return token

    @staticmethod
    def _once_no_return_values(return_values: str | None) -> None:
        if return_values is not None and return_values.upper() != "NONE":
            raise ClientValidationError("an exactly-once write is a transaction, which returns no item: drop "
                                        "return_values (read the item afterwards) or write without exactly_once",
                                        "return_values", "exactly-once.return-values")

    def op_update_once(self, key: Mapping[str, Any], update: Update | str | None = None, *,
                        set: Mapping[str, Any] | None = None, remove: Iterable[str] | None = None,
                        add: Mapping[str, Any] | None = None, delete: Mapping[str, Any] | None = None,
                        condition: Condition | str | None = None, names: Mapping[str, str] | None = None,
                        values: Mapping[str, Any] | None = None, return_values: str | None = None,
                        return_on_failure: bool = False, token: str | None = None) -> Op[None]:
        """:meth:`op_update` applied exactly once (counters: ``add={"n": 1}`` never double-counts)."""
        from ddbkit.core import transactions as tx
        self._once_no_return_values(return_values)
        if update is not None and (set or remove or add or delete):
            raise ClientValidationError("give either an Update/expression or set=/remove=/add=/delete=, not both",
                                        "update", "update.args")
        expr = update if update is not None else Update.from_dicts(set, remove, add, delete)
        yield from self.op_write_once(tx.Update(key, expr, condition, names, values,
                                                 return_on_failure=return_on_failure), token)
        return None

    def op_put_once(self, item: Mapping[str, Any], condition: Condition | str | None = None,
                     names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None,
                     return_values: str | None = None, return_on_failure: bool = False,
                     token: str | None = None) -> Op[None]:
        """A conditional put applied exactly once (a resend after a timeout is not reported as failed)."""
        from ddbkit.core import transactions as tx
        self._once_no_return_values(return_values)
        yield from self.op_write_once(tx.Put(item, condition, names, values, return_on_failure=return_on_failure),
                                       token)
        return None

    def op_delete_once(self, key: Mapping[str, Any], condition: Condition | str | None = None,
                        names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None,
                        return_values: str | None = None, return_on_failure: bool = False,
                        token: str | None = None) -> Op[None]:
        """A conditional delete applied exactly once."""
        from ddbkit.core import transactions as tx
        self._once_no_return_values(return_values)
        yield from self.op_write_once(tx.Delete(key, condition, names, values,
                                                 return_on_failure=return_on_failure), token)
        return None

    def op_put_versioned_once(self, item: Mapping[str, Any], version_attr: str = "version",
                               token: str | None = None) -> Op[dict[str, Any]]:
        """:meth:`op_put_versioned` applied exactly once: the resend of an applied put is acknowledged, not
        reported as a :class:`VersionConflict`."""
        from ddbkit.core import transactions as tx
        keys = yield from self.op_keys()
        current = item.get(version_attr)
        new = dict(item)
        new[version_attr] = 1 if current is None else int(current) + 1
        condition = Attr(keys.hash_key).not_exists() if current is None else Attr(version_attr) == current
        try:
            yield from self.op_write_once(tx.Put(new, condition), token)
        except ConditionalCheckFailed as err:
            raise VersionConflict(err.code, f"{version_attr} is no longer {current!r}: the item changed since it "
                                  "was read", operation="TransactWriteItems", status=err.status,
                                  response=err.response) from None
        return new

    def op_update_versioned_once(self, key: Mapping[str, Any], update: Update, expected: int,
                                  version_attr: str = "version", token: str | None = None) -> Op[dict[str, Any] | None]:
        """:meth:`op_update_versioned` applied exactly once. A transaction returns no item, so the new item
        is read back with a consistent GetItem (1 RCU; it may include writes made after this one)."""
        from ddbkit.core import transactions as tx
        expr = Update()
        expr._set, expr._remove = [*update._set, (Path.of(version_attr), expected + 1)], list(update._remove)
        expr._add, expr._delete = list(update._add), list(update._delete)
        try:
            yield from self.op_write_once(tx.Update(key, expr, Attr(version_attr) == expected), token)
        except ConditionalCheckFailed as err:
            raise VersionConflict(err.code, f"{version_attr} is no longer {expected}", operation="TransactWriteItems",
                                  status=err.status, response=err.response) from None
        return (yield from self.op_get(key, consistent=True))

def _plain(av: Mapping[str, Any]) -> Any:
    # numbers as Decimal ("1" and "1.0" are one DynamoDB number), B as bytes, sets as sets
    return unmarshal(av, NumberMode.DECIMAL)


def _same(stored: Mapping[str, Any], written: Mapping[str, Any]) -> bool:
    """Two wire items hold the same values (DynamoDB's equality: number forms, set order ignored)."""
    return stored.keys() == written.keys() and all(_plain(stored[k]) == _plain(written[k]) for k in written)


def _update_outcome(update: Update | str | None, set: Mapping[str, Any] | None, remove: Iterable[str] | None,
                    add: Mapping[str, Any] | None, delete: Mapping[str, Any] | None) -> list[tuple[tuple[Any, ...], Any]] | None:
    """What an update leaves at each path, when that does not depend on the item it updates: only ``SET path =
    literal`` and ``REMOVE``. None for expression strings, ADD, DELETE and computed values (``Attr + 1``...)."""
    if isinstance(update, str):
        return None
    u = update if update is not None else Update.from_dicts(set, remove, add, delete)
    # Update's clauses are read here (same package) to know what the write leaves behind
    if u._add or u._delete or any(isinstance(v, Operand) for _, v in u._set):
        return None
    return [(p.parts, _plain(marshal(v, str(p)))) for p, v in u._set] + [(p.parts, _ABSENT) for p in u._remove]


def _value_at(item: Mapping[str, Any], parts: tuple[Any, ...]) -> Any:
    """The plain value at a path of a wire item, or ``_ABSENT``."""
    value: Any = {"M": item}
    for part in parts:
        if isinstance(part, int):
            seq = value.get("L") if isinstance(value, Mapping) else None
            if not isinstance(seq, list) or part >= len(seq):
                return _ABSENT
            value = seq[part]
        else:
            members = value.get("M") if isinstance(value, Mapping) else None
            if not isinstance(members, Mapping) or part not in members:
                return _ABSENT
            value = members[part]
    return _plain(value)
