"""Capacity monitoring: what a table and its GSIs consumed, against what they can take, and what to do.

:class:`CapacityMonitor` reads the table's CloudWatch metrics (``AWS/DynamoDB``) for a window -- by
default the last 15 minutes in 5-minute periods -- with **one** GetMetricData request holding every
metric for the table and each GSI (split only past CloudWatch's 500-queries limit), and turns them into
a typed :class:`CapacityReport`:

* per period: consumed read/write units per second, the capacity they are measured against
  (provisioned units, or the on-demand maximum for PAY_PER_REQUEST tables), utilisation, throttle events;
* per operation: ThrottledRequests and SystemErrors;
* the hottest index, and :class:`Recommendation` s with their reasons.

The analysis is pure: :func:`build_report` takes the description and the datapoints, and each rule
(:func:`rule_scale_up`, :func:`rule_consider_on_demand`, :func:`rule_switch_to_provisioned`,
:func:`rule_gsi_backpressure`, :func:`rule_system_errors`) is a function of the per-period series, so
all of it is unit-testable without AWS. A window without a single datapoint is a valid report with
``no_traffic`` set; nothing divides by the number of datapoints (the spec's example did, and raised on
an idle table).

The second half publishes the client's *own* consumed capacity (``Table.usage``) as custom metrics:
:func:`emf_lines` renders CloudWatch Embedded Metric Format lines (print them from Lambda, no API call)
and :func:`publish_usage` sends them with PutMetricData. :class:`UsagePublisher` publishes the change
since its last flush, so repeated flushes never double-count.

matplotlib is imported only by :func:`plot_report` (the ``plot`` extra).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from ddbkit.errors import ClientValidationError, DdbkitError
from ddbkit.core.usage import UsageSnapshot

__all__ = [
    "NAMESPACE",
    "MAX_QUERIES_PER_REQUEST",
    "ON_DEMAND_TABLE_MAX_UNITS",
    "RESOURCE_METRICS",
    "OPERATION_METRICS",
    "OPERATIONS",
    "CapacityMonitor",
    "CapacityReport",
    "MetricGroup",
    "PeriodUsage",
    "Pricing",
    "Recommendation",
    "ResourceReport",
    "RuleSettings",
    "SeriesKey",
    "UsagePublisher",
    "build_report",
    "emf_lines",
    "fetch_datapoints",
    "metric_queries",
    "plot_report",
    "publish_usage",
    "recommend",
    "rule_consider_on_demand",
    "rule_gsi_backpressure",
    "rule_scale_up",
    "rule_switch_to_provisioned",
    "rule_system_errors",
    "usage_delta",
    "usage_metric_groups",
]

NAMESPACE = "AWS/DynamoDB"
MAX_QUERIES_PER_REQUEST = 500
#: AWS's default per-table on-demand quota: 40,000 read and 40,000 write request units per second.
ON_DEMAND_TABLE_MAX_UNITS = 40_000.0

#: Metrics read for the table and for each GSI, with the statistic that gives what the report needs.
RESOURCE_METRICS: dict[str, str] = {
    "ConsumedReadCapacityUnits": "Sum",  # units in the period; / period = units per second
    "ConsumedWriteCapacityUnits": "Sum",
    "ProvisionedReadCapacityUnits": "Average",  # units per second
    "ProvisionedWriteCapacityUnits": "Average",
    "ReadThrottleEvents": "Sum",
    "WriteThrottleEvents": "Sum",
}
#: Metrics DynamoDB publishes per (TableName, Operation) only.
OPERATION_METRICS: dict[str, str] = {"ThrottledRequests": "Sum", "SystemErrors": "Sum"}
OPERATIONS: tuple[str, ...] = (
    "GetItem", "PutItem", "UpdateItem", "DeleteItem", "BatchGetItem", "BatchWriteItem", "Query", "Scan",
    "TransactGetItems", "TransactWriteItems", "ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction",
)

#: (metric name, GSI name or None for the table, operation or None).
SeriesKey = tuple[str, str | None, str | None]
Datapoints = Mapping[SeriesKey, Mapping[datetime, float]]
Dimension = Literal["read", "write"]
DIMENSIONS: tuple[Dimension, Dimension] = ("read", "write")


# --------------------------------------------------------------------------------------------------
# Report model
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodUsage:
    """One period of one resource. Rates are units per second; utilisation is a percentage (None when
    there is no capacity to measure against)."""

    start: datetime
    read_per_second: float = 0.0
    write_per_second: float = 0.0
    read_capacity: float | None = None
    write_capacity: float | None = None
    read_throttles: float = 0.0
    write_throttles: float = 0.0
    has_data: bool = False

    @property
    def read_utilisation(self) -> float | None:
        return _percent(self.read_per_second, self.read_capacity)

    @property
    def write_utilisation(self) -> float | None:
        return _percent(self.write_per_second, self.write_capacity)

    def rate(self, dim: Dimension) -> float:
        return self.read_per_second if dim == "read" else self.write_per_second

    def utilisation(self, dim: Dimension) -> float | None:
        return self.read_utilisation if dim == "read" else self.write_utilisation

    def capacity(self, dim: Dimension) -> float | None:
        return self.read_capacity if dim == "read" else self.write_capacity

    def throttles(self, dim: Dimension) -> float:
        return self.read_throttles if dim == "read" else self.write_throttles

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": _iso(self.start),
            "read_per_second": self.read_per_second,
            "write_per_second": self.write_per_second,
            "read_capacity": self.read_capacity,
            "write_capacity": self.write_capacity,
            "read_utilisation": self.read_utilisation,
            "write_utilisation": self.write_utilisation,
            "read_throttles": self.read_throttles,
            "write_throttles": self.write_throttles,
            "has_data": self.has_data,
        }


def _percent(rate: float, capacity: float | None) -> float | None:
    if capacity is None or capacity <= 0:
        return None
    return 100.0 * rate / capacity


@dataclass(frozen=True)
class ResourceReport:
    """The periods of the table or of one GSI. ``basis`` says what utilisation is measured against."""

    name: str
    kind: Literal["table", "gsi"]
    basis: Literal["provisioned", "on-demand-maximum"]
    period: int
    periods: tuple[PeriodUsage, ...]

    @property
    def label(self) -> str:
        return self.name if self.kind == "table" else f"{self.name} (GSI)"

    def units(self, dim: Dimension) -> float:
        """Units consumed over the whole window."""
        return sum(p.rate(dim) for p in self.periods) * self.period

    def mean_rate(self, dim: Dimension) -> float:
        """Mean units per second over the window (0.0 for an empty window, never a division by zero)."""
        return self.units(dim) / (self.period * len(self.periods)) if self.periods else 0.0

    def peak_rate(self, dim: Dimension) -> float:
        return max((p.rate(dim) for p in self.periods), default=0.0)

    def peak_utilisation(self, dim: Dimension) -> float | None:
        values = [u for p in self.periods if (u := p.utilisation(dim)) is not None]
        return max(values) if values else None

    def throttle_events(self, dim: Dimension) -> float:
        return sum(p.throttles(dim) for p in self.periods)

    @property
    def has_traffic(self) -> bool:
        return any(p.read_per_second or p.write_per_second or p.read_throttles or p.write_throttles
                   for p in self.periods)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "basis": self.basis,
            "read_units": self.units("read"),
            "write_units": self.units("write"),
            "mean_read_per_second": self.mean_rate("read"),
            "mean_write_per_second": self.mean_rate("write"),
            "peak_read_per_second": self.peak_rate("read"),
            "peak_write_per_second": self.peak_rate("write"),
            "peak_read_utilisation": self.peak_utilisation("read"),
            "peak_write_utilisation": self.peak_utilisation("write"),
            "read_throttle_events": self.throttle_events("read"),
            "write_throttle_events": self.throttle_events("write"),
            "periods": [p.to_dict() for p in self.periods],
        }


@dataclass(frozen=True)
class Recommendation:
    """Something to change, on which resource and dimension, and why (with the numbers)."""

    action: Literal["scale-up", "consider-on-demand", "switch-to-provisioned", "gsi-backpressure",
                    "investigate-system-errors"]
    resource: str
    reason: str
    dimension: Dimension | None = None
    severity: Literal["info", "warning", "critical"] = "warning"

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "resource": self.resource, "dimension": self.dimension,
                "severity": self.severity, "reason": self.reason}


@dataclass(frozen=True)
class Pricing:
    """Prices used to compare on-demand with provisioned (USD, us-east-1 Standard table class, list prices
    since November 2024). Pass your region's prices for a region-accurate answer."""

    read_request_unit: float = 0.125 / 1_000_000
    write_request_unit: float = 0.625 / 1_000_000
    rcu_hour: float = 0.00013
    wcu_hour: float = 0.00065


