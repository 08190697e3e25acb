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
    "Model": "ddbkit.models",
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


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs (explicit re-exports)
    from ddbkit.batch import BatchGetResult as BatchGetResult
    from ddbkit.batch import BatchWriteResult as BatchWriteResult
    from ddbkit.capacity import CapacityMonitor as CapacityMonitor
    from ddbkit.capacity import UsagePublisher as UsagePublisher
    from ddbkit.codec import NumberMode as NumberMode
    from ddbkit.codec import marshal as marshal
    from ddbkit.codec import marshal_item as marshal_item
    from ddbkit.codec import unmarshal as unmarshal
    from ddbkit.codec import unmarshal_item as unmarshal_item
    from ddbkit.errors import BatchGetError as BatchGetError
    from ddbkit.errors import BatchWriteError as BatchWriteError
    from ddbkit.errors import ClientValidationError as ClientValidationError
    from ddbkit.errors import CodecError as CodecError
    from ddbkit.errors import ConditionalCheckFailed as ConditionalCheckFailed
    from ddbkit.errors import CursorError as CursorError
    from ddbkit.errors import DdbkitError as DdbkitError
    from ddbkit.errors import DynamoDBError as DynamoDBError
    from ddbkit.errors import ExpressionError as ExpressionError
    from ddbkit.errors import ResourceNotFound as ResourceNotFound
    from ddbkit.errors import ThrottledError as ThrottledError
    from ddbkit.errors import TransactionCanceled as TransactionCanceled
    from ddbkit.expressions import Attr as Attr
    from ddbkit.expressions import Condition as Condition
    from ddbkit.expressions import Key as Key
    from ddbkit.expressions import Name as Name
    from ddbkit.expressions import Update as Update
    from ddbkit.expressions import if_not_exists as if_not_exists
    from ddbkit.expressions import list_append as list_append
    from ddbkit.expressions import size as size
    from ddbkit.keys import KeySchema as KeySchema
    from ddbkit.models import Model as Model
    from ddbkit.operations import Page as Page
    from ddbkit.operations import TableCore as TableCore
    from ddbkit.operations import VersionConflict as VersionConflict
    from ddbkit.operations import ttl_epoch as ttl_epoch
    from ddbkit.retry import RetryPolicy as RetryPolicy
    from ddbkit.stream_poller import StreamPoller as StreamPoller
    from ddbkit.streams import AsyncStreamProcessor as AsyncStreamProcessor
    from ddbkit.streams import BatchStreamProcessor as BatchStreamProcessor
    from ddbkit.streams import StreamProcessor as StreamProcessor
    from ddbkit.streams import StreamRecord as StreamRecord
    from ddbkit.table import BatchWriter as BatchWriter
    from ddbkit.table import Table as Table
    from ddbkit.usage import UsageSnapshot as UsageSnapshot
