"""The spec's session store: create / get / touch / expire sessions, list a user's sessions.

Works on the session-store example table (``sessionId`` HASH, GSI ``UserIdIndex`` on userId +
createdAt, TTL on ``expiresAt``). DynamoDB's TTL deletes expired items only eventually (within days),
so reads treat a session past ``expiresAt`` as gone even while the item still exists.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from ddbkit.errors import ConditionalCheckFailed
from ddbkit.core.expressions import Attr, Key, Update
from ddbkit.core.operations import Page
from ddbkit.table import Table

__all__ = ["SessionStore"]


class SessionStore:
    """Sessions in a table keyed by ``sessionId`` with a user index and TTL."""

    def __init__(self, table: Table, *, ttl: timedelta = timedelta(hours=24), user_index: str = "UserIdIndex",
                 clock: Any = time.time) -> None:
        self.table = table
        self.ttl = ttl
        self.user_index = user_index
        self.clock = clock

    def _now(self) -> int:
        return int(self.clock())

    def create(self, user_id: str, *, session_type: str = "web", data: Mapping[str, Any] | None = None,
               ttl: timedelta | None = None) -> dict[str, Any]:
        """A new ACTIVE session for ``user_id`` (never overwrites an existing id)."""
        now = self._now()
        session = {**(data or {}), "sessionId": str(uuid.uuid4()), "userId": user_id, "sessionType": session_type,
                   "status": "ACTIVE", "createdAt": now,
                   "expiresAt": now + int((ttl or self.ttl).total_seconds())}
        self.table.put(session, condition=Attr("sessionId").not_exists())
        return session

    def get(self, session_id: str) -> dict[str, Any] | None:
        """The session, or None when absent, expired or ended."""
        item = self.table.get({"sessionId": session_id})
        if item is None or item.get("status") != "ACTIVE" or int(item.get("expiresAt", 0)) <= self._now():
            return None
        return item

    def touch(self, session_id: str, ttl: timedelta | None = None) -> dict[str, Any] | None:
        """Extend an active session's expiry; None when it is no longer active."""
        now = self._now()
        try:
            return self.table.update(
                {"sessionId": session_id},
                Update().set("expiresAt", now + int((ttl or self.ttl).total_seconds())).set("lastSeenAt", now),
                condition=(Attr("status") == "ACTIVE") & Attr("expiresAt").gt(now), return_values="ALL_NEW")
        except ConditionalCheckFailed:
            return None

    def expire(self, session_id: str) -> bool:
        """End a session now (status EXPIRED; TTL removes it later). False if it did not exist."""
        try:
            self.table.update({"sessionId": session_id}, Update().set("status", "EXPIRED").set("expiresAt", self._now()),
                              condition=Attr("sessionId").exists())
            return True
        except ConditionalCheckFailed:
            return False

    def list_for_user(self, user_id: str, *, limit: int = 20, cursor: str | None = None) -> Page:
        """One page of ``user_id``'s sessions, newest first (the spec's getUserSessions)."""
        return self.table.query(Key("userId").eq(user_id), index=self.user_index, forward=False, limit=limit,
                                cursor=cursor)

    def active_for_user(self, user_id: str) -> list[dict[str, Any]]:
        """``user_id``'s active, unexpired sessions (the spec's getActiveSessions; ``status`` is reserved)."""
        now = self._now()
        flt = (Attr("status") == "ACTIVE") & Attr("expiresAt").gt(now)
        return list(self.table.query_iter(Key("userId").eq(user_id), index=self.user_index, filter=flt))
