"""The console end to end in headless chromium against DynamoDB Local.

One console (uvicorn in a thread) and one browser page serve the whole module, in order: the tables page,
a query of an index paged forward and back, a scan and a PartiQL statement, an edit, an edit refused
because the item changed underneath, a stream insert appearing live, the capacity chart, the plan and the
audit (and the plan and audit against ``ddbkit local``'s moto, which answers what DynamoDB Local lacks).
``DDBKIT_CONSOLE_SCREENSHOTS=1`` saves each page into docs/console/ (the committed PNGs docs/console.md shows).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import RunningConsole, start_console
from example_files import off_loopback

from ddbkit import Table
from ddbkit_infra.console import ConsoleSettings

pytestmark = pytest.mark.integration

TABLE = "ConsoleOrders"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"
SECRET = "zebra-quartz-7731"  # typed into an edit: must never reach a log line

COMPONENT = f"""\
complianceFramework: commercial
components:
  - name: orders
    type: dynamodb-table
    config:
      tableName: {TABLE}
      billingMode: ON_DEMAND
      attributeDefinitions:
        - {{attributeName: customer, attributeType: S}}
        - {{attributeName: orderId, attributeType: S}}
        - {{attributeName: status, attributeType: S}}
        - {{attributeName: total, attributeType: N}}
      keySchema:
        - {{attributeName: customer, keyType: HASH}}
        - {{attributeName: orderId, keyType: RANGE}}
      globalSecondaryIndexes:
        - indexName: byStatus
          keySchema:
            - {{attributeName: status, keyType: HASH}}
            - {{attributeName: total, keyType: RANGE}}
          projection: {{projectionType: ALL}}
      streamSpecification: {{streamEnabled: true, streamViewType: NEW_AND_OLD_IMAGES}}
