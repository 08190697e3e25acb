"""Deliberately wrong uses of typed models: mypy --strict must report each marked line."""

from __future__ import annotations

from ddbkit import Table
from ddbkit.models import Model


class Session(Model, table="UserSessions"):
    session_id: str
    user_id: str


class Other(Model, table="UserSessions"):
    name: str


def wrong(table: Table) -> None:
    repo = table.typed(Session)
    got = repo.get("s1")
    print(got.user_id)                                   # E1: got may be None
    repo.put(Other(name="x"))                            # E2: not a Session
    page = repo.query({"user_id": "u1"})
    print(page.items[0].usr_id)                          # E3: no such field
    Session.attr(lambda s: s.user_idd)                   # E4: no such field (checked through the lambda)
    n: int = repo.batch_get(["s1"])[0]                   # E5: a Session is not an int
    table.typed(dict)                                    # E6: not a Model
    print(n)
