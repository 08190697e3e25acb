"""The accelerated client class: botocore's ``BaseClient`` with the data plane on ddbkit's transport.

:class:`AcceleratedClient` is put before ``BaseClient`` in a DynamoDB client's bases by
:mod:`ddbkit.accelerate.install`. Its ``_make_api_call`` hands the 13 data-plane operations to the client's
:class:`ddbkit.accelerate.engine.Engine` (built on first use) and everything else - and every call the engine
steps aside from - to botocore's ``BaseClient._make_api_call`` (whatever wraps it).
"""

from __future__ import annotations

from typing import Any

__all__ = ["ACCELERATED_OPERATIONS", "AcceleratedClient"]

#: The data-plane operations an accelerated client sends through ddbkit's transport.
ACCELERATED_OPERATIONS = frozenset({
    "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem",
    "TransactGetItems", "TransactWriteItems", "ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction",
})


class AcceleratedClient:
    """A botocore DynamoDB client whose data plane goes through ddbkit while its handle is active (a mixin:
    the client class's bases are ``(AcceleratedClient, BaseClient)``, so ``super()`` is botocore's call)."""

    _ddbkit_acceleration: Any = None
    _ddbkit_engine: Any = None

    def _make_api_call(self, operation_name: str, api_params: dict[str, Any]) -> Any:
        handle = self._ddbkit_acceleration
        if operation_name in ACCELERATED_OPERATIONS and handle is not None and handle.active:
            engine = self._ddbkit_engine
            if engine is None:
                from ddbkit.accelerate.engine import Engine

                engine = self._ddbkit_engine = Engine(self)
            handled, result = engine.call(operation_name, api_params)
            if handled:
                return result
        botocore_client: Any = super()
        return botocore_client._make_api_call(operation_name, api_params)
