"""Typed models: model -> wire and wire -> model, ddbkit.Model vs ddbkit's dict path, PynamoDB and dyntastic.

Run: ``.venv/bin/python -m bench.bench_models``. Two items: the session item of bench_codec (strings,
integers, a bool, a small map, a string set) and a nested item (a Decimal, a list of maps, a nested map).
Each library converts the same data with its own model class:

* ddbkit dict path: ``marshal_item(dict)`` / ``unmarshal_item(wire)`` (the anchor for "within 2x");
* ddbkit.Model: ``model.to_wire()`` / ``Model.from_wire(wire)`` (pydantic validation included);
* PynamoDB 6: ``model.serialize()`` / ``Model.from_raw_data(wire)``;
* dyntastic: what ``save()`` sends (``model_dump`` + its ``serialize`` + boto3's TypeSerializer, as the
  Table resource does) / what a read does (boto3's TypeDeserializer + ``_dyntastic_load_model``).

Timing: the functions of one item and direction take turns (15 rounds of 1,000 calls, best round kept), so
on a shared machine they see the same load. Lines: ``ratio`` is anchor / ddbkit.Model, so > 1 means the model path is faster; for the dict path the
ratio is below 1 (the model path costs more) and the target is >= 0.5 (within 2x).
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, Field

from bench.bench_codec import ITEM
from ddbkit.core.codec import marshal_item, unmarshal_item
from ddbkit.models import HashKey, Model

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

NESTED: dict[str, Any] = {
    "orderId": "o-0001",
    "customer": {"id": "c-42", "name": "Ada Lovelace", "address": {"city": "London", "zip": "NW1"}},
    "total": Decimal("123.45"),
    "lines": [{"sku": f"sku-{i}", "qty": i + 1, "price": Decimal("9.99")} for i in range(5)],
    "paid": True,
}


# -- ddbkit models ------------------------------------------------------------------------------------------
class Geo(BaseModel):
    country: str
    city: str


class DSession(Model, table="UserSessions"):
    session_id: Annotated[str, HashKey] = Field(alias="sessionId")
    user_id: str = Field(alias="userId")
    created_at: int = Field(alias="createdAt")
    expires_at: int = Field(alias="expiresAt")
    status: str
    session_type: str = Field(alias="sessionType")
    ip_address: str = Field(alias="ipAddress")
    user_agent: str = Field(alias="userAgent")
    visits: int
    mfa: bool
    geo: Geo
    roles: set[str]



class DAddress(BaseModel):
    city: str
    zip: str


class DCustomer(BaseModel):
    id: str
    name: str
    address: DAddress


class DLine(BaseModel):
    sku: str
    qty: int
    price: Decimal


class DOrder(Model, table="Orders"):
    order_id: Annotated[str, HashKey] = Field(alias="orderId")
    customer: DCustomer
    total: Decimal
    lines: list[DLine]
    paid: bool


# -- PynamoDB -------------------------------------------------------------------------------------------------
def _pynamodb() -> tuple[Any, Any]:
    from pynamodb.attributes import (
        BooleanAttribute,
        ListAttribute,
        MapAttribute,
        NumberAttribute,
        UnicodeAttribute,
        UnicodeSetAttribute,
    )
    from pynamodb.models import Model as PModel

    class PGeo(MapAttribute[str, Any]):
        country = UnicodeAttribute()
        city = UnicodeAttribute()

    class PSession(PModel):
        class Meta:
            table_name = "UserSessions"
            region = "us-east-1"

        sessionId = UnicodeAttribute(hash_key=True)
        userId = UnicodeAttribute()
        createdAt = NumberAttribute()
        expiresAt = NumberAttribute()
        status = UnicodeAttribute()
        sessionType = UnicodeAttribute()
        ipAddress = UnicodeAttribute()
        userAgent = UnicodeAttribute()
        visits = NumberAttribute()
        mfa = BooleanAttribute()
        geo = PGeo()
        roles = UnicodeSetAttribute()

    class PAddress(MapAttribute[str, Any]):
        city = UnicodeAttribute()
        zip = UnicodeAttribute()

    class PCustomer(MapAttribute[str, Any]):
        id = UnicodeAttribute()
        name = UnicodeAttribute()
        address = PAddress()

    class PLine(MapAttribute[str, Any]):
        sku = UnicodeAttribute()
        qty = NumberAttribute()
        price = NumberAttribute()

    class POrder(PModel):
        class Meta:
            table_name = "Orders"
            region = "us-east-1"

        orderId = UnicodeAttribute(hash_key=True)
        customer = PCustomer()
        total = NumberAttribute()
        lines = ListAttribute(of=PLine)
        paid = BooleanAttribute()

    return PSession, POrder


# -- dyntastic --------------------------------------------------------------------------------------------------
def _dyntastic() -> tuple[Any, Any, Any]:
    from boto3.dynamodb.types import TypeDeserializer
    from dyntastic import Dyntastic
    from dyntastic import attr as dattr
    from dyntastic import transact
    from dyntastic.pydantic_compat import model_dump

    class YSession(Dyntastic):
        __table_name__ = "UserSessions"
        __hash_key__ = "sessionId"
        sessionId: str
        userId: str
        createdAt: int
        expiresAt: int
        status: str
        sessionType: str
        ipAddress: str
        userAgent: str
        visits: int
        mfa: bool
        geo: Geo
        roles: set[str]

    class YOrder(Dyntastic):
        __table_name__ = "Orders"
        __hash_key__ = "orderId"
        orderId: str
        customer: DCustomer
        total: Decimal
        lines: list[DLine]
        paid: bool

    de = TypeDeserializer()

    def to_wire(m: Any) -> dict[str, Any]:  # Dyntastic.save(): model_dump + serialize + the Table resource
        return transact.serialize_data(dattr.serialize(model_dump(m, by_alias=True)))

    def from_wire(cls: Any, wire: dict[str, Any]) -> Any:  # a read: the Table resource + load_model
        return cls._dyntastic_load_model({k: de.deserialize(v) for k, v in wire.items()})

    return (YSession, YOrder), to_wire, from_wire


def line(figure: str, ours: float, anchor_name: str, anchor: float) -> str:
    return (f"{figure}: ddbkit.Model {ours:.2f} µs/item | {anchor_name} {anchor:.2f} µs/item | "
            f"ratio {anchor / ours:.2f}x")


def interleaved(fns: dict[str, Any], rounds: int = 15, number: int = 1_000) -> dict[str, float]:
    """Best µs per call of each function, the functions taking turns round after round: on a shared
    machine every function sees the same load, so ratios hold even when absolute figures drift."""
    import timeit

    best = {name: float("inf") for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            best[name] = min(best[name], timeit.timeit(fn, number=number) / number * 1e6)
    return best


def main() -> list[str]:
    out: list[str] = []
    cases = [("session item", ITEM, DSession, 0), ("nested item", NESTED, DOrder, 1)]
    try:
        pyn: tuple[Any, Any] | None = _pynamodb()
    except ImportError:  # pragma: no cover - a dev-only bench dependency
        pyn = None
        out.append("models: PynamoDB not installed")
    try:
        dyn: tuple[Any, Any, Any] | None = _dyntastic()
    except ImportError:  # pragma: no cover
        dyn = None
        out.append("models: dyntastic not installed")
    for name, data, cls, i in cases:
        model = cls.model_validate(data)
        wire = marshal_item(data)
        assert model.to_wire() == wire, (model.to_wire(), wire)
        assert cls.from_wire(wire) == model
        enc: dict[str, Any] = {"ddbkit.Model": model.to_wire, "ddbkit dict path": lambda d=data: marshal_item(d)}
        dec: dict[str, Any] = {"ddbkit.Model": lambda c=cls, w=wire: c.from_wire(w),
                               "ddbkit dict path": lambda w=wire: unmarshal_item(w)}
        if pyn is not None:
            pcls = pyn[i]
            pm = pcls.from_raw_data(wire)
            assert pcls.from_raw_data(pm.serialize()).serialize() == pm.serialize()
            enc["PynamoDB"] = pm.serialize
            dec["PynamoDB"] = lambda c=pcls, w=wire: c.from_raw_data(w)
        if dyn is not None:
            ycls, to_wire, from_wire = dyn[0][i], dyn[1], dyn[2]
            ym = ycls.model_validate(data)
            assert set(to_wire(ym)) == set(wire)  # the same attributes (boto3 may order set members differently)
            enc["dyntastic"] = lambda m=ym, f=to_wire: f(m)
            dec["dyntastic"] = lambda c=ycls, w=wire, f=from_wire: f(c, w)
        for direction, fns in (("model -> wire", enc), ("wire -> model", dec)):
            best = interleaved(fns)
            ours = best.pop("ddbkit.Model")
            for anchor, theirs in best.items():
                out.append(line(f"{name} {direction}", ours, anchor, theirs))
    for text in out:
        print(text)
    return out


if __name__ == "__main__":
    main()
