"""IoT ingest and dashboard handlers on the SensorData table (sharded time series), with typed readings.

Env: SENSOR_DATA_TABLE (from ``ddbkit bind``), SHARDS (default 4), RETENTION_DAYS (default 30).
ingest event: {"readings": [{"deviceId", "timestamp" (epoch ms), "sensorType", ...values}]}
query event:  {"deviceId", "from", "to"} | {"deviceId", "latest": n} | {"sensorType", "from", "to"}
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from pydantic import ConfigDict, Field
from pydantic.alias_generators import to_camel

from ddbkit import Table
from ddbkit.models import Model
from ddbkit.patterns.time_series import TimeSeries


class Reading(Model, alias_generator=to_camel):
    """One reading: device, epoch-ms timestamp, sensor type and any measured values (extra attributes).
    Bad input (a missing device, a non-numeric timestamp) is refused with the field named, before writing."""

    model_config = ConfigDict(extra="allow")

    device_id: str = Field(min_length=1)
    timestamp: int = Field(ge=0)
    sensor_type: str | None = None
    expires_at: int | None = None

    def values(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, exclude={"device_id", "timestamp", "expires_at"})


def _json(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # read back through the model: the dashboard gets validated readings, numbers as JSON numbers
    return [Reading.from_item(i).model_dump(mode="json", by_alias=True, exclude_none=True) for i in items]

_series: TimeSeries | None = None


def series() -> TimeSeries:
    global _series
    if _series is None:
        table = Table(os.environ["SENSOR_DATA_TABLE"], key=("deviceId", "timestamp"))
        _series = TimeSeries(table, shards=int(os.environ.get("SHARDS", "4")),
                             retention=timedelta(days=int(os.environ.get("RETENTION_DAYS", "30"))))
    return _series


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    readings = [Reading.model_validate(r) for r in event.get("readings") or []]
    written = series().put_many((r.device_id, r.timestamp, r.values()) for r in readings)
    return {"statusCode": 200, "written": written}


def query_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    s = series()
    if "latest" in event:
        return {"statusCode": 200, "readings": _json(s.latest(event["deviceId"], int(event["latest"])))}
    if "sensorType" in event:
        return {"statusCode": 200, "readings": _json(s.by_type(event["sensorType"], event["from"], event["to"]))}
    return {"statusCode": 200, "readings": _json(s.range(event["deviceId"], event["from"], event["to"]))}
