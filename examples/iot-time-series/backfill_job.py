"""Backfill the SensorTypeIndex key on legacy SensorData items (a ddbkit.bulk job).

Readings written before the GSI existed have no ``sensorType``, so the sparse SensorTypeIndex never
shows them. The device id carries the type as its prefix (``thermo-0042`` -> ``temperature``): this
job derives it for every item that lacks it and writes it back conditionally (only if the item is
unchanged since it was read), so a reading updated meanwhile is read again instead of overwritten.

    ddbkit bulk run examples/iot-time-series/backfill_job.py --table SensorData --segments 16 \\
        --runner dask --workers 8 --rate-wcu 500 --job-id backfill-sensor-type
    ddbkit bulk status backfill-sensor-type
    ddbkit bulk resume backfill-sensor-type          # after a kill, from each segment's checkpoint
"""

from __future__ import annotations

from typing import Any

PREFIX_TYPES = {"thermo": "temperature", "hygro": "humidity", "baro": "pressure"}


def transform(item: dict[str, Any]) -> dict[str, Any] | None:
    """The item with ``sensorType`` filled in, or None when it has one (or the prefix is unknown)."""
    if "sensorType" in item:
        return None
    prefix = str(item["deviceId"]).split("-", 1)[0].split("#", 1)[0]
    sensor_type = PREFIX_TYPES.get(prefix)
    if sensor_type is None:
        return None
    return {**item, "sensorType": sensor_type}
