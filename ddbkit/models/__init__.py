"""Typed items: pydantic v2 models over a table, checked against its component config.

``import ddbkit.models`` imports pydantic (the ``models`` extra); ``import ddbkit`` does not, and
``ddbkit.Model`` is loaded on first use.

>>> class Session(Model, table=config):                          # doctest: +SKIP
...     session_id: str = Field(alias="sessionId")
>>> sessions = Table.from_config(config).typed(Session)          # doctest: +SKIP
>>> sessions.get({"session_id": "s1"})                           # doctest: +SKIP
"""

from __future__ import annotations

from ddbkit.models.base import (
    TTL,
    DateTimeFormat,
    EpochSeconds,
    HashKey,
    ItemValidationError,
    Model,
    ModelAttr,
    ModelInfo,
    ModelKey,
    RangeKey,
    Version,
)
from ddbkit.models.routing import Router
from ddbkit.models.streams import ModelStreamProcessor
from ddbkit.models.templates import KeyTemplate
from ddbkit.models.typed import AsyncTypedTable, ItemList, KeyLike, OnInvalid, TypedPage, TypedTable

__all__ = ["Model", "HashKey", "RangeKey", "Version", "TTL", "EpochSeconds", "DateTimeFormat", "ModelAttr", "ModelKey",
           "ModelInfo", "ItemValidationError", "TypedTable", "AsyncTypedTable", "TypedPage", "ItemList", "OnInvalid",
           "KeyLike", "KeyTemplate", "Router", "ModelStreamProcessor"]