@dataclass(frozen=True)
class RuleSettings:
    """Thresholds of the recommendation rules.

    ``target_utilisation`` (percent) and ``sustained_periods``: scale up when utilisation stays above the
    target that many periods in a row. ``spike_ratio``: peak rate / mean rate at or above which provisioned
    traffic counts as spiky. ``steady_ratio``: at or below which on-demand traffic counts as steady.
    ``min_periods``: periods needed before judging spikiness or steadiness.
    """

    target_utilisation: float = 80.0
    sustained_periods: int = 2
    spike_ratio: float = 2.0
    steady_ratio: float = 1.5
    min_periods: int = 3
    pricing: Pricing = field(default_factory=Pricing)


@dataclass(frozen=True)
class CapacityReport:
    """What :class:`CapacityMonitor` found for one table over one window."""

    table: str
    billing_mode: str
    start: datetime
    end: datetime
    period: int
    resources: tuple[ResourceReport, ...]
    throttled_requests: dict[str, float] = field(default_factory=dict)
    system_errors: dict[str, float] = field(default_factory=dict)
    recommendations: tuple[Recommendation, ...] = ()

    @property
    def table_usage(self) -> ResourceReport:
        return self.resources[0]

    @property
    def indexes(self) -> tuple[ResourceReport, ...]:
        return self.resources[1:]

    @property
    def no_traffic(self) -> bool:
        """True when nothing was consumed, throttled or failed in the window."""
        return (not any(r.has_traffic for r in self.resources) and not any(self.throttled_requests.values())
                and not any(self.system_errors.values()))

    @property
    def hottest_index(self) -> str | None:
        """The GSI with the highest peak utilisation (by consumed units when none has a capacity), or None
        when no GSI had traffic."""
        busy = [r for r in self.indexes if r.has_traffic]
        if not busy:
            return None

        def heat(r: ResourceReport) -> tuple[float, float]:
            utils = [u for d in DIMENSIONS if (u := r.peak_utilisation(d)) is not None]
            return (max(utils) if utils else -1.0, r.units("read") + r.units("write"))

        return max(busy, key=heat).name

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "billing_mode": self.billing_mode,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "period": self.period,
            "no_traffic": self.no_traffic,
            "hottest_index": self.hottest_index,
            "resources": [r.to_dict() for r in self.resources],
            "throttled_requests": dict(self.throttled_requests),
            "system_errors": dict(self.system_errors),
            "recommendations": [r.to_dict() for r in self.recommendations],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def render_text(self) -> str:
        """The report as a plain-text table (what ``ddbkit monitor`` prints)."""
        minutes = self.period // 60
        lines = [f"Capacity of {self.table} ({self.billing_mode}), {self.start:%Y-%m-%d %H:%M}-{self.end:%H:%M} UTC, "
                 f"{minutes}-minute periods"]
        if self.no_traffic:
            lines.append("No traffic in this window: no consumed capacity, throttles or errors were recorded.")
            return "\n".join(lines)
        head = (f"{'resource':<28} {'period':>5} {'read/s':>9} {'rcap':>8} {'read%':>6} {'write/s':>9} {'wcap':>8} "
                f"{'write%':>6} {'thr r/w':>9}")
        lines += [head, "-" * len(head)]
        for res in self.resources:
            for i, p in enumerate(res.periods):
                name = res.label if i == 0 else ""
                lines.append(
                    f"{name[:28]:<28} {p.start:%H:%M} {p.read_per_second:>9.2f} {_num(p.read_capacity):>8} "
                    f"{_num(p.read_utilisation, '%'):>6} {p.write_per_second:>9.2f} {_num(p.write_capacity):>8} "
                    f"{_num(p.write_utilisation, '%'):>6} {_int(p.read_throttles) + '/' + _int(p.write_throttles):>9}")
        lines.append("")
        lines.append("Throttled requests: " + _counts(self.throttled_requests))
        lines.append("System errors: " + _counts(self.system_errors))
        lines.append(f"Hottest index: {self.hottest_index or '-'}")
        if self.recommendations:
            lines.append("Recommendations:")
            lines += [f"  [{r.severity}] {r.action} {r.resource}{' ' + r.dimension if r.dimension else ''}: {r.reason}"
                      for r in self.recommendations]
        else:
            lines.append("Recommendations: none")
        return "\n".join(lines)


