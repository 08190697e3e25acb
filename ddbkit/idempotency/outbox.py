"""A transactional outbox: write an item and the event announcing it in one transaction.

The event is a row of an outbox table (often the same table, under its own key) whose stream a processor
turns into messages; since both writes commit together, no event is published for a write that did not
happen and no write goes unannounced. With a ClientRequestToken (``token=``, else generated) a retried
call is applied once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

__all__ = ["Outbox"]


class Outbox:
    """Events go to ``events`` (a :class:`~ddbkit.Table` or :class:`~ddbkit.aio.AsyncTable`) as items
    ``{key_attr: <event id>, type_attr: type, payload_attr: payload, created_attr: epoch ms}`` (plus
    ``ttl_attr`` = now + ``ttl`` seconds when ``ttl`` is set, so consumed events expire)."""

    def __init__(self, events: Any, *, key_attr: str = "pk", sort_attr: str | None = None, type_attr: str = "type",
                 payload_attr: str = "payload", created_attr: str = "createdAt", ttl_attr: str = "expiresAt",
                 ttl: float | None = 7 * 86400.0) -> None:
        self.events = events
        self.key_attr, self.sort_attr, self.type_attr = key_attr, sort_attr, type_attr
        self.payload_attr, self.created_attr, self.ttl_attr, self.ttl = payload_attr, created_attr, ttl_attr, ttl

    def event_item(self, event_type: str, payload: Mapping[str, Any], event_id: str | None = None) -> dict[str, Any]:
        """The outbox row of one event."""
        now = time.time()
        eid = event_id or f"event#{uuid.uuid4()}"
        item: dict[str, Any] = {self.key_attr: eid, self.type_attr: event_type, self.payload_attr: dict(payload),
                                self.created_attr: int(now * 1000)}
        if self.sort_attr is not None:
            item[self.sort_attr] = eid
        if self.ttl is not None:
            item[self.ttl_attr] = int(now + self.ttl)
        return item

    def actions(self, table: Any, item: Mapping[str, Any], event_type: str, payload: Mapping[str, Any] | None = None,
                *, condition: Any = None, event_id: str | None = None) -> list[Any]:
        """The two transaction actions: put ``item`` (if ``condition``) into ``table``, put the event (once)."""
        from ddbkit.core import transactions as tx
        from ddbkit.core.expressions import Attr

        event = self.event_item(event_type, payload if payload is not None else item, event_id)
        return [tx.Put(item, condition=condition, table=table if table is not self.events else None),
                tx.Put(event, condition=Attr(self.key_attr).not_exists(),
                       table=self.events if table is not self.events else None)]

    def write(self, table: Any, item: Mapping[str, Any], event_type: str, payload: Mapping[str, Any] | None = None,
              *, condition: Any = None, event_id: str | None = None, token: str | None = None) -> str:
        """Put ``item`` and its event atomically (sync tables); returns the transaction token. ``payload``
        defaults to the item; ``event_id`` (else a UUID) makes the event unique: a second write with the
        same id is cancelled (:class:`~ddbkit.errors.TransactionCanceled`)."""
        written: str = table.transact_write(self.actions(table, item, event_type, payload, condition=condition,
                                                         event_id=event_id), token=token)
        return written

    async def awrite(self, table: Any, item: Mapping[str, Any], event_type: str,
                     payload: Mapping[str, Any] | None = None, *, condition: Any = None, event_id: str | None = None,
                     token: str | None = None) -> str:
        """:meth:`write` for an :class:`~ddbkit.aio.AsyncTable`."""
        written: str = await table.transact_write(self.actions(table, item, event_type, payload,
                                                               condition=condition, event_id=event_id), token=token)
        return written
