"""DynamoDB Streams processing: typed records, processor base classes and the Lambda handler.

Subclass a processor instead of hand-writing the loop of the spec's ``process-sessions`` handler::

    class Sessions(StreamProcessor):
        def on_insert(self, record: StreamRecord) -> None:
            notify(record.new_image["userId"])

        def on_modify(self, record: StreamRecord) -> None:
            if record.changed("status"):
                audit(record.old_image["status"], record.new_image["status"])

    handler = Sessions().handler          # the Lambda entry point (ReportBatchItemFailures on)

What it does for you:

* :class:`StreamRecord` parses a record's envelope only; keys and images are unmarshalled the first time
  they are read (B as ``bytes``, N per :class:`~ddbkit.core.codec.NumberMode`), so records a handler skips
  cost almost nothing.
* Failures follow Lambda's ``ReportBatchItemFailures`` contract: Lambda resumes from the *lowest*
  reported sequence number, so ``mode="stop"`` (default) stops at the first failing record and reports
  it (nothing after it runs twice); ``mode="continue"`` keeps going with other partition keys (records
  of a key that failed are held back, so per-key order holds) and reports the lowest failure.
* A dead-letter hook (:class:`SqsDeadLetter` or any callable) takes a record that failed
  ``max_attempts`` times; after it succeeds the record counts as handled and the shard moves on.
* An empty batch or a malformed record raises :class:`StreamEventError`: never a silent success.

Sync and async processors share every non-I/O step: a batch is a *plan* (a generator, see
:meth:`_ProcessorBase._record_plan`) that yields the handler calls it needs and receives their outcomes;
one driver performs them, awaiting only for the async classes. Importing this module imports neither
boto3 nor pydantic (Lambda cold start): boto3 loads only in :class:`SqsDeadLetter`, pydantic only
through a model you pass.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Coroutine, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Protocol, TypeVar, cast

from ddbkit.tracing import api as tracing
from ddbkit.core.codec import NumberMode, unmarshal, unmarshal_item
from ddbkit.errors import DdbkitError

__all__ = [
    "INSERT",
    "MODIFY",
    "REMOVE",
    "FailureMode",
    "StreamRecord",
    "StreamProcessor",
    "AsyncStreamProcessor",
    "BatchStreamProcessor",
    "AsyncBatchStreamProcessor",
    "BatchResult",
    "RecordFailure",
    "AttemptStore",
    "MemoryAttemptStore",
    "DeadLetterHook",
    "SqsDeadLetter",
    "dead_letter_message",
    "parse_event",
    "StreamEventError",
    "EmptyBatchError",
    "MalformedRecordError",
    "ImageNotAvailable",
    "RecordRejected",
]

logger = logging.getLogger("ddbkit.streams.processors")

INSERT = "INSERT"
MODIFY = "MODIFY"
REMOVE = "REMOVE"
_EVENT_NAMES = frozenset((INSERT, MODIFY, REMOVE))
_TTL_PRINCIPAL = "dynamodb.amazonaws.com"
_MAX_RETRYING = 10_000  # sequence numbers a processor remembers to reset in its attempt store
_UNSET: Any = object()  # "not unmarshalled yet" (None is a real answer: the image is absent)


# --------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------


class StreamEventError(DdbkitError, ValueError):
    """The Lambda event is not a usable DynamoDB stream batch; raised before any record is handled."""


class EmptyBatchError(StreamEventError):
    """The event has no records. Lambda never sends an empty stream batch, so this is a wiring mistake."""


class MalformedRecordError(StreamEventError):
    """A record lacks a field every stream record has (``where`` names it, e.g. ``Records[3].dynamodb``).

    Raised for the whole batch before any handler runs: a record without a sequence number cannot be
    reported to Lambda, and handling the others first would run them twice when the batch is retried.
    """

    def __init__(self, message: str, where: str = "") -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class ImageNotAvailable(DdbkitError, LookupError):
    """An image a property needs is not in the record (the stream's view type does not carry it)."""


class RecordRejected(DdbkitError):
    """A batch handler (``on_batch``) returned this record as failed."""


# --------------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------------


def _where(index: int | None) -> str:
    return "record" if index is None else f"Records[{index}]"


# Epoch seconds reach year 5138 at 1e11; milliseconds for any date after 1973 are above 1e11.
_MS_THRESHOLD = 1e11


def _epoch_to_datetime(value: Any, sequence_number: str | None) -> datetime:
    """``ApproximateCreationDateTime`` (epoch seconds, or milliseconds by size) as a UTC datetime."""
    try:
        ts = float(value)
        if abs(ts) >= _MS_THRESHOLD:
            ts /= 1000.0
        return datetime.fromtimestamp(ts, tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        raise ValueError(f"stream record {sequence_number}: ApproximateCreationDateTime {value!r} is not epoch "
                         "seconds or milliseconds") from None


_ModelT = TypeVar("_ModelT")


def _image_as(model: type[_ModelT], image: dict[str, Any] | None) -> _ModelT | None:
    if image is None:
        return None
    build = getattr(model, "from_item", None) or getattr(model, "model_validate", None)
    return build(image) if build is not None else model(**image)


class StreamRecord:
    """One stream record, in Lambda's event shape (``eventName``, ``dynamodb.Keys/NewImage/...``).

    The envelope is checked at construction (:class:`MalformedRecordError`); keys and images are
    unmarshalled on first access and cached. ``raw`` is the record as received.
    """

    __slots__ = ("raw", "event_name", "sequence_number", "_ddb", "_number", "_model", "_keys", "_new", "_old",
                 "_changed")

    def __init__(self, raw: Mapping[str, Any], *, number: NumberMode | str = NumberMode.AUTO, model: Any = None,
                 index: int | None = None) -> None:
        # type(...) is dict first: isinstance against the Mapping ABC costs more than the rest together
        if type(raw) is not dict and not isinstance(raw, Mapping):
            raise MalformedRecordError(f"a stream record is an object, got {type(raw).__name__}", _where(index))
        event_name = raw.get("eventName")
        if event_name not in _EVENT_NAMES:
            what = "is missing" if event_name is None else f"is {event_name!r}"
            raise MalformedRecordError(f"eventName {what}; expected INSERT, MODIFY or REMOVE", _where(index))
        source = raw.get("eventSource")
        if source != "aws:dynamodb" and source is not None:
            raise MalformedRecordError(f"eventSource is {source!r}: not a DynamoDB stream record (aws:dynamodb)",
                                       _where(index))
        ddb = raw.get("dynamodb")
        if type(ddb) is not dict and not isinstance(ddb, Mapping):
            raise MalformedRecordError("the 'dynamodb' object is missing", _where(index))
        seq = ddb.get("SequenceNumber")
        if type(seq) is not str or not seq.isdigit() or not seq.isascii():
            what = "is missing" if seq is None else f"is {seq!r}, not a decimal string"
            raise MalformedRecordError(f"SequenceNumber {what}", f"{_where(index)}.dynamodb")
        keys = ddb.get("Keys")
        if type(keys) is not dict and not isinstance(keys, Mapping):
            raise MalformedRecordError("Keys is missing", f"{_where(index)}.dynamodb")
        self.raw = raw
        self.event_name: str = event_name
        self.sequence_number: str = seq
        self._ddb: Mapping[str, Any] = ddb
        self._number = number if type(number) is NumberMode else NumberMode(number)
        self._model = model
        self._keys: Any = _UNSET
        self._new: Any = _UNSET
        self._old: Any = _UNSET
        self._changed: frozenset[str] | None = None

    # -- images (lazy) ----------------------------------------------------------------------------
    @property
    def keys(self) -> dict[str, Any]:
        """The item's key attributes as plain Python."""
        if self._keys is _UNSET:
            self._keys = unmarshal_item(self._ddb["Keys"], self._number)
        return cast("dict[str, Any]", self._keys)

    @property
    def new_image(self) -> dict[str, Any] | None:
        """The item after the change (None for REMOVE, or when the view type has no new image)."""
        if self._new is _UNSET:
            self._new = self._image("NewImage")
        return cast("dict[str, Any] | None", self._new)

    @property
    def old_image(self) -> dict[str, Any] | None:
        """The item before the change (None for INSERT, or when the view type has no old image)."""
        if self._old is _UNSET:
            self._old = self._image("OldImage")
        return cast("dict[str, Any] | None", self._old)

    def _image(self, name: str) -> dict[str, Any] | None:
        raw = self._ddb.get(name)
        return None if raw is None else unmarshal_item(raw, self._number)

    @property
    def new(self) -> Any:
        """The new image as the processor's ``model`` (pydantic ``model_validate`` or ``model(**image)``),
        or the plain dict when no model is set; None when there is no new image. Validated per access."""
        return self._as_model(self.new_image)

    @property
    def old(self) -> Any:
        """The old image as the processor's ``model`` (see :attr:`new`)."""
        return self._as_model(self.old_image)

    def new_as(self, model: type[_ModelT]) -> _ModelT | None:
        """The new image as ``model`` (a :class:`ddbkit.Model`: stored names, epoch/ISO fields; any pydantic
        model or class), or None when there is no new image."""
        return _image_as(model, self.new_image)

    def old_as(self, model: type[_ModelT]) -> _ModelT | None:
        """The old image as ``model`` (see :meth:`new_as`), or None."""
        return _image_as(model, self.old_image)

    def _as_model(self, image: dict[str, Any] | None) -> Any:
        model = self._model
        if image is None or model is None:
            return image
        validate = getattr(model, "model_validate", None)
        return validate(image) if validate is not None else model(**image)

    @property
    def raw_keys(self) -> Mapping[str, Any]:
        """Keys in wire form (``{"pk": {"S": "a"}}``)."""
        return cast("Mapping[str, Any]", self._ddb["Keys"])

    @property
    def raw_new_image(self) -> Mapping[str, Any] | None:
        """NewImage in wire form, or None."""
        return self._ddb.get("NewImage")

    @property
    def raw_old_image(self) -> Mapping[str, Any] | None:
        """OldImage in wire form, or None."""
        return self._ddb.get("OldImage")

    # -- envelope -----------------------------------------------------------------------------------
    @property
    def sequence(self) -> int:
        """The sequence number as an int: sequence numbers are decimal strings of varying length, so
        compare these, never the strings."""
        return int(self.sequence_number)

    @property
    def event_id(self) -> str | None:
        return self.raw.get("eventID")

    @property
    def event_source_arn(self) -> str | None:
        """The stream ARN (``arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL``)."""
        return self.raw.get("eventSourceARN")

    @property
    def aws_region(self) -> str | None:
        return self.raw.get("awsRegion")

    @property
    def table_name(self) -> str | None:
        """The source table's name, from the stream ARN."""
        arn = self.event_source_arn
        if not arn:
            return None
        parts = arn.split(":", 5)
        return parts[5].split("/")[1] if len(parts) == 6 and parts[5].startswith("table/") else None

    @property
    def region(self) -> str | None:
        """The source table's region, from the stream ARN (else the record's ``awsRegion``)."""
        arn = self.event_source_arn
        parts = arn.split(":", 5) if arn else ()
        return parts[3] if len(parts) == 6 and parts[3] else self.aws_region

    @property
    def approximate_creation_time(self) -> datetime | None:
        """When the change was made (UTC), from ``ApproximateCreationDateTime``.

        Epoch seconds as DynamoDB Streams and Lambda send it; a value in milliseconds (Kinesis Data Streams
        for DynamoDB, some tools) is detected by its size and converted; anything else is a ValueError
        naming the record and the value.
        """
        value = self._ddb.get("ApproximateCreationDateTime")
        if value is None or isinstance(value, datetime):
            return value
        return _epoch_to_datetime(value, self.sequence_number)

    @property
    def size_bytes(self) -> int | None:
        value = self._ddb.get("SizeBytes")
        return None if value is None else int(value)

    @property
    def view_type(self) -> str | None:
        """KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES."""
        return self._ddb.get("StreamViewType")

    @property
    def user_identity(self) -> Mapping[str, Any]:
        return self.raw.get("userIdentity") or {}

    @property
    def is_ttl_expiry(self) -> bool:
        """True for a REMOVE made by DynamoDB's TTL process (userIdentity Service dynamodb.amazonaws.com)."""
        if self.event_name != REMOVE:
            return False
        ident = self.raw.get("userIdentity")
        if not ident:
            return False
        # Lambda spells type/principalId; the GetRecords API Type/PrincipalId
        kind, principal = ident.get("type", ident.get("Type")), ident.get("principalId", ident.get("PrincipalId"))
        return bool(kind == "Service" and principal == _TTL_PRINCIPAL)

    # -- what changed ---------------------------------------------------------------------------------
    @property
    def changed_attributes(self) -> frozenset[str]:
        """Names whose values differ between the old and new image (added and removed ones included).

        Every attribute for INSERT (all new) and REMOVE (all gone). Compared on the wire values, then by
        value when the wire text differs, so ``{"N": "1.0"}`` equals ``{"N": "1"}`` and sets ignore order.
        Raises :class:`ImageNotAvailable` when the view type lacks an image it needs.
        """
        if self._changed is None:
            old, new = self._images_for_diff()
            self._changed = frozenset(name for name in old.keys() | new.keys()
                                      if not _same(old.get(name), new.get(name)))
        return self._changed

    def changed(self, name: str) -> bool:
        """Whether attribute ``name`` differs between the old and new image (see :attr:`changed_attributes`)."""
        if self._changed is not None:
            return name in self._changed
        old, new = self._images_for_diff()
        return not _same(old.get(name), new.get(name))

    def _images_for_diff(self) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
        old, new = self._ddb.get("OldImage"), self._ddb.get("NewImage")
        if self.event_name == INSERT:
            old = old or {}
        elif self.event_name == REMOVE:
            new = new or {}
        if old is None or new is None:
            raise ImageNotAvailable(
                f"{self.event_name} record {self.sequence_number} has no "
                f"{'OldImage' if old is None else 'NewImage'} (view type {self.view_type}); "
                "changed attributes need StreamViewType NEW_AND_OLD_IMAGES")
        return old, new

    def __repr__(self) -> str:
        return f"StreamRecord({self.event_name} {self.sequence_number} keys={dict(self.raw_keys)!r})"


def _same(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    if a == b:
        return True
    if a is None or b is None or a.keys() != b.keys():
        return False
    # same type, different text: compare values exactly (Decimal numbers, sets, base64 vs bytes)
    return bool(unmarshal(a, NumberMode.DECIMAL) == unmarshal(b, NumberMode.DECIMAL))


def parse_event(event: Any, *, number: NumberMode | str = NumberMode.AUTO, model: Any = None) -> list[StreamRecord]:
    """The records of a Lambda DynamoDB stream event (a dict, or Powertools' ``DynamoDBStreamEvent``).

    Raises :class:`EmptyBatchError` for no records and :class:`MalformedRecordError` naming the first
    record that is not a DynamoDB stream record.
    """
    raw = getattr(event, "raw_event", event)  # Powertools data classes keep the dict in raw_event
    if not isinstance(raw, Mapping) or "Records" not in raw:
        raise StreamEventError(f"not a DynamoDB stream event: expected an object with 'Records', got "
                               f"{type(raw).__name__}{' with keys ' + str(sorted(raw)[:5]) if isinstance(raw, Mapping) else ''}")
    items = raw["Records"]
    if not isinstance(items, list):
        raise StreamEventError(f"'Records' must be a list, got {type(items).__name__}")
    if not items:
        raise EmptyBatchError("the event has no records: Lambda never invokes a stream function with an empty "
                              "batch, so the trigger or the test event is wrong")
    mode = number if type(number) is NumberMode else NumberMode(number)
    return [StreamRecord(r, number=mode, model=model, index=i) for i, r in enumerate(items)]


# --------------------------------------------------------------------------------------------------
# Results and failure bookkeeping
# --------------------------------------------------------------------------------------------------


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
            unknown = set(self.events) - _EVENT_NAMES
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
        if len(self._retrying) >= _MAX_RETRYING:  # records that then succeeded in another container
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
        return _run_to_end(self._drive(self.as_records(records), False))

    def handler(self, event: Any, context: Any = None) -> dict[str, list[dict[str, str]]]:
        """The Lambda handler: a raw event dict or Powertools' DynamoDBStreamEvent in, the
        ``batchItemFailures`` response out (enable ``ReportBatchItemFailures`` on the event source mapping)."""
        if self.idempotency is not None:  # in-progress locks end when this invocation would time out
            self.idempotency.register_lambda_context(context)
        return _run_to_end(self._drive(self.parse(event), False)).response


class _Async(_ProcessorBase):
    async def aprocess(self, records: Iterable[StreamRecord | Mapping[str, Any]]) -> BatchResult:
        """Handle ``records`` awaiting each handler; the full :class:`BatchResult`."""
        return await self._drive(self.as_records(records), True)

    async def ahandler(self, event: Any, context: Any = None) -> dict[str, list[dict[str, str]]]:
        """The handler as a coroutine (for callers already inside an event loop)."""
        if self.idempotency is not None:
            self.idempotency.register_lambda_context(context)
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
        "source": "ddbkit.streams.processors",
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
