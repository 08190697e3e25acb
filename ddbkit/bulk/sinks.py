"""Where a job's results go.

- :class:`UpdateSink` (the default): a changed item is written back with UpdateItem, SET/REMOVE of
  only the attributes the function changed, *conditional on the item being unchanged since it was
  read* (``guard="item"``: every attribute read is compared; or ``guard=("version", "v")``). A
  concurrent write makes the condition fail: the item is read again (strongly consistent) and the
  function runs again on what is there now, so a backfill never overwrites a concurrent write.
  ``DROP`` deletes under the same guard. With ``marker="attr"`` every write also sets ``attr`` to the
  job id and items already carrying it are skipped: a resumed job never applies its function twice to
  one item, even a non-idempotent one.
- :class:`BatchSink`: puts and deletes through ddbkit's batch engine (25 per call, unprocessed items
  retried with backoff; what stays unwritten fails the page, which is not checkpointed, so a resume
  sends it again). For copies, loads and re-keying into another table; no read-guard.
- :class:`FileSink`: JSON lines, one file per segment; the checkpoint keeps the file's length, so a
  resumed segment truncates what was written after its last checkpoint and nothing is doubled.
- :class:`ImportSink`: gzipped DynamoDB-JSON objects in S3, one a page (a resumed page overwrites its
  object), then one ImportTable into a new table when every segment is DONE (the sink's ``finish``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any, Protocol

from ddbkit.bulk.spec import DROP, Counts, Delete, Put, TableSpec
from ddbkit.errors import BatchWriteError, ClientValidationError, ConditionalCheckFailed

__all__ = ["Sink", "UpdateSink", "BatchSink", "FileSink", "ImportSink", "ItemFunction"]

ItemFunction = Callable[[dict[str, Any]], Any]

_MAX_CONDITION_BYTES = 3500  # DynamoDB's limit is 4 KB for the whole expression; keep room for names


class Sink(Protocol):
    def open_segment(self, job_id: str, segment: int, position: Any) -> None: ...

    def process(self, fn: ItemFunction, items: list[dict[str, Any]], counts: Counts) -> None: ...

    def checkpoint(self) -> Any: ...

    def close_segment(self) -> None: ...

    def describe(self) -> dict[str, Any]: ...


def _outcome_writes(out: Any) -> list[Put | Delete] | None:
    if isinstance(out, (Put, Delete)):
        return [out]
    if isinstance(out, (list, tuple)) and all(isinstance(w, (Put, Delete)) for w in out):
        return list(out)
    return None


class UpdateSink:
    """Conditional write-back to ``table`` (by default the source's table); see the module docs."""

    def __init__(self, table: TableSpec | str | None = None, *, guard: str | tuple[str, str] = "item",
                 marker: str | None = None, max_conflicts: int = 5, concurrency: int = 16,
                 emit_to: TableSpec | str | None = None) -> None:
        self.table = TableSpec(table) if isinstance(table, str) else table
        self.emit_to = TableSpec(emit_to) if isinstance(emit_to, str) else emit_to
        if guard != "item" and guard != "none" and not (isinstance(guard, tuple) and guard[0] == "version"):
            raise ClientValidationError(f"guard must be 'item', 'none' or ('version', ATTR), got {guard!r}", "guard",
                                        "bulk.guard")
        self.guard = guard
        self.marker = marker
        self.max_conflicts = max_conflicts
        self.concurrency = max(1, concurrency)
        self.job_id = ""
        self._pool: Any = None

    def bind(self, source_table: TableSpec | None) -> None:
        if self.table is None:
            self.table = source_table

    def describe(self) -> dict[str, Any]:
        return {"kind": "update", "table": self.table.name if self.table else None, "guard": self.guard,
                "marker": self.marker}

    def open_segment(self, job_id: str, segment: int, position: Any) -> None:
        self.job_id = job_id

    def checkpoint(self) -> Any:
        return None

    def close_segment(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    # -- per item -------------------------------------------------------------------------------
    def _key_names(self) -> tuple[str, ...]:
        """The table's key attribute names, read once per sink (a driver run per item cost ~15% of a write)."""
        names: tuple[str, ...] | None = self.__dict__.get("_keys")
        if names is None:
            assert self.table is not None
            names = self.__dict__["_keys"] = self.table.open().key_schema.names
        return names

    def _guard(self, item: Mapping[str, Any]) -> Any:
        from ddbkit.core.expressions import Attr, Name

        assert self.table is not None
        keys = self._key_names()
        if self.guard == "none":
            return Attr(Name(keys[0])).exists()
        if isinstance(self.guard, tuple):
            attr = self.guard[1]
            return Attr(Name(attr)) == item[attr] if attr in item else Attr(Name(attr)).not_exists()
        cond = Attr(Name(keys[0])).exists()
        size = 0
        for name, value in item.items():
            if name in keys:
                continue
            size += len(name) + 16
            cond = cond & (Attr(Name(name)) == value)
        if size > _MAX_CONDITION_BYTES:
            raise ClientValidationError(
                f"item has too many attributes to guard by value ({len(item)}); use guard=('version', ATTR)",
                "guard", "bulk.guard-size")
        return cond

    def _write(self, item: dict[str, Any], out: Any) -> str:
        from ddbkit.core.expressions import Name, Update

        assert self.table is not None
        table = self.table.open()
        keys = self._key_names()
        key = {k: item[k] for k in keys}
        if out is DROP:
            table.delete(key, condition=self._guard(item))
            return "dropped"
        if not isinstance(out, Mapping):
            raise ClientValidationError(
                f"the job function returned {type(out).__name__}; expected None, a dict, DROP, Put/Delete or a list "
                "of them", "fn", "bulk.outcome")
        if any(out.get(k) != item[k] for k in keys):
            raise ClientValidationError(f"the job function changed the key of {key!r}: emit Put/Delete to re-key",
                                        "fn", "bulk.key-change")
        update = Update()
        for name, value in out.items():
            if name not in keys and (name not in item or item[name] != value):
                update.set(Name(name), value)
        for name in item:
            if name not in out:
                update.remove(Name(name))
        if self.marker:
            update.set(Name(self.marker), self.job_id)
        if not update:
            return "unchanged"
        table.update(key, update, condition=self._guard(item))
        return "changed"

    def _one(self, fn: ItemFunction, item: dict[str, Any]) -> tuple[str, int, list[Put | Delete]]:
        assert self.table is not None
        conflicts = 0
        current: dict[str, Any] | None = item
        while True:
            assert current is not None
            if self.marker and current.get(self.marker) == self.job_id:
                return "skipped", conflicts, []
            out = fn(dict(current))
            if out is None or (isinstance(out, Mapping) and out == current and not self.marker):
                return "unchanged", conflicts, []
            writes = _outcome_writes(out)
            if writes is not None:
                return "emitted", conflicts, writes
            try:
                return self._write(current, out), conflicts, []
            except ConditionalCheckFailed:
                conflicts += 1
                if conflicts > self.max_conflicts:
                    raise
                table = self.table.open()
                current = table.get({k: current[k] for k in self._key_names()}, consistent=True)
                if current is None:
                    return "skipped", conflicts, []

    def process(self, fn: ItemFunction, items: list[dict[str, Any]], counts: Counts) -> None:
        from concurrent.futures import ThreadPoolExecutor

        if not items:
            return
        if self._pool is None and self.concurrency > 1:
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="ddbkit-bulk-write")
        results = (self._pool.map(lambda i: self._one(fn, i), items) if self._pool is not None
                   else map(lambda i: self._one(fn, i), items))
        emitted: list[Put | Delete] = []
        for what, conflicts, writes in results:
            counts.conflicts += conflicts
            if what == "changed":
                counts.changed += 1
            elif what == "dropped":
                counts.dropped += 1
            elif what == "unchanged":
                counts.unchanged += 1
            elif what == "skipped":
                counts.skipped += 1
            else:
                emitted.extend(writes)
        if emitted:
            counts.emitted += _send(emitted, self.emit_to or self.table)


def _send(writes: Iterable[Put | Delete], default: TableSpec | None) -> int:
    """Batch-write ``writes`` grouped by table; returns how many were written (raises BatchWriteError)."""
    by_table: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    specs: dict[str, TableSpec] = {}
    for w in writes:
        if w.table and default is not None:
            spec: TableSpec | None = TableSpec(w.table, endpoint_url=default.endpoint_url,
                                               region_name=default.region_name)
        else:
            spec = TableSpec(w.table) if w.table else default
        if spec is None:
            raise ClientValidationError("an emitted write names no table and the sink has none", "table", "bulk.sink")
        specs[spec.name] = spec
        by_table.setdefault(spec.name, []).append(("put", w.item) if isinstance(w, Put) else ("delete", w.key))
    total = 0
    for name, requests in by_table.items():
        total += specs[name].open().batch_write(requests=requests).written
    return total


class BatchSink:
    """Unguarded puts/deletes into ``table`` through the batch engine (copies, loads, re-keying)."""

    def __init__(self, table: TableSpec | str) -> None:
        self.table = TableSpec(table) if isinstance(table, str) else table

    def bind(self, source_table: TableSpec | None) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        return {"kind": "batch", "table": self.table.name}

    def open_segment(self, job_id: str, segment: int, position: Any) -> None:
        pass

    def checkpoint(self) -> Any:
        return None

    def close_segment(self) -> None:
        pass

    def process(self, fn: ItemFunction, items: list[dict[str, Any]], counts: Counts) -> None:
        writes: list[Put | Delete] = []
        for item in items:
            out = fn(dict(item))
            if out is None:
                counts.unchanged += 1
                continue
            if out is DROP:
                keys = self.table.open().key_schema.names
                writes.append(Delete({k: item[k] for k in keys}))
                counts.dropped += 1
                continue
            emitted = _outcome_writes(out)
            if emitted is not None:
                writes.extend(emitted)
                counts.emitted += len(emitted)
            elif isinstance(out, Mapping):
                writes.append(Put(out))
                counts.changed += 1
            else:
                raise ClientValidationError(f"the job function returned {type(out).__name__}", "fn", "bulk.outcome")
        if writes:
            try:
                _send(writes, self.table)
            except BatchWriteError as err:
                counts.failed += len(err.unprocessed)
                raise


class FileSink:
    """Every changed item and emitted Put as a line (one file a segment, ``<dir>/<job>-<segment>.jsonl``).

    ``format="ddb-json"`` (the default) writes ``{"Item": <DynamoDB JSON>}`` lines, exact for every type
    and readable by :class:`~ddbkit.bulk.FileSource` and by ImportTable; ``format="jsonl"`` writes plain
    JSON (sets as sorted lists, bytes as base64, non-integral numbers as JSON floats: lossy past 17 digits).
    """

    def __init__(self, directory: str | os.PathLike[str], format: str = "ddb-json") -> None:
        if format not in ("ddb-json", "jsonl"):
            raise ClientValidationError(f"format must be ddb-json or jsonl, got {format!r}", "format",
                                        "bulk.file-format")
        self.directory = os.fspath(directory)
        self.format = format
        self._file: Any = None

    def bind(self, source_table: TableSpec | None) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        return {"kind": "file", "directory": os.path.abspath(self.directory)}

    def path(self, job_id: str, segment: int) -> str:
        return os.path.join(self.directory, f"{job_id}-{segment:05d}.jsonl")

    def open_segment(self, job_id: str, segment: int, position: Any) -> None:
        os.makedirs(self.directory, exist_ok=True)
        path = self.path(job_id, segment)
        self._file = open(path, "a+b")  # noqa: SIM115 - closed in close_segment
        self._file.truncate(int(position or 0))  # drop what was written after the last checkpoint
        self._file.seek(0, os.SEEK_END)

    def checkpoint(self) -> Any:
        self._file.flush()
        os.fsync(self._file.fileno())
        return self._file.tell()

    def close_segment(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def process(self, fn: ItemFunction, items: list[dict[str, Any]], counts: Counts) -> None:
        from ddbkit.core.codec import marshal_item

        for row in _output_rows(fn, items, counts):
            line = {"Item": marshal_item(row)} if self.format == "ddb-json" else row
            self._file.write(json.dumps(line, default=_json_default, separators=(",", ":")).encode() + b"\n")


def _output_rows(fn: ItemFunction, items: list[dict[str, Any]], counts: Counts) -> Iterator[Mapping[str, Any]]:
    """The rows a file-writing sink writes for ``items``: each changed item, or the items of emitted Puts
    (emitted Deletes have no row); counts what the function did with each item."""
    for item in items:
        out = fn(dict(item))
        if out is None or out is DROP:
            counts.unchanged += out is None
            counts.dropped += out is DROP
            continue
        emitted = _outcome_writes(out)
        rows = [w.item for w in emitted if isinstance(w, Put)] if emitted is not None else [out]
        if not all(isinstance(r, Mapping) for r in rows):
            raise ClientValidationError(f"the job function returned {type(out).__name__}", "fn", "bulk.outcome")
        yield from rows
        if emitted is not None:
            counts.emitted += len(rows)
        else:
            counts.changed += 1


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if isinstance(value, (bytes, bytearray)):
        import base64

        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")



class ImportSink:
    """Load a *new* table: each page's rows go to S3 as gzipped DynamoDB-JSON lines, then one ImportTable.

    Rows are what :class:`FileSink` writes (changed items and emitted Puts; ``lambda i: i`` copies every
    item). Each page is one object, ``<prefix>/<job>/<segment:05d>/<page:08d>.json.gz``: the checkpoint
    keeps the page number, so a resumed page overwrites its object and nothing is doubled. When every
    segment is DONE, :meth:`finish` (called by :func:`~ddbkit.bulk.run`) calls ``ImportTable`` over
    ``<prefix>/<job>/`` (DYNAMODB_JSON, GZIP) and, with ``wait=True``, waits for it to end.

    ``table`` is ImportTable's ``TableCreationParameters`` (a mapping, sent as given) or a
    :class:`TableSpec` with ``key`` set (on-demand table, key attributes typed by ``key_types``, "S" by
    default; the spec's endpoint and region reach DynamoDB).
    """

    def __init__(self, bucket: str, prefix: str, table: TableSpec | Mapping[str, Any], *, s3: Any = None,
                 key_types: Mapping[str, str] | None = None, endpoint_url: str | None = None,
                 region_name: str | None = None, wait: bool = True, wait_seconds: float = 600.0) -> None:
        from ddbkit.bulk.sources import S3Spec

        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.s3 = s3 if s3 is not None else S3Spec()
        if isinstance(table, TableSpec):
            if table.key is None:
                raise ClientValidationError("ImportSink needs the new table's key (TableSpec(name, key=...))",
                                            "table", "bulk.import-table")
            names = [table.key] if isinstance(table.key, str) else [k for k in table.key if k]
            types = dict(key_types or {})
            self.parameters: dict[str, Any] = {
                "TableName": table.name, "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": n, "AttributeType": types.get(n, "S")} for n in names],
                "KeySchema": [{"AttributeName": n, "KeyType": t} for n, t in zip(names, ("HASH", "RANGE"), strict=False)]}
            endpoint_url, region_name = endpoint_url or table.endpoint_url, region_name or table.region_name
        else:
            self.parameters = dict(table)
            if "TableName" not in self.parameters or "KeySchema" not in self.parameters:
                raise ClientValidationError("TableCreationParameters need TableName and KeySchema", "table",
                                            "bulk.import-table")
        self.endpoint_url = endpoint_url
        self.region_name = region_name or getattr(self.s3, "region_name", None)
        self.wait, self.wait_seconds = wait, wait_seconds
        self._client: Any = None
        self._where = ("", 0)
        self._page = 0

    def bind(self, source_table: TableSpec | None) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        return {"kind": "import", "bucket": self.bucket, "prefix": self.prefix, "table": self.parameters["TableName"]}

    def job_prefix(self, job_id: str) -> str:
        return f"{self.prefix}/{job_id}/" if self.prefix else f"{job_id}/"

    def key(self, job_id: str, segment: int, page: int) -> str:
        return f"{self.job_prefix(job_id)}{segment:05d}/{page:08d}.json.gz"

    def open_segment(self, job_id: str, segment: int, position: Any) -> None:
        self._client = self.s3.client()
        self._where, self._page = (job_id, segment), int(position or 0)

    def checkpoint(self) -> Any:
        return self._page

    def close_segment(self) -> None:
        self._client = None

    def process(self, fn: ItemFunction, items: list[dict[str, Any]], counts: Counts) -> None:
        import gzip

        from ddbkit.core.codec import marshal_item

        lines = [json.dumps({"Item": marshal_item(r)}, default=_json_default, separators=(",", ":")).encode()
                 for r in _output_rows(fn, items, counts)]
        if lines:  # an empty page writes nothing; its number is still used, so keys stay deterministic
            self._client.put_object(Bucket=self.bucket, Key=self.key(*self._where, self._page),
                                    Body=gzip.compress(b"\n".join(lines) + b"\n", mtime=0))
        self._page += 1

    def request(self, job_id: str) -> dict[str, Any]:
        """The ImportTable request for ``job_id``'s files (ClientToken = the job id, so a retry is idempotent)."""
        import hashlib

        return {"S3BucketSource": {"S3Bucket": self.bucket, "S3KeyPrefix": self.job_prefix(job_id)},
                "InputFormat": "DYNAMODB_JSON", "InputCompressionType": "GZIP",
                "TableCreationParameters": self.parameters,
                "ClientToken": hashlib.sha256(job_id.encode()).hexdigest()[:36]}

    def dynamodb(self) -> Any:
        import boto3

        return boto3.client("dynamodb", endpoint_url=self.endpoint_url, region_name=self.region_name)

    def finish(self, job: Any, result: Any) -> dict[str, Any]:
        """Call ImportTable over every segment's files; returns the ImportTableDescription (after it ended,
        with ``wait``). Raises :class:`~ddbkit.errors.DdbkitError` if the import FAILED or did not end in
        ``wait_seconds``; the files stay in S3 and ``run()`` again with the same job id retries the import."""
        import time

        from ddbkit.errors import DdbkitError

        client = self.dynamodb()
        desc: dict[str, Any] = client.import_table(**self.request(job.job_id))["ImportTableDescription"]
        deadline = time.monotonic() + self.wait_seconds
        while self.wait and desc.get("ImportStatus") == "IN_PROGRESS":
            if time.monotonic() > deadline:
                raise DdbkitError(f"ImportTable {desc.get('ImportArn')} still IN_PROGRESS after {self.wait_seconds}s")
            time.sleep(0.2 if self.endpoint_url else 10.0)
            desc = client.describe_import(ImportArn=desc["ImportArn"])["ImportTableDescription"]
        if desc.get("ImportStatus") in ("FAILED", "CANCELLED"):
            raise DdbkitError(f"ImportTable into {self.parameters['TableName']} {desc['ImportStatus']}: "
                              f"{desc.get('FailureCode')} {desc.get('FailureMessage')} "
                              f"({desc.get('ErrorCount', 0)} items in error)")
        return desc
