"""Type-checked by tests/models/test_models_typing.py with mypy --strict (no plugin): every typed operation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Annotated

from pydantic import Field
from pydantic.alias_generators import to_camel

from ddbkit import Table
from ddbkit.aio import AsyncTable
from ddbkit.models import HashKey, Model, ModelStreamProcessor, Router, TypedTable, Version
from ddbkit.core.operations import Page
from ddbkit.streams.records import StreamRecord


class Session(Model, table="UserSessions", alias_generator=to_camel):
    """Stored names from an alias generator (camelCase) or serialization/validation aliases: unlike
    ``Field(alias=...)``, mypy without the pydantic plugin then checks the constructor by Python names."""

    session_id: Annotated[str, HashKey]
    user_id: str
    expires_at: datetime
    user_agent: str | None = Field(default=None, serialization_alias="user-agent", validation_alias="user-agent")
    version: Annotated[int, Version] = 0


class User(Model, table="App", entity="User", pk="USER#{user_id}", sk="PROFILE"):
    user_id: str


def sync_ops(table: Table) -> None:
    repo: TypedTable[Session] = table.typed(Session)
    s = Session(session_id="s1", user_id="u1", expires_at=datetime(2030, 1, 1, tzinfo=timezone.utc))
    written: Session = repo.put(s, condition=Session.attr(lambda x: x.user_id).exists())
    got: Session | None = repo.get({"session_id": "s1"})
    updated: Session = repo.update("s1", set={"user_id": "u2"}, expected_version=written.version)
    repo.delete("s1")
    page: Page[Session] = repo.query(Session.key("user_id").eq("u1"), index="UserIdIndex")
    first: Session = page.items[0]
    items: Iterator[Session] = repo.query_iter({"user_id": "u1"}, index="UserIdIndex")
    repo.batch_write([s], deletes=["s2"])
    many: list[Session] = repo.batch_get(["s1", "s2"])
    repo.transact_write([repo.tx_put(s), repo.tx_update("s2", set={"user_id": "u3"}), repo.tx_delete("s3")])
    snap: list[Session | None] = repo.transact_get(["s1"])
    mixed: Page[Model] = Router(User).query(table, User, user_id="1")
    plain: Page = table.query({"userId": "u1"})
    print(got, updated, first, items, many, snap, mixed, plain.items[0]["x"])


async def async_ops(table: AsyncTable) -> None:
    repo = table.typed(Session)
    got: Session | None = await repo.get("s1")
    page: Page[Session] = await repo.query({"user_id": "u1"}, index="UserIdIndex")
    async for s in repo.query_iter({"user_id": "u1"}, index="UserIdIndex"):
        print(s.expires_at.year)
    print(got, page.items[0].user_id)


class Watch(ModelStreamProcessor[Session]):
    def on_insert_model(self, new: Session, record: StreamRecord) -> None:
        print(new.user_id)


def stream(record: StreamRecord) -> str | None:
    s = record.new_as(Session)
    return s.user_id if s is not None else None
