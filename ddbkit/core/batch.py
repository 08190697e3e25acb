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
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ddbkit.core.codec import NumberMode, PageRequest, canonical_number, unmarshal_item
from ddbkit.core.engine import BARRIER, Call, Gather, Op, Sleep
from ddbkit.errors import BatchGetError, BatchWriteError, DynamoDBError
from ddbkit.core.retry import RetryPolicy

__all__ = ["WRITE_CHUNK", "GET_CHUNK", "BatchWriteResult", "BatchGetResult", "RequestSource", "WritePipeline", "key_id", "write_op",
           "get_op", "EncodedWrites", "plain_request"]

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
            v = canonical_number(v)
        out.append((tag, bytes(v) if isinstance(v, bytearray) else v))
    return tuple(out)


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


class EncodedWrites(list[Any]):
    """A chunk's WriteRequests as ``orjson.Fragment`` s of their JSON (``bodies``, one bytes each), for the
    fast transports: ``orjson.dumps`` of the BatchWriteItem request copies each fragment as it is, so the
    body sent is byte-for-byte what the wire dicts would give, while a chunk in flight holds 25 untracked
    bytes instead of every item's dicts (which, outliving two young collections, were promoted and made
    the cyclic GC's full collections most of a nested bulk write's CPU). A transport that hands the call
    to botocore instead calls :func:`plain_request` first."""

    __slots__ = ("bodies",)

    def __init__(self, bodies: list[bytes]) -> None:
        from orjson import Fragment

        super().__init__(map(Fragment, bodies))
        self.bodies = bodies

    def plain(self) -> list[dict[str, Any]]:
        """The WriteRequests as wire dicts (B/BS values back to bytes, as botocore takes them)."""
        import orjson

        return [_from_json(orjson.loads(body)) for body in self.bodies]

    def __repr__(self) -> str:
        return repr(self.plain())


def _from_json(value: Any) -> Any:
    """A wire value read from JSON with its base64 B/BS values decoded (the inverse of the encoding)."""
    if type(value) is dict:
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k == "B" and type(v) is str:
                out[k] = base64.b64decode(v)
            elif k == "BS" and type(v) is list:
                out[k] = [base64.b64decode(b) for b in v]
            else:
                out[k] = _from_json(v)
        return out
    if type(value) is list:
        return [_from_json(v) for v in value]
    return value


def plain_request(request: dict[str, Any]) -> dict[str, Any]:
    """``request`` with any :class:`EncodedWrites` replaced by wire dicts, and a
    :class:`~ddbkit.core.codec.PageRequest` as a plain dict (for botocore and friends)."""
    if type(request) is PageRequest:
        return dict(request)
    items = request.get("RequestItems")
    if not items or not any(type(v) is EncodedWrites for v in items.values()):
        return request
    return {**request, "RequestItems": {t: v.plain() if type(v) is EncodedWrites else v for t, v in items.items()}}


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


def _kid(item: Mapping[str, Mapping[str, Any]], names: Sequence[str]) -> Any:
    """A cheaper :func:`key_id` for in-call de-dup: a string key is its own identity (no tuple, no
    base64, no Decimal); other types fall back to key_id's (tag, value) pairs, never equal to a str."""
    if len(names) == 1:
        av = item[names[0]]
        s = av.get("S")
        return s if s is not None else key_id(item, names)
    h, r = item[names[0]].get("S"), item[names[1]].get("S")
    if h is not None and r is not None:  # the common composite key: two strings
        return (h, r)
    out = []
    for n in names:
        av = item[n]
        s = av.get("S")
        out.append(s if s is not None else key_id({n: av}, (n,)))
    return tuple(out)


