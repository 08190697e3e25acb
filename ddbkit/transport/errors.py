"""The error mapping every transport uses: :func:`ddbkit.errors.error_from_response` plus item decoding.

:mod:`ddbkit.errors` keeps a conditional failure's or a cancelled transaction's item in wire form (it never
imports the codec: no import circle); here, in the transport layer, the item is decoded for the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ddbkit.core.codec import unmarshal_item
from ddbkit.errors import ConditionalCheckFailed, DynamoDBError, TransactionCanceled
from ddbkit.errors import error_from_response as _map

__all__ = ["error_from_response"]


def error_from_response(code: str, message: str, *, operation: str = "", status: int | None = None,
                        response: Mapping[str, Any] | None = None) -> DynamoDBError:
    """The ddbkit exception for a DynamoDB error, with any returned item decoded to plain Python."""
    # botocore's JSON parser: "ThrottlingException:http://internal.amazon.com/..." -> "ThrottlingException"
    code = code.split(":", 1)[0] if ":" in code else code
    err = _map(code, message, operation=operation, status=status, response=response)
    if isinstance(err, TransactionCanceled):
        err.reasons = [replace(r, item=unmarshal_item(r.wire_item)) if r.wire_item else r for r in err.reasons]
    elif isinstance(err, ConditionalCheckFailed) and err.wire_item:
        err.item = unmarshal_item(err.wire_item)
    return err
