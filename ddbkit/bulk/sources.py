"""Where a job's items come from, split into segments a worker can run and resume on its own.

- :class:`ScanSource`: DynamoDB's parallel scan of a table or index (segment = Scan segment; resume
  point = the LastEvaluatedKey after the last page processed).
- :class:`ExportSource`: an S3 export (ExportTableToPointInTime, DynamoDB JSON or Amazon ION), read
  without scanning the table (segment = one data file; resume point = items done).
- :class:`FileSource`: a local JSON-lines, DynamoDB-JSON-lines or CSV file (segment = a byte range;
  resume point = the byte offset of the next line).
"""

from __future__ import annotations

import base64
import csv
import gzip
import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ddbkit.bulk.spec import TableSpec
from ddbkit.errors import ClientValidationError

__all__ = ["SourcePage", "Source", "ScanSource", "ExportSource", "FileSource", "key_to_json", "key_from_json",
           "ion_item"]


@dataclass
class SourcePage:
    """Items read in one step, and where the segment resumes after them (None: the segment is done)."""

    items: list[dict[str, Any]]
    position: Any
    read_units: float = 0.0


class Source(Protocol):
    def segment_count(self) -> int: ...

    def pages(self, segment: int, position: Any) -> Iterator[SourcePage]: ...

    def describe(self) -> dict[str, Any]: ...


