"""Key schema of a table and its indexes, as the runtime needs it (no pydantic)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KeySchema"]


@dataclass(frozen=True)
class KeySchema:
    """Partition (hash) and sort (range) key names, their types (S/N/B) and each index's keys."""

    hash_key: str
    range_key: str | None = None
    types: Mapping[str, str] = field(default_factory=dict)
    indexes: Mapping[str, tuple[str, str | None]] = field(default_factory=dict)
    complete: bool = False  # True when read from DescribeTable or a config: every index is known

    @property
    def names(self) -> tuple[str, ...]:
        return (self.hash_key,) if self.range_key is None else (self.hash_key, self.range_key)

    def index(self, name: str | None) -> tuple[str, str | None]:
        """(hash, range) of ``name``, or of the table when ``name`` is None."""
        if name is None:
            return self.hash_key, self.range_key
        try:
            return self.indexes[name]
        except KeyError:
            from ddbkit.errors import ClientValidationError

            raise ClientValidationError(f"no index named {name!r}; the table has {sorted(self.indexes)}", "index",
                                        "index.unknown") from None

    def cursor_names(self, index: str | None) -> tuple[str, ...]:
        """Attributes a LastEvaluatedKey holds for a query/scan of ``index`` (table keys + index keys)."""
        names = list(self.names)
        if index is not None:
            for n in self.index(index):
                if n is not None and n not in names:
                    names.append(n)
        return tuple(names)

    @classmethod
    def of(cls, value: KeySchema | tuple[str, str | None] | str) -> KeySchema:
        if isinstance(value, KeySchema):
            return value
        if isinstance(value, str):
            return cls(value)
        return cls(value[0], value[1] if len(value) > 1 else None)

    @classmethod
    def from_description(cls, table: Mapping[str, Any]) -> KeySchema:
        """From DescribeTable's ``Table``."""

        def keys(schema: list[Mapping[str, str]]) -> tuple[str, str | None]:
            h = next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH")
            r = next((k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"), None)
            return h, r

        h, r = keys(table["KeySchema"])
        idx = {i["IndexName"]: keys(i["KeySchema"])
               for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes") for i in table.get(kind) or []}
        types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions") or []}
        return cls(h, r, types, idx, complete=True)

    @classmethod
    def from_config(cls, cfg: Any) -> KeySchema:
        """From a :class:`ddbkit.config.TableConfig`."""
        return cls(cfg.hash_key, cfg.range_key, cfg.attribute_types(), cfg.index_keys(), complete=True)
