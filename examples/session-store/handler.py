"""Lambda handler of the spec's session-manager (binds user-sessions read-write), on a typed model.

Environment (from ``ddbkit bind``): SESSIONS_TABLE, USER_ID_INDEX; AWS_ENDPOINT_URL for a local
endpoint. The Table is built once per container (Lambda init), not per request. DynamoDB's TTL deletes
expired items only eventually (within days), so reads treat a session past ``expiresAt`` as gone.

Event: {"action": "create" | "get" | "touch" | "expire" | "list" | "active", ...}.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Literal

from pydantic.alias_generators import to_camel

from ddbkit import ConditionalCheckFailed, Table
from ddbkit.models import TTL, EpochSeconds, HashKey, Model, TypedTable

TTL_AFTER = timedelta(hours=24)
Epoch = Annotated[datetime, EpochSeconds]


class Session(Model, alias_generator=to_camel):
    """One session item (attributes camelCase: sessionId, userId, createdAt, expiresAt, ...)."""

    session_id: Annotated[str, HashKey]
    user_id: str
    session_type: str = "web"
    status: Literal["ACTIVE", "EXPIRED"] = "ACTIVE"
    created_at: Epoch                        # UserIdIndex's sort key (N)
    expires_at: Annotated[datetime, TTL]     # the table's TTL attribute (epoch seconds)
    last_seen_at: Epoch | None = None
    data: dict[str, Any] | None = None


_sessions: TypedTable[Session] | None = None


def sessions() -> TypedTable[Session]:
    global _sessions
    if _sessions is None:
        table = Table(os.environ["SESSIONS_TABLE"], key="sessionId", cursor_secret=os.environ.get("CURSOR_SECRET"))
        _sessions = table.typed(Session)
    return _sessions


def _now() -> datetime:
    return datetime.fromtimestamp(int(time.time()), timezone.utc)


def _json(s: Session) -> dict[str, Any]:
    return s.model_dump(mode="json", by_alias=True, exclude_none=True)


def _index() -> str:
    return os.environ.get("USER_ID_INDEX", "UserIdIndex")


def create(user_id: str, session_type: str = "web", data: dict[str, Any] | None = None) -> Session:
    """A new ACTIVE session (never overwrites an existing id)."""
    now = _now()
    s = Session(session_id=str(uuid.uuid4()), user_id=user_id, session_type=session_type, created_at=now,
                expires_at=now + TTL_AFTER, data=data)
    return sessions().put(s, condition=Session.attr("session_id").not_exists())


def get(session_id: str) -> Session | None:
    s = sessions().get(session_id)
    return s if s is not None and s.status == "ACTIVE" and s.expires_at > _now() else None


def touch(session_id: str) -> Session | None:
    """Extend an active session's expiry; None when it is no longer active."""
    now = _now()
    try:
        return sessions().update(session_id, set={"expires_at": now + TTL_AFTER, "last_seen_at": now},
                                 condition=(Session.attr("status") == "ACTIVE") & (Session.attr("expires_at") > now))
    except ConditionalCheckFailed:
        return None


def expire(session_id: str) -> bool:
    """End a session now (TTL removes it later); False when it does not exist."""
    try:
        sessions().update(session_id, set={"status": "EXPIRED", "expires_at": _now()})
        return True
    except ConditionalCheckFailed:
        return False


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    action = event.get("action")
    if action == "create":
        return {"statusCode": 201, "session": _json(create(event["userId"], event.get("sessionType", "web"),
                                                           event.get("data")))}
    if action == "get":
        found = get(event["sessionId"])
        return {"statusCode": 200 if found else 404, "session": _json(found) if found else None}
    if action == "touch":
        touched = touch(event["sessionId"])
        return {"statusCode": 200 if touched else 404, "session": _json(touched) if touched else None}
    if action == "expire":
        return {"statusCode": 200 if expire(event["sessionId"]) else 404}
    if action == "list":
        page = sessions().query({"user_id": event["userId"]}, index=_index(), forward=False,
                                limit=int(event.get("limit", 20)), cursor=event.get("cursor"))
        return {"statusCode": 200, "sessions": [_json(s) for s in page.items], "cursor": page.cursor}
    if action == "active":
        live = (Session.attr("status") == "ACTIVE") & (Session.attr("expires_at") > _now())
        found = sessions().query_iter({"user_id": event["userId"]}, index=_index(), filter=live)
        return {"statusCode": 200, "sessions": [_json(s) for s in found]}
    return {"statusCode": 400, "error": f"unknown action {action!r}"}
