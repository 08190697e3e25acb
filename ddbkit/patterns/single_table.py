"""Single-table design: several entity types in one table, keyed by templates.

Declare entities with key templates; ddbkit fills the keys on write, writes an entity-type attribute
on every item, and routes items read back to the right entity: items of other entities are filtered
(or grouped, for a collection), never mis-parsed::

    app = SingleTable(table)                              # PK/SK + GSI1PK/GSI1SK, type attribute "_type"
    User = app.entity("User", pk="USER#{user_id}", sk="PROFILE")
    Order = app.entity("Order", pk="USER#{user_id}", sk="ORDER#{order_id}",
                       gsi={"GSI1": ("ORDER#{order_id}", "DETAIL")})
    User.put({"user_id": "123", "name": "Ada"})
    Order.put({"user_id": "123", "order_id": "456", "total": 30})
    Order.query(user_id="123")                            # only orders of user 123
    app.collection(User, user_id="123")                   # {"User": [...], "Order": [...], ...} in one query

Key fields are parsed back from the keys, so an item read back has ``user_id``/``order_id`` again.
An optional pydantic model validates attributes on the way in and builds instances on the way out (a
:class:`ddbkit.Model` converts with its own rules: aliases, ISO/epoch dates, UUIDs, enums).

This is the dict-facing API. The typed one is :class:`ddbkit.Model` with ``entity=``/``pk=``/``sk=``
templates and :class:`ddbkit.models.Router` for mixed pages (docs/models.md); both write the same item
layout (template keys plus the entity-type attribute) with the same :class:`KeyTemplate`, so items
written by one are read by the other.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ddbkit.errors import ClientValidationError
from ddbkit.core.expressions import Key
from ddbkit.models.templates import KeyTemplate
from ddbkit.core.operations import Page
from ddbkit.table import Table

__all__ = ["SingleTable", "Entity", "KeyTemplate"]


class Entity:
    """One entity type of a :class:`SingleTable` (create it with :meth:`SingleTable.entity`)."""

    def __init__(self, app: SingleTable, name: str, pk: str, sk: str,
                 gsi: Mapping[str, tuple[str, str]] | None = None, model: Any = None) -> None:
        self.app = app
        self.name = name
        self.pk = KeyTemplate(pk)
        self.sk = KeyTemplate(sk)
        self.gsi = {idx: (KeyTemplate(p), KeyTemplate(s)) for idx, (p, s) in (gsi or {}).items()}
        unknown = [i for i in self.gsi if i not in app.gsi]
        if unknown:
            raise ClientValidationError(f"entity {name}: unknown indexes {unknown}; the table has {list(app.gsi)}",
                                        name, "entity.index")
        self.model = model

    # -- conversion -----------------------------------------------------------------------------
    def _fields(self, data: Any) -> dict[str, Any]:
        if self.model is not None:
            if not isinstance(data, self.model):
                data = self.model.model_validate(data)
            if hasattr(data, "to_item"):  # a ddbkit.Model: stored names and storable values
                return dict(data.to_item())
            return dict(data.model_dump(mode="python"))
        return dict(data)

    def key(self, **fields: Any) -> dict[str, str]:
        """The primary key of the item with these key fields."""
        return {self.app.pk_attr: self.pk.format(fields), self.app.sk_attr: self.sk.format(fields)}

    def to_item(self, data: Any) -> dict[str, Any]:
        """The stored item: attributes + PK/SK (+ GSI keys) + the entity type."""
        fields = self._fields(data)
        reserved = {self.app.pk_attr, self.app.sk_attr, self.app.type_attr,
                    *(a for pair in self.app.gsi.values() for a in pair)}
        clash = sorted(reserved & set(fields))
        if clash:
            raise ClientValidationError(f"{clash} are key/type attributes managed by ddbkit", self.name,
                                        "entity.reserved")
        item = {**fields, **self.key(**fields), self.app.type_attr: self.name}
        for idx, (p, s) in self.gsi.items():
            pa, sa = self.app.gsi[idx]
            item[pa], item[sa] = p.format(fields), s.format(fields)
        return item

    def from_item(self, item: Mapping[str, Any]) -> Any:
        """The entity's fields from a stored item (key fields parsed back from the keys)."""
        managed = {self.app.pk_attr, self.app.sk_attr, self.app.type_attr,
                   *(a for pair in self.app.gsi.values() for a in pair)}
        fields = {k: v for k, v in item.items() if k not in managed}
        for template, attr in ((self.pk, self.app.pk_attr), (self.sk, self.app.sk_attr)):
            parsed = template.parse(str(item.get(attr, "")))
            if parsed:
                for k, v in parsed.items():
                    fields.setdefault(k, v)
        if self.model is None:
            return fields
        from_item = getattr(self.model, "from_item", None)
        return from_item(fields) if from_item is not None else self.model.model_validate(fields)

    def owns(self, item: Mapping[str, Any]) -> bool:
        return item.get(self.app.type_attr) == self.name

    # -- operations -----------------------------------------------------------------------------
    def put(self, data: Any, **kwargs: Any) -> None:
        self.app.table.put(self.to_item(data), **kwargs)

    def get(self, **fields: Any) -> Any:
        item = self.app.table.get(self.key(**fields))
        return self.from_item(item) if item and self.owns(item) else None

    def delete(self, **fields: Any) -> None:
        self.app.table.delete(self.key(**fields))

    def query(self, *, index: str | None = None, limit: int | None = None, cursor: str | None = None,
              forward: bool = True, **fields: Any) -> tuple[list[Any], str | None]:
        """One page of this entity's items under the partition the fields name (``index`` for a GSI).

        The sort key is matched by the template's constant prefix (``ORDER#``); items of other entities
        in the partition are filtered out. Returns (items, cursor for the next page).
        """
        page = self._query_page(index, limit, cursor, forward, fields)
        return [self.from_item(i) for i in page.items if self.owns(i)], page.cursor

    def query_all(self, *, index: str | None = None, **fields: Any) -> Iterator[Any]:
        cursor: str | None = None
        while True:
            items, cursor = self.query(index=index, cursor=cursor, **fields)
            yield from items
            if cursor is None:
                return

    def _query_page(self, index: str | None, limit: int | None, cursor: str | None, forward: bool,
                    fields: Mapping[str, Any]) -> Page:
        if index is None:
            pk_t, sk_t, pk_a, sk_a = self.pk, self.sk, self.app.pk_attr, self.app.sk_attr
        else:
            if index not in self.gsi:
                raise ClientValidationError(f"entity {self.name} has no keys on {index}", index, "entity.index")
            pk_t, sk_t = self.gsi[index]
            pk_a, sk_a = self.app.gsi[index]
        cond = Key(pk_a).eq(pk_t.format(fields))
        if sk_t.fields and all(f in fields for f in sk_t.fields):
            cond = cond & Key(sk_a).eq(sk_t.format(fields))
        elif sk_t.prefix:
            cond = cond & Key(sk_a).begins_with(sk_t.prefix)
        return self.app.table.query(cond, index=index, limit=limit, cursor=cursor, forward=forward)


