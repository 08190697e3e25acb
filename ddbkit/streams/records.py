"""DynamoDB Streams records: a lazy, typed view of one record of a stream event, and the event's parsing.

:class:`StreamRecord` unmarshals an image only when it is read; :func:`parse_event` turns a Lambda event (or
the poller's records) into records, refusing a malformed one with the index and the reason, never a value.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, TypeVar, cast

from ddbkit.core.codec import NumberMode, unmarshal, unmarshal_item
from ddbkit.errors import DdbkitError

__all__ = ["INSERT", "MODIFY", "REMOVE", "StreamRecord", "parse_event", "StreamEventError", "EmptyBatchError", "MalformedRecordError", "ImageNotAvailable", "RecordRejected"]


INSERT = "INSERT"
MODIFY = "MODIFY"
REMOVE = "REMOVE"
EVENT_NAMES = frozenset((INSERT, MODIFY, REMOVE))
_TTL_PRINCIPAL = "dynamodb.amazonaws.com"
MAX_RETRYING = 10_000  # sequence numbers a processor remembers to reset in its attempt store
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
        if event_name not in EVENT_NAMES:
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


