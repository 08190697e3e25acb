"""Saving and deleting through the console against a real server: a write that lands after the console's
check read (the race the UpdateItem's condition closes) is refused, never overwritten; an attribute added
meanwhile survives the edit; creating over an existing key is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from ddbkit import Table
from ddbkit.core.codec import marshal_item
from ddbkit_infra.console import app as console_app
from ddbkit_infra.console import items as it
from ddbkit_infra.console.state import ConsoleSettings, ConsoleState

KEY = {"pk": "a"}


@pytest.fixture
def console(server_backend: Any) -> Iterator[tuple[ConsoleState, Table]]:
    server_backend.client().create_table(
        TableName="EditRace", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    table = Table("EditRace", endpoint_url=server_backend.endpoint_url, region_name=server_backend.region)
    table.put({"pk": "a", "total": 10, "note": "first"})
    state = ConsoleState(ConsoleSettings(endpoint_url=server_backend.endpoint_url, region=server_backend.region))
    yield state, table


def _shown(table: Table) -> tuple[str, str]:
    wire = marshal_item(table.get(KEY) or {})
    return it.wire_json(wire), it.fingerprint(wire)


def test_a_write_after_the_check_read_is_refused_by_the_condition(console: tuple[ConsoleState, Table],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    state, table = console
    shown, digest = _shown(table)
    stale = json.loads(shown)
    monkeypatch.setattr(console_app, "read_current", lambda *a: stale)  # the check read saw the item as shown...
    table.update(KEY, set={"total": 999})  # ...then another writer changed it
    with pytest.raises(console_app.EditConflict) as err:
        console_app.save_edit(state, "EditRace", json.dumps({"pk": "a", "total": 10, "note": "mine"}), "plain",
                          shown, digest)
    assert [d.name for d in err.value.diffs] == ["total"] and "total" in str(err.value)
    assert table.get(KEY) == {"pk": "a", "total": 999, "note": "first"}


def test_an_attribute_added_after_the_check_read_survives_the_edit(console: tuple[ConsoleState, Table],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    state, table = console
    shown, digest = _shown(table)
    stale = json.loads(shown)
    monkeypatch.setattr(console_app, "read_current", lambda *a: stale)
    table.update(KEY, set={"added": "by-someone"})
    console_app.save_edit(state, "EditRace", json.dumps({"pk": "a", "total": 11, "note": "first"}), "plain",
                      shown, digest)
    assert table.get(KEY) == {"pk": "a", "total": 11, "note": "first", "added": "by-someone"}


def test_delete_of_a_changed_item_is_refused(console: tuple[ConsoleState, Table]) -> None:
    state, table = console
    shown, digest = _shown(table)
    table.update(KEY, set={"note": "changed"})
    with pytest.raises(console_app.EditConflict):
        console_app.delete_shown(state, "EditRace", shown, digest)
    assert table.get(KEY) is not None
    shown, digest = _shown(table)
    console_app.delete_shown(state, "EditRace", shown, digest)
    assert table.get(KEY) is None


def test_create_over_an_existing_key_is_refused_and_a_tampered_copy_is_rejected(
        console: tuple[ConsoleState, Table]) -> None:
    state, table = console
    with pytest.raises(it.ItemInputError, match="exists already"):
        console_app.save_edit(state, "EditRace", '{"pk": "a"}', "plain", "", "")
    shown, _ = _shown(table)
    with pytest.raises(it.ItemInputError, match="damaged"):
        console_app.save_edit(state, "EditRace", '{"pk": "a", "total": 1}', "plain", shown, "0" * 64)
    assert table.get(KEY) == {"pk": "a", "total": 10, "note": "first"}


def test_the_typed_model_refuses_an_invalid_item_before_sending(server_backend: Any,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    server_backend.client().create_table(
        TableName="EditRace", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    state = ConsoleState(ConsoleSettings(endpoint_url=server_backend.endpoint_url, region=server_backend.region,
                                         models={"EditRace": "console_models:EditRaceItem"}))
    table = Table("EditRace", endpoint_url=server_backend.endpoint_url, region_name=server_backend.region)
    with pytest.raises(Exception) as err:
        console_app.save_edit(state, "EditRace", '{"pk": "b", "total": "lots-of-9876"}', "plain", "", "")
    message = console_app.one_line(err.value)
    assert "EditRaceItem" in message and "total: int_parsing" in message and "lots-of-9876" not in message
    assert table.get({"pk": "b"}) is None  # nothing was sent
    console_app.save_edit(state, "EditRace", '{"pk": "b", "total": 3}', "plain", "", "")
    assert table.get({"pk": "b"}) == {"pk": "b", "total": 3}


def test_a_model_that_cannot_be_imported_is_a_one_line_error() -> None:
    from ddbkit.errors import ConfigurationError

    for spec, why in (("nomodule:X", "cannot import"), ("console_models", "module:Class"),
                      ("json:dumps", "not a ddbkit.models.Model")):
        with pytest.raises(ConfigurationError, match=why):
            ConsoleState(ConsoleSettings(models={"T": spec}))