class WritePipeline:
    """The state of one streaming batch write, shared by ``write_op`` (pull: an iterable of requests)
    and the batch writers (push: ``put``/``delete`` calls). Sans-I/O: it builds chunk ops and folds
    their outcomes; a driver runs them.

    Memory: the request being built (<= 25) + the chunks in flight (<= concurrency x 25) + what is
    lost. De-dup: a request for a key that is still buffered replaces it (the last one wins, counted in
    ``deduplicated``); one for a key whose chunk is in flight makes the next chunk wait for every chunk
    in flight (:data:`ddbkit.core.engine.BARRIER`), so the later request is applied last; a key whose write
    has completed is not remembered, so a later request for it is simply written again, after it.
    """

    def __init__(self, table: str, key_names: Sequence[str], marshal: Any, policy: RetryPolicy, rcc: str) -> None:
        self.table, self.key_names, self.marshal, self.policy, self.rcc = table, key_names, marshal, policy, rcc
        # a wire WriteRequest, or its JSON bytes when the marshal encodes (the fast transports)
        self.buffer: dict[Any, tuple[dict[str, Any] | bytes, tuple[str, Any]]] = {}
        self.in_flight: dict[Any, int] = {}
        self.result = BatchWriteResult()
        self.lost: dict[Any, tuple[str, Any]] = {}
        self.cause: BaseException | None = None
        self.read = 0
        self.sent = 0
        self.must_drain = False  # the buffer holds a key that a chunk in flight also holds
        self.stopped = False  # a chunk ended with writes not applied: send nothing more

    def add(self, kind: str, value: Any) -> None:
        """Validate and marshal one request (raises the path-naming error) and buffer it."""
        wire, key_item = self.marshal(kind, value, self.read)
        self.read += 1
        kid = _kid(key_item, self.key_names)
        buffer = self.buffer
        if kid in buffer:
            del buffer[kid]  # keep the order of the last occurrence
            self.result.deduplicated += 1
        elif kid in self.in_flight:
            self.must_drain = True
        buffer[kid] = (wire, (kind, value))

    def full(self) -> bool:
        return len(self.buffer) >= WRITE_CHUNK

    def take(self) -> Op[_Chunk]:
        """The buffer as one chunk op (call after every chunk in flight finished if ``must_drain``)."""
        entries, self.buffer, self.must_drain = self.buffer, {}, False
        return self.op(entries)

    def op(self, entries: Mapping[Any, tuple[dict[str, Any] | bytes, tuple[str, Any]]]) -> Op[_Chunk]:
        in_flight = self.in_flight
        for kid in entries:
            in_flight[kid] = 1
        self.sent += len(entries)
        wires: list[Any] = [w for w, _ in entries.values()]
        requests: list[Any] = EncodedWrites(wires) if wires and type(wires[0]) is bytes else wires
        chunk = _Chunk(requests, {kid: orig for kid, (_, orig) in entries.items()})
        return _write_chunk(self.table, chunk, self.policy, self.rcc)

    def done(self, chunk: _Chunk) -> None:
        """Fold a finished chunk in (on the driver's thread/loop, one at a time)."""
        r = self.result
        r.calls += chunk.calls
        r.rounds += chunk.rounds
        r.consumed_write_units += chunk.units
        in_flight = self.in_flight
        for kid in chunk.originals:
            in_flight.pop(kid, None)
        n = len(chunk.originals)
        if chunk.unprocessed:
            self.stopped = True
            self.cause = self.cause or chunk.error
            if chunk.unprocessed is chunk.requests:  # nothing applied: every request, in the chunk's order
                kids: Iterable[Any] = list(chunk.originals)
            else:  # DynamoDB's UnprocessedItems (wire dicts)
                kids = [_kid(req.get("PutRequest", {}).get("Item") or req.get("DeleteRequest", {}).get("Key") or {},
                             self.key_names) for req in chunk.unprocessed]
            for kid in kids:
                self.lost.pop(kid, None)
                self.lost[kid] = chunk.originals[kid]
                n -= 1
        r.written += n
        chunk.requests = chunk.unprocessed = []
        chunk.originals = {}

    def finish(self, error: BaseException | None = None,
               unread: Iterable[tuple[str, Any]] = ()) -> BatchWriteResult:
        """The result, or :class:`BatchWriteError` listing every request not known to be written.

        ``error`` stopped the input (a bad request, or the caller's iterable raised): raised as it is
        when nothing was sent yet (nothing was written), else as the cause of a BatchWriteError."""
        if error is not None and self.sent == 0 and not self.lost:
            raise error
        unprocessed = dict(self.lost)
        for kid, (_, orig) in self.buffer.items():
            unprocessed.pop(kid, None)
            unprocessed[kid] = orig
        self.buffer = {}
        if unprocessed or error is not None:
            rest = list(unprocessed.values()) + list(unread)
            err = BatchWriteError(rest, self.result.written, error or self.cause)
            if error is not None:
                raise err from error
            raise err
        return self.result