"""


def shot(page: Any, name: str) -> None:
    if os.environ.get("DDBKIT_CONSOLE_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def orders(dynamodb_local: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Table, Path]]:
    """The component file and its table on DynamoDB Local, with 14 open and 4 closed orders."""
    path = tmp_path_factory.mktemp("console") / "orders.yaml"
    path.write_text(COMPONENT)
    client = create_orders(dynamodb_local.endpoint_url)
    table = Table(TABLE, endpoint_url=dynamodb_local.endpoint_url, region_name="us-east-1")
    with table.batch_writer() as batch:
        for i in range(18):
            batch.put({"customer": f"c{i % 3}", "orderId": f"o{i:03d}", "status": "open" if i < 14 else "closed",
                       "total": Decimal(10 + i), "lines": [{"sku": f"s{i}", "qty": 1}], "note": "first"})
    try:
        yield table, path
    finally:
        client.delete_table(TableName=TABLE)


def create_orders(endpoint_url: str) -> Any:
    """The orders table as the component file describes it (keys, GSI, stream); returns the boto3 client."""
    import boto3

    client = boto3.client("dynamodb", endpoint_url=endpoint_url, region_name="us-east-1")
    client.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in
                              (("customer", "S"), ("orderId", "S"), ("status", "S"), ("total", "N"))],
        KeySchema=[{"AttributeName": "customer", "KeyType": "HASH"}, {"AttributeName": "orderId", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{"IndexName": "byStatus", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"},
                                               {"AttributeName": "total", "KeyType": "RANGE"}]}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    return client


@pytest.fixture(scope="module")
def console(orders: tuple[Table, Path], dynamodb_local: Any) -> Iterator[RunningConsole]:
    running = start_console(ConsoleSettings(files=[str(orders[1])], endpoint_url=dynamodb_local.endpoint_url,
                                            region="us-east-1", port=0,
                                            models={"orders": "console_models:ConsoleOrder"}))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def page(browser_context: Any, console: RunningConsole) -> Iterator[Any]:
    tab = browser_context.new_page()
    try:
        yield tab
    finally:
        tab.close()


def rows(page: Any) -> list[str]:
    return [str(t) for t in page.locator("#items tbody tr").all_inner_texts()]


def test_tables_page_shows_the_component_and_the_live_table(page: Any, console: RunningConsole) -> None:
    page.goto(console.url + "/")
    row = page.locator(f'tr[data-table="{TABLE}"]')
    text = row.inner_text()
    assert "orders" in text and "(commercial)" in text
    assert "customer (partition), orderId (sort)" in text
    assert "GSI byStatus: status (partition), total (sort) · ALL" in text
    assert "NEW_AND_OLD_IMAGES" in text and "PAY_PER_REQUEST" in text
    shot(page, "tables")


def test_query_an_index_and_page_forward_and_back(page: Any, console: RunningConsole) -> None:
    page.goto(console.url + "/")
    page.click(f'tr[data-table="{TABLE}"] a')
    assert page.get_attribute("#pk", "placeholder") == "customer (S)"
    page.select_option("#index", "byStatus")  # the key fields name the index's keys
    assert page.get_attribute("#pk", "placeholder") == "status (S)"
    assert page.get_attribute("#sk", "placeholder") == "total (N)"
    page.fill("#pk", "open")
    page.select_option("#sk_op", "gte")
    page.fill("#sk", "12")
    page.fill("#limit", "5")
    page.click("#run")
    first = rows(page)
    assert len(first) == 5 and page.inner_text("#page-number") == "1"
    assert "open" in first[0] and "12" in first[0]  # totals from 12 up, ascending
    assert float(page.inner_text("#consumed")) > 0
    assert int(page.inner_text("#total-size")) > 0
    shot(page, "explore")
    page.click("#next")
    second = rows(page)
    assert page.inner_text("#page-number") == "2" and len(second) == 5 and not set(first) & set(second)
    page.click("#next")
    third = rows(page)  # totals 22..23: the last two open orders
    assert page.inner_text("#page-number") == "3" and len(third) == 2 and page.locator("#last").count() == 1
    page.click("#prev")
    assert rows(page) == second and page.inner_text("#page-number") == "2"
    page.click("#prev")
    assert rows(page) == first and page.inner_text("#page-number") == "1"
    assert page.locator("#prev").count() == 0
    page.select_option("#direction", "backward")
    page.click("#run")
    assert "23" in rows(page)[0]


def test_scan_with_a_limit_and_a_partiql_statement(page: Any, console: RunningConsole) -> None:
    page.goto(f"{console.url}/tables/{TABLE}")
    page.select_option("#mode", "scan")
    page.fill("#limit", "7")
    page.click("#run")
    assert len(rows(page)) == 7 and page.locator("#next").count() == 1
    page.fill("#partiql textarea", f"SELECT * FROM \"{TABLE}\" WHERE customer = 'c1'")
    page.click("#run-partiql")
    assert "6 item(s)" in page.inner_text("#partiql-results")


def _open_item(page: Any, console: RunningConsole, customer: str, order: str) -> None:
    key = json.dumps({"customer": {"S": customer}, "orderId": {"S": order}}, sort_keys=True)
    from urllib.parse import quote

    page.goto(f"{console.url}/tables/{TABLE}/item?key={quote(key)}")


def test_edit_an_item_then_a_concurrent_write_is_refused_not_overwritten(
        page: Any, console: RunningConsole, orders: tuple[Table, Path], caplog: pytest.LogCaptureFixture,
        capfd: pytest.CaptureFixture[str]) -> None:
    table = orders[0]
    caplog.set_level(logging.DEBUG)
    _open_item(page, console, "c0", "o000")
    assert '"S": "c0"' in page.inner_text("#dynamodb-json")
    text = json.loads(page.input_value("#item-text"))
    assert page.input_value("#format") == "plain" and text["note"] == "first" and text["total"] == 10
    text["note"] = SECRET
    page.fill("#item-text", json.dumps(text))
    page.click("#save")
    assert page.locator("#saved").count() == 1
    saved = table.get({"customer": "c0", "orderId": "o000"})
    assert saved is not None and saved["note"] == SECRET
    shot(page, "item")

    # shown now; someone else changes the total before this page saves
    text = json.loads(page.input_value("#item-text"))
    table.update({"customer": "c0", "orderId": "o000"}, set={"total": 999})
    text["note"] = "mine"
    page.fill("#item-text", json.dumps(text))
    page.click("#save")
    conflict = page.inner_text("#conflict")
    assert "total" in conflict and "changed" in conflict and "999" in conflict
    assert "refused" in page.inner_text("#error") and "total" in page.inner_text("#error")
    stored = table.get({"customer": "c0", "orderId": "o000"})
    assert stored is not None and stored["total"] == 999 and stored["note"] == SECRET  # nothing overwritten
    shot(page, "conflict")

    # a bad number is refused before anything is sent, one line naming the attribute
    page.click("#reload")
    bad = json.loads(page.input_value("#item-text"))
    page.fill("#item-text", json.dumps(bad).replace('"total": 999', '"total": 1e999'))
    page.click("#save")
    error = page.inner_text("#error")
    assert "\n" not in error and "total" in error and "range" in error

    out, err = capfd.readouterr()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "POST /tables/ConsoleOrders/item/save" in logged  # the console does log requests...
    assert SECRET not in logged and SECRET not in out and SECRET not in err  # ...never an item value
    assert "999" not in logged


def test_the_typed_model_refuses_an_item_before_it_is_sent(page: Any, console: RunningConsole,
                                                           orders: tuple[Table, Path]) -> None:
    """With ``--model orders=console_models:ConsoleOrder`` an item that does not validate is refused in one
    line naming the model, the field and the rule (never the value), and nothing is written."""
    _open_item(page, console, "c1", "o001")
    text = json.loads(page.input_value("#item-text"))
    text["note"] = 424242
    page.fill("#item-text", json.dumps(text))
    page.click("#save")
    error = page.inner_text("#error")
    assert "ConsoleOrder" in error and "note" in error and "string_type" in error and "\n" not in error
    assert "424242" not in error
    stored = orders[0].get({"customer": "c1", "orderId": "o001"})
    assert stored is not None and stored["note"] == "first"


def test_create_then_delete_an_item(page: Any, console: RunningConsole, orders: tuple[Table, Path]) -> None:
    page.goto(f"{console.url}/tables/{TABLE}")
    page.click("nav.tabs >> text=New item")
    page.fill("#item-text", json.dumps({"customer": "c7", "orderId": "o700", "status": "open", "total": 1}))
    page.click("#save")
    assert page.locator("#saved").count() == 1 and '"orderId": "o700"' in page.inner_text("#plain")
    page.click("nav.tabs >> text=New item")  # the same key again: refused, one line
    page.fill("#item-text", json.dumps({"customer": "c7", "orderId": "o700"}))
    page.click("#save")
    assert "exists already" in page.inner_text("#error")
    _open_item(page, console, "c7", "o700")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete-button")
    assert "Item deleted" in page.inner_text("main")
    assert orders[0].get({"customer": "c7", "orderId": "o700"}) is None


def test_a_stream_insert_appears_live(page: Any, console: RunningConsole, orders: tuple[Table, Path]) -> None:
    page.goto(f"{console.url}/tables/{TABLE}/live")
    page.wait_for_function("document.getElementById('live-status').textContent === 'listening'")
    orders[0].put({"customer": "c9", "orderId": "o900", "status": "open", "total": 5})
    row = page.locator("#live tbody tr.event-INSERT").first
    row.wait_for()
    assert "o900" in row.inner_text()
    shot(page, "live")


def test_capacity_chart_of_the_console_own_requests(page: Any, console: RunningConsole) -> None:
    page.goto(f"{console.url}/tables/{TABLE}/capacity")
    chart = page.locator("svg#capacity-chart")
    assert chart.count() == 1
    labels = chart.locator("polyline.series").evaluate_all("els => els.map(e => e.dataset.label)")
    assert f"{TABLE} consumed" in labels and "byStatus (GSI) consumed" in labels
    assert "own requests" in page.inner_text(".meta")
    assert page.locator("#periods tbody tr").count() >= 1  # the reads above were counted
    shot(page, "capacity")


def test_plan_on_dynamodb_local(page: Any, console: RunningConsole) -> None:
    """The component's plan against the live table on DynamoDB Local: what it cannot read (PITR, tags,
    alarms...) is "not checked locally", never a change; the table itself is compared and in step."""
    page.goto(f"{console.url}/tables/{TABLE}/plan")
    assert page.locator("#error").count() == 0, page.inner_text("main")
    assert page.locator("#plan").count() == 1 and "orders" in page.inner_text(".meta")
    assert page.inner_text("#plan-status") == "in step", page.inner_text("main")
    assert page.locator("#plan tr.action-not-checked-locally").count() > 0
    assert page.locator("#plan tr.action-no-op").first.inner_text().startswith("no-op\tdynamodb:table ConsoleOrders")
    assert page.locator("#plan tr.action-create, #plan tr.action-update, #plan tr.action-delete").count() == 0
    assert "Traceback" not in page.content()
    shot(page, "plan")


def test_audit_on_dynamodb_local(page: Any, console: RunningConsole) -> None:
    """The audit's controls for the component's tier; what DynamoDB Local cannot answer is SKIP."""
    page.goto(f"{console.url}/tables/{TABLE}/audit")
    assert page.locator("#error").count() == 0, page.inner_text("main")
    assert page.locator("#audit tbody tr").count() > 0
    assert "not checked locally" in page.inner_text("#audit")
    assert page.inner_text("#audit-verdict") in ("PASSED", "FAILED")
    shot(page, "audit")


def test_a_form_without_this_session_csrf_token_is_refused(page: Any, console: RunningConsole,
                                                           orders: tuple[Table, Path]) -> None:
    """A save whose form token is not this browser session's (a cross-site form) changes nothing."""
    _open_item(page, console, "c2", "o002")
    text = json.loads(page.input_value("#item-text"))
    text["note"] = "forged"
    page.fill("#item-text", json.dumps(text))
    page.eval_on_selector("#edit input[name=csrf]", "el => { el.value = 'not-this-session'; }")
    page.click("#save")
    assert "CSRF token does not match" in page.inner_text("main")
    stored = orders[0].get({"customer": "c2", "orderId": "o002"})
    assert stored is not None and stored["note"] == "first"


