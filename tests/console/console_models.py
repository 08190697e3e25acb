"""A typed model the console tests name with ``--model`` (imported by module path, as a user's would be)."""

from __future__ import annotations

from ddbkit.models import Model


class EditRaceItem(Model, table="EditRace"):
    """Items of the EditRace table: ``total`` must be a whole number."""

    pk: str
    total: int
    note: str = ""