class SingleTable:
    """Entities sharing one table with generic key attributes (``PK``/``SK``, ``GSI1PK``/``GSI1SK``)."""

    def __init__(self, table: Table, *, pk_attr: str = "PK", sk_attr: str = "SK",
                 gsi: Mapping[str, tuple[str, str]] | None = None, type_attr: str = "_type") -> None:
        self.table = table
        self.pk_attr, self.sk_attr, self.type_attr = pk_attr, sk_attr, type_attr
        self.gsi: dict[str, tuple[str, str]] = dict(gsi) if gsi is not None else {"GSI1": ("GSI1PK", "GSI1SK")}
        self.entities: dict[str, Entity] = {}

    def entity(self, name: str, *, pk: str, sk: str, gsi: Mapping[str, tuple[str, str]] | None = None,
               model: Any = None) -> Entity:
        if name in self.entities:
            raise ClientValidationError(f"entity {name!r} is declared twice", name, "entity.duplicate")
        ent = Entity(self, name, pk, sk, gsi, model)
        self.entities[name] = ent
        return ent

    def route(self, item: Mapping[str, Any]) -> tuple[str, Any] | None:
        """(entity name, parsed entity) for a stored item, or None for an item of no declared entity."""
        ent = self.entities.get(str(item.get(self.type_attr, "")))
        return (ent.name, ent.from_item(item)) if ent else None

    def collection(self, entity: Entity, *, index: str | None = None, **fields: Any) -> dict[str, list[Any]]:
        """Every item in the partition ``entity``'s key names, grouped by entity (one query, all pages)."""
        if index is None:
            pk_a, value = self.pk_attr, entity.pk.format(fields)
        else:
            pk_a, value = self.gsi[index][0], entity.gsi[index][0].format(fields)
        groups: dict[str, list[Any]] = {name: [] for name in self.entities}
        for item in self.table.query_iter(Key(pk_a).eq(value), index=index):
            routed = self.route(item)
            if routed is not None:
                groups[routed[0]].append(routed[1])
        return groups
