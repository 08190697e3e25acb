"""DAX as a transport: reads and writes through amazon-dax-client, the rest through DynamoDB.

The DAX client speaks the data-plane API with the same request and response shapes as boto3's client,
so :class:`DaxTransport` hands supported operations to it (with the shared error mapping of
:class:`~ddbkit.transport.BotocoreTransport`) and everything else (DescribeTable, unsupported or
not-implemented calls) to a fallback DynamoDB transport. ddbkit paginates with ``ExclusiveStartKey``
itself, so DAX's missing paginators do not matter. ``amazondax`` is imported only when a DAX transport
sends its first request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ddbkit.core.engine import Transport
from ddbkit.errors import ConnectionFailed
from ddbkit.transport.botocore import BotocoreTransport

__all__ = ["DaxTransport", "DAX_OPERATIONS"]

# Operations the DAX cluster serves (item cache for GetItem/BatchGetItem, query cache for Query/Scan;
# writes go through the cluster so its caches stay consistent).
DAX_OPERATIONS = frozenset({
    "GetItem", "BatchGetItem", "Query", "Scan", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem",
    "TransactWriteItems", "TransactGetItems",
})


class DaxTransport:
    """Send data-plane calls to the DAX cluster at ``endpoint`` (``dax://...`` or ``daxs://...``).

    ``fallback`` serves what DAX does not (default: a boto3 DynamoDB transport for the same region).
    ``client_factory(endpoint, region_name, session)`` builds the DAX client (tests inject a fake);
    the default constructs ``amazondax.AmazonDaxClient(session, region_name=..., endpoints=[endpoint])``.
    """

    def __init__(self, endpoint: str, *, region_name: str | None = None, session: Any = None,
                 fallback: Transport | None = None, client_factory: Callable[..., Any] | None = None) -> None:
        if not endpoint.startswith(("dax://", "daxs://")):
            raise ValueError(f"DAX endpoint {endpoint!r} must start with dax:// or daxs://")
        self.endpoint = endpoint
        self.region_name = region_name
        self._session = session
        self.fallback: Transport = fallback or BotocoreTransport(session=session, region_name=region_name)
        self._factory = client_factory or _amazondax_client
        self._dax: BotocoreTransport | None = None
        self._lock = threading.Lock()
        self.unsupported: set[str] = set()

    def _client(self) -> BotocoreTransport:
        if self._dax is None:
            with self._lock:
                if self._dax is None:
                    try:
                        from ddbkit.core.region import resolve_region

                        client = self._factory(self.endpoint, resolve_region(self.region_name, self._session),
                                               self._session)
                    except Exception as err:  # noqa: BLE001 - cluster discovery failed: retryable
                        raise ConnectionFailed("DaxUnavailable", f"cannot reach DAX cluster {self.endpoint}: {err}",
                                               operation="connect") from err
                    self._dax = BotocoreTransport(client)
        return self._dax

    def send(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        if operation in DAX_OPERATIONS and operation not in self.unsupported:
            try:
                return self._client().send(operation, request)
            except (NotImplementedError, AttributeError):
                # this client version lacks the operation: remember, and use DynamoDB from now on
                self.unsupported.add(operation)
        return self.fallback.send(operation, request)

    def close(self) -> None:
        if self._dax is not None:
            self._dax.close()
        self.fallback.close()


def _amazondax_client(endpoint: str, region_name: str | None, session: Any) -> Any:
    from amazondax import AmazonDaxClient

    return AmazonDaxClient(session, region_name=region_name, endpoints=[endpoint])
