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
    "TableCore": "ddbkit.core.operations",
    "Page": "ddbkit.core.operations",
    "VersionConflict": "ddbkit.core.operations",
    "ttl_epoch": "ddbkit.core.operations",
    "KeySchema": "ddbkit.core.keys",
    "Key": "ddbkit.core.expressions",
    "Attr": "ddbkit.core.expressions",
    "Name": "ddbkit.core.expressions",
    "Update": "ddbkit.core.expressions",
    "Condition": "ddbkit.core.expressions",
    "if_not_exists": "ddbkit.core.expressions",
    "list_append": "ddbkit.core.expressions",
    "size": "ddbkit.core.expressions",
    "marshal": "ddbkit.core.codec",
    "unmarshal": "ddbkit.core.codec",
    "marshal_item": "ddbkit.core.codec",
    "unmarshal_item": "ddbkit.core.codec",
    "NumberMode": "ddbkit.core.codec",
    "RetryPolicy": "ddbkit.core.retry",
    "BatchWriteResult": "ddbkit.core.batch",
    "BatchGetResult": "ddbkit.core.batch",
    "UsageSnapshot": "ddbkit.core.usage",
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
    "StreamRecord": "ddbkit.streams.records",
    "StreamProcessor": "ddbkit.streams.processors",
    "AsyncStreamProcessor": "ddbkit.streams.processors",
    "BatchStreamProcessor": "ddbkit.streams.processors",
    "StreamPoller": "ddbkit.streams.poller",
    "CapacityMonitor": "ddbkit.ops.capacity",
    "UsagePublisher": "ddbkit.ops.capacity",
    "Model": "ddbkit.models",
    "accelerate": "ddbkit.accelerate",
    "is_accelerated": "ddbkit.accelerate",
    "Acceleration": "ddbkit.accelerate",
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
    from ddbkit.accelerate import Acceleration as Acceleration
    from ddbkit.accelerate import accelerate as accelerate
    from ddbkit.accelerate import is_accelerated as is_accelerated
    from ddbkit.core.batch import BatchGetResult as BatchGetResult
    from ddbkit.core.batch import BatchWriteResult as BatchWriteResult
    from ddbkit.ops.capacity import CapacityMonitor as CapacityMonitor
    from ddbkit.ops.capacity import UsagePublisher as UsagePublisher
    from ddbkit.core.codec import NumberMode as NumberMode
    from ddbkit.core.codec import marshal as marshal
    from ddbkit.core.codec import marshal_item as marshal_item
    from ddbkit.core.codec import unmarshal as unmarshal
    from ddbkit.core.codec import unmarshal_item as unmarshal_item
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
    from ddbkit.core.expressions import Attr as Attr
    from ddbkit.core.expressions import Condition as Condition
    from ddbkit.core.expressions import Key as Key
    from ddbkit.core.expressions import Name as Name
    from ddbkit.core.expressions import Update as Update
    from ddbkit.core.expressions import if_not_exists as if_not_exists
    from ddbkit.core.expressions import list_append as list_append
    from ddbkit.core.expressions import size as size
    from ddbkit.core.keys import KeySchema as KeySchema
    from ddbkit.models import Model as Model
    from ddbkit.core.operations import Page as Page
    from ddbkit.core.operations import TableCore as TableCore
    from ddbkit.core.operations import VersionConflict as VersionConflict
    from ddbkit.core.operations import ttl_epoch as ttl_epoch
    from ddbkit.core.retry import RetryPolicy as RetryPolicy
    from ddbkit.streams.poller import StreamPoller as StreamPoller
    from ddbkit.streams.processors import AsyncStreamProcessor as AsyncStreamProcessor
    from ddbkit.streams.processors import BatchStreamProcessor as BatchStreamProcessor
    from ddbkit.streams.processors import StreamProcessor as StreamProcessor
    from ddbkit.streams.records import StreamRecord as StreamRecord
    from ddbkit.table import BatchWriter as BatchWriter
    from ddbkit.table import Table as Table
    from ddbkit.core.usage import UsageSnapshot as UsageSnapshot
