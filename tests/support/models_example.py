"""Models shared by tests/models/test_models*.py and type-checked by mypy in test_models_typing.

The session model is bound to the session-store example's component config (keys, indexes, TTL from it).
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, PlainSerializer

from ddbkit.config import load_component_file
from ddbkit.models import EpochSeconds, HashKey, Model, RangeKey, Version

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_component_file(ROOT / "examples" / "session-store" / "component.yaml").table()


class Status(str, enum.Enum):
    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"


class Session(Model, table=CONFIG):
    session_id: str = Field(alias="sessionId")
    user_id: str = Field(alias="userId")
    session_type: Literal["web", "mobile", "api"] = Field(default="web", alias="sessionType")
    status: Status = Status.ACTIVE                       # a reserved word: placeholders are automatic
    created_at: Annotated[datetime, EpochSeconds] = Field(alias="createdAt")   # the GSI sort key (N)
    expires_at: datetime = Field(alias="expiresAt")      # the config's TTL attribute: epoch seconds
    user_agent: str | None = Field(default=None, alias="user-agent")
    version: Annotated[int, Version] = 0


class SessionKeys(Model, table=CONFIG, index="ExpirationIndex"):
    """A partial model of the KEYS_ONLY ExpirationIndex."""

    session_id: str = Field(alias="sessionId")
    expires_at: datetime = Field(alias="expiresAt")


class Color(enum.Enum):
    RED = 1
    BLUE = 2


class Money(BaseModel):
    amount: Decimal
    currency: str = "EUR"


def _parse_money(value: Any) -> Any:
    if isinstance(value, str):
        amount, currency = value.split()
        return Money(amount=Decimal(amount), currency=currency)
    return value


# a user type stored as text through pydantic's own serializer/validator pair
MoneyText = Annotated[Money, PlainSerializer(lambda m: f"{m.amount} {m.currency}", return_type=str),
                      BeforeValidator(_parse_money)]


class Address(Model):
    city: str
    zip_code: str = Field(alias="zip")
    since: date | None = None


class Doc(Model, table="Docs"):
    """Every field type both ways (a table keyed by pk/sk)."""

    pk: Annotated[str, HashKey]
    sk: Annotated[int, RangeKey]
    name: str = "x"
    ratio: float = 0.1
    price: Decimal = Decimal("9.99")
    flag: bool = False
    blob: bytes = b"\x00\x01"
    nothing: str | None = None
    tags: list[str] = Field(default_factory=list)
    pair: tuple[int, str] = (1, "a")
    meta: dict[str, Any] = Field(default_factory=dict)
    address: Address | None = None
    addresses: list[Address] = Field(default_factory=list)
    labels: set[str] = Field(default_factory=set)
    scores: set[int] = Field(default_factory=set)
    blobs: set[bytes] = Field(default_factory=set)
    when: datetime = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    day: date = date(2024, 1, 2)
    epoch: Annotated[datetime, EpochSeconds] = datetime(2024, 1, 2, tzinfo=timezone.utc)
    ident: uuid.UUID = uuid.UUID(int=7)
    color: Color = Color.RED
    kind: Literal["a", "b"] = "a"
    money: MoneyText | None = None
    for_: str = Field(default="reserved", alias="for")
    dashed: int = Field(default=0, alias="x-dash")


def session(n: int = 1, user: str = "u1") -> Session:
    return Session(session_id=f"s{n}", user_id=user, created_at=datetime(2024, 1, 1, 0, 0, n, tzinfo=timezone.utc),
                   expires_at=datetime(2030, 1, 1, tzinfo=timezone.utc))