def key_to_json(key: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """A wire key (LastEvaluatedKey) as JSON-safe data (B values as base64 text)."""
    out: dict[str, Any] = {}
    for name, av in key.items():
        ((t, v),) = av.items()
        if t == "B" and isinstance(v, (bytes, bytearray)):
            v = base64.b64encode(v).decode()
        out[name] = {t: v}
    return out


def key_from_json(data: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The wire key :func:`key_to_json` wrote (B values back to bytes)."""
    out: dict[str, Any] = {}
    for name, av in data.items():
        ((t, v),) = av.items()
        out[name] = {t: base64.b64decode(v) if t == "B" else v}
    return out


def _scan_once(request: dict[str, Any]) -> Any:
    from ddbkit.core.engine import Call

    response = yield Call("Scan", request)
    return response


@dataclass
class ScanSource:
    """A parallel scan of ``table`` (or its ``index``) in ``segments`` segments.

    ``filter`` is a ddbkit :class:`~ddbkit.Condition` (items it drops are read and paid for, not seen),
    ``consistent`` asks for strongly consistent pages, ``page_size`` sets Scan's Limit.
    """

    table: TableSpec | str
    segments: int = 4
    index: str | None = None
    filter: Any = None
    consistent: bool = False
    page_size: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.table, str):
            self.table = TableSpec(self.table)
        if not 1 <= self.segments <= 1_000_000:
            raise ClientValidationError(f"segments must be 1..1000000, got {self.segments}", "segments",
                                        "scan.segment")

    def segment_count(self) -> int:
        return self.segments

    def describe(self) -> dict[str, Any]:
        assert isinstance(self.table, TableSpec)
        return {"kind": "scan", "table": self.table.name, "index": self.index, "segments": self.segments,
                "consistent": self.consistent}

    def request(self, segment: int, position: Any) -> dict[str, Any]:
        assert isinstance(self.table, TableSpec)
        req: dict[str, Any] = {"TableName": self.table.name, "Segment": segment, "TotalSegments": self.segments,
                               "ReturnConsumedCapacity": "TOTAL"}
        if self.index:
            req["IndexName"] = self.index
        if self.consistent:
            req["ConsistentRead"] = True
        if self.page_size:
            req["Limit"] = self.page_size
        if position:
            req["ExclusiveStartKey"] = key_from_json(position)
        if self.filter is not None:
            from ddbkit.core.expressions import Compiler

            c = Compiler()
            req["FilterExpression"] = self.filter if isinstance(self.filter, str) else self.filter.compile(c)
            c.apply(req)
        return req

    def pages(self, segment: int, position: Any) -> Iterator[SourcePage]:
        from ddbkit.core.codec import unmarshal_item

        assert isinstance(self.table, TableSpec)
        table = self.table.open()
        while True:
            resp = table.run_op("scan", _scan_once(self.request(segment, position)), self.index)
            last = resp.get("LastEvaluatedKey")
            position = key_to_json(last) if last else None
            cc = resp.get("ConsumedCapacity") or {}
            yield SourcePage([unmarshal_item(i, table.number) for i in resp.get("Items") or ()], position,
                             float(cc.get("CapacityUnits") or 0.0))
            if position is None:
                return


@dataclass
class S3Spec:
    """How a worker reaches S3 (picklable)."""

    endpoint_url: str | None = None
    region_name: str | None = None

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name=self.region_name)


@dataclass
class ExportSource:
    """The data files of an S3 export, one segment each: DynamoDB JSON (``ExportFormat=DYNAMODB_JSON``,
    ``data/*.json.gz``) or Amazon ION (``ExportFormat=ION``, ``data/*.ion.gz``, read with the
    ``amazon.ion`` package of the ``bulk`` extra; see :func:`ion_item` for the type mapping).

    ``prefix`` is the export's folder (``.../AWSDynamoDB/<export-id>``) or any prefix above its
    ``data/`` files; the files come from ``manifest-files.json`` when present, else from listing
    ``*.json.gz`` / ``*.ion.gz`` under ``data/``.
    """

    bucket: str
    prefix: str
    s3: S3Spec = field(default_factory=S3Spec)
    _files: list[str] | None = field(default=None, repr=False)

    def files(self) -> list[str]:
        if self._files is None:
            client = self.s3.client()
            keys: list[str] = []
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
                keys.extend(o["Key"] for o in page.get("Contents") or ())
            manifests = [k for k in keys if k.endswith("manifest-files.json")]
            files: list[str] = []
            for m in manifests:
                body = client.get_object(Bucket=self.bucket, Key=m)["Body"].read().decode()
                files.extend(json.loads(line)["dataFileS3Key"] for line in body.splitlines() if line.strip())
            if not files:
                files = [k for k in keys if "/data/" in f"/{k}" and k.endswith((".gz", ".json", ".ion"))]
            self._files = sorted(set(files))
        return self._files

    def segment_count(self) -> int:
        return len(self.files())

    def describe(self) -> dict[str, Any]:
        return {"kind": "export", "bucket": self.bucket, "prefix": self.prefix, "files": len(self.files())}

    def pages(self, segment: int, position: Any, page_lines: int = 1000) -> Iterator[SourcePage]:
        from ddbkit.core.codec import unmarshal_item

        key = self.files()[segment]
        raw = self.s3.client().get_object(Bucket=self.bucket, Key=key)["Body"].read()
        text = gzip.decompress(raw) if key.endswith(".gz") else raw
        done = int(position or 0)
        if key.endswith((".ion.gz", ".ion")):
            yield from _ion_pages(text, done, page_lines)
            return
        lines = [ln for ln in text.decode().splitlines() if ln.strip()]
        for start in range(done, len(lines), page_lines):
            chunk = lines[start:start + page_lines]
            items = [unmarshal_item(json.loads(ln)["Item"]) for ln in chunk]
            end = start + len(chunk)
            yield SourcePage(items, end if end < len(lines) else None)
        if done >= len(lines):
            yield SourcePage([], None)


_ION_SETS = frozenset({"$dynamodb_SS", "$dynamodb_NS", "$dynamodb_BS"})


def ion_item(value: Any) -> Any:
    """A DynamoDB value from an ION export's value, as AWS maps them: string -> S, decimal (or int,
    float) -> N as Decimal/int, blob -> B bytes, bool -> BOOL, null -> NULL (None), list -> L,
    struct -> M, and a list annotated ``$dynamodb_SS`` / ``$dynamodb_NS`` / ``$dynamodb_BS`` -> a set."""
    from decimal import Decimal

    from amazon.ion.core import IonType
    from amazon.ion.simple_types import IonPyNull

    if value is None or isinstance(value, IonPyNull):
        return None
    kind = getattr(value, "ion_type", None)
    if kind in (IonType.LIST, IonType.SEXP) or isinstance(value, list):
        items = [ion_item(v) for v in value]
        notes = {getattr(a, "text", a) for a in getattr(value, "ion_annotations", ())}
        return set(items) if notes & _ION_SETS else items
    if kind == IonType.STRUCT or isinstance(value, Mapping):
        return {str(k): ion_item(v) for k, v in value.items()}
    if kind == IonType.BOOL or isinstance(value, bool):
        return bool(value)
    if kind == IonType.INT or isinstance(value, int):
        return int(value)
    if kind == IonType.DECIMAL or isinstance(value, Decimal):
        return Decimal(value)
    if kind == IonType.FLOAT or isinstance(value, float):
        return Decimal(repr(float(value)))
    if kind in (IonType.BLOB, IonType.CLOB) or isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if kind == IonType.TIMESTAMP:
        return value.isoformat()
    return str(value)


def _ion_pages(data: bytes, done: int, page_lines: int) -> Iterator[SourcePage]:
    """Pages of ``{Item: {...}}`` values from ION text or binary, resuming after ``done`` values."""
    try:
        from amazon.ion import simpleion
    except ImportError:  # pragma: no cover - depends on the extra
        raise ClientValidationError("reading an ION export needs the 'bulk' extra: pip install 'ddbkit[bulk]'",
                                    "prefix", "bulk.extra") from None
    seen = 0
    chunk: list[dict[str, Any]] = []
    for value in simpleion.loads(data, single_value=False, parse_eagerly=False):
        seen += 1
        if seen <= done:
            continue
        item = value.get("Item") if isinstance(value, Mapping) else None
        if not isinstance(item, Mapping):
            raise ClientValidationError(f"ION export value {seen} is not {{Item: {{...}}}}", "prefix",
                                        "bulk.export-format")
        chunk.append(ion_item(item))
        if len(chunk) >= page_lines:
            yield SourcePage(chunk, seen)
            chunk = []
    yield SourcePage(chunk, None)


@dataclass
class FileSource:
    """A local file in ``segments`` byte ranges: ``jsonl`` (one JSON object a line), ``ddb-json``
    (DynamoDB JSON lines, ``{"Item": {...}}`` as exports write them) or ``csv`` (header row; ``types``
    maps a column to a converter such as ``int`` or ``Decimal``; empty cells are left out).

    A line belongs to the segment its first byte falls in. CSV fields with embedded newlines need
    ``segments=1``. Numbers in JSON lines are read as Decimal (exact, as DynamoDB stores them).
    """

    path: str
    format: str = "jsonl"
    segments: int = 1
    types: Mapping[str, Callable[[str], Any]] | None = None
    page_lines: int = 500

    def __post_init__(self) -> None:
        if self.format not in ("jsonl", "ddb-json", "csv"):
            raise ClientValidationError(f"format must be jsonl, ddb-json or csv, got {self.format!r}", "format",
                                        "bulk.file-format")
        self.path = os.fspath(self.path)

    def segment_count(self) -> int:
        return self.segments

    def describe(self) -> dict[str, Any]:
        return {"kind": "file", "path": os.path.abspath(self.path), "format": self.format, "segments": self.segments}

    def _bounds(self, segment: int) -> tuple[int, int]:
        size = os.path.getsize(self.path)
        return size * segment // self.segments, size * (segment + 1) // self.segments

    def _header(self) -> list[str]:
        with open(self.path, encoding="utf-8", newline="") as f:
            return next(csv.reader([f.readline()]))

    def _parse(self, line: str, header: list[str] | None) -> dict[str, Any]:
        from decimal import Decimal

        if self.format == "jsonl":
            return dict(json.loads(line, parse_float=Decimal, parse_int=int))
        if self.format == "ddb-json":
            from ddbkit.core.codec import unmarshal_item

            data = json.loads(line)
            return unmarshal_item(data.get("Item", data))
        assert header is not None
        row = next(csv.reader([line]))
        types = self.types or {}
        return {name: types.get(name, str)(value) for name, value in zip(header, row, strict=False) if value != ""}

    def pages(self, segment: int, position: Any) -> Iterator[SourcePage]:
        start, end = self._bounds(segment)
        header = self._header() if self.format == "csv" else None
        with open(self.path, "rb") as f:
            if position is not None:
                f.seek(int(position))
            elif start > 0:
                f.seek(start - 1)
                f.readline()  # the line that straddles `start` belongs to the segment before
            elif header is not None:
                f.readline()
            items: list[dict[str, Any]] = []
            while True:
                where = f.tell()
                if where >= end:
                    break
                raw = f.readline()
                if not raw:
                    break
                line = raw.decode("utf-8").strip()
                if line:
                    items.append(self._parse(line, header))
                if len(items) >= self.page_lines:
                    yield SourcePage(items, f.tell())
                    items = []
            yield SourcePage(items, None)
