"""The batch engine: BatchWriteItem / BatchGetItem that never lose an item (sans-I/O).

Writes: any number of puts and deletes are de-duplicated by primary key (the last request for a key
wins, so DynamoDB never sees two requests for one key in a call), chunked to 25 (a 25-item chunk is at
most 10 MB, under the 16 MB request limit), and sent with bounded concurrency. Each chunk resends its
``UnprocessedItems`` with exponential backoff and full jitter, for a bounded number of rounds. Whatever
is still not written at the end, by error or by exhaustion, is raised in :class:`BatchWriteError` as the
caller's own requests: nothing is dropped silently.

Gets: keys are de-duplicated, chunked to 100, ``UnprocessedKeys`` retried the same way; results come back
in request order with the missing keys listed.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ddbkit.codec import NumberMode, unmarshal_item
from ddbkit.engine import Call, Gather, Op, Sleep
from ddbkit.errors import BatchGetError, BatchWriteError, DynamoDBError
from ddbkit.retry import RetryPolicy

__all__ = ["WRITE_CHUNK", "GET_CHUNK", "BatchWriteResult", "BatchGetResult", "key_id", "write_op", "get_op"]

WRITE_CHUNK = 25
GET_CHUNK = 100


def key_id(item: Mapping[str, Mapping[str, Any]], names: Sequence[str]) -> tuple[Any, ...]:
    """A hashable identity of an item's primary key (B as bytes or base64 text compare equal)."""
    out = []
    for n in names:
        av = item[n]
        (tag, v), = av.items()
        if tag == "B" and not isinstance(v, (bytes, bytearray)):
            v = base64.b64decode(v)
        elif tag == "N":
            v = _canonical_number(v)
        out.append((tag, bytes(v) if isinstance(v, bytearray) else v))
    return tuple(out)


def _canonical_number(text: str) -> str:
    # "1", "1.0" and "1E0" are one key value in DynamoDB
    from decimal import Decimal

    try:
        return str(Decimal(text).normalize())
    except ArithmeticError:  # pragma: no cover
        return text


@dataclass
class BatchWriteResult:
    """``written``: requests applied; ``deduplicated``: requests dropped because a later one had the same key."""

    written: int = 0
    deduplicated: int = 0
    calls: int = 0
    rounds: int = 0
    consumed_write_units: float = 0.0


@dataclass
class BatchGetResult:
    """Found items in request order, and the keys that matched no item."""

    items: list[dict[str, Any]] = field(default_factory=list)
    missing: list[Mapping[str, Any]] = field(default_factory=list)
    calls: int = 0
    consumed_read_units: float = 0.0

    def __iter__(self) -> Any:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@dataclass
class _Chunk:
    requests: list[dict[str, Any]]  # wire WriteRequests
    originals: dict[tuple[Any, ...], tuple[str, dict[str, Any]]]
    unprocessed: list[dict[str, Any]] = field(default_factory=list)
    error: BaseException | None = None
    calls: int = 0
    rounds: int = 0
    units: float = 0.0


def _units(resp: Mapping[str, Any]) -> float:
    return sum(float(c.get("CapacityUnits") or 0.0) for c in resp.get("ConsumedCapacity") or [])


def _write_chunk(table: str, chunk: _Chunk, policy: RetryPolicy, rcc: str) -> Op[_Chunk]:
    pending = chunk.requests
    attempt = 0
    while pending:
        attempt += 1
        request: dict[str, Any] = {"RequestItems": {table: pending}}
        if rcc != "NONE":
            request["ReturnConsumedCapacity"] = rcc
        try:
            resp = yield Call("BatchWriteItem", request)
        except DynamoDBError as err:  # retries of the call itself are exhausted
            chunk.unprocessed, chunk.error = pending, err
            return chunk
        chunk.calls += 1
        chunk.units += _units(resp)
        pending = (resp.get("UnprocessedItems") or {}).get(table) or []
        if pending:
            if attempt >= policy.max_attempts:
                chunk.unprocessed = pending
                return chunk
            chunk.rounds += 1
            yield Sleep(policy.backoff(attempt))
    return chunk


