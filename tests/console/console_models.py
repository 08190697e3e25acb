"""A typed model the console tests name with ``--model`` (imported by module path, as a user's would be)."""

from __future__ import annotations

from ddbkit.models import Model


class EditRaceItem(Model, table="EditRace"):
    """Items of the EditRace table: ``total`` must be a whole number."""

    pk: str
    total: int = 0
    note: str = ""


class ConsoleOrder(Model, table="ConsoleOrders"):
    """Items of the browser tests' ConsoleOrders table, given to the console as ``--model orders=...``."""

    customer: str
    orderId: str  # noqa: N815 - the attribute's name in the table
    status: str = ""
    total: int = 0
    note: str = ""