class RequestSource:
    """(kind, value) pairs from puts, deletes and requests, read lazily; the unread tail of sized inputs
    can be listed when the write stops early (it is in memory anyway)."""

    def __init__(self, puts: Iterable[Any], deletes: Iterable[Any], requests: Iterable[tuple[str, Any]]) -> None:
        self.sources = [("put", puts), ("delete", deletes), (None, requests)]
        self.sized = all(isinstance(src, Collection) for _, src in self.sources)
        self._it = self._gen()

    def _gen(self) -> Iterator[tuple[str, Any]]:
        for kind, src in self.sources:
            if kind is None:
                yield from src
            else:
                for v in src:
                    yield kind, v

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return self._it

    def total(self) -> int:
        """How many requests a sized input holds (call only when :attr:`sized`)."""
        return sum(len(src) for _, src in self.sources if isinstance(src, Collection))

    def unread(self) -> list[tuple[str, Any]]:
        """What was not read, for sized inputs (lists, tuples...); [] for iterators (left where they are)."""
        return list(self._it) if self.sized else []


def write_op(table: str, key_names: Sequence[str], requests: Iterable[tuple[str, Any]],
             marshal: Any, policy: RetryPolicy, concurrency: int, rcc: str = "TOTAL",
             validate_first: bool = False) -> Op[BatchWriteResult]:
    """Apply ``requests`` (``("put", item)`` / ``("delete", key)``, plain Python) as batched writes.

    ``marshal(kind, value, index)`` turns one request into ``(wire WriteRequest, wire key item)`` and
    validates it, raising an error that names ``requests[index]``.

    Streaming (default): requests are read, validated and sent as they come, 25 per call, at most
    ``concurrency`` calls in flight; memory stays O(concurrency x 25) whatever the input's length. A bad
    request (or the input raising) stops the reading: if nothing was sent yet its error is raised as is
    (nothing written); otherwise the chunks in flight finish and :class:`BatchWriteError` lists every
    request read and not known to be written, with the error as ``cause``. A chunk left with writes not
    applied (retries exhausted, a service error) also stops the reading, the same way. The unread rest
    of a list/tuple input is appended to ``unprocessed``; an iterator is left just after the last
    request read.

    ``validate_first=True``: the old mode: read and validate everything first (nothing is sent if any
    request is bad), de-dup over the whole input (the last request for a key wins), then send every
    chunk, even after one failed. Memory O(input).
    """
    p = WritePipeline(table, key_names, marshal, policy, rcc)
    source = requests if isinstance(requests, RequestSource) else RequestSource((), (), requests)
    if validate_first:
        for kind, value in source:
            p.add(kind, value)  # a bad request raises here: nothing sent
        entries = list(p.buffer.items())
        p.buffer = {}

        def all_chunks() -> Iterator[Op[_Chunk]]:
            for start in range(0, len(entries), WRITE_CHUNK):
                yield p.op(dict(entries[start:start + WRITE_CHUNK]))

        yield Gather(list(all_chunks()) if len(entries) <= WRITE_CHUNK else all_chunks(), concurrency,
                     reduce=p.done, pause_gc=True)
        return p.finish()

    failure: list[BaseException] = []

    def chunks() -> Iterator[Any]:
        it = iter(source)
        while not p.stopped:
            try:
                kind, value = next(it)
            except StopIteration:
                break
            try:
                p.add(kind, value)
            except Exception as err:  # noqa: BLE001 - a bad request: reported by finish()
                failure.append(err)
                return
            if len(p.buffer) >= WRITE_CHUNK:
                if p.must_drain:
                    yield BARRIER
                    if p.stopped:
                        return
                yield p.take()
        if p.buffer and not p.stopped:
            if p.must_drain:
                yield BARRIER
                if p.stopped:
                    return
            yield p.take()

    def guarded() -> Iterator[Any]:
        try:
            yield from chunks()
        except Exception as err:  # noqa: BLE001 - the caller's iterable raised
            failure.append(err)

    # A list/tuple input of at most one chunk: the chunk op is built (every request read and checked)
    # before the Gather, so the driver knows it is alone and runs it on the caller's thread.
    ops: Iterable[Any] = guarded()
    if source.sized and source.total() <= WRITE_CHUNK:
        ops = list(ops)
    yield Gather(ops, concurrency, reduce=p.done, pause_gc=True)
    error = failure[0] if failure else None
    unread = source.unread() if (error is not None or p.stopped or p.buffer) else []
    return p.finish(error, unread)


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


