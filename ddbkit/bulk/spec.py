"""What a bulk job is made of, in picklable form: table specs, item outcomes, segment results.

A job runs in other processes (``processes`` and ``dask`` runners), so it never holds a live
:class:`~ddbkit.Table`: it holds a :class:`TableSpec`, and each worker process opens the table once
(:meth:`TableSpec.open` caches per process).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TableSpec", "Put", "Delete", "DROP", "Drop", "SegmentResult", "Counts"]

_OPEN: dict[TableSpec, Any] = {}
_OPEN_LOCK = threading.Lock()


@dataclass(frozen=True)
class TableSpec:
    """How a worker reaches a table: its name, key schema and endpoint (picklable, hashable).

    ``key`` is the partition key name or ``(partition, sort)``; None reads it with DescribeTable.
    """

    name: str
    key: str | tuple[str, str | None] | None = None
    endpoint_url: str | None = None
    region_name: str | None = None
    transport: str | None = None
    concurrency: int = 8

    def open(self) -> Any:
        """The :class:`ddbkit.Table` for this spec, one per process (thread-safe)."""
        with _OPEN_LOCK:
            table = _OPEN.get(self)
            if table is None:
                from ddbkit.table import Table

                table = Table(self.name, key=self.key, endpoint_url=self.endpoint_url,
                              region_name=self.region_name, transport=self.transport,
                              concurrency=self.concurrency)
                _OPEN[self] = table
            return table

    @classmethod
    def of(cls, table: Any, **overrides: Any) -> TableSpec:
        """A spec for an open :class:`ddbkit.Table` (reads its name, key schema and endpoint)."""
        if isinstance(table, TableSpec):
            return table
        if isinstance(table, str):
            return cls(table, **overrides)
        keys = table.key_schema
        transport = table.transport
        endpoint = getattr(transport, "endpoint_url", None) or overrides.pop("endpoint_url", None)
        region = getattr(transport, "region_name", None) or getattr(transport, "region", None)
        fields: dict[str, Any] = {"key": keys.names if keys.range_key else keys.hash_key,
                                  "endpoint_url": endpoint, "region_name": region}
        fields.update(overrides)
        return cls(table.name, **fields)


@dataclass(frozen=True)
class Put:
    """Emit a put of ``item`` into the sink's table (or ``table``)."""

    item: Mapping[str, Any]
    table: str | None = None


@dataclass(frozen=True)
class Delete:
    """Emit a delete of ``key`` from the sink's table (or ``table``)."""

    key: Mapping[str, Any]
    table: str | None = None


class Drop:
    """Returned by a job's function: delete the item that was read (only if unchanged since read)."""

    _instance: Drop | None = None

    def __new__(cls) -> Drop:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DROP"

    def __reduce__(self) -> str:
        return "DROP"


DROP = Drop()
"""The one :class:`Drop` value: ``return DROP`` deletes the item read."""


@dataclass
class Counts:
    """What a segment (or a whole job) did with its items."""

    read: int = 0           # items read from the source
    unchanged: int = 0      # the function returned None (or the same item)
    changed: int = 0        # written back changed (conditional update) or put
    dropped: int = 0        # deleted
    emitted: int = 0        # Put/Delete writes emitted to a sink table
    conflicts: int = 0      # a concurrent write won: the item was re-read and the function run again
    skipped: int = 0        # already done by this job (marker attribute) or gone since read
    failed: int = 0         # items whose write failed for good (listed in the segment's errors)
    read_units: float = 0.0
    write_units: float = 0.0
    bytes: int = 0
    throttles: int = 0

    def add(self, other: Counts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def copy(self) -> Counts:
        return Counts.from_dict(self.as_dict())

    def as_dict(self) -> dict[str, int | float]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Counts:
        out = cls()
        for name, value in data.items():
            if name in cls.__dataclass_fields__:
                default = getattr(out, name)
                setattr(out, name, type(default)(value))
        return out


@dataclass
class SegmentResult:
    """One segment's outcome as a runner reports it."""

    segment: int
    status: str                      # DONE | SKIPPED (done already or leased elsewhere) | FAILED | STOPPED
    counts: Counts = field(default_factory=Counts)
    errors: list[str] = field(default_factory=list)
    owner: str = ""
