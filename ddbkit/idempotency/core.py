"""The idempotency store and the invocation plan, sans-I/O (shared by the sync and async decorators).

A record per idempotency key, in the Powertools layout (``id``, ``expiration``, ``in_progress_expiration``,
``status``, ``data``, ``validation``) so the same table serves both. An invocation is a *plan*: a generator
yielding ``("op", operation)`` (a store operation, itself an effect generator run by the table's driver)
and ``("call", None)`` (run the function), receiving their outcomes; the sync decorator drives it with
:class:`ddbkit.Table`, the async one with :class:`ddbkit.aio.AsyncTable`, so every decision is written once.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import hashlib
import inspect
import json
import logging
import os
import threading
import time
import uuid
import warnings
from collections import OrderedDict
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Literal

from ddbkit.core.engine import Op, Sleep
from ddbkit.errors import ConditionalCheckFailed, ConnectionFailed, DynamoDBError
from ddbkit.idempotency.errors import (
    IdempotencyInProgress,
    IdempotencyKeyError,
    IdempotencyPersistenceError,
    IdempotencyValidationError,
)

__all__ = ["IdempotencyStore", "IdempotencyConfig", "Record", "INPROGRESS", "COMPLETED", "EXPIRED", "Plan",
           "Selector", "select", "hash_data"]

log = logging.getLogger("ddbkit.idempotency")

INPROGRESS, COMPLETED, EXPIRED = "INPROGRESS", "COMPLETED", "EXPIRED"

Selector = str | Callable[[Any], Any] | None
"""What part of the payload identifies a request: a JMESPath expression (``"body.orderId"``,
``"[customer, amount]"``), a callable of the payload, or None (the whole payload)."""

Plan = Generator[tuple[str, Any], Any, Any]


# --------------------------------------------------------------------------------------------------
# Keys and hashes (Powertools-compatible: md5 of sorted-key JSON, "<prefix>#<hash>")
# --------------------------------------------------------------------------------------------------

def _json_default(obj: Any) -> Any:
    if isinstance(obj, decimal.Decimal):
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, (dt.date, dt.time)):
        return obj.isoformat()
    if isinstance(obj, (uuid.UUID, PurePath)):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    if isinstance(obj, bytes):
        import base64

        return base64.b64encode(obj).decode()
    dump = getattr(obj, "model_dump", None)  # pydantic models
    if callable(dump):
        return dump(mode="json")
    if hasattr(obj, "__dataclass_fields__"):
        import dataclasses

        return dataclasses.asdict(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def hash_data(data: Any, algorithm: str = "md5") -> str:
    """The hex digest of ``data`` as sorted-key JSON (the same digest Powertools computes)."""
    return hashlib.new(algorithm, json.dumps(data, sort_keys=True, default=_json_default).encode(),
                       usedforsecurity=False).hexdigest()


_COMPILED: dict[str, Any] = {}


def select(selector: Selector, payload: Any) -> Any:
    """Apply a selector (JMESPath, callable or None) to ``payload``."""
    if selector is None:
        return payload
    if callable(selector):
        return selector(payload)
    expr = _COMPILED.get(selector)
    if expr is None:
        import jmespath

        expr = _COMPILED[selector] = jmespath.compile(selector)
    if not isinstance(payload, (Mapping, list)):
        payload = _json_default(payload) if not isinstance(payload, (str, int, float, bool)) else payload
    return expr.search(payload)


def _missing(data: Any) -> bool:
    if isinstance(data, dict):
        return all(v is None for v in data.values())
    if isinstance(data, (list, tuple)):
        return all(v is None for v in data)
    if isinstance(data, (int, float, bool)):
        return False
    return not data


# --------------------------------------------------------------------------------------------------
# Records and the local cache
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Record:
    """One stored idempotency record (plain Python)."""

    key: str
    status: str
    expiration: int
    in_progress_expiration: int | None = None
    data: str | None = None
    validation: str | None = None
    lock: str | None = None

    def state(self, now: float) -> str:
        """EXPIRED once ``expiration`` passed or an in-progress lock timed out, else the stored status."""
        if self.expiration < now:
            return EXPIRED
        if self.status == INPROGRESS and self.in_progress_expiration is not None \
                and self.in_progress_expiration < now * 1000:
            return EXPIRED
        return self.status

    def result(self, loads: Callable[[str], Any] = json.loads) -> Any:
        """The stored result (None when the function returned None)."""
        return None if self.data is None else loads(self.data)


class LRUCache:
    """A bounded, thread-safe LRU of completed records (never in-progress ones: another container may
    change those)."""

    def __init__(self, max_items: int = 256) -> None:
        if max_items < 1:
            raise ValueError("cache_size must be >= 1")
        self.max_items = max_items
        self._items: OrderedDict[str, Record] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, now: float) -> Record | None:
        with self._lock:
            rec = self._items.get(key)
            if rec is None:
                return None
            if rec.state(now) != COMPLETED:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return rec

    def put(self, rec: Record) -> None:
        if rec.status != COMPLETED:
            return
        with self._lock:
            self._items[rec.key] = rec
            self._items.move_to_end(rec.key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)

    def pop(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)


# --------------------------------------------------------------------------------------------------
# Configuration of one decorated function
# --------------------------------------------------------------------------------------------------

@dataclass
class IdempotencyConfig:
    """How one function is made idempotent (the decorators build it from their keyword arguments).

    ``event_key`` picks the part of the payload that identifies a request (JMESPath, callable, or None for
    the whole payload); ``payload_validation`` the part that must match on a repeat (else
    :class:`IdempotencyValidationError`). ``expires_after`` seconds a result is kept (and returned);
    ``in_progress`` says what a concurrent duplicate does: ``"raise"`` (:class:`IdempotencyInProgress`) or
    ``"wait"`` for the first one's result up to ``wait_timeout`` seconds, polling every ``poll_interval``.
    ``lock_timeout`` bounds the in-progress lock when no Lambda context tells the remaining time.
    ``key_prefix`` replaces ``"<function name>.<module>.<qualname>"`` in the key.
    """

    event_key: Selector = None
    payload_validation: Selector = None
    raise_on_no_key: bool = False
    expires_after: float = 3600.0
    in_progress: Literal["raise", "wait"] = "raise"
    wait_timeout: float = 30.0
    poll_interval: float = 0.1
    lock_timeout: float = 900.0
    key_prefix: str | None = None
    hash_function: str = "md5"
    dumps: Callable[[Any], str] | None = None
    loads: Callable[[str], Any] | None = None

    def __post_init__(self) -> None:
        if self.in_progress not in ("raise", "wait"):
            raise ValueError("in_progress is 'raise' or 'wait'")
        if self.expires_after <= 0 or self.lock_timeout <= 0:
            raise ValueError("expires_after and lock_timeout must be > 0 seconds")
        hashlib.new(self.hash_function)  # unknown algorithm: ValueError now, not at the first call


def function_prefix(fn: Callable[..., Any]) -> str:
    """Powertools' key prefix: ``"<AWS_LAMBDA_FUNCTION_NAME or test-func>.<module>.<qualname>"``."""
    name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "test-func")
    return f"{name}.{fn.__module__}.{fn.__qualname__}"