def write_op(table: str, key_names: Sequence[str], requests: Iterable[tuple[str, dict[str, Any]]],
             marshal: Any, policy: RetryPolicy, concurrency: int, rcc: str = "TOTAL") -> Op[BatchWriteResult]:
    """Apply ``requests`` (``("put", item)`` / ``("delete", key)``, plain Python) as batched writes.

    ``marshal(kind, value, index)`` turns one request into ``(wire WriteRequest, wire key item)`` and
    validates it (so a bad item fails before anything is sent, naming its position).
    """
    latest: dict[tuple[Any, ...], tuple[dict[str, Any], tuple[str, dict[str, Any]]]] = {}
    total = 0
    for i, (kind, value) in enumerate(requests):
        wire, key_item = marshal(kind, value, i)
        kid = key_id(key_item, key_names)
        latest.pop(kid, None)  # keep the order of last occurrence
        latest[kid] = (wire, (kind, value))
        total += 1
    result = BatchWriteResult(deduplicated=total - len(latest))
    if not latest:
        return result
    entries = list(latest.items())
    chunks = []
    for start in range(0, len(entries), WRITE_CHUNK):
        part = entries[start:start + WRITE_CHUNK]
        chunks.append(_Chunk([w for _, (w, _) in part], {kid: orig for kid, (_, orig) in part}))
    done: list[_Chunk] = yield Gather([_write_chunk(table, c, policy, rcc) for c in chunks], concurrency)
    lost: list[tuple[str, dict[str, Any]]] = []
    cause: BaseException | None = None
    for c in done:
        result.calls += c.calls
        result.rounds += c.rounds
        result.consumed_write_units += c.units
        for req in c.unprocessed:
            body = req.get("PutRequest", {}).get("Item") or req.get("DeleteRequest", {}).get("Key") or {}
            lost.append(c.originals[key_id(body, key_names)])
        cause = cause or c.error
    result.written = len(entries) - len(lost)
    if lost:
        raise BatchWriteError(lost, result.written, cause)
    return result


@dataclass
class _GetChunk:
    keys: list[dict[str, Any]]
    found: list[dict[str, Any]] = field(default_factory=list)
    unprocessed: list[dict[str, Any]] = field(default_factory=list)
    error: BaseException | None = None
    calls: int = 0
    units: float = 0.0


def _get_chunk(table: str, chunk: _GetChunk, extra: Mapping[str, Any], policy: RetryPolicy,
               rcc: str) -> Op[_GetChunk]:
    pending = chunk.keys
    attempt = 0
    while pending:
        attempt += 1
        request: dict[str, Any] = {"RequestItems": {table: {"Keys": pending, **extra}}}
        if rcc != "NONE":
            request["ReturnConsumedCapacity"] = rcc
        try:
            resp = yield Call("BatchGetItem", request)
        except DynamoDBError as err:
            chunk.unprocessed, chunk.error = pending, err
            return chunk
        chunk.calls += 1
        chunk.units += _units(resp)
        chunk.found.extend((resp.get("Responses") or {}).get(table) or [])
        pending = ((resp.get("UnprocessedKeys") or {}).get(table) or {}).get("Keys") or []
        if pending:
            if attempt >= policy.max_attempts:
                chunk.unprocessed = pending
                return chunk
            yield Sleep(policy.backoff(attempt))
    return chunk


def get_op(table: str, key_names: Sequence[str], keys: Sequence[Mapping[str, Any]], wire_keys: Sequence[dict[str, Any]],
           extra: Mapping[str, Any], policy: RetryPolicy, concurrency: int, number: NumberMode,
           rcc: str = "TOTAL") -> Op[BatchGetResult]:
    """Read ``keys`` (plain, with their marshalled ``wire_keys``) in chunks of 100; request order kept."""
    order: dict[tuple[Any, ...], int] = {}
    unique: list[dict[str, Any]] = []
    for wk in wire_keys:
        kid = key_id(wk, key_names)
        if kid not in order:
            order[kid] = len(order)
            unique.append(wk)
    chunks = [_GetChunk(unique[i:i + GET_CHUNK]) for i in range(0, len(unique), GET_CHUNK)]
    done: list[_GetChunk] = yield Gather([_get_chunk(table, c, extra, policy, rcc) for c in chunks], concurrency)
    by_id: dict[tuple[Any, ...], dict[str, Any]] = {}
    unread: set[tuple[Any, ...]] = set()
    cause: BaseException | None = None
    result = BatchGetResult()
    for c in done:
        result.calls += c.calls
        result.consumed_read_units += c.units
        for item in c.found:
            by_id[key_id(item, key_names)] = unmarshal_item(item, number)
        for k in c.unprocessed:
            unread.add(key_id(k, key_names))
        cause = cause or c.error
    seen: set[tuple[Any, ...]] = set()
    unprocessed: list[Mapping[str, Any]] = []
    for plain, wk in zip(keys, wire_keys, strict=True):
        kid = key_id(wk, key_names)
        if kid in seen:
            continue
        seen.add(kid)
        if kid in by_id:
            result.items.append(by_id[kid])
        elif kid in unread:
            unprocessed.append(plain)
        else:
            result.missing.append(plain)
    if unprocessed:
        raise BatchGetError(unprocessed, result.items, cause, missing=result.missing)
    return result

