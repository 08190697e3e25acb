"""IoT ingest and dashboard handlers on the SensorData table (sharded time series).

Env: SENSOR_DATA_TABLE (from ``ddbkit bind``), SHARDS (default 4), RETENTION_DAYS (default 30).
ingest event: {"readings": [{"deviceId", "timestamp" (epoch ms), "sensorType", ...values}]}
query event:  {"deviceId", "from", "to"} | {"deviceId", "latest": n} | {"sensorType", "from", "to"}
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from ddbkit import Table
from ddbkit.patterns.time_series import TimeSeries

_series: TimeSeries | None = None


def series() -> TimeSeries:
    global _series
    if _series is None:
        table = Table(os.environ["SENSOR_DATA_TABLE"], key=("deviceId", "timestamp"))
        _series = TimeSeries(table, shards=int(os.environ.get("SHARDS", "4")),
                             retention=timedelta(days=int(os.environ.get("RETENTION_DAYS", "30"))))
    return _series


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    readings = event.get("readings") or []
    rows = []
    for r in readings:
        values = {k: v for k, v in r.items() if k not in ("deviceId", "timestamp")}
        rows.append((r["deviceId"], r["timestamp"], values))
    written = series().put_many(rows)
    return {"statusCode": 200, "written": written}


def query_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    s = series()
    if "latest" in event:
        return {"statusCode": 200, "readings": s.latest(event["deviceId"], int(event["latest"]))}
    if "sensorType" in event:
        return {"statusCode": 200, "readings": s.by_type(event["sensorType"], event["from"], event["to"])}
    return {"statusCode": 200, "readings": s.range(event["deviceId"], event["from"], event["to"])}
