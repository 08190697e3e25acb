"""Lambda handler of the spec's session-manager (binds user-sessions read-write).

Environment (from ``ddbkit bind``): SESSIONS_TABLE, USER_ID_INDEX; AWS_ENDPOINT_URL for a local
endpoint. The Table is built once per container (Lambda init), not per request.

Event: {"action": "create" | "get" | "touch" | "expire" | "list" | "active", ...}.
"""

from __future__ import annotations

import os
from typing import Any

from ddbkit import Table
from ddbkit.patterns.sessions import SessionStore

_store: SessionStore | None = None


def store() -> SessionStore:
    global _store
    if _store is None:
        table = Table(os.environ["SESSIONS_TABLE"], key="sessionId",
                      cursor_secret=os.environ.get("CURSOR_SECRET"))
        _store = SessionStore(table, user_index=os.environ.get("USER_ID_INDEX", "UserIdIndex"))
    return _store


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    s = store()
    action = event.get("action")
    if action == "create":
        return {"statusCode": 201, "session": s.create(event["userId"], session_type=event.get("sessionType", "web"),
                                                       data=event.get("data"))}
    if action == "get":
        found = s.get(event["sessionId"])
        return {"statusCode": 200 if found else 404, "session": found}
    if action == "touch":
        touched = s.touch(event["sessionId"])
        return {"statusCode": 200 if touched else 404, "session": touched}
    if action == "expire":
        return {"statusCode": 200 if s.expire(event["sessionId"]) else 404}
    if action == "list":
        page = s.list_for_user(event["userId"], limit=int(event.get("limit", 20)), cursor=event.get("cursor"))
        return {"statusCode": 200, "sessions": page.items, "cursor": page.cursor}
    if action == "active":
        return {"statusCode": 200, "sessions": s.active_for_user(event["userId"])}
    return {"statusCode": 400, "error": f"unknown action {action!r}"}
