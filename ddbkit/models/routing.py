"""Single-table design: route a mixed page (several entity types in one partition) to the right models.

Models declare ``entity``/``pk``/``sk`` (key templates) and are written with an entity-type attribute
(``_type`` unless ``type_attr=``)::

    class User(Model, table=config, entity="User", pk="USER#{user_id}", sk="PROFILE"):
        user_id: str
        name: str

    class Order(Model, table=config, entity="Order", pk="USER#{user_id}", sk="ORDER#{order_id}"):
        user_id: str
        order_id: str
        total: Decimal

    router = Router(User, Order)
    page = router.query(table, User, user_id="123")    # Page[Model]: User and Order instances, in key order
    user = next(m for m in page.items if isinstance(m, User))

Items of entities the router does not know are skipped, never mis-parsed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ddbkit.errors import ClientValidationError
from ddbkit.core.expressions import Key, KeyCondition
from ddbkit.models.base import Model
from ddbkit.core.operations import Page

if TYPE_CHECKING:
    from ddbkit.aio import AsyncTable
    from ddbkit.table import Table

__all__ = ["Router"]


class Router:
    """Maps an item's entity-type attribute to its model class."""

    def __init__(self, *models: type[Model]) -> None:
        if not models:
            raise ClientValidationError("a Router needs at least one model", "models", "router.empty")
        self.models: dict[str, type[Model]] = {}
        attrs = set()
        for m in models:
            info = m.__ddb__
            if info.entity is None:
                raise ClientValidationError(f"{m.__name__} declares no entity= / pk= template", m.__name__,
                                            "router.entity")
            if info.entity in self.models:
                raise ClientValidationError(f"entity {info.entity!r} is declared twice", m.__name__,
                                            "entity.duplicate")
            self.models[info.entity] = m
            attrs.add(info.type_attr)
        if len(attrs) != 1:
            raise ClientValidationError(f"models use different entity-type attributes {sorted(attrs)}", "models",
                                        "router.type_attr")
        self.type_attr = attrs.pop()

    def route(self, item: Mapping[str, Any]) -> Model | None:
        """The model instance for a stored item, or None for an item of no known entity."""
        model = self.models.get(str(item.get(self.type_attr, "")))
        return model.from_item(item) if model is not None else None

    def route_all(self, items: Iterable[Mapping[str, Any]]) -> list[Model]:
        return [m for m in (self.route(i) for i in items) if m is not None]

    def page(self, page: Page) -> Page[Model]:
        """A dict page (``table.query(...)``) with its items routed."""
        return Page(items=self.route_all(page.items), cursor=page.cursor, count=page.count,
                    scanned_count=page.scanned_count, consumed_capacity=page.consumed_capacity,
                    last_key=page.last_key)

    def partition(self, model: type[Model], fields: Mapping[str, Any], index: str | None = None) -> KeyCondition:
        """The key condition for the whole partition ``model``'s pk template (or ``index``'s) names."""
        info = model.__ddb__
        keys = info.require_keys()
        fields = {info.field_of.get(k, k): v for k, v in fields.items()}
        if index is None:
            assert info.pk is not None
            return Key(keys.hash_key).eq(info.pk.format(fields))
        if index not in info.gsi:
            raise ClientValidationError(f"{model.__name__} has no key templates on {index}", index, "entity.index")
        return Key(keys.index(index)[0]).eq(info.gsi[index][0].format(fields))

    @staticmethod
    def _learn(table: Any, model: type[Model]) -> None:
        info = model.__ddb__
        if info.keys is None and table.known_keys is not None:
            info.keys = table.known_keys

    def query(self, table: Table, model: type[Model], *, index: str | None = None, limit: int | None = None,
              cursor: str | None = None, forward: bool = True, **fields: Any) -> Page[Model]:
        """One page of every entity in the partition (sync)."""
        self._learn(table, model)
        return self.page(table.query(self.partition(model, fields, index), index=index, limit=limit,
                                     cursor=cursor, forward=forward))

    def query_iter(self, table: Table, model: type[Model], *, index: str | None = None,
                   **fields: Any) -> Iterator[Model]:
        self._learn(table, model)
        for item in table.query_iter(self.partition(model, fields, index), index=index):
            routed = self.route(item)
            if routed is not None:
                yield routed

    async def aquery(self, table: AsyncTable, model: type[Model], *, index: str | None = None,
                     limit: int | None = None, cursor: str | None = None, forward: bool = True,
                     **fields: Any) -> Page[Model]:
        """:meth:`query` on an :class:`ddbkit.aio.AsyncTable`."""
        self._learn(table, model)
        return self.page(await table.query(self.partition(model, fields, index), index=index, limit=limit,
                                           cursor=cursor, forward=forward))

    async def aquery_iter(self, table: AsyncTable, model: type[Model], *, index: str | None = None,
                          **fields: Any) -> AsyncIterator[Model]:
        self._learn(table, model)
        async for item in table.query_iter(self.partition(model, fields, index), index=index):
            routed = self.route(item)
            if routed is not None:
                yield routed

    def collection(self, table: Table, model: type[Model], *, index: str | None = None,
                   **fields: Any) -> dict[type[Model], list[Model]]:
        """Every item of the partition grouped by model class (all pages)."""
        groups: dict[type[Model], list[Model]] = {m: [] for m in self.models.values()}
        for m in self.query_iter(table, model, index=index, **fields):
            groups[type(m)].append(m)
        return groups
