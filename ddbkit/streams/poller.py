"""Run a stream processor without Lambda: read a table's stream with the dynamodbstreams API.

:class:`StreamPoller` does what Lambda's event source mapping does, locally (moto, DynamoDB Local) or
against real DynamoDB: it lists the stream's shards, reads each (parents before children) from
TRIM_HORIZON or LATEST, hands every GetRecords page to a processor as one batch, checkpoints the last
handled sequence number per shard, and re-reads from the lowest failed record after ``retry_delay``
(Lambda's ``ReportBatchItemFailures`` behaviour)::

    poller = StreamPoller(MyProcessor(), "user-sessions", endpoint_url="http://127.0.0.1:8000",
                          checkpoints=JsonFileCheckpointStore(".stream-checkpoints.json"))
    poller.run(timeout=60)

Records reach the processor in Lambda's event shape (``eventSourceARN`` added, the creation time as
epoch seconds, ``userIdentity`` spelled as Lambda does); B values stay ``bytes`` (botocore decodes them),
which :class:`~ddbkit.streams.processors.StreamRecord` reads like Lambda's base64 text. DynamoDB Local writes TTL
deletions with eventName ``UNKNOWN_TO_SDK_VERSION`` and no identity; they arrive as the TTL REMOVEs they are.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from ddbkit.errors import CorruptResponse, DdbkitError, DynamoDBError
from ddbkit.streams.processors import BatchResult

__all__ = [
    "StreamPoller",
    "PollResult",
    "CheckpointStore",
    "MemoryCheckpointStore",
    "JsonFileCheckpointStore",
    "StreamNotFound",
    "StreamReadError",
    "RecordProcessor",
    "to_lambda_record",
]

logger = logging.getLogger("ddbkit.stream_poller")

_DDB_LOCAL_TTL_EVENT = "UNKNOWN_TO_SDK_VERSION"
_START = {"trim-horizon": "TRIM_HORIZON", "latest": "LATEST"}


class StreamNotFound(DdbkitError, LookupError):
    """The table has no stream (streams disabled), or the table or stream does not exist."""


class StreamReadError(DdbkitError):
    """A shard (or the stream's description) could not be read ``max_errors`` times in a row: damaged
    replies, timeouts, throttling. Nothing is skipped: a new poller resumes from the checkpoints."""


class RecordProcessor(Protocol):
    """What the poller feeds: every ddbkit processor (sync or async) has ``process``."""

    def process(self, records: Any) -> BatchResult: ...


# --------------------------------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------------------------------


class CheckpointStore(Protocol):
    """The last handled sequence number per (stream, shard): where a restarted poller resumes."""

    def get(self, stream_arn: str, shard_id: str) -> str | None: ...

    def put(self, stream_arn: str, shard_id: str, sequence_number: str) -> None: ...


class MemoryCheckpointStore:
    """Checkpoints in this process (the default: a new poller starts from its ``start`` position)."""

    def __init__(self) -> None:
        self._data: dict[tuple[str, str], str] = {}

    def get(self, stream_arn: str, shard_id: str) -> str | None:
        return self._data.get((stream_arn, shard_id))

    def put(self, stream_arn: str, shard_id: str, sequence_number: str) -> None:
        self._data[(stream_arn, shard_id)] = sequence_number


class JsonFileCheckpointStore:
    """Checkpoints in a JSON file (``{stream_arn: {shard_id: sequence_number}}``), rewritten atomically
    (temp file + rename) on every put, so a crash leaves the old or the new file, never half of one."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._data: dict[str, dict[str, str]] = {}
        if self.path.exists():
            text = self.path.read_text(encoding="utf-8")
            loaded = json.loads(text) if text.strip() else {}
            if not isinstance(loaded, dict):
                raise ValueError(f"{self.path}: not a checkpoint file (expected a JSON object)")
            self._data = {str(arn): {str(s): str(q) for s, q in shards.items()} for arn, shards in loaded.items()}

    def get(self, stream_arn: str, shard_id: str) -> str | None:
        return self._data.get(stream_arn, {}).get(shard_id)

    def put(self, stream_arn: str, shard_id: str, sequence_number: str) -> None:
        with self._lock:
            self._data.setdefault(stream_arn, {})[shard_id] = sequence_number
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=self.path.name, suffix=".tmp", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(self._data, out, indent=1, sort_keys=True)
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise


# --------------------------------------------------------------------------------------------------
# The poller
# --------------------------------------------------------------------------------------------------


def to_lambda_record(raw: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record (as boto3 parses it) in Lambda's event shape: ``eventSourceARN`` set,
    ``ApproximateCreationDateTime`` as epoch seconds instead of a datetime, and ``userIdentity`` spelled
    ``type``/``principalId`` (the API says ``Type``/``PrincipalId``)."""
    rec = dict(raw)
    rec["eventSourceARN"] = stream_arn
    ident = rec.get("userIdentity")
    if ident:
        rec["userIdentity"] = {k[:1].lower() + k[1:]: v for k, v in ident.items()}
    if rec.get("eventName") == _DDB_LOCAL_TTL_EVENT and "NewImage" not in (rec.get("dynamodb") or {}):
        # DynamoDB Local 3.x writes its TTL deletions this way (no userIdentity): read them as AWS does
        rec["eventName"] = "REMOVE"
        rec["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    ddb = dict(rec.get("dynamodb") or {})
    when = ddb.get("ApproximateCreationDateTime")
    if isinstance(when, datetime):
        ts = when.timestamp()
        ddb["ApproximateCreationDateTime"] = int(ts) if ts.is_integer() else ts
    rec["dynamodb"] = ddb
    return rec


@dataclass
class _Shard:
    shard_id: str
    parent_id: str | None
    closed: bool  # has an EndingSequenceNumber: no new records will arrive
    start: str  # iterator type when there is no checkpoint
    iterator: str | None = None
    done: bool = False  # read to its end (closed shards only: an open shard is never done)
    retry_at: float = 0.0  # after a failed batch or a read error: not before this clock time
    errors: int = 0  # read errors in a row


@dataclass
class PollResult:
    """One pass over the shards: records delivered and the processor's result per batch."""

    records: int = 0
    batches: list[BatchResult] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return sum(len(b.failures) for b in self.batches)


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, Mapping) else ""


_TRANSIENT_CODES = frozenset({"LimitExceededException", "ThrottlingException", "InternalServerError",
                              "InternalFailure", "ServiceUnavailable", "RequestLimitExceeded"})


def _transient(exc: BaseException) -> bool:
    """An error worth reading again after a pause: damaged reply, connection, timeout, throttling, 5xx."""
    if isinstance(exc, DynamoDBError):
        return exc.retryable
    if _error_code(exc) in _TRANSIENT_CODES:
        return True
    try:
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import HTTPClientError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, (BotoConnectionError, HTTPClientError))


