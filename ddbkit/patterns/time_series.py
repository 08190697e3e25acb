"""Time series: device + timestamp keys, write sharding for hot devices, TTL retention, merged reads.

A device writing faster than one partition takes (1,000 WCU) spreads its readings over ``shards``
partition keys ``<device>#<n>``; reads fan out over the shards and merge them back in time order::

    series = TimeSeries(table, shards=4, retention=timedelta(days=30))   # table keyed deviceId + timestamp
    series.put("sensor-1", ts, {"temperature": 21.5, "sensorType": "temp"})
    series.put_many(readings)                                            # batch_write underneath
    series.range("sensor-1", start, end)                                 # time order across all shards
    series.latest("sensor-1", 10)                                        # newest 10
    series.by_type("temp", start, end, index="SensorTypeIndex")

With ``shards=1`` the partition key is the device id itself. Each reading also stores the plain device
id (``device_attr_plain``) so a GSI or a filter can use it. The shard of a reading is derived from its
timestamp (a hash), so writes spread over the shards and a reading's key is reproducible.
"""

from __future__ import annotations

import heapq
import zlib
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from ddbkit.errors import ClientValidationError
from ddbkit.core.expressions import Key
from ddbkit.core.operations import ttl_epoch
from ddbkit.table import Table

__all__ = ["TimeSeries", "Reading"]

Reading = dict[str, Any]
Stamp = int | float | Decimal | datetime


def _epoch(ts: Stamp) -> int | float | Decimal:
    if isinstance(ts, datetime):
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=timezone.utc)
        return int(ts.timestamp() * 1000)  # milliseconds: one reading per ms per device
    return ts


class TimeSeries:
    """Readings of devices in a table keyed (``device_attr`` HASH, ``time_attr`` RANGE N)."""

    def __init__(self, table: Table, *, device_attr: str = "deviceId", time_attr: str = "timestamp",
                 device_attr_plain: str = "device", shards: int = 1, ttl_attr: str | None = "expiresAt",
                 retention: timedelta | None = None) -> None:
        if shards < 1:
            raise ClientValidationError("shards must be >= 1", "shards", "timeseries.shards")
        self.table = table
        self.device_attr, self.time_attr, self.plain_attr = device_attr, time_attr, device_attr_plain
        self.shards = shards
        self.ttl_attr, self.retention = ttl_attr, retention

    def partition(self, device: str, shard: int) -> str:
        return device if self.shards == 1 else f"{device}#{shard}"

    def shard_of(self, timestamp: Stamp) -> int:
        # a hash, not ts % shards: timestamps are often multiples of 1000 and would all land on shard 0
        return zlib.crc32(str(_epoch(timestamp)).encode()) % self.shards

    def item(self, device: str, timestamp: Stamp, values: Mapping[str, Any] | None = None) -> Reading:
        """The stored item for one reading (keys, plain device id, TTL)."""
        ts = _epoch(timestamp)
        item: Reading = dict(values or {})
        item[self.device_attr] = self.partition(device, self.shard_of(ts))
        item[self.time_attr] = ts
        item[self.plain_attr] = device
        if self.ttl_attr and self.retention is not None:
            base = datetime.fromtimestamp(float(ts) / 1000, tz=timezone.utc) if isinstance(timestamp, datetime) \
                else datetime.now(timezone.utc)
            item[self.ttl_attr] = ttl_epoch(self.retention, now=base)
        return item

    def put(self, device: str, timestamp: Stamp, values: Mapping[str, Any] | None = None) -> Reading:
        item = self.item(device, timestamp, values)
        self.table.put(item)
        return item

    def put_many(self, readings: Iterable[tuple[str, Stamp, Mapping[str, Any]]]) -> int:
        """Write many readings with batch_write (25 per call, retried); returns how many were written."""
        result = self.table.batch_write(self.item(d, t, v) for d, t, v in readings)
        return result.written

    def _shard_query(self, device: str, shard: int, start: Any, end: Any, newest_first: bool,
                     limit: int | None) -> Iterator[Reading]:
        cond = Key(self.device_attr).eq(self.partition(device, shard)) & Key(self.time_attr).between(start, end)
        count = 0
        for item in self.table.query_iter(cond, forward=not newest_first, limit=limit):
            yield item
            count += 1
            if limit is not None and count >= limit:
                return

    def range(self, device: str, start: Stamp, end: Stamp, *, newest_first: bool = False,
              limit: int | None = None) -> list[Reading]:
        """Readings of ``device`` with ``start <= time <= end`` across all shards, in time order."""
        lo, hi = _epoch(start), _epoch(end)
        streams = [self._shard_query(device, s, lo, hi, newest_first, limit) for s in range(self.shards)]
        merged = heapq.merge(*streams, key=lambda r: r[self.time_attr], reverse=newest_first)
        out = []
        for r in merged:
            out.append(self._clean(r))
            if limit is not None and len(out) >= limit:
                break
        return out

    def latest(self, device: str, n: int = 1) -> list[Reading]:
        """The newest ``n`` readings of ``device`` (each shard is asked for its newest n, then merged)."""
        return self.range(device, 0, 10**20, newest_first=True, limit=n)

    def by_type(self, sensor_type: str, start: Stamp, end: Stamp, *, index: str = "SensorTypeIndex",
                type_attr: str = "sensorType") -> list[Reading]:
        """Readings of every device of one type in a time window, through the GSI."""
        cond = Key(type_attr).eq(sensor_type) & Key(self.time_attr).between(_epoch(start), _epoch(end))
        return [self._clean(r) for r in self.table.query_iter(cond, index=index)]

    def _clean(self, item: Reading) -> Reading:
        # the caller's view: the plain device id under device_attr, no shard suffix
        out = dict(item)
        out[self.device_attr] = out.pop(self.plain_attr, out[self.device_attr])
        return out
