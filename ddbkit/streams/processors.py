"""DynamoDB Streams processors: base classes for Lambda stream handlers, with partial-batch failure reporting.

Subclass :class:`StreamProcessor` (or the async and batch variants) and write ``on_insert``/``on_modify``/
``on_remove``/``on_ttl_expiry``; ``handler`` returns Lambda's ``batchItemFailures`` (only what failed and what came
after it in its partition), with a dead-letter hook (SQS) for records that keep failing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Coroutine, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Protocol, TypeVar, cast

from ddbkit.core.codec import NumberMode
from ddbkit.core.gcpause import paused
from ddbkit.streams.records import (
    EVENT_NAMES,
    INSERT,
    MAX_RETRYING,
    MODIFY,
    EmptyBatchError,
    RecordRejected,
    StreamRecord,
    parse_event,
)
from ddbkit.tracing import api as tracing

__all__ = ["FailureMode", "StreamProcessor", "AsyncStreamProcessor", "BatchStreamProcessor", "AsyncBatchStreamProcessor", "BatchResult", "RecordFailure", "AttemptStore", "MemoryAttemptStore", "DeadLetterHook", "SqsDeadLetter", "dead_letter_message"]

logger = logging.getLogger("ddbkit.streams")



class FailureMode(str, Enum):
    """``stop``: stop at the first failing record (default). ``continue``: handle the other keys too."""

    STOP = "stop"
    CONTINUE = "continue"


@dataclass(frozen=True)
class RecordFailure:
    """A record that failed: the error, and how many times it has failed so far (None: not counted)."""

    record: StreamRecord
    error: BaseException
    attempts: int | None = None


@dataclass
class BatchResult:
    """What happened to a batch. ``response`` is the Lambda return value.

    ``processed`` counts records whose handler succeeded, ``skipped`` those filtered out, ``held`` those not
    run because an earlier record failed (all later ones in stop mode, the same key's in continue mode).
    """

    records: list[StreamRecord]
    processed: int = 0
    skipped: int = 0
    held: int = 0
    failures: list[RecordFailure] = field(default_factory=list)
    dead_lettered: list[RecordFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def lowest_failure(self) -> RecordFailure | None:
        """The failure with the lowest sequence number: where Lambda (and the poller) resume."""
        if not self.failures:
            return None
        return min(self.failures, key=lambda f: int(f.record.sequence_number))

    @property
    def response(self) -> dict[str, list[dict[str, str]]]:
        """``{"batchItemFailures": [{"itemIdentifier": <lowest failing sequence number>}]}`` or an empty list.

        One identifier only: Lambda checkpoints at the lowest anyway, and reporting more invites nothing.
        """
        low = self.lowest_failure
        return {"batchItemFailures": [] if low is None else [{"itemIdentifier": low.record.sequence_number}]}

    @property
    def checkpoint(self) -> str | None:
        """The highest sequence number such that it and every record before it in the batch are handled
        (None when the first record failed). A stream reader resumes after it."""
        low = self.lowest_failure
        limit = None if low is None else int(low.record.sequence_number)
        best: int | None = None
        best_text = None
        for rec in self.records:
            seq = int(rec.sequence_number)
            if (limit is None or seq < limit) and (best is None or seq > best):
                best, best_text = seq, rec.sequence_number
        return best_text


class AttemptStore(Protocol):
    """Counts failed attempts per record (by sequence number) across invocations."""

    def increment(self, sequence_number: str) -> int:
        """Add one failed attempt; return the count so far."""

    def reset(self, sequence_number: str) -> None:
        """Forget the record (it was handled)."""


class MemoryAttemptStore:
    """Attempt counts in this process (one Lambda container); the oldest entries go past ``max_entries``.

    Lambda usually redelivers a failed batch to the same container, but not always: a count can start
    over in a new container, so the dead-letter hook may run after more than ``max_attempts`` failures,
    never fewer. Inject a shared store (e.g. a DynamoDB table) for exact counts.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._counts: dict[str, int] = {}

    def increment(self, sequence_number: str) -> int:
        count = self._counts.pop(sequence_number, 0) + 1
        self._counts[sequence_number] = count  # re-insert: most recent last
        while len(self._counts) > self.max_entries:
            del self._counts[next(iter(self._counts))]
        return count

    def reset(self, sequence_number: str) -> None:
        self._counts.pop(sequence_number, None)

    def __len__(self) -> int:
        return len(self._counts)


DeadLetterHook = Callable[[StreamRecord, BaseException], Any]
"""Called with a record and its last error after ``max_attempts`` failures (may return an awaitable in
async processors). Returning normally marks the record handled; raising keeps it failed."""


class _Failed:
    """The outcome of a handler call that raised (sent back into a plan)."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


# A plan yields (function, argument) pairs and receives the function's result or a _Failed.
_Call = tuple[Callable[[Any], Any], Any]
_Plan = Generator[_Call, Any, BatchResult]


def _group_key(record: StreamRecord, partition_key: str | None) -> Any:
    """What records must stay in order by: the partition key's wire value, else the whole item key."""
    keys = record.raw_keys
    if partition_key is not None:
        av = keys.get(partition_key)
        if av is not None:
            return next(iter(av.items()))
    return tuple(sorted((name, tag, str(v)) for name, av in keys.items() for tag, v in av.items()))


def _annotations(record: StreamRecord) -> dict[str, Any]:
    return {"event_name": record.event_name, "sequence_number": record.sequence_number,
            "table": record.table_name or ""}


def _active_tracer() -> Any:
    """The tracer when tracing is on, else None (so untraced records skip the span machinery)."""
    tracer = tracing.current()
    return tracer if getattr(tracer, "enabled", True) else None


# --------------------------------------------------------------------------------------------------
# Processors: shared configuration, plans and driver
# --------------------------------------------------------------------------------------------------


_F = TypeVar("_F", bound=Callable[..., Any])


def _dispatcher(fn: _F) -> _F:
    """Mark a default ``on_record``: the plan then calls the routed ``on_*`` method directly."""
    setattr(fn, "_ddbkit_dispatch", True)  # noqa: B010 - a marker attribute on a function object
    return fn


class _ProcessorBase:
    """Configuration, parsing, filtering, routing and the batch plans shared by every processor.

    Class attributes are defaults; the constructor overrides them per instance.
    """

    mode: FailureMode | str = FailureMode.STOP
    #: Event names to handle (e.g. ``{"INSERT", "MODIFY"}``); others are skipped. None: all.
    events: Collection[str] | None = None
    #: A pydantic model (or any class taking the image as keyword arguments) for ``record.new``/``.old``.
    model: Any = None
    number: NumberMode | str = NumberMode.AUTO
    #: Partition key attribute name: records with the same value keep their order in continue mode.
    #: None: ordering per item key (DynamoDB's own guarantee).
    partition_key: str | None = None
    #: Failures of one record before the dead-letter hook takes it.
    max_attempts: int = 3
    #: Opt-in per-record idempotency (a ``ddbkit.idempotency.RecordIdempotency``): records a redelivered batch
    #: already processed are skipped. None: off.
    idempotency: Any = None

    def __init__(self, *, mode: FailureMode | str | None = None, events: Collection[str] | None = None,
                 predicate: Callable[[StreamRecord], bool] | None = None, model: Any = None,
                 number: NumberMode | str | None = None, partition_key: str | None = None,
                 dead_letter: DeadLetterHook | None = None, max_attempts: int | None = None,
                 attempts: AttemptStore | None = None) -> None:
        self.mode = FailureMode(mode if mode is not None else self.mode)
        if events is not None:
            self.events = events
        if self.events is not None:
            unknown = set(self.events) - EVENT_NAMES
            if unknown:
                raise ValueError(f"unknown event names {sorted(unknown)}; use INSERT, MODIFY, REMOVE")
            self.events = frozenset(self.events)
        self.predicate = predicate
        if model is not None:
            self.model = model
        self.number = NumberMode(number if number is not None else self.number)
        if partition_key is not None:
            self.partition_key = partition_key
        self.dead_letter = dead_letter
        if max_attempts is not None:
            self.max_attempts = max_attempts
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.attempts: AttemptStore = attempts if attempts is not None else MemoryAttemptStore()
        self._retrying: set[str] = set()  # sequence numbers this instance has counted failures for

    # -- input -------------------------------------------------------------------------------------
    def parse(self, event: Any) -> list[StreamRecord]:
        """The event's records with this processor's number mode and model (see :func:`parse_event`)."""
        return parse_event(event, number=self.number, model=self.model)

    def as_records(self, records: Iterable[StreamRecord | Mapping[str, Any]]) -> list[StreamRecord]:
        """Records given as :class:`StreamRecord` or raw dicts, as a list (raw ones parsed and checked)."""
        out = [r if isinstance(r, StreamRecord) else StreamRecord(r, number=self.number, model=self.model, index=i)
               for i, r in enumerate(records)]
        if not out:
            raise EmptyBatchError("no records to process")
        return out

    def accepts(self, record: StreamRecord) -> bool:
        """Whether to handle ``record``: its event name is in ``events`` and ``predicate`` says yes.
        Override for other filters; an exception here counts as the record failing."""
        if self.events is not None and record.event_name not in self.events:
            return False
        return self.predicate is None or bool(self.predicate(record))

    def _route(self, record: StreamRecord) -> Callable[[StreamRecord], Any]:
        """The ``on_*`` method for ``record``'s event (TTL deletions go to ``on_ttl_expiry``)."""
        name = record.event_name
        if name == INSERT:
            return cast("Callable[[StreamRecord], Any]", getattr(self, "on_insert"))  # noqa: B009 - subclasses define it
        if name == MODIFY:
            return cast("Callable[[StreamRecord], Any]", getattr(self, "on_modify"))  # noqa: B009 - subclasses define it
        if record.is_ttl_expiry:
            return cast("Callable[[StreamRecord], Any]", getattr(self, "on_ttl_expiry"))  # noqa: B009 - subclasses define it
        return cast("Callable[[StreamRecord], Any]", getattr(self, "on_remove"))  # noqa: B009 - subclasses define it

    # -- plans ---------------------------------------------------------------------------------------
    def _plan(self, records: list[StreamRecord]) -> _Plan:  # pragma: no cover - each class picks one
        raise NotImplementedError

    def _traced(self, records: list[StreamRecord]) -> _Plan:
        """The class's plan inside a batch span when tracing is on."""
        tracer = _active_tracer()
        if tracer is None:
            return (yield from self._plan(records))
        with tracer.span("ddbkit.stream.batch", records=len(records)) as span:
            result = yield from self._plan(records)
            span.annotate("failed", len(result.failures))
            span.annotate("dead_lettered", len(result.dead_lettered))
            return result

    def _record_plan(self, records: list[StreamRecord]) -> _Plan:
        """Handle records one by one in order, applying the failure mode (used by the per-record classes)."""
        result = BatchResult(records)
        tracer = _active_tracer()
        stop = self.mode is FailureMode.STOP
        on_record: Callable[[StreamRecord], Any] = getattr(self, "on_record")  # noqa: B009 - defined by subclasses
        route = self._route if getattr(on_record, "_ddbkit_dispatch", False) else None  # skip one call
        filtering = self.events is not None or self.predicate is not None or \
            type(self).accepts is not _ProcessorBase.accepts
        held_keys: set[Any] = set()
        retrying = self._retrying
        for i, rec in enumerate(records):
            if held_keys and _group_key(rec, self.partition_key) in held_keys:
                result.held += 1  # an earlier record of this key failed: keep the key's order
                continue
            outcome: Any = None
            try:
                take = self.accepts(rec) if filtering else True
            except Exception as exc:
                outcome, take = _Failed(exc), True
            if not take:
                result.skipped += 1
                continue
            if outcome is None:
                fn = on_record if route is None else route(rec)
                if self.idempotency is not None:
                    fn = self.idempotency.wrap(fn)
                if tracer is None:
                    outcome = yield fn, rec
                else:
                    with tracer.span("ddbkit.stream.record", **_annotations(rec)) as span:
                        outcome = yield fn, rec
                        if type(outcome) is _Failed:
                            span.error(outcome.error)
            if type(outcome) is not _Failed:
                result.processed += 1
                if retrying and rec.sequence_number in retrying:
                    self._forget(rec)
                continue
            if (yield from self._failed(result, rec, outcome.error)):
                continue  # dead-lettered: handled
            if stop:
                result.held += len(records) - i - 1
                break
            held_keys.add(_group_key(rec, self.partition_key))
        return result

    def _batch_plan(self, records: list[StreamRecord]) -> _Plan:
        """Hand every accepted record to ``on_batch`` at once (used by the batch classes)."""
        result = BatchResult(records)
        selected: list[StreamRecord] = []
        failed: list[tuple[StreamRecord, BaseException]] = []
        for rec in records:
            try:
                if self.accepts(rec):
                    selected.append(rec)
                else:
                    result.skipped += 1
            except Exception as exc:
                failed.append((rec, exc))
        if selected:
            on_batch = getattr(self, "on_batch")  # noqa: B009 - defined by subclasses
            if self.idempotency is not None:
                on_batch = self.idempotency.wrap_batch(on_batch)
            outcome = yield on_batch, selected
            if type(outcome) is _Failed:
                failed.extend((rec, outcome.error) for rec in selected)
            elif outcome is not None:
                ids = {id(rec) for rec in selected}
                rejected = list(outcome)
                if any(id(rec) not in ids for rec in rejected):
                    raise TypeError("on_batch must return records from the batch it was given (or None)")
                rejected_ids = {id(rec) for rec in rejected}
                failed.extend((rec, RecordRejected(f"on_batch reported record {rec.sequence_number} as failed"))
                              for rec in selected if id(rec) in rejected_ids)
        failed_ids = {id(rec) for rec, _ in failed}
        for rec in selected:
            if id(rec) not in failed_ids:
                result.processed += 1
                if rec.sequence_number in self._retrying:
                    self._forget(rec)
        for rec, error in sorted(failed, key=lambda pair: int(pair[0].sequence_number)):
            yield from self._failed(result, rec, error)
        return result

    def _failed(self, result: BatchResult, rec: StreamRecord, exc: BaseException) -> Generator[_Call, Any, bool]:
        """Book a failure; after ``max_attempts`` hand the record to the dead-letter hook. True: handled."""
        # counted with or without a dead-letter hook, so the log line shows which attempt this was
        attempts = self.attempts.increment(rec.sequence_number)
        if len(self._retrying) >= MAX_RETRYING:  # records that then succeeded in another container
            self._retrying.clear()
        self._retrying.add(rec.sequence_number)
        if self.dead_letter is not None:
            if attempts >= self.max_attempts:
                outcome = yield self._send_dead_letter, (rec, exc)
                if type(outcome) is not _Failed:
                    self._forget(rec)
                    result.dead_lettered.append(RecordFailure(rec, exc, attempts))
                    logger.warning("stream record %s (%s) sent to the dead-letter hook after %d attempts: %r",
                                   rec.sequence_number, rec.event_name, attempts, exc)
                    return True
                logger.error("dead-letter hook failed for stream record %s: %r", rec.sequence_number,
                             outcome.error, exc_info=outcome.error)
        logger.error("stream record %s (%s) failed (attempt %d): %r", rec.sequence_number, rec.event_name,
                     attempts, exc, exc_info=exc)
        result.failures.append(RecordFailure(rec, exc, attempts))
        return False

    def _send_dead_letter(self, pair: tuple[StreamRecord, BaseException]) -> Any:
        assert self.dead_letter is not None
        if self.idempotency is not None:  # a dead-lettered record counts as handled on a redelivery too
            return self.idempotency.wrap_dead_letter(self.dead_letter)(*pair)
        return self.dead_letter(*pair)

    def _forget(self, rec: StreamRecord) -> None:
        self._retrying.discard(rec.sequence_number)
        self.attempts.reset(rec.sequence_number)

    # -- the one driver --------------------------------------------------------------------------------
    async def _drive(self, records: list[StreamRecord], awaiting: bool) -> BatchResult:
        """Run the plan: call what it yields, send back results (or :class:`_Failed`).

        Sync processors run this coroutine without an event loop (``awaiting=False``: nothing suspends),
        async ones on asyncio; so both share this loop and every decision in the plans.
        """
        plan = self._traced(records)
        sent: Any = None
        while True:
            try:
                fn, arg = plan.send(sent)
            except StopIteration as stop:
                return cast(BatchResult, stop.value)
            try:
                sent = fn(arg)
                if sent is not None and hasattr(sent, "__await__"):
                    if not awaiting:
                        getattr(sent, "close", lambda: None)()  # no "never awaited" warning
                        raise TypeError(f"{getattr(fn, '__qualname__', fn)} returned an awaitable: a sync processor "
                                        "cannot await it; subclass AsyncStreamProcessor/AsyncBatchStreamProcessor")
                    sent = await sent
            except Exception as exc:
                sent = _Failed(exc)


# _BATCH_GC: a batch (at most 10,000 records) runs with Python's cyclic collector paused
# (ddbkit.core.gcpause): decoding both images of each record allocates thousands of containers and ddbkit's
# part makes no reference cycles, so collections during the batch are pure cost (bench_streams, issue 26). Cycles
# a handler makes are collected when the batch ends; DDBKIT_GC_PAUSE=0 turns the pause off.


def _run_to_end(coro: Coroutine[Any, Any, BatchResult]) -> BatchResult:
    """Run a coroutine that never suspends (a sync processor's drive) to its result."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return cast(BatchResult, stop.value)
    coro.close()  # pragma: no cover - the sync drive never awaits
    raise RuntimeError("a sync stream processor suspended")  # pragma: no cover


class _Sync(_ProcessorBase):
    def process(self, records: Iterable[StreamRecord | Mapping[str, Any]]) -> BatchResult:
        """Handle ``records`` (StreamRecords or raw record dicts); the full :class:`BatchResult`."""
        with paused():  # see _BATCH_GC
            return _run_to_end(self._drive(self.as_records(records), False))

    def handler(self, event: Any, context: Any = None) -> dict[str, list[dict[str, str]]]:
        """The Lambda handler: a raw event dict or Powertools' DynamoDBStreamEvent in, the
        ``batchItemFailures`` response out (enable ``ReportBatchItemFailures`` on the event source mapping)."""
        if self.idempotency is not None:  # in-progress locks end when this invocation would time out
            self.idempotency.register_lambda_context(context)
        with paused():  # see _BATCH_GC
            return _run_to_end(self._drive(self.parse(event), False)).response


class _Async(_ProcessorBase):
    async def aprocess(self, records: Iterable[StreamRecord | Mapping[str, Any]]) -> BatchResult:
        """Handle ``records`` awaiting each handler; the full :class:`BatchResult`."""
        with paused():  # see _BATCH_GC
            return await self._drive(self.as_records(records), True)

    async def ahandler(self, event: Any, context: Any = None) -> dict[str, list[dict[str, str]]]:
        """The handler as a coroutine (for callers already inside an event loop)."""
        if self.idempotency is not None:
            self.idempotency.register_lambda_context(context)
        with paused():  # see _BATCH_GC
            return (await self._drive(self.parse(event), True)).response

    def process(self, records: Iterable[StreamRecord | Mapping[str, Any]]) -> BatchResult:
        """:meth:`aprocess` on a fresh event loop (what the poller calls)."""
        import asyncio

        return asyncio.run(self.aprocess(records))

    def handler(self, event: Any, context: Any = None) -> dict[str, list[dict[str, str]]]:
        """The Lambda handler (Lambda calls handlers synchronously): runs :meth:`ahandler` with asyncio."""
        import asyncio

        return asyncio.run(self.ahandler(event, context))


# --------------------------------------------------------------------------------------------------
# Public processor classes
# --------------------------------------------------------------------------------------------------


class StreamProcessor(_Sync):
    """Per-record processor: override ``on_insert``/``on_modify``/``on_remove``/``on_ttl_expiry`` (all
    no-ops by default) or ``on_record`` for every record. Export ``handler`` as the Lambda handler.

    Records are handled one at a time in batch order. An exception fails the record (see the module doc
    for ``mode``, the dead-letter hook and the response).
    """

    @_dispatcher
    def on_record(self, record: StreamRecord) -> Any:
        """Every accepted record; by default dispatches on the event name (and TTL expiry). Override it to
        handle every record in one place (``super().on_record(record)`` still dispatches)."""
        return self._route(record)(record)

    def on_insert(self, record: StreamRecord) -> None:
        """A new item (``record.new_image``)."""

    def on_modify(self, record: StreamRecord) -> None:
        """A changed item (``record.old_image``, ``record.new_image``, ``record.changed(name)``)."""

    def on_remove(self, record: StreamRecord) -> None:
        """A deleted item (``record.old_image``)."""

    def on_ttl_expiry(self, record: StreamRecord) -> None:
        """An item deleted by TTL; defaults to :meth:`on_remove`."""
        self.on_remove(record)

    def _plan(self, records: list[StreamRecord]) -> _Plan:
        return self._record_plan(records)


class AsyncStreamProcessor(_Async):
    """:class:`StreamProcessor` with ``async def`` handlers, awaited one record at a time (per-key order and
    the failure modes are the same code). ``handler`` runs on asyncio; ``ahandler`` is the coroutine."""

    @_dispatcher
    async def on_record(self, record: StreamRecord) -> None:
        """Every accepted record; by default awaits the ``on_*`` method for its event."""
        await self._route(record)(record)

    async def on_insert(self, record: StreamRecord) -> None:
        """A new item."""

    async def on_modify(self, record: StreamRecord) -> None:
        """A changed item."""

    async def on_remove(self, record: StreamRecord) -> None:
        """A deleted item."""

    async def on_ttl_expiry(self, record: StreamRecord) -> None:
        """An item deleted by TTL; defaults to :meth:`on_remove`."""
        await self.on_remove(record)

    def _plan(self, records: list[StreamRecord]) -> _Plan:
        return self._record_plan(records)


class BatchStreamProcessor(_Sync):
    """All accepted records of a batch at once, for handlers that aggregate (e.g. count per key and write
    the totals with one ``Table.batch_write``). Override :meth:`on_batch`.

    If ``on_batch`` raises, every record of the batch failed (the lowest is reported, so Lambda redelivers
    the batch); it may instead return the records that failed. The dead-letter hook applies per record.
    """

    def on_batch(self, records: list[StreamRecord]) -> Iterable[StreamRecord] | None:
        """Handle the batch; return the failed records (or None when all succeeded)."""
        raise NotImplementedError("override on_batch(records)")

    def _plan(self, records: list[StreamRecord]) -> _Plan:
        return self._batch_plan(records)


class AsyncBatchStreamProcessor(_Async):
    """:class:`BatchStreamProcessor` with ``async def on_batch``."""

    async def on_batch(self, records: list[StreamRecord]) -> Iterable[StreamRecord] | None:
        """Handle the batch; return the failed records (or None when all succeeded)."""
        raise NotImplementedError("override on_batch(records)")

    def _plan(self, records: list[StreamRecord]) -> _Plan:
        return self._batch_plan(records)


# --------------------------------------------------------------------------------------------------
# Dead letters
# --------------------------------------------------------------------------------------------------

_SQS_MAX_BYTES = 256 * 1024


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        import base64

        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


def dead_letter_message(record: StreamRecord, error: BaseException, *, max_bytes: int = _SQS_MAX_BYTES) -> str:
    """A JSON message describing a dead-lettered record: the error, where it came from, and the raw record
    in Lambda's wire shape. Images are dropped (``imagesOmitted``) if the message would exceed ``max_bytes``."""
    message: dict[str, Any] = {
        "source": "ddbkit.streams",
        "error": {"type": type(error).__name__, "message": str(error)},
        "eventSourceARN": record.event_source_arn,
        "tableName": record.table_name,
        "eventName": record.event_name,
        "sequenceNumber": record.sequence_number,
        "record": record.raw,
    }
    text = json.dumps(message, default=_json_default, separators=(",", ":"))
    if len(text.encode("utf-8")) <= max_bytes:
        return text
    slim = dict(record.raw)
    slim["dynamodb"] = {k: v for k, v in record._ddb.items() if k not in ("NewImage", "OldImage")}
    message["record"] = slim
    message["imagesOmitted"] = True
    return json.dumps(message, default=_json_default, separators=(",", ":"))


class SqsDeadLetter:
    """A dead-letter hook that sends the record (see :func:`dead_letter_message`) to an SQS queue.

    ``client`` is a boto3 SQS client; without one it is created on first use (boto3 is imported only
    then). FIFO queues get the table as message group and the sequence number as deduplication id.
    """

    def __init__(self, queue_url: str, client: Any = None, *, session: Any = None, region_name: str | None = None,
                 endpoint_url: str | None = None) -> None:
        self.queue_url = queue_url
        self._client = client
        self._session = session
        self._region_name = region_name
        self._endpoint_url = endpoint_url

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            from ddbkit.core.region import resolve_region

            factory = self._session or boto3
            self._client = factory.client("sqs", region_name=resolve_region(self._region_name, self._session),
                                          endpoint_url=self._endpoint_url)
        return self._client

    def __call__(self, record: StreamRecord, error: BaseException) -> None:
        request: dict[str, Any] = {
            "QueueUrl": self.queue_url,
            "MessageBody": dead_letter_message(record, error),
            "MessageAttributes": {
                "sequenceNumber": {"DataType": "String", "StringValue": record.sequence_number},
                "eventName": {"DataType": "String", "StringValue": record.event_name},
                "errorType": {"DataType": "String", "StringValue": type(error).__name__},
            },
        }
        if self.queue_url.endswith(".fifo"):
            request["MessageGroupId"] = record.table_name or "ddbkit-streams"
            request["MessageDeduplicationId"] = record.sequence_number[-128:]
        self.client.send_message(**request)
