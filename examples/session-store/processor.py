"""Session analytics: the spec's process-sessions Lambda as a ddbkit stream processor.

Counts, per user, sessions created, ended by the user, and expired by TTL, and writes the aggregates of
a whole batch at once (one update per user, not per record) to STATS_TABLE (key ``userId``).

Exactly once: with IDEMPOTENCY_TABLE set (examples/idempotency/component.yaml binds it), records a
redelivered batch already counted are skipped (``ddbkit.idempotency.RecordIdempotency``), and the counter
updates are exactly-once writes, so a retried update after a timeout does not count twice.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from ddbkit import Table, Update
from ddbkit.streams.records import StreamRecord
from ddbkit.streams.processors import BatchStreamProcessor

from handler import Session  # the sibling module's model: Lambda puts the function directory on sys.path


def record_idempotency() -> Any:
    """Per-record idempotency on IDEMPOTENCY_TABLE, or None when the variable is not set."""
    name = os.environ.get("IDEMPOTENCY_TABLE")
    if not name:
        return None
    from ddbkit.idempotency import IdempotencyStore, RecordIdempotency

    return RecordIdempotency(IdempotencyStore(Table(name, key="id")), prefix="session-analytics")


class SessionAnalytics(BatchStreamProcessor):
    def __init__(self, stats: Table | None = None, idempotency: Any = None) -> None:
        super().__init__()
        self._stats = stats
        self.idempotency = idempotency if idempotency is not None else record_idempotency()

    @property
    def stats(self) -> Table:
        if self._stats is None:
            self._stats = Table(os.environ["STATS_TABLE"], key="userId", exactly_once=True)
        return self._stats

    def on_batch(self, records: list[StreamRecord]) -> Iterable[StreamRecord] | None:
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for r in records:
            new, old = r.new_as(Session), r.old_as(Session)
            if r.event_name == "INSERT" and new is not None:
                counts[new.user_id]["created"] += 1
            elif r.event_name == "MODIFY" and r.changed("status") and new is not None and new.status == "EXPIRED":
                counts[new.user_id]["ended"] += 1
            elif r.is_ttl_expiry and old is not None:
                counts[old.user_id]["ttl_expired"] += 1
        for user, c in counts.items():
            update = Update()
            for name, n in c.items():
                update.add(name, n)
            self.stats.update({"userId": user}, update)
        return None


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return SessionAnalytics().handler(event, context)
