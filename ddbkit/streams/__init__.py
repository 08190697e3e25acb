"""DynamoDB Streams: records, processors (Lambda handlers), the dead-letter hook and the poller.

Names load on first use, so importing the package costs nothing until one is used.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "INSERT": "ddbkit.streams.records",
    "MODIFY": "ddbkit.streams.records",
    "REMOVE": "ddbkit.streams.records",
    "FailureMode": "ddbkit.streams.processors",
    "StreamRecord": "ddbkit.streams.records",
    "StreamProcessor": "ddbkit.streams.processors",
    "AsyncStreamProcessor": "ddbkit.streams.processors",
    "BatchStreamProcessor": "ddbkit.streams.processors",
    "AsyncBatchStreamProcessor": "ddbkit.streams.processors",
    "BatchResult": "ddbkit.streams.processors",
    "RecordFailure": "ddbkit.streams.processors",
    "AttemptStore": "ddbkit.streams.processors",
    "MemoryAttemptStore": "ddbkit.streams.processors",
    "DeadLetterHook": "ddbkit.streams.processors",
    "SqsDeadLetter": "ddbkit.streams.processors",
    "dead_letter_message": "ddbkit.streams.processors",
    "parse_event": "ddbkit.streams.records",
    "StreamEventError": "ddbkit.streams.records",
    "EmptyBatchError": "ddbkit.streams.records",
    "MalformedRecordError": "ddbkit.streams.records",
    "ImageNotAvailable": "ddbkit.streams.records",
    "RecordRejected": "ddbkit.streams.records",
    "StreamPoller": "ddbkit.streams.poller",
    "PollResult": "ddbkit.streams.poller",
    "CheckpointStore": "ddbkit.streams.poller",
    "MemoryCheckpointStore": "ddbkit.streams.poller",
    "JsonFileCheckpointStore": "ddbkit.streams.poller",
    "StreamNotFound": "ddbkit.streams.poller",
    "StreamReadError": "ddbkit.streams.poller",
    "RecordProcessor": "ddbkit.streams.poller",
    "to_lambda_record": "ddbkit.streams.poller",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
