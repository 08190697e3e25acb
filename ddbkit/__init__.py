"""ddbkit: a typed, fast DynamoDB toolkit for Python services and Lambda handlers.

Import-light for Lambda cold starts: names are loaded on first use, and ``import ddbkit`` alone imports
neither boto3, pydantic, aioboto3, amazondax nor aws_xray_sdk.

>>> from ddbkit import Table, Key, Attr, Update       # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "Table": "ddbkit.table",
    "BatchWriter": "ddbkit.table",
    "TableCore": "ddbkit.operations",
    "Page": "ddbkit.operations",
    "VersionConflict": "ddbkit.operations",
    "ttl_epoch": "ddbkit.operations",
    "KeySchema": "ddbkit.keys",
    "Key": "ddbkit.expressions",
    "Attr": "ddbkit.expressions",
    "Name": "ddbkit.expressions",
    "Update": "ddbkit.expressions",
    "Condition": "ddbkit.expressions",
    "if_not_exists": "ddbkit.expressions",
    "list_append": "ddbkit.expressions",
    "size": "ddbkit.expressions",
    "marshal": "ddbkit.codec",
    "unmarshal": "ddbkit.codec",
    "marshal_item": "ddbkit.codec",
    "unmarshal_item": "ddbkit.codec",
    "NumberMode": "ddbkit.codec",
    "RetryPolicy": "ddbkit.retry",
    "BatchWriteResult": "ddbkit.batch",
    "BatchGetResult": "ddbkit.batch",
    "UsageSnapshot": "ddbkit.usage",
    "DdbkitError": "ddbkit.errors",
    "ClientValidationError": "ddbkit.errors",
    "CodecError": "ddbkit.errors",
    "ExpressionError": "ddbkit.errors",
    "CursorError": "ddbkit.errors",
    "DynamoDBError": "ddbkit.errors",
    "ConditionalCheckFailed": "ddbkit.errors",
    "ThrottledError": "ddbkit.errors",
    "TransactionCanceled": "ddbkit.errors",
    "BatchWriteError": "ddbkit.errors",
    "BatchGetError": "ddbkit.errors",
    "ResourceNotFound": "ddbkit.errors",
    "StreamRecord": "ddbkit.streams",
    "StreamProcessor": "ddbkit.streams",
    "AsyncStreamProcessor": "ddbkit.streams",
    "BatchStreamProcessor": "ddbkit.streams",
    "StreamPoller": "ddbkit.stream_poller",
    "CapacityMonitor": "ddbkit.capacity",
    "UsagePublisher": "ddbkit.capacity",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ddbkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from ddbkit.batch import BatchGetResult, BatchWriteResult
    from ddbkit.capacity import CapacityMonitor, UsagePublisher
    from ddbkit.stream_poller import StreamPoller
    from ddbkit.streams import AsyncStreamProcessor, BatchStreamProcessor, StreamProcessor, StreamRecord
    from ddbkit.codec import NumberMode, marshal, marshal_item, unmarshal, unmarshal_item
    from ddbkit.errors import (
        BatchGetError,
        BatchWriteError,
        ClientValidationError,
        CodecError,
        ConditionalCheckFailed,
        CursorError,
        DdbkitError,
        DynamoDBError,
        ExpressionError,
        ResourceNotFound,
        ThrottledError,
        TransactionCanceled,
    )
    from ddbkit.expressions import Attr, Condition, Key, Name, Update, if_not_exists, list_append, size
    from ddbkit.keys import KeySchema
    from ddbkit.operations import Page, TableCore, VersionConflict, ttl_epoch
    from ddbkit.retry import RetryPolicy
    from ddbkit.table import BatchWriter, Table
    from ddbkit.usage import UsageSnapshot
