"""``ddbkit.accelerate()``: existing boto3/botocore DynamoDB code, unchanged, on ddbkit's fast transport.

>>> import ddbkit
>>> handle = ddbkit.accelerate()          # every DynamoDB client made from now on, any session  # doctest: +SKIP
>>> ddbkit.is_accelerated(boto3.client("dynamodb"))                                          # doctest: +SKIP
True
>>> handle.close()                        # undo: accelerated clients fall back to botocore       # doctest: +SKIP

The 13 data-plane operations (:data:`ACCELERATED_OPERATIONS`) of an accelerated client are sent by
:mod:`ddbkit.accelerate.client` (ddbkit's JSON wire protocol, SigV4 and urllib3 pool); every other operation,
and every call a test double or instrumentation must see, stays on botocore (see docs/accelerate.md).
"""

from __future__ import annotations

from ddbkit.accelerate.install import ACCELERATED_OPERATIONS, Acceleration, accelerate, is_accelerated

__all__ = ["ACCELERATED_OPERATIONS", "Acceleration", "accelerate", "is_accelerated"]
