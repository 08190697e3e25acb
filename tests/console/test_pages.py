"""Console pages over HTTP without a browser, on moto's server: inline one-line errors, a file's table not
created yet, a table without a stream on the Live page, and the capacity page's CloudWatch branch."""

from __future__ import annotations

import json
from html import unescape
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from ddbkit import Table
from ddbkit_infra.console import ConsoleSettings, ConsoleState, create_app

COMPONENT = """\
components:
  - name: later
    type: dynamodb-table
    config:
      tableName: NotYetCreated
      billingMode: ON_DEMAND
      attributeDefinitions: [{attributeName: id, attributeType: S}]
      keySchema: [{attributeName: id, keyType: HASH}]
"""


@pytest.fixture
def web(moto_backend: Any, tmp_path: Path) -> Iterator[tuple[TestClient, ConsoleState]]:
    moto_backend.client().create_table(
        TableName="Numbers", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "n", "AttributeType": "N"}],
        KeySchema=[{"AttributeName": "n", "KeyType": "HASH"}])
    Table("Numbers", endpoint_url=moto_backend.endpoint_url, region_name=moto_backend.region).put({"n": 1, "v": "x"})
    (tmp_path / "later.yaml").write_text(COMPONENT)
    state = ConsoleState(ConsoleSettings(files=[str(tmp_path / "later.yaml")], endpoint_url=moto_backend.endpoint_url,
                                         region=moto_backend.region))
    yield TestClient(create_app(state), base_url="http://127.0.0.1:8008"), state


def _error(html: str) -> str:
    start = html.index('id="error"')
    return unescape(html[html.index(">", start) + 1:html.index("</p>", start)])


def test_a_file_table_not_created_yet_is_listed_with_its_component(web: tuple[TestClient, ConsoleState]) -> None:
    page = web[0].get("/").text
    assert 'data-table="NotYetCreated"' in page and "later <span class=\"tier\">(commercial)</span>" in page
    assert "not created" in page and 'data-table="Numbers"' in page


@pytest.mark.parametrize(("query", "says"), [
    ({"mode": "query", "pk": "abc"}, "n: the key is a number (N): type digits [key.type]"),
    ({"mode": "query", "pk": ""}, "n: a value is required [key.missing]"),
    ({"mode": "query", "pk": "1", "limit": "0"}, "limit: a whole number from 1 to 1000"),
    ({"mode": "scan", "filter": "v = :v", "values": "[1]"}, "values: filter values are a JSON object"),
    ({"mode": "scan", "filter": "#v = :v", "names": "{bad"}, "names: filter names are a JSON object"),
    ({"mode": "query", "pk": "1", "cursor": "forged", "stack": "[]"}, "cursor"),
    ({"mode": "query", "pk": "1", "index": "nope"}, "no index named 'nope'"),
])
def test_explore_errors_are_one_line_on_the_page(web: tuple[TestClient, ConsoleState], query: dict[str, str],
                                                 says: str) -> None:
    res = web[0].get("/tables/Numbers", params=query)
    assert res.status_code == 200
    error = _error(res.text)
    assert says in error and "\n" not in error and "Traceback" not in res.text


def test_a_query_shows_items_sizes_and_capacity(web: tuple[TestClient, ConsoleState]) -> None:
    res = web[0].get("/tables/Numbers", params={"mode": "query", "pk": "1"})
    assert 'id="count">1<' in res.text and 'class="size">' in res.text and 'id="consumed">' in res.text
    key = json.dumps({"n": {"N": "1"}})
    item = unescape(web[0].get("/tables/Numbers/item", params={"key": key}).text)
    assert '"v": "x"' in item and '"v": {\n    "S": "x"' in item


def test_live_page_of_a_table_without_a_stream_says_so(web: tuple[TestClient, ConsoleState]) -> None:
    assert "no stream is enabled" in web[0].get("/tables/Numbers/live").text
    with web[0].stream("GET", "/tables/Numbers/live/events") as events:
        first = next(events.iter_lines())
    assert first == "event: failure"


def test_capacity_reads_cloudwatch_against_aws(web: tuple[TestClient, ConsoleState],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Against AWS the report is CloudWatch's (here moto's CloudWatch stands in for it)."""
    monkeypatch.setattr(ConsoleState, "on_aws", property(lambda self: True))
    page = web[0].get("/tables/Numbers/capacity").text
    assert "CloudWatch (AWS/DynamoDB), 5-minute periods" in page and 'id="capacity-chart"' in page
    assert "no traffic in this window" in page


def test_filter_and_projection_reach_the_query(web: tuple[TestClient, ConsoleState]) -> None:
    base = {"mode": "query", "pk": "1", "filter": "#v = :v", "names": '{"#v": "v"}', "projection": "v"}
    hit = unescape(web[0].get("/tables/Numbers", params={**base, "values": '{":v": "x"}'}).text)
    assert 'id="count">1<' in hit and "<th>v</th>" in hit and "<th>n</th>" in hit  # keys always come along
    miss = unescape(web[0].get("/tables/Numbers", params={**base, "values": '{":v": "y"}'}).text)
    assert 'id="count">0<' in miss and "(1 read before the filter)" in miss