def test_read_only_against_a_non_local_endpoint(page: Any, dynamodb_local: Any, orders: tuple[Table, Path]) -> None:
    """An endpoint that is not on this machine is treated as AWS: the console reads, and refuses every
    write unless started with --allow-writes."""
    running = start_console(ConsoleSettings(endpoint_url=off_loopback(dynamodb_local.endpoint_url),
                                            region="us-east-1", port=0))
    try:
        page.goto(running.url + "/")
        assert page.inner_text("#read-only") == "read-only"
        assert page.locator(f'tr[data-table="{TABLE}"]').count() == 1
        _open_item(page, running, "c2", "o002")
        assert '"orderId": "o002"' in page.inner_text("#plain")  # read...
        assert page.locator("#edit, #save, #delete-button").count() == 0  # ...with no way to write
        page.goto(f"{running.url}/tables/{TABLE}")
        page.fill("#partiql textarea", f"UPDATE \"{TABLE}\" SET note = 'written' WHERE customer = 'c2' AND orderId = 'o002'")
        page.click("#run-partiql")
        assert "read-only" in page.inner_text("main")
        shown = json.dumps({"customer": {"S": "c2"}, "orderId": {"S": "o002"}})  # a hand-made save, valid CSRF
        answer = page.request.post(f"{running.url}/tables/{TABLE}/item/save", form={
            "csrf": page.input_value("#partiql input[name=csrf]"), "format": "plain", "shown": shown,
            "item": json.dumps({"customer": "c2", "orderId": "o002", "note": "written against AWS"})})
        assert answer.status == 403 and "refused: the console is read-only" in answer.text()
        stored = orders[0].get({"customer": "c2", "orderId": "o002"})
        assert stored is not None and stored["note"] == "first"
    finally:
        running.stop()