# --------------------------------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------------------------------

class IdempotencyStore:
    """Idempotency records on a ddbkit :class:`~ddbkit.Table` (sync functions) or
    :class:`~ddbkit.aio.AsyncTable` (``async def`` functions) whose partition key is ``key_attr`` (S).

    The table comes from a component file like any other (``ddbkit/idempotency/idempotency-table.yaml``:
    TTL on ``expiration``, encryption per tier), so provisioning, binds and IAM are the usual ones. Attribute
    names default to Powertools' so an existing Powertools table can be reused. ``local_cache`` keeps up to
    ``cache_size`` completed records in memory (LRU) and answers repeats without a call. ``clock`` (epoch
    seconds) is for tests.
    """

    def __init__(self, table: Any, *, key_attr: str = "id", expiry_attr: str = "expiration",
                 in_progress_expiry_attr: str = "in_progress_expiration", status_attr: str = "status",
                 data_attr: str = "data", validation_attr: str = "validation", lock_attr: str = "lock",
                 local_cache: bool = False, cache_size: int = 256, clock: Callable[[], float] = time.time) -> None:
        self.table = table
        self.is_async = inspect.iscoroutinefunction(getattr(table, "run_op", None))
        self.key_attr, self.expiry_attr, self.ipe_attr = key_attr, expiry_attr, in_progress_expiry_attr
        self.status_attr, self.data_attr, self.validation_attr = status_attr, data_attr, validation_attr
        self.lock_attr = lock_attr
        self.cache: LRUCache | None = LRUCache(cache_size) if local_cache else None
        self.clock = clock
        self._remaining_ms: Callable[[], int] | None = None

    @classmethod
    def from_config(cls, config: Any, table_class: Any = None, **kwargs: Any) -> IdempotencyStore:
        """A store on the table of a :class:`ddbkit.config.TableConfig` (``table_class``: Table by default;
        pass :class:`ddbkit.aio.AsyncTable` for async functions). ``kwargs`` go to the table."""
        if table_class is None:
            from ddbkit.table import Table

            table_class = Table
        store_kwargs = {k: kwargs.pop(k) for k in ("local_cache", "cache_size", "clock") if k in kwargs}
        return cls(table_class.from_config(config, **kwargs), **store_kwargs)

    def register_lambda_context(self, context: Any) -> None:
        """Tie in-progress locks to the Lambda's remaining time (the decorators do this for handlers)."""
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        self._remaining_ms = remaining if callable(remaining) else None

    # -- records ----------------------------------------------------------------------------------
    def _record(self, item: Mapping[str, Any]) -> Record:
        ipe = item.get(self.ipe_attr)
        return Record(key=str(item[self.key_attr]), status=str(item.get(self.status_attr, "")),
                      expiration=int(item.get(self.expiry_attr, 0)),
                      in_progress_expiration=int(ipe) if ipe is not None else None,
                      data=item.get(self.data_attr), validation=item.get(self.validation_attr),
                      lock=item.get(self.lock_attr))

    def lock_until_ms(self, now: float, lock_timeout: float) -> int:
        """When an in-progress lock taken now expires: the Lambda's end, else ``lock_timeout`` from now."""
        if self._remaining_ms is not None:
            try:
                return int(now * 1000) + int(self._remaining_ms())
            except Exception:  # noqa: BLE001 - a context that cannot say falls back to the timeout
                pass
        return int((now + lock_timeout) * 1000)

    # -- operations (effect generators, run by the table's driver) --------------------------------
    def op_acquire(self, key: str, validation: str | None, expires_after: float, lock_timeout: float,
                    lock: str) -> Op[Record | None]:
        """Take the in-progress lock for ``key`` (None) or return the record that holds it."""
        now = self.clock()
        item: dict[str, Any] = {self.key_attr: key, self.status_attr: INPROGRESS,
                                self.expiry_attr: int(now + expires_after),
                                self.ipe_attr: self.lock_until_ms(now, lock_timeout), self.lock_attr: lock}
        if validation is not None:
            item[self.validation_attr] = validation
        condition = ("attribute_not_exists(#id) OR #expiry < :now OR "
                     "(#status = :inprogress AND attribute_exists(#ipe) AND #ipe < :now_ms)")
        names = {"#id": self.key_attr, "#expiry": self.expiry_attr, "#status": self.status_attr,
                 "#ipe": self.ipe_attr}
        values = {":now": int(now), ":now_ms": int(now * 1000), ":inprogress": INPROGRESS}
        try:
            yield from self.table.op_put(item, condition=condition, names=names, values=values,
                                          return_on_failure=True)
            return None
        except ConditionalCheckFailed as err:
            old = err.item
        except DynamoDBError as err:
            if not (isinstance(err, ConnectionFailed) or err.retried):
                raise  # an answer: the lock write was not applied
            # the outcome is unknown (a reply lost, cut or damaged, maybe after an attempt that was applied):
            # read the record back; if the lock is this call's, it was taken and the function runs
            try:
                current = yield from self.table.op_get({self.key_attr: key}, consistent=True)
            except DynamoDBError:
                raise err from None
            if current is None:
                raise  # not applied: the caller sees the failure and may retry
            rec = self._record(current)
            return None if rec.lock == lock else rec
        if old is None:  # a backend without ReturnValuesOnConditionCheckFailure: read it
            old = yield from self.table.op_get({self.key_attr: key}, consistent=True)
            if old is None:  # deleted in between (the holder failed): the caller tries again
                return Record(key, EXPIRED, 0)
        rec = self._record(old)
        if rec.lock == lock:  # our own put, applied on an attempt whose reply was lost
            return None
        return rec

    def op_get(self, key: str) -> Op[Record | None]:
        item = yield from self.table.op_get({self.key_attr: key}, consistent=True)
        return self._record(item) if item else None

    def op_complete(self, key: str, data: str, validation: str | None, expires_after: float) -> Op[Record]:
        now = self.clock()
        item: dict[str, Any] = {self.key_attr: key, self.status_attr: COMPLETED,
                                self.expiry_attr: int(now + expires_after), self.data_attr: data}
        if validation is not None:
            item[self.validation_attr] = validation
        yield from self.table.op_put(item)
        rec = self._record(item)
        if self.cache is not None:
            self.cache.put(rec)
        return rec

    def op_release(self, key: str, lock: str) -> Op[None]:
        """Delete our in-progress record after the function failed (only if the lock is still ours)."""
        try:
            yield from self.table.op_delete({self.key_attr: key}, condition="#lock = :lock",
                                             names={"#lock": self.lock_attr}, values={":lock": lock})
        except ConditionalCheckFailed:
            log.warning("idempotency record %s changed hands before it could be released", key)
        if self.cache is not None:
            self.cache.pop(key)
        return None

    def op_wait(self, key: str, timeout: float, interval: float) -> Op[Record | None]:
        """Poll until ``key`` completes (its record) or disappears/expires (None); raise after ``timeout``."""
        deadline = self.clock() + timeout
        while True:
            yield Sleep(interval)
            rec = yield from self.op_get(key)
            now = self.clock()
            if rec is None or rec.state(now) == EXPIRED:
                return None
            if rec.status == COMPLETED:
                return rec
            if now >= deadline:
                raise IdempotencyInProgress(key, f"an invocation with idempotency key {key!r} is still in progress "
                                                 f"after waiting {timeout:g} s")

    # -- the invocation plan ----------------------------------------------------------------------
    def key_for(self, payload: Any, config: IdempotencyConfig, prefix: str) -> str | None:
        """The idempotency key of ``payload`` (None: no key found and ``raise_on_no_key`` off)."""
        data = select(config.event_key, payload)
        if _missing(data):
            if config.raise_on_no_key:
                raise IdempotencyKeyError(f"no idempotency key found in the payload (event_key={config.event_key!r})")
            warnings.warn(f"no idempotency key found (event_key={config.event_key!r}): running without idempotency",
                          stacklevel=4)
            return None
        return f"{prefix}#{hash_data(data, config.hash_function)}"

    def plan(self, payload: Any, config: IdempotencyConfig, prefix: str) -> Plan:
        """The steps of one idempotent invocation: yields ``("op", op)`` and ``("call", None)``."""
        key = self.key_for(payload, config, prefix)
        if key is None:
            return (yield ("call", None))
        validation = hash_data(select(config.payload_validation, payload), config.hash_function) \
            if config.payload_validation is not None else None
        loads = config.loads or json.loads
        if self.cache is not None:
            cached = self.cache.get(key, self.clock())
            if cached is not None:
                self._validate(cached, validation)
                return cached.result(loads)
        lock = uuid.uuid4().hex
        for _ in range(5):  # bounded: each round either acquires, returns, raises or saw a record vanish
            rec = yield ("op", self.op_acquire(key, validation, config.expires_after, config.lock_timeout, lock))
            if rec is None:
                break
            state = rec.state(self.clock())
            if state == COMPLETED:
                self._validate(rec, validation)
                if self.cache is not None:
                    self.cache.put(rec)
                return rec.result(loads)
            if state == INPROGRESS:
                self._validate(rec, validation)
                if config.in_progress == "raise":
                    raise IdempotencyInProgress(key)
                done = yield ("op", self.op_wait(key, config.wait_timeout, config.poll_interval))
                if done is not None:
                    self._validate(done, validation)
                    return done.result(loads)
            # EXPIRED (or gone): take it over on the next round
        else:
            raise IdempotencyInProgress(key, f"could not take the idempotency lock for {key!r}")
        try:
            result = yield ("call", None)
        except BaseException as error:
            try:
                yield ("op", self.op_release(key, lock))
            except Exception as cause:
                raise IdempotencyPersistenceError("the function failed and its in-progress record could not be "
                                                  "deleted (retries wait for the lock to expire)", cause,
                                                  error) from error
            raise
        try:
            data = (config.dumps or canonical_json)(result)
        except Exception as cause:
            yield ("op", self.op_release(key, lock))
            raise IdempotencyPersistenceError("the result cannot be stored (not JSON serialisable: pass dumps=/"
                                              "loads=)", cause, result=result) from cause
        try:
            yield ("op", self.op_complete(key, data, validation, config.expires_after))
        except Exception as cause:
            raise IdempotencyPersistenceError("the function ran but its result could not be recorded (a retry "
                                              "runs it again once the lock expires)", cause, result=result) from cause
        return result

    @staticmethod
    def _validate(rec: Record, validation: str | None) -> None:
        if validation is not None and rec.validation != validation:
            raise IdempotencyValidationError(rec.key)


def canonical_json(result: Any) -> str:
    return json.dumps(result, sort_keys=True, default=_json_default)