def _num(value: float | None, suffix: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:.0f}{suffix}" if suffix else f"{value:.6g}"


def _int(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _counts(counts: Mapping[str, float]) -> str:
    nonzero = {k: v for k, v in counts.items() if v}
    return ", ".join(f"{k} {_int(v)}" for k, v in sorted(nonzero.items())) if nonzero else "none"


def _iso(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


# --------------------------------------------------------------------------------------------------
# Recommendation rules (pure)
# --------------------------------------------------------------------------------------------------


def _longest_run_above(values: Sequence[float | None], threshold: float) -> int:
    best = run = 0
    for v in values:
        run = run + 1 if v is not None and v > threshold else 0
        best = max(best, run)
    return best


def rule_scale_up(res: ResourceReport, settings: RuleSettings) -> list[Recommendation]:
    """Scale up when utilisation stays above the target for ``sustained_periods`` periods in a row, or when
    provisioned capacity was throttled at all."""
    out: list[Recommendation] = []
    for dim in DIMENSIONS:
        utils = [p.utilisation(dim) for p in res.periods]
        run = _longest_run_above(utils, settings.target_utilisation)
        throttles = res.throttle_events(dim)
        against = "provisioned capacity" if res.basis == "provisioned" else "the on-demand maximum"
        if run >= settings.sustained_periods:
            peak = res.peak_utilisation(dim) or 0.0
            out.append(Recommendation(
                "scale-up", res.name,
                f"{dim} utilisation above {settings.target_utilisation:.0f}% of {against} for {run} consecutive "
                f"periods (peak {peak:.0f}%, {res.peak_rate(dim):.1f} units/s)",
                dim, "critical" if throttles else "warning"))
        elif throttles and res.basis == "provisioned" and not (res.kind == "gsi" and dim == "write"):
            # (a GSI's write throttles are reported once, as gsi-backpressure)
            out.append(Recommendation(
                "scale-up", res.name,
                f"{_int(throttles)} {dim} throttle events against {against} (peak utilisation "
                f"{_num(res.peak_utilisation(dim), '%')}): short bursts exceed capacity; raise it or the "
                f"autoscaling maximum", dim, "critical"))
    return out


def rule_consider_on_demand(res: ResourceReport, billing_mode: str, settings: RuleSettings) -> list[Recommendation]:
    """On a PROVISIONED table, spiky traffic (peak / mean >= ``spike_ratio``) pays for idle capacity between
    spikes and throttles at the spikes: on-demand fits it better."""
    if billing_mode != "PROVISIONED" or res.kind != "table" or len(res.periods) < settings.min_periods:
        return []
    out: list[Recommendation] = []
    for dim in DIMENSIONS:
        mean, peak = res.mean_rate(dim), res.peak_rate(dim)
        if mean > 0 and peak / mean >= settings.spike_ratio:
            out.append(Recommendation(
                "consider-on-demand", res.name,
                f"{dim} traffic is spiky: peak {peak:.1f} units/s is {peak / mean:.1f}x the mean {mean:.1f} units/s; "
                f"on-demand absorbs spikes without provisioning for the peak", dim, "info"))
    return out


def rule_switch_to_provisioned(resources: Sequence[ResourceReport], billing_mode: str,
                               settings: RuleSettings) -> list[Recommendation]:
    """On a PAY_PER_REQUEST table with steady traffic in every period (peak / mean <= ``steady_ratio`` for
    the table), compare the hourly on-demand cost of the observed traffic with provisioning the peak at the
    target utilisation, table and GSIs together; recommend provisioned when it is cheaper."""
    if billing_mode != "PAY_PER_REQUEST" or not resources:
        return []
    table = resources[0]
    if len(table.periods) < settings.min_periods:
        return []
    for dim in DIMENSIONS:
        mean = table.mean_rate(dim)
        if mean > 0 and table.peak_rate(dim) / mean > settings.steady_ratio:
            return []
    if not all(p.read_per_second > 0 or p.write_per_second > 0 for p in table.periods):
        return []
    pr = settings.pricing
    target = settings.target_utilisation / 100.0
    on_demand = provisioned = 0.0
    for res in resources:
        on_demand += 3600 * (res.mean_rate("read") * pr.read_request_unit + res.mean_rate("write") * pr.write_request_unit)
        rcu = math.ceil(res.peak_rate("read") / target) if res.peak_rate("read") else 1
        wcu = math.ceil(res.peak_rate("write") / target) if res.peak_rate("write") else 1
        provisioned += rcu * pr.rcu_hour + wcu * pr.wcu_hour
    if provisioned >= on_demand:
        return []
    return [Recommendation(
        "switch-to-provisioned", table.name,
        f"traffic is steady (peak within {settings.steady_ratio:.1f}x of the mean in every period): provisioning "
        f"the peak at {settings.target_utilisation:.0f}% utilisation would cost about ${provisioned:.4f}/h against "
        f"${on_demand:.4f}/h on demand (table and GSIs; judge over a longer window before switching)",
        None, "info")]


def rule_gsi_backpressure(resources: Sequence[ResourceReport]) -> list[Recommendation]:
    """A GSI that throttles writes throttles the base table's writes too: DynamoDB cannot apply a table
    write whose index update it cannot take. Name the index and its throttle count."""
    out: list[Recommendation] = []
    for res in resources:
        if res.kind != "gsi":
            continue
        events = res.throttle_events("write")
        if events > 0:
            fix = ("raise its write capacity (or its autoscaling maximum)" if res.basis == "provisioned"
                   else "spread its partition key (a hot index key) or raise its on-demand maximum")
            out.append(Recommendation(
                "gsi-backpressure", res.name,
                f"{_int(events)} write throttle events on GSI {res.name} back-pressure writes to the table; {fix}",
                "write", "critical"))
    return out


def rule_system_errors(system_errors: Mapping[str, float], table: str = "") -> list[Recommendation]:
    """Any SystemErrors (HTTP 500 from DynamoDB) is worth a look, per operation."""
    total = sum(system_errors.values())
    if not total:
        return []
    return [Recommendation("investigate-system-errors", table, f"{_int(total)} system errors ({_counts(system_errors)}): "
                           f"clients retry them, but a sustained rate needs an AWS support case", None, "warning")]


def recommend(resources: Sequence[ResourceReport], billing_mode: str, system_errors: Mapping[str, float],
              settings: RuleSettings) -> list[Recommendation]:
    """Every rule over the report's series, most severe first."""
    out: list[Recommendation] = []
    for res in resources:
        out += rule_scale_up(res, settings)
        out += rule_consider_on_demand(res, billing_mode, settings)
    out += rule_gsi_backpressure(resources)
    out += rule_switch_to_provisioned(resources, billing_mode, settings)
    out += rule_system_errors(system_errors, resources[0].name if resources else "")
    rank = {"critical": 0, "warning": 1, "info": 2}
    return sorted(out, key=lambda r: rank[r.severity])


# --------------------------------------------------------------------------------------------------
# Building the report from datapoints (pure)
# --------------------------------------------------------------------------------------------------


def billing_mode_of(description: Mapping[str, Any]) -> str:
    """PROVISIONED unless BillingModeSummary says otherwise (DescribeTable omits it for old provisioned tables)."""
    return str((description.get("BillingModeSummary") or {}).get("BillingMode") or "PROVISIONED")


def gsi_names(description: Mapping[str, Any]) -> list[str]:
    return [str(g["IndexName"]) for g in description.get("GlobalSecondaryIndexes") or []]


def _capacity_from(desc: Mapping[str, Any], billing_mode: str, on_demand_max: float) -> tuple[float | None, float | None]:
    """(read, write) capacity to measure utilisation against, from a table or GSI description."""
    if billing_mode == "PAY_PER_REQUEST":
        od = desc.get("OnDemandThroughput") or {}
        r, w = od.get("MaxReadRequestUnits"), od.get("MaxWriteRequestUnits")
        return (float(r) if r and r > 0 else on_demand_max, float(w) if w and w > 0 else on_demand_max)
    pt = desc.get("ProvisionedThroughput") or {}
    r, w = pt.get("ReadCapacityUnits"), pt.get("WriteCapacityUnits")
    return (float(r) if r else None, float(w) if w else None)


def _bucket(series: Mapping[datetime, float] | None, start: datetime, period: int, n: int) -> list[float | None]:
    """Values of a series by period index (None where the period has no datapoint)."""
    out: list[float | None] = [None] * n
    for ts, value in (series or {}).items():
        idx = int((_utc(ts) - start).total_seconds() // period)
        if 0 <= idx < n:
            out[idx] = (out[idx] or 0.0) + float(value)
    return out


def build_report(table: str, description: Mapping[str, Any], datapoints: Datapoints, *, start: datetime,
                 end: datetime, period: int, settings: RuleSettings | None = None,
                 on_demand_max: float = ON_DEMAND_TABLE_MAX_UNITS) -> CapacityReport:
    """The report for ``table`` from its DescribeTable ``description`` and GetMetricData ``datapoints``.

    Periods without a consumed datapoint count as zero consumption (DynamoDB publishes nothing for an idle
    minute); periods without a Provisioned* datapoint fall back to the capacity in the description.
    """
    settings = settings or RuleSettings()
    start, end = _utc(start), _utc(end)
    n = max(0, int((end - start).total_seconds() // period))
    starts = [start + timedelta(seconds=i * period) for i in range(n)]
    billing = billing_mode_of(description)
    basis: Literal["provisioned", "on-demand-maximum"] = (
        "on-demand-maximum" if billing == "PAY_PER_REQUEST" else "provisioned")
    gsis = {str(g["IndexName"]): g for g in description.get("GlobalSecondaryIndexes") or []}

    def resource(index: str | None) -> ResourceReport:
        desc = gsis[index] if index else description
        fallback = _capacity_from(desc, billing, on_demand_max)
        series = {m: _bucket(datapoints.get((m, index, None)), start, period, n) for m in RESOURCE_METRICS}
        periods = []
        for i, ts in enumerate(starts):
            cr, cw = series["ConsumedReadCapacityUnits"][i], series["ConsumedWriteCapacityUnits"][i]
            pr, pw = series["ProvisionedReadCapacityUnits"][i], series["ProvisionedWriteCapacityUnits"][i]
            rt, wt = series["ReadThrottleEvents"][i], series["WriteThrottleEvents"][i]
            if basis == "provisioned":
                read_cap = pr if pr else fallback[0]
                write_cap = pw if pw else fallback[1]
            else:
                read_cap, write_cap = fallback
            periods.append(PeriodUsage(
                start=ts, read_per_second=(cr or 0.0) / period, write_per_second=(cw or 0.0) / period,
                read_capacity=read_cap, write_capacity=write_cap, read_throttles=rt or 0.0,
                write_throttles=wt or 0.0, has_data=any(v is not None for v in (cr, cw, rt, wt))))
        return ResourceReport(index or table, "gsi" if index else "table", basis, period, tuple(periods))

    resources = (resource(None), *(resource(name) for name in gsis))

    def per_operation(metric: str) -> dict[str, float]:
        out: dict[str, float] = {}
        for (m, index, op), series in datapoints.items():
            if m == metric and index is None and op:
                total = sum(v for v in _bucket(series, start, period, n) if v)
                if total:
                    out[op] = out.get(op, 0.0) + total
        return out

    throttled, errors = per_operation("ThrottledRequests"), per_operation("SystemErrors")
    recs = recommend(resources, billing, errors, settings)
    return CapacityReport(table, billing, start, end, period, resources, throttled, errors, tuple(recs))


# --------------------------------------------------------------------------------------------------
# Reading CloudWatch
# --------------------------------------------------------------------------------------------------


def metric_queries(table: str, indexes: Sequence[str], period: int,
                   operations: Sequence[str] = OPERATIONS) -> list[tuple[SeriesKey, dict[str, Any]]]:
    """Every MetricDataQuery for the table and its GSIs, each with the series it fills.

    6 metrics x (table + each GSI) + 2 per-operation metrics x operations: 158 queries for a table with
    the maximum of 20 GSIs, under the 500 a request takes.
    """
    wanted: list[tuple[SeriesKey, str]] = []
    for index in (None, *indexes):
        for metric, stat in RESOURCE_METRICS.items():
            wanted.append(((metric, index, None), stat))
    for metric, stat in OPERATION_METRICS.items():
        for op in operations:
            wanted.append(((metric, None, op), stat))
    out: list[tuple[SeriesKey, dict[str, Any]]] = []
    for n, (key, stat) in enumerate(wanted):
        name, gsi, operation = key
        dims: list[dict[str, str]] = [{"Name": "TableName", "Value": table}]
        if gsi:
            dims.append({"Name": "GlobalSecondaryIndexName", "Value": gsi})
        if operation:
            dims.append({"Name": "Operation", "Value": operation})
        out.append((key, {
            "Id": f"q{n}",
            "MetricStat": {"Metric": {"Namespace": NAMESPACE, "MetricName": name, "Dimensions": dims},
                           "Period": period, "Stat": stat},
            "ReturnData": True,
        }))
    return out


def fetch_datapoints(cloudwatch: Any, queries: Sequence[tuple[SeriesKey, dict[str, Any]]], start: datetime,
                     end: datetime) -> dict[SeriesKey, dict[datetime, float]]:
    """Run ``queries`` with GetMetricData: one request per 500 queries, following NextToken pages."""
    by_id = {q["Id"]: key for key, q in queries}
    out: dict[SeriesKey, dict[datetime, float]] = {key: {} for key, _ in queries}
    bodies = [q for _, q in queries]
    for i in range(0, len(bodies), MAX_QUERIES_PER_REQUEST):
        chunk = bodies[i:i + MAX_QUERIES_PER_REQUEST]
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"MetricDataQueries": chunk, "StartTime": start, "EndTime": end,
                                      "ScanBy": "TimestampAscending"}
            if token:
                kwargs["NextToken"] = token
            resp = cloudwatch.get_metric_data(**kwargs)
            for result in resp.get("MetricDataResults", []):
                series = out[by_id[result["Id"]]]
                for ts, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                    series[_utc(ts)] = float(value)
            token = resp.get("NextToken")
            if not token:
                break
    return out


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


def _floor(ts: datetime, period: int) -> datetime:
    epoch = int(_utc(ts).timestamp())
    return datetime.fromtimestamp(epoch - epoch % period, tz=timezone.utc)


class CapacityMonitor:
    """Reads a table's capacity metrics from CloudWatch and reports on them.

    ``table`` is a table name (then ``dynamodb``, a boto3 DynamoDB client, describes it) or any object
    with ``name`` and ``describe()`` such as :class:`ddbkit.Table`. ``cloudwatch`` is a boto3 CloudWatch
    client. ``window`` and ``period`` are seconds (period a multiple of 60, window a multiple of period).
    ``on_demand_max`` is the per-table on-demand quota utilisation is measured against when the table sets
    no OnDemandThroughput maximum.

    >>> monitor = CapacityMonitor(Table("Orders"), boto3.client("cloudwatch"))   # doctest: +SKIP
    >>> print(monitor.report().render_text())                                    # doctest: +SKIP
    """

    def __init__(self, table: Any, cloudwatch: Any, *, dynamodb: Any = None, window: int = 900, period: int = 300,
                 settings: RuleSettings | None = None, on_demand_max: float = ON_DEMAND_TABLE_MAX_UNITS,
                 clock: Callable[[], float] = time.time) -> None:
        if period < 60 or period % 60:
            raise ClientValidationError(f"period must be a positive multiple of 60 seconds, got {period}",
                                        "period", "capacity.period")
        if window < period or window % period:
            raise ClientValidationError(f"window must be a multiple of the period ({period} s), got {window}",
                                        "window", "capacity.window")
        self.table = table
        self.table_name: str = table if isinstance(table, str) else str(table.name)
        self.cloudwatch = cloudwatch
        self.dynamodb = dynamodb
        self.window = window
        self.period = period
        self.settings = settings or RuleSettings()
        self.on_demand_max = on_demand_max
        self._clock = clock

    def describe(self) -> dict[str, Any]:
        """DescribeTable's ``Table`` (for the GSIs, billing mode and provisioned capacity)."""
        if not isinstance(self.table, str):
            return dict(self.table.describe())
        if self.dynamodb is None:
            raise DdbkitError("CapacityMonitor needs a dynamodb client (or a Table object) to describe "
                              f"{self.table_name!r}")
        return dict(self.dynamodb.describe_table(TableName=self.table_name)["Table"])

    def window_bounds(self, end: datetime | None = None) -> tuple[datetime, datetime]:
        """(start, end) aligned to the period: the window ends at the last complete period before ``end``."""
        stop = _floor(end or datetime.fromtimestamp(self._clock(), tz=timezone.utc), self.period)
        return stop - timedelta(seconds=self.window), stop

    def report(self, *, end: datetime | None = None, description: Mapping[str, Any] | None = None) -> CapacityReport:
        """Describe the table, read every metric in one GetMetricData request and build the report."""
        desc = dict(description) if description is not None else self.describe()
        start, stop = self.window_bounds(end)
        queries = metric_queries(self.table_name, gsi_names(desc), self.period)
        points = fetch_datapoints(self.cloudwatch, queries, start, stop)
        return build_report(self.table_name, desc, points, start=start, end=stop, period=self.period,
                            settings=self.settings, on_demand_max=self.on_demand_max)


# --------------------------------------------------------------------------------------------------
# Plot (matplotlib only here)
# --------------------------------------------------------------------------------------------------


def plot_report(report: CapacityReport, path: str) -> None:
    """Draw consumed vs capacity per period (read above, write below; one line per resource) into ``path``.

    Uses matplotlib's object API with the Agg canvas, so no GUI backend or global pyplot state is touched.
    Raises :class:`DdbkitError` naming the ``plot`` extra when matplotlib is missing.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise DdbkitError("plotting needs matplotlib: pip install 'ddbkit[plot]'") from err

    fig = Figure(figsize=(9, 6), tight_layout=True)
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 1, sharex=True)
    for ax, dim in zip(axes, DIMENSIONS, strict=True):
        for res in report.resources:
            xs = [p.start for p in res.periods]
            line = ax.plot(xs, [p.rate(dim) for p in res.periods], marker="o", label=f"{res.label} consumed")[0]
            caps = [p.capacity(dim) for p in res.periods]
            if any(c is not None for c in caps):
                ax.plot(xs, [c if c is not None else math.nan for c in caps], linestyle="--",
                        color=line.get_color(), label=f"{res.label} {'provisioned' if res.basis == 'provisioned' else 'max'}")
        ax.set_ylabel(f"{dim} units/s")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    title = f"{report.table}: consumed vs capacity per {report.period // 60}-minute period"
    if report.no_traffic:
        title += " (no traffic)"
    axes[0].set_title(title)
    fig.savefig(path)


# --------------------------------------------------------------------------------------------------
# Publishing the client's own usage as custom metrics
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricGroup:
    """Metrics sharing one set of dimensions (one EMF line, or a run of PutMetricData entries)."""

    dimensions: tuple[tuple[str, str], ...]
    values: tuple[tuple[str, float], ...]


def usage_delta(before: UsageSnapshot, after: UsageSnapshot) -> UsageSnapshot:
    """What was used between two snapshots of the same client (``after - before``)."""

    def sub(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
        return {k: v - b.get(k, 0) for k, v in a.items() if v - b.get(k, 0)}

    resources: dict[str, dict[str, float]] = {}
    for name, units in after.by_resource.items():
        prev = before.by_resource.get(name, {})
        diff = {k: v - prev.get(k, 0.0) for k, v in units.items()}
        if any(diff.values()):
            resources[name] = diff
    return UsageSnapshot(after.read_units - before.read_units, after.write_units - before.write_units, resources,
                         sub(after.calls, before.calls), sub(after.retries, before.retries),
                         sub(after.throttles, before.throttles), sub(after.errors, before.errors))


def usage_metric_groups(snapshot: UsageSnapshot, table: str) -> list[MetricGroup]:
    """The custom metrics for a usage snapshot (or delta):

    * ``TableName``: ConsumedReadCapacityUnits, ConsumedWriteCapacityUnits, Calls, Retries, Throttles, Errors;
    * ``TableName, IndexName``: the consumed units of each index the responses reported;
    * ``TableName, Operation``: Calls, Retries, Throttles, Errors of each operation used.
    """
    groups = [MetricGroup((("TableName", table),), (
        ("ConsumedReadCapacityUnits", snapshot.read_units), ("ConsumedWriteCapacityUnits", snapshot.write_units),
        ("Calls", float(snapshot.total_calls)), ("Retries", float(snapshot.total_retries)),
        ("Throttles", float(sum(snapshot.throttles.values()))), ("Errors", float(sum(snapshot.errors.values())))))]
    for name, units in sorted(snapshot.by_resource.items()):
        owner, sep, index = name.partition("/index/")
        if sep:
            groups.append(MetricGroup((("TableName", owner), ("IndexName", index)), (
                ("ConsumedReadCapacityUnits", units.get("read", 0.0)),
                ("ConsumedWriteCapacityUnits", units.get("write", 0.0)))))
    ops = sorted(set(snapshot.calls) | set(snapshot.retries) | set(snapshot.throttles) | set(snapshot.errors))
    for op in ops:
        groups.append(MetricGroup((("TableName", table), ("Operation", op)), (
            ("Calls", float(snapshot.calls.get(op, 0))), ("Retries", float(snapshot.retries.get(op, 0))),
            ("Throttles", float(snapshot.throttles.get(op, 0))), ("Errors", float(snapshot.errors.get(op, 0))))))
    return groups


def emf_lines(snapshot: UsageSnapshot, table: str, *, namespace: str = "ddbkit",
              timestamp: datetime | None = None) -> list[str]:
    """CloudWatch Embedded Metric Format lines for ``snapshot``: print them from Lambda and CloudWatch
    Logs turns them into metrics, with no API call on the request path. One JSON object per group."""
    ms = int((_utc(timestamp) if timestamp else datetime.now(timezone.utc)).timestamp() * 1000)
    lines = []
    for group in usage_metric_groups(snapshot, table):
        doc: dict[str, Any] = {"_aws": {"Timestamp": ms, "CloudWatchMetrics": [{
            "Namespace": namespace,
            "Dimensions": [[name for name, _ in group.dimensions]],
            "Metrics": [{"Name": name, "Unit": "Count"} for name, _ in group.values],
        }]}}
        doc.update(dict(group.dimensions))
        doc.update(dict(group.values))
        lines.append(json.dumps(doc, separators=(",", ":")))
    return lines


def publish_usage(cloudwatch: Any, snapshot: UsageSnapshot, table: str, *, namespace: str = "ddbkit",
                  timestamp: datetime | None = None, batch_size: int = 1000) -> int:
    """Send ``snapshot`` as custom metrics with PutMetricData (1000 metrics per call); returns how many."""
    ts = _utc(timestamp) if timestamp else datetime.now(timezone.utc)
    data = [{"MetricName": name, "Dimensions": [{"Name": k, "Value": v} for k, v in group.dimensions],
             "Timestamp": ts, "Value": value, "Unit": "Count"}
            for group in usage_metric_groups(snapshot, table) for name, value in group.values]
    for i in range(0, len(data), batch_size):
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[i:i + batch_size])
    return len(data)


class UsagePublisher:
    """Publishes what a :class:`ddbkit.Table` consumed since the last :meth:`flush`.

    With a ``cloudwatch`` client it calls PutMetricData; without one it writes EMF lines with ``emit``
    (``print`` by default: Lambda's stdout goes to CloudWatch Logs, which extracts the metrics).
    """

    def __init__(self, table: Any, *, cloudwatch: Any = None, namespace: str = "ddbkit",
                 emit: Callable[[str], Any] = print) -> None:
        self.table = table
        self.cloudwatch = cloudwatch
        self.namespace = namespace
        self.emit = emit
        self._last: UsageSnapshot = table.usage

    def flush(self) -> UsageSnapshot:
        """Publish the change since the previous flush (or since construction) and return it."""
        current: UsageSnapshot = self.table.usage
        delta = usage_delta(self._last, current)
        self._last = current
        if self.cloudwatch is not None:
            publish_usage(self.cloudwatch, delta, str(self.table.name), namespace=self.namespace)
        else:
            for line in emf_lines(delta, str(self.table.name), namespace=self.namespace):
                self.emit(line)
        return delta