def get_op(table: str, key_names: Sequence[str], keys: Iterable[Mapping[str, Any]], marshal: Any,
           extra: Mapping[str, Any], policy: RetryPolicy, concurrency: int, number: NumberMode,
           rcc: str = "TOTAL", validate_first: bool = False) -> Op[BatchGetResult]:
    """Read ``keys`` (plain; ``marshal(key, index)`` gives the checked wire key) in chunks of 100.

    Keys are read and validated lazily and a chunk is sent as soon as 100 distinct keys are ready (at most
    ``concurrency`` in flight); results come back in request order with the keys that matched nothing in
    ``missing``. De-dup spans the whole call: its state (one entry per distinct key) is the same order as
    the result list itself. A bad key raises before anything is sent with ``validate_first=True``;
    streaming, it stops the reading and, if chunks were sent, raises :class:`BatchGetError` with the items
    read so far and the keys not read (cause: the validation error).
    """
    slot: dict[Any, int] = {}  # key id -> position of its first occurrence
    plain: list[Mapping[str, Any]] = []
    found: dict[int, dict[str, Any]] = {}
    unread: set[int] = set()
    state: dict[str, Any] = {"calls": 0, "units": 0.0, "cause": None, "sent": 0}
    failure: list[BaseException] = []

    def done(c: _GetChunk) -> None:
        state["calls"] += c.calls
        state["units"] += c.units
        state["cause"] = state["cause"] or c.error
        for item in c.found:
            found[slot[_kid(item, key_names)]] = unmarshal_item(item, number)
        for k in c.unprocessed:
            unread.add(slot[_kid(k, key_names)])
        c.found = c.unprocessed = c.keys = []

    def take(batch: list[dict[str, Any]]) -> Op[_GetChunk]:
        state["sent"] += len(batch)
        return _get_chunk(table, _GetChunk(batch), extra, policy, rcc)

    def chunks(validated: Iterable[tuple[int, Mapping[str, Any], dict[str, Any]]]) -> Iterator[Op[_GetChunk]]:
        batch: list[dict[str, Any]] = []
        try:
            for _, k, wk in validated:
                kid = _kid(wk, key_names)
                if kid in slot:
                    continue
                slot[kid] = len(plain)
                plain.append(k)
                batch.append(wk)
                if len(batch) == GET_CHUNK:
                    yield take(batch)
                    batch = []
        except Exception as err:  # noqa: BLE001 - a bad key or the caller's iterable: reported below
            failure.append(err)
            for wk in batch:  # validated but never sent: not read
                unread.add(slot[_kid(wk, key_names)])
            return
        if batch:
            yield take(batch)

    def lazily() -> Iterator[tuple[int, Mapping[str, Any], dict[str, Any]]]:
        for i, k in enumerate(keys):
            yield i, k, marshal(k, i)

    source: Iterable[tuple[int, Mapping[str, Any], dict[str, Any]]] = lazily()
    if validate_first:
        source = list(source)  # a bad key raises here: nothing sent
    ops: Iterable[Any] = chunks(source)
    if isinstance(keys, Collection) and len(keys) <= GET_CHUNK:  # one call at most: built before, run inline
        ops = list(ops)
    yield Gather(ops, concurrency, reduce=done, pause_gc=True)
    if failure and state["sent"] == 0:
        raise failure[0]
    result = BatchGetResult(calls=state["calls"], consumed_read_units=state["units"])
    unprocessed: list[Mapping[str, Any]] = []
    for i, k in enumerate(plain):
        item = found.get(i)
        if item is not None:
            result.items.append(item)
        elif i in unread:
            unprocessed.append(k)
        else:
            result.missing.append(k)
    if unprocessed or failure:
        err = BatchGetError(unprocessed, result.items, failure[0] if failure else state["cause"],
                            missing=result.missing)
        if failure:
            raise err from failure[0]
        raise err
    return result