def test_a_token_console_serves_nothing_without_its_token(page: Any, dynamodb_local: Any) -> None:
    """As with --host off loopback (the server stays on 127.0.0.1 here): nothing without the printed token;
    the token URL sets the cookie and every later page is served."""
    running = start_console(ConsoleSettings(endpoint_url=dynamodb_local.endpoint_url, region="us-east-1", port=0,
                                            token="tok-4c1e9a"))
    tab = page.context.new_page()
    try:
        response = tab.goto(running.url + f"/tables/{TABLE}")
        assert response is not None and response.status == 403 and "token" in tab.inner_text("body")
        tab.goto(running.url + f"/tables/{TABLE}?token=tok-4c1e9a")
        assert tab.url == running.url + f"/tables/{TABLE}"  # redirected without the token in the URL
        assert tab.locator("#run").count() == 1
        assert tab.goto(running.url + "/").status == 200
    finally:
        tab.close()
        running.stop()


def test_plan_and_audit_pages_against_moto(page: Any, moto_server: Any, orders: tuple[Table, Path]) -> None:
    """DynamoDB Local has no control plane for the plan (tags, backups...): ``ddbkit local``'s moto has."""
    create_orders(moto_server.endpoint_url)
    running = start_console(ConsoleSettings(files=[str(orders[1])], endpoint_url=moto_server.endpoint_url,
                                            region="us-east-1", port=0))
    try:
        page.goto(f"{running.url}/tables/{TABLE}/plan")
        assert page.locator("#plan").count() == 1, page.inner_text("main")
        assert "orders" in page.inner_text(".meta")
        assert page.inner_text("#plan-status") == "changes pending"  # the file asks for more than the live table has
        page.goto(f"{running.url}/tables/{TABLE}/audit")
        assert page.locator("#audit tbody tr").count() > 0
        assert page.inner_text("#audit-verdict") in ("PASSED", "FAILED")
    finally:
        running.stop()
        import boto3

        boto3.client("dynamodb", endpoint_url=moto_server.endpoint_url, region_name="us-east-1").delete_table(
            TableName=TABLE)
