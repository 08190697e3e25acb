"""ddbkit.ops.capacity: recommendation rules (pure), the report over moto's CloudWatch, usage publishing, CLI.

moto emits no AWS/DynamoDB metrics, so the monitor tests put datapoints into the AWS/DynamoDB namespace
themselves, with DynamoDB's real metric names and dimensions (TableName, GlobalSecondaryIndexName,
Operation), and check the numbers moto's GetMetricData aggregates from them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws

from ddbkit.ops.capacity import (
    MAX_QUERIES_PER_REQUEST,
    CapacityMonitor,
    PeriodUsage,
    ResourceReport,
    RuleSettings,
    SeriesKey,
    UsagePublisher,
    build_report,
    emf_lines,
    fetch_datapoints,
    metric_queries,
    plot_report,
    publish_usage,
    recommend,
    rule_consider_on_demand,
    rule_gsi_backpressure,
    rule_scale_up,
    rule_switch_to_provisioned,
    usage_delta,
)
from ddbkit.errors import ClientValidationError
from ddbkit.core.usage import UsageSnapshot
from ddbkit_infra.cli import cli

END = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
START = END - timedelta(minutes=15)
PERIOD = 300


# --------------------------------------------------------------------------------------------------
# Pure rules
# --------------------------------------------------------------------------------------------------


def resource(read: list[float], write: list[float] | None = None, *, name: str = "Orders", kind: str = "table",
             basis: str = "provisioned", read_cap: float | None = 10.0, write_cap: float | None = 10.0,
             read_thr: list[float] | None = None, write_thr: list[float] | None = None) -> ResourceReport:
    """A resource whose periods have these per-second rates (and capacities / throttles)."""
    write = write if write is not None else [0.0] * len(read)
    periods = tuple(
        PeriodUsage(start=START + timedelta(seconds=i * PERIOD), read_per_second=r, write_per_second=w,
                    read_capacity=read_cap, write_capacity=write_cap,
                    read_throttles=(read_thr or [0.0] * len(read))[i], write_throttles=(write_thr or [0.0] * len(read))[i],
                    has_data=True)
        for i, (r, w) in enumerate(zip(read, write, strict=True)))
    return ResourceReport(name, kind, basis, PERIOD, periods)  # type: ignore[arg-type]


def test_scale_up_needs_the_target_exceeded_for_n_consecutive_periods() -> None:
    settings = RuleSettings(target_utilisation=80.0, sustained_periods=2)
    # 90%, 50%, 90%: above target twice but never twice in a row
    assert rule_scale_up(resource([9.0, 5.0, 9.0]), settings) == []
    recs = rule_scale_up(resource([5.0, 9.0, 9.5]), settings)
    assert [(r.action, r.dimension, r.severity) for r in recs] == [("scale-up", "read", "warning")]
    assert "2 consecutive periods" in recs[0].reason and "peak 95%" in recs[0].reason
    # three periods required: the same series is not enough
    assert rule_scale_up(resource([5.0, 9.0, 9.5]), RuleSettings(sustained_periods=3)) == []


def test_scale_up_on_throttles_below_target_and_escalates_with_them() -> None:
    recs = rule_scale_up(resource([2.0, 3.0, 2.0], read_thr=[0, 4, 0]), RuleSettings())
    assert [(r.action, r.dimension, r.severity) for r in recs] == [("scale-up", "read", "critical")]
    assert "4 read throttle events" in recs[0].reason
    sustained = rule_scale_up(resource([9.0, 9.0, 9.0], write=[0, 0, 0], read_thr=[1, 0, 0]), RuleSettings())
    assert sustained[0].severity == "critical"


def test_consider_on_demand_only_for_spiky_provisioned_tables() -> None:
    spiky = resource([1.0, 1.0, 10.0])  # peak 10 vs mean 4: 2.5x
    recs = rule_consider_on_demand(spiky, "PROVISIONED", RuleSettings(spike_ratio=2.0))
    assert [(r.action, r.dimension) for r in recs] == [("consider-on-demand", "read")]
    assert "2.5x" in recs[0].reason
    assert rule_consider_on_demand(resource([5.0, 6.0, 5.5]), "PROVISIONED", RuleSettings()) == []
    assert rule_consider_on_demand(spiky, "PAY_PER_REQUEST", RuleSettings()) == []
    assert rule_consider_on_demand(resource([1.0, 10.0]), "PROVISIONED", RuleSettings()) == []  # too few periods


def test_switch_to_provisioned_when_steady_and_cheaper() -> None:
    od = dict(basis="on-demand-maximum", read_cap=40_000.0, write_cap=40_000.0)
    steady = resource([100.0, 100.0, 100.0], **od)  # type: ignore[arg-type]
    recs = rule_switch_to_provisioned([steady], "PAY_PER_REQUEST", RuleSettings())
    assert [r.action for r in recs] == ["switch-to-provisioned"]
    # on demand: 100 RRU/s * 3600 * $0.125/M = $0.0450/h; provisioned: 125 RCU + 1 WCU = $0.0169/h
    assert "$0.0169/h" in recs[0].reason and "$0.0450/h" in recs[0].reason
    # a trickle costs less on demand than the smallest provisioned table
    assert rule_switch_to_provisioned([resource([0.1, 0.1, 0.1], **od)], "PAY_PER_REQUEST", RuleSettings()) == []  # type: ignore[arg-type]
    # spiky traffic stays on demand; provisioned tables are not told to switch to provisioned
    assert rule_switch_to_provisioned([resource([10.0, 100.0, 300.0], **od)], "PAY_PER_REQUEST", RuleSettings()) == []  # type: ignore[arg-type]
    assert rule_switch_to_provisioned([steady], "PROVISIONED", RuleSettings()) == []
    # an idle period means it is not steady traffic
    assert rule_switch_to_provisioned([resource([100.0, 0.0, 100.0], **od)], "PAY_PER_REQUEST",  # type: ignore[arg-type]
                                      RuleSettings(steady_ratio=10)) == []


def test_gsi_write_throttles_are_reported_as_backpressure_on_the_table() -> None:
    table = resource([1.0, 1.0, 1.0], write_thr=[0, 0, 7])  # the table's own throttles are not back-pressure
    gsi = resource([0.0, 0.0, 0.0], [1.0, 2.0, 2.0], name="ByUser", kind="gsi", write_thr=[0, 2, 3])
    recs = rule_gsi_backpressure([table, gsi])
    assert [(r.action, r.resource, r.severity) for r in recs] == [("gsi-backpressure", "ByUser", "critical")]
    assert "5 write throttle events" in recs[0].reason and "write capacity" in recs[0].reason


def test_recommend_orders_by_severity() -> None:
    table = resource([1.0, 1.0, 10.0])
    gsi = resource([0, 0, 0], [1, 1, 1], name="ByUser", kind="gsi", write_thr=[0, 0, 1])
    recs = recommend([table, gsi], "PROVISIONED", {"PutItem": 2.0}, RuleSettings())
    assert [r.action for r in recs] == ["gsi-backpressure", "investigate-system-errors", "consider-on-demand"]


DESCRIPTION = {
    "TableName": "Orders",
    "BillingModeSummary": {"BillingMode": "PROVISIONED"},
    "ProvisionedThroughput": {"ReadCapacityUnits": 10, "WriteCapacityUnits": 5},
    "GlobalSecondaryIndexes": [
        {"IndexName": "ByUser", "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 2}},
    ],
}


def test_empty_window_is_a_no_traffic_report_not_a_division_by_zero() -> None:
    # The spec's example: sum(Average) / len(Datapoints) -- an idle window has no datapoints.
    with pytest.raises(ZeroDivisionError):
        sum([]) / len([])
    report = build_report("Orders", DESCRIPTION, {}, start=START, end=END, period=PERIOD)
    assert report.no_traffic and report.recommendations == () and report.hottest_index is None
    assert len(report.table_usage.periods) == 3
    assert report.table_usage.mean_rate("read") == 0.0 and report.table_usage.peak_utilisation("read") == 0.0
    assert "No traffic" in report.render_text()
    assert json.loads(report.to_json())["no_traffic"] is True
    # even a window with no periods at all
    empty = build_report("Orders", DESCRIPTION, {}, start=END, end=END, period=PERIOD)
    assert empty.no_traffic and empty.table_usage.mean_rate("write") == 0.0


def test_build_report_buckets_datapoints_and_falls_back_to_described_capacity() -> None:
    points = {
        ("ConsumedReadCapacityUnits", None, None): {START: 1500.0, START + timedelta(minutes=10): 3000.0},
        ("ProvisionedReadCapacityUnits", None, None): {START + timedelta(minutes=10): 20.0},
        ("ConsumedWriteCapacityUnits", "ByUser", None): {START + timedelta(minutes=5, seconds=30): 300.0},
        ("ThrottledRequests", None, "PutItem"): {START: 2.0},
        ("ThrottledRequests", None, "Query"): {END + timedelta(minutes=1): 9.0},  # outside the window
    }
    report = build_report("Orders", DESCRIPTION, points, start=START, end=END, period=PERIOD)
    table, gsi = report.resources
    assert [p.read_per_second for p in table.periods] == [5.0, 0.0, 10.0]
    # described 10 RCU where no Provisioned datapoint exists, the datapoint's 20 where one does
    assert [p.read_capacity for p in table.periods] == [10.0, 10.0, 20.0]
    assert [p.read_utilisation for p in table.periods] == [50.0, 0.0, 50.0]
    assert [p.write_per_second for p in gsi.periods] == [0.0, 1.0, 0.0] and gsi.periods[1].write_utilisation == 50.0
    assert report.throttled_requests == {"PutItem": 2.0}
    assert report.hottest_index == "ByUser" and not report.no_traffic


def test_on_demand_tables_are_measured_against_their_maximum() -> None:
    desc = {"TableName": "T", "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
            "OnDemandThroughput": {"MaxReadRequestUnits": 100, "MaxWriteRequestUnits": -1}}
    points: dict[SeriesKey, dict[datetime, float]] = {("ConsumedReadCapacityUnits", None, None): {START: 15000.0},
                                                      ("ConsumedWriteCapacityUnits", None, None): {START: 3000.0}}
    report = build_report("T", desc, points, start=START, end=END, period=PERIOD)
    p = report.table_usage.periods[0]
    assert report.table_usage.basis == "on-demand-maximum"
    assert (p.read_capacity, p.read_utilisation) == (100.0, 50.0)
    assert p.write_capacity == 40_000.0  # no maximum set: AWS's default per-table quota


def test_monitor_rejects_bad_windows() -> None:
    with pytest.raises(ClientValidationError, match="multiple of 60"):
        CapacityMonitor("T", None, period=90)
    with pytest.raises(ClientValidationError, match="multiple of the period"):
        CapacityMonitor("T", None, window=400, period=300)


def test_queries_cover_table_and_gsis_and_stay_under_the_request_limit() -> None:
    queries = metric_queries("Orders", [f"Index{i:02d}" for i in range(20)], 300)
    assert len(queries) == 6 * 21 + 2 * 13 <= MAX_QUERIES_PER_REQUEST
    ids = [q["Id"] for _, q in queries]
    assert len(set(ids)) == len(ids) and all(i[0].islower() for i in ids)
    key, q = next((k, q) for k, q in queries if k == ("WriteThrottleEvents", "Index03", None))
    assert q["MetricStat"]["Metric"]["Dimensions"] == [{"Name": "TableName", "Value": "Orders"},
                                                       {"Name": "GlobalSecondaryIndexName", "Value": "Index03"}]
    assert q["MetricStat"]["Stat"] == "Sum"


class PagingCloudWatch:
    """GetMetricData that returns each query's point on a second page (NextToken)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def get_metric_data(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if "NextToken" not in kwargs:
            return {"MetricDataResults": [], "NextToken": "page2"}
        return {"MetricDataResults": [{"Id": q["Id"], "Timestamps": [START], "Values": [1.0]}
                                      for q in kwargs["MetricDataQueries"]]}