class StreamPoller:
    """Feed a table's stream to ``processor`` (anything with ``process(records) -> BatchResult``).

    Name the table (its latest stream is used) or give ``stream_arn``. ``start`` is ``"trim-horizon"``
    (everything the stream still holds) or ``"latest"`` (only new changes) for shards without a
    checkpoint; shards that appear later are read from their start, as Lambda does. ``batch_size`` is
    GetRecords' Limit (1..1000). ``client`` is a boto3 ``dynamodbstreams`` client and ``dynamodb_client`` a
    ``dynamodb`` one (to look up the table's stream); missing ones are made from
    ``session``/``region_name``/``endpoint_url``. ``sleep`` and ``clock`` are injectable for tests.

    Damaged replies are never read as "end of shard": every client the poller uses checks each reply's
    ``x-amz-crc32`` and completeness (a botocore ``after-call`` handler), a GetRecords reply without
    ``Records`` is damaged, and an open shard (no ``EndingSequenceNumber``) is never finished: a reply without
    ``NextShardIterator`` on it is an error. Read errors (those, connection failures, throttling) are retried
    after ``retry_delay`` (doubling, at most 30 s), from the same iterator or, if records were delivered,
    ``AFTER_SEQUENCE_NUMBER`` the checkpoint; after ``max_errors`` in a row :class:`StreamReadError` is raised.
    """

    def __init__(self, processor: RecordProcessor, table_name: str | None = None, *, stream_arn: str | None = None,
                 client: Any = None, dynamodb_client: Any = None, session: Any = None, region_name: str | None = None,
                 endpoint_url: str | None = None, start: str = "trim-horizon",
                 checkpoints: CheckpointStore | None = None, batch_size: int = 100, idle_interval: float = 0.5,
                 retry_delay: float = 1.0, shard_refresh: float = 60.0, max_errors: int = 10,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> None:
        if table_name is None and stream_arn is None:
            raise ValueError("give table_name or stream_arn")
        start_type = _START.get(start.lower().replace("_", "-"))  # also TRIM_HORIZON / LATEST
        if start_type is None:
            raise ValueError(f"start must be 'trim-horizon' or 'latest', got {start!r}")
        if not 1 <= batch_size <= 1000:
            raise ValueError("batch_size must be between 1 and 1000 (GetRecords' limit)")
        self.processor = processor
        self.table_name = table_name
        self.start = start_type
        self.checkpoints: CheckpointStore = checkpoints if checkpoints is not None else MemoryCheckpointStore()
        self.batch_size = batch_size
        self.idle_interval = idle_interval
        self.retry_delay = retry_delay
        self.shard_refresh = shard_refresh
        self.max_errors = max(1, max_errors)
        self._refresh_errors = 0
        self._sleep = sleep
        self._clock = clock
        self._clients: dict[str, Any] = {name: c for name, c in (("dynamodbstreams", client),
                                                                  ("dynamodb", dynamodb_client)) if c is not None}
        self._session = session
        self._region_name = region_name
        self._endpoint_url = endpoint_url
        self._stream_arn = stream_arn
        self._checked: set[int] = set()
        self._shards: dict[str, _Shard] = {}
        self._refreshed_at: float | None = None

    # -- AWS side ------------------------------------------------------------------------------------
    def _service(self, service: str) -> Any:
        """The given client for ``service``, else one made on first use (boto3 is imported only then)."""
        client = self._clients.get(service)
        if client is None:
            import boto3

            from ddbkit.core.region import resolve_region

            factory = self._session or boto3
            client = self._clients[service] = factory.client(
                service, region_name=resolve_region(self._region_name, self._session),
                endpoint_url=self._endpoint_url)
            self._checked.add(id(client))
            from ddbkit.transport.botocore import install_reply_check

            install_reply_check(client)
        elif id(client) not in self._checked:
            self._checked.add(id(client))
            from ddbkit.transport.botocore import install_reply_check

            install_reply_check(client)  # a given client too: a damaged reply must not end a shard
        return client

    @property
    def client(self) -> Any:
        """The dynamodbstreams client."""
        return self._service("dynamodbstreams")

    @property
    def dynamodb_client(self) -> Any:
        """The dynamodb client used once, to find the table's stream (DescribeTable)."""
        return self._service("dynamodb")

    @property
    def stream_arn(self) -> str:
        """The stream read: the given ARN, else the table's current stream (DescribeTable's LatestStreamArn).

        Not ListStreams: it also lists the streams of deleted tables of the same name for 24 hours.
        """
        if self._stream_arn is None:
            try:
                table = self.dynamodb_client.describe_table(TableName=self.table_name)["Table"]
            except Exception as exc:
                if _error_code(exc) == "ResourceNotFoundException":
                    raise StreamNotFound(f"table {self.table_name!r} not found") from exc
                raise
            enabled = (table.get("StreamSpecification") or {}).get("StreamEnabled", False)
            if not enabled or not table.get("LatestStreamArn"):
                raise StreamNotFound(f"table {self.table_name!r} has no stream enabled: set StreamSpecification "
                                     "(streamSpecification.streamEnabled in the component), or pass stream_arn to "
                                     "read a disabled stream's last 24 hours")
            self._stream_arn = str(table["LatestStreamArn"])
        return self._stream_arn

    def _refresh_shards(self) -> None:
        """DescribeStream (all pages); add new shards, keeping the state of known ones."""
        first = not self._shards and self._refreshed_at is None
        found: list[dict[str, Any]] = []
        request: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            try:
                desc = self.client.describe_stream(**request)["StreamDescription"]
            except Exception as exc:
                if _error_code(exc) == "ResourceNotFoundException":
                    raise StreamNotFound(f"stream {self.stream_arn} not found") from exc
                raise
            found.extend(desc.get("Shards") or [])
            last = desc.get("LastEvaluatedShardId")
            if not last:
                break
            request["ExclusiveStartShardId"] = last
        for raw in found:
            shard_id = raw["ShardId"]
            if shard_id in self._shards:
                self._shards[shard_id].closed = "EndingSequenceNumber" in raw.get("SequenceNumberRange", {})
                continue
            closed = "EndingSequenceNumber" in raw.get("SequenceNumberRange", {})
            shard = _Shard(shard_id, raw.get("ParentShardId"), closed, self.start if first else "TRIM_HORIZON")
            if first and self.start == "LATEST" and closed and self.checkpoints.get(self.stream_arn, shard_id) is None:
                shard.done = True  # LATEST: history in closed shards is skipped
            self._shards[shard_id] = shard
        self._refreshed_at = self._clock()

    def _iterator(self, shard: _Shard, at: str | None = None) -> str:
        """A shard iterator: AT ``at`` (redelivery), else after the checkpoint, else the start position."""
        request: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard.shard_id}
        checkpoint = self.checkpoints.get(self.stream_arn, shard.shard_id)
        if at is not None:
            request.update(ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=at)
        elif checkpoint is not None:
            request.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=checkpoint)
        else:
            request["ShardIteratorType"] = shard.start
        iterator = self.client.get_shard_iterator(**request).get("ShardIterator")
        if not iterator:
            raise CorruptResponse("InvalidResponse", "GetShardIterator reply without a ShardIterator",
                                  operation="GetShardIterator")
        return str(iterator)

    def _read_error(self, shard: _Shard, now: float, exc: BaseException) -> None:
        """A transient read error on ``shard``: pause it (doubling), or give up after ``max_errors`` in a row."""
        shard.errors += 1
        if shard.errors >= self.max_errors:
            raise StreamReadError(f"shard {shard.shard_id} of {self.stream_arn}: {shard.errors} read errors in a "
                                  f"row, the last: {exc}") from exc
        logger.warning("shard %s: read error %d of at most %d, retried: %s", shard.shard_id, shard.errors,
                       self.max_errors, exc)
        shard.retry_at = now + min(30.0, self.retry_delay * 2 ** (shard.errors - 1))

    def _ready(self, now: float) -> list[_Shard]:
        """Shards to read now: not finished, parent finished (or unknown), not waiting to retry."""
        out = []
        for shard in self._shards.values():
            parent = self._shards.get(shard.parent_id) if shard.parent_id else None
            if not shard.done and (parent is None or parent.done) and shard.retry_at <= now:
                out.append(shard)
        return out

    # -- polling -------------------------------------------------------------------------------------
    def poll_once(self, limit: int | None = None) -> PollResult:
        """One GetRecords call per ready shard, each page handed to the processor as a batch.

        ``limit`` caps the records delivered in this pass. A failed batch's shard is re-read from its
        lowest failed record after ``retry_delay``; a closed shard read to its end is finished.
        """
        now = self._clock()
        if self._refreshed_at is None or now - self._refreshed_at >= self.shard_refresh:
            try:
                self._refresh_shards()
                self._refresh_errors = 0
            except Exception as exc:
                if not _transient(exc):
                    raise
                self._refresh_errors += 1
                if self._refresh_errors >= self.max_errors:
                    raise StreamReadError(f"{self._refresh_errors} DescribeStream errors in a row, the last: "
                                          f"{exc}") from exc
                logger.warning("DescribeStream failed (%d of at most %d), retried: %s", self._refresh_errors,
                               self.max_errors, exc)
        result = PollResult()
        for shard in self._ready(now):
            room = self.batch_size if limit is None else min(self.batch_size, limit - result.records)
            if room <= 0:
                break
            try:
                if shard.iterator is None:
                    shard.iterator = self._iterator(shard)
                page = self.client.get_records(ShardIterator=shard.iterator, Limit=room)
                if not isinstance(page.get("Records"), list):  # botocore reads a damaged body as {}
                    raise CorruptResponse("InvalidResponse", "GetRecords reply without Records",
                                          operation="GetRecords")
            except Exception as exc:
                code = _error_code(exc)
                if code == "ExpiredIteratorException":  # iterators live 15 minutes
                    shard.iterator = None
                    continue
                if code == "TrimmedDataAccessException":  # the checkpoint is older than 24 h of retention
                    logger.error("shard %s: records after the checkpoint were trimmed; reading from TRIM_HORIZON",
                                 shard.shard_id)
                    shard.iterator, shard.start = None, "TRIM_HORIZON"
                    continue
                if _transient(exc):
                    self._read_error(shard, now, exc)
                    continue
                raise
            previous = shard.iterator
            shard.iterator = page.get("NextShardIterator")
            raw_records = page["Records"]
            if raw_records:
                batch = self.processor.process([to_lambda_record(r, self.stream_arn) for r in raw_records])
                result.records += len(raw_records)
                result.batches.append(batch)
                if batch.checkpoint is not None:
                    self.checkpoints.put(self.stream_arn, shard.shard_id, batch.checkpoint)
                low = batch.lowest_failure
                if low is not None:
                    # like Lambda: resume at the lowest failure, after a pause
                    shard.iterator = self._iterator(shard, at=low.record.sequence_number)
                    shard.retry_at = now + self.retry_delay
            if shard.iterator is None and not shard.closed:
                # an open shard always has a next iterator: the reply was damaged, or the shard closed since
                # the last DescribeStream (re-described below). Never "done": read again after a pause, from
                # the same iterator, or after the checkpoint when this reply's records were delivered
                shard.iterator = None if raw_records else previous
                self._refreshed_at = None
                self._read_error(shard, now, CorruptResponse(
                    "MissingShardIterator", f"GetRecords reply for open shard {shard.shard_id} without "
                    "NextShardIterator", operation="GetRecords"))
                continue
            shard.errors = 0
            if shard.iterator is None:
                shard.done = True  # a closed shard read to its end; its children become ready
                self._refreshed_at = None  # look for them on the next pass
        return result

    def run(self, *, max_records: int | None = None, timeout: float | None = None, idle_timeout: float | None = None,
            stop: threading.Event | None = None) -> int:
        """Poll until ``max_records`` records were delivered, ``timeout`` seconds passed, nothing arrived
        for ``idle_timeout`` seconds, ``stop`` is set, or every shard is finished. Returns the records
        delivered (a redelivered record counts again)."""
        start = self._clock()
        idle_since = start
        delivered = 0
        while not (stop is not None and stop.is_set()):
            remaining = None if max_records is None else max_records - delivered
            if remaining is not None and remaining <= 0:
                break
            polled = self.poll_once(limit=remaining)
            delivered += polled.records
            now = self._clock()
            if polled.records:
                idle_since = now
            if (timeout is not None and now - start >= timeout) or \
                    (idle_timeout is not None and now - idle_since >= idle_timeout):
                break
            if self._shards and all(s.done for s in self._shards.values()):
                break  # the stream is closed and read to its end
            if not polled.records:
                wait = self.idle_interval
                if timeout is not None:
                    wait = min(wait, max(0.0, start + timeout - now))
                self._sleep(wait)
        return delivered
