"""``ddbkit.accelerate()``: existing boto3/botocore DynamoDB code, unchanged, on ddbkit's fast transport.

>>> import ddbkit
>>> handle = ddbkit.accelerate()          # every DynamoDB client made from now on, any session  # doctest: +SKIP
>>> ddbkit.is_accelerated(boto3.client("dynamodb"))                                          # doctest: +SKIP
True
>>> handle.close()                        # undo: accelerated clients fall back to botocore       # doctest: +SKIP

The 13 data-plane operations (:data:`ACCELERATED_OPERATIONS`) of an accelerated client are sent by
:mod:`ddbkit.accelerate.engine` (ddbkit's JSON wire protocol, SigV4 and a urllib3 pool); every other operation,
and every call a test double or instrumentation must see, stays on botocore (see docs/accelerate.md).

This package and the function share the name ``ddbkit.accelerate``: once any ``ddbkit.accelerate.*`` module is
imported, Python binds the package to that attribute of ``ddbkit``. The package module is therefore callable
(calling it is calling :func:`accelerate`), so ``ddbkit.accelerate()`` works whichever of the two the attribute
holds.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from ddbkit.accelerate.install import ACCELERATED_OPERATIONS, Acceleration, accelerate, is_accelerated

__all__ = ["ACCELERATED_OPERATIONS", "Acceleration", "accelerate", "is_accelerated"]


class CallableModule(types.ModuleType):
    """The type of this package's module object: calling it calls :func:`accelerate`."""

    def __call__(self, session: Any = None) -> Acceleration:
        return accelerate(session)


sys.modules[__name__].__class__ = CallableModule