def test_fetch_splits_past_500_queries_and_follows_next_token() -> None:
    fake = PagingCloudWatch()
    queries = [(("M", None, f"op{i}"), {"Id": f"q{i}", "MetricStat": {}}) for i in range(1200)]
    points = fetch_datapoints(fake, queries, START, END)
    sizes = [len(c["MetricDataQueries"]) for c in fake.calls]
    assert sizes == [500, 500, 500, 500, 200, 200]  # 3 requests, 2 pages each
    assert all(points[("M", None, f"op{i}")] == {START: 1.0} for i in range(1200))


# --------------------------------------------------------------------------------------------------
# Over moto's CloudWatch
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="Orders", BillingMode="PROVISIONED",
            ProvisionedThroughput={"ReadCapacityUnits": 10, "WriteCapacityUnits": 5},
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "user", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[{"IndexName": "ByUser", "KeySchema": [{"AttributeName": "user", "KeyType": "HASH"}],
                                     "Projection": {"ProjectionType": "ALL"},
                                     "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 2}}])
        yield {"dynamodb": ddb, "cloudwatch": boto3.client("cloudwatch", region_name="us-east-1")}


def put_minutely(cw: Any, metric: str, per_period: list[float], *, index: str | None = None,
                 operation: str | None = None, table: str = "Orders") -> None:
    """Put one datapoint a minute (5 per period), each a fifth of the period's total, as DynamoDB does."""
    dims = [{"Name": "TableName", "Value": table}]
    if index:
        dims.append({"Name": "GlobalSecondaryIndexName", "Value": index})
    if operation:
        dims.append({"Name": "Operation", "Value": operation})
    data = [{"MetricName": metric, "Dimensions": dims, "Value": total / 5, "Unit": "Count",
             "Timestamp": START + timedelta(seconds=p * PERIOD + m * 60 + 10)}
            for p, total in enumerate(per_period) for m in range(5)]
    cw.put_metric_data(Namespace="AWS/DynamoDB", MetricData=data)


def test_monitor_reports_moto_cloudwatch_numbers_in_one_request(aws: dict[str, Any]) -> None:
    cw = aws["cloudwatch"]
    put_minutely(cw, "ConsumedReadCapacityUnits", [1500, 2700, 2850])  # 5, 9, 9.5 units/s of 10
    put_minutely(cw, "ConsumedWriteCapacityUnits", [300, 300, 300])  # 1 unit/s of 5
    put_minutely(cw, "ConsumedWriteCapacityUnits", [600, 600, 600], index="ByUser")  # 2/s of 2
    put_minutely(cw, "WriteThrottleEvents", [0, 0, 5], index="ByUser")
    put_minutely(cw, "ThrottledRequests", [0, 0, 5], operation="PutItem")
    sent: list[dict[str, Any]] = []
    cw.meta.events.register("provide-client-params.cloudwatch.GetMetricData",
                            lambda params, **_: sent.append(params))

    report = CapacityMonitor("Orders", cw, dynamodb=aws["dynamodb"]).report(end=END + timedelta(seconds=42))

    assert len(sent) == 1 and len(sent[0]["MetricDataQueries"]) == 6 * 2 + 2 * 13
    assert (report.start, report.end) == (START, END)  # aligned to the period
    table, gsi = report.resources
    assert [p.read_per_second for p in table.periods] == [5.0, 9.0, 9.5]
    assert [round(u or 0) for u in (p.read_utilisation for p in table.periods)] == [50, 90, 95]
    assert [p.write_utilisation for p in table.periods] == [20.0, 20.0, 20.0]
    assert [p.write_per_second for p in gsi.periods] == [2.0, 2.0, 2.0]
    assert [p.write_throttles for p in gsi.periods] == [0.0, 0.0, 5.0]
    assert report.throttled_requests == {"PutItem": 5.0} and report.system_errors == {}
    assert report.hottest_index == "ByUser"
    actions = {(r.action, r.resource, r.dimension) for r in report.recommendations}
    assert ("scale-up", "Orders", "read") in actions and ("gsi-backpressure", "ByUser", "write") in actions
    text = report.render_text()
    assert "ByUser (GSI)" in text and "gsi-backpressure" in text and "PutItem 5" in text


def test_monitor_empty_window_over_moto(aws: dict[str, Any]) -> None:
    put_minutely(aws["cloudwatch"], "ConsumedReadCapacityUnits", [100, 100, 100], table="OtherTable")
    report = CapacityMonitor("Orders", aws["cloudwatch"], dynamodb=aws["dynamodb"]).report(end=END)
    assert report.no_traffic and report.recommendations == ()
    assert all(p.read_per_second == 0 and not p.has_data for r in report.resources for p in r.periods)


def test_monitor_accepts_a_ddbkit_table(aws: dict[str, Any]) -> None:
    from ddbkit.table import Table

    put_minutely(aws["cloudwatch"], "ConsumedReadCapacityUnits", [300, 300, 300])
    report = CapacityMonitor(Table("Orders", client=aws["dynamodb"]), aws["cloudwatch"]).report(end=END)
    assert [r.name for r in report.resources] == ["Orders", "ByUser"]
    assert report.table_usage.mean_rate("read") == 1.0


def test_plot_writes_a_png(tmp_path: Path) -> None:
    report = build_report("Orders", DESCRIPTION, {("ConsumedReadCapacityUnits", None, None): {START: 600.0}},
                          start=START, end=END, period=PERIOD)
    out = tmp_path / "capacity.png"
    plot_report(report, str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------------------------------
# Publishing the client's own usage
# --------------------------------------------------------------------------------------------------

SNAPSHOT = UsageSnapshot(
    read_units=12.5, write_units=4.0,
    by_resource={"Orders": {"read": 10.0, "write": 4.0}, "Orders/index/ByUser": {"read": 2.5, "write": 0.0}},
    calls={"Query": 3, "PutItem": 4}, retries={"PutItem": 1}, throttles={"PutItem": 1}, errors={})


def test_emf_lines_follow_the_embedded_metric_format() -> None:
    lines = emf_lines(SNAPSHOT, "Orders", namespace="ddbkit", timestamp=END)
    docs = [json.loads(line) for line in lines]
    assert all("\n" not in line for line in lines)
    table = docs[0]
    directive = table["_aws"]["CloudWatchMetrics"][0]
    assert table["_aws"]["Timestamp"] == int(END.timestamp() * 1000)
    assert directive["Namespace"] == "ddbkit" and directive["Dimensions"] == [["TableName"]]
    # every metric the directive names is a root member with its value
    for metric in directive["Metrics"]:
        assert metric["Unit"] == "Count" and isinstance(table[metric["Name"]], float)
    assert (table["TableName"], table["ConsumedReadCapacityUnits"], table["Calls"], table["Throttles"]) == (
        "Orders", 12.5, 7.0, 1.0)
    index = next(d for d in docs if d.get("IndexName") == "ByUser")
    assert index["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["TableName", "IndexName"]]
    assert index["ConsumedReadCapacityUnits"] == 2.5
    put = next(d for d in docs if d.get("Operation") == "PutItem")
    assert (put["Calls"], put["Retries"], put["Errors"]) == (4.0, 1.0, 0.0)


def test_usage_delta_subtracts_snapshots() -> None:
    later = UsageSnapshot(20.0, 4.0, {"Orders": {"read": 17.5, "write": 4.0}, "Orders/index/ByUser": {"read": 2.5, "write": 0.0}},
                          {"Query": 5, "PutItem": 4}, {"PutItem": 1}, {"PutItem": 1}, {"Query": 1})
    d = usage_delta(SNAPSHOT, later)
    assert (d.read_units, d.write_units) == (7.5, 0.0)
    assert d.by_resource == {"Orders": {"read": 7.5, "write": 0.0}}
    assert (d.calls, d.retries, d.errors) == ({"Query": 2}, {}, {"Query": 1})


def test_publish_usage_with_put_metric_data(aws: dict[str, Any]) -> None:
    cw = aws["cloudwatch"]
    sent = publish_usage(cw, SNAPSHOT, "Orders", namespace="ddbkit", timestamp=START + timedelta(minutes=1))
    assert sent == 6 + 2 + 4 * 2
    got = cw.get_metric_data(MetricDataQueries=[
        {"Id": "r", "MetricStat": {"Metric": {"Namespace": "ddbkit", "MetricName": "ConsumedReadCapacityUnits",
                                              "Dimensions": [{"Name": "TableName", "Value": "Orders"}]},
                                   "Period": 300, "Stat": "Sum"}},
        {"Id": "c", "MetricStat": {"Metric": {"Namespace": "ddbkit", "MetricName": "Calls",
                                              "Dimensions": [{"Name": "TableName", "Value": "Orders"},
                                                             {"Name": "Operation", "Value": "Query"}]},
                                   "Period": 300, "Stat": "Sum"}}], StartTime=START, EndTime=END)
    values = {r["Id"]: r["Values"] for r in got["MetricDataResults"]}
    assert values == {"r": [12.5], "c": [3.0]}


def test_usage_publisher_flushes_only_what_is_new(aws: dict[str, Any]) -> None:
    from ddbkit.table import Table

    table = Table("Orders", key="pk", client=aws["dynamodb"])
    lines: list[str] = []
    publisher = UsagePublisher(table, emit=lines.append)
    for i in range(3):
        table.put({"pk": f"k{i}", "user": "u"})
    first = publisher.flush()
    assert first.calls == {"PutItem": 3} and first.write_units > 0
    assert json.loads(lines[0])["Calls"] == 3.0
    lines.clear()
    table.get({"pk": "k1"})
    second = publisher.flush()
    assert second.calls == {"GetItem": 1} and second.write_units == 0.0
    assert json.loads(lines[0])["Calls"] == 1.0  # not 4: each flush publishes the change only


# --------------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------------


def test_cli_monitor_json_and_plot(aws: dict[str, Any], tmp_path: Path) -> None:
    put_minutely(aws["cloudwatch"], "ConsumedReadCapacityUnits", [1500, 2700, 2850])
    png = tmp_path / "orders.png"
    result = CliRunner().invoke(cli, ["monitor", "--table", "Orders", "--end", "2026-01-01T12:00:00Z", "--json",
                                      "--plot", str(png)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["table"] == "Orders" and data["no_traffic"] is False
    assert [p["read_per_second"] for p in data["resources"][0]["periods"]] == [5.0, 9.0, 9.5]
    assert any(r["action"] == "scale-up" for r in data["recommendations"])
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_cli_monitor_text_from_a_component_file(aws: dict[str, Any], tmp_path: Path) -> None:
    component = tmp_path / "component.yaml"
    component.write_text(
        "components:\n  - name: orders\n    type: dynamodb-table\n    config:\n      tableName: Orders\n"
        "      attributeDefinitions:\n        - attributeName: pk\n          attributeType: S\n"
        "      keySchema:\n        - attributeName: pk\n          keyType: HASH\n")
    result = CliRunner().invoke(cli, ["monitor", str(component), "--end", "2026-01-01T12:00:00Z"])
    assert result.exit_code == 0, result.output
    assert "Capacity of Orders (PROVISIONED)" in result.stdout and "No traffic" in result.stdout


def test_cli_monitor_needs_a_table() -> None:
    result = CliRunner().invoke(cli, ["monitor"])
    assert result.exit_code == 2 and "--table" in result.output


def test_docs_snippets_run(capsys: pytest.CaptureFixture[str]) -> None:
    """Every ```python block of docs/capacity.md runs as written (against moto)."""
    import re

    text = (Path(__file__).resolve().parents[2] / "docs" / "capacity.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 2
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/capacity.md[{i}]", "exec"), {})
    assert "scale-up Orders read" in capsys.readouterr().out
