"""CloudWatch alarms for a table, by monitoring level, defined once for apply and synth.

:func:`alarm_specs` is a pure function of the (tier-resolved) config. Each :class:`AlarmSpec` renders
itself as PutMetricAlarm parameters (``ddbkit apply``) and as an ``AWS::CloudWatch::Alarm``'s properties
(``ddbkit synth``), so the two outputs cannot drift apart.

Levels are cumulative:

* ``basic``: SystemErrors; read/write throttle events for the table and each GSI.
* ``enhanced``: + consumed vs provisioned capacity (80 %, PROVISIONED tables, table and GSIs),
  SuccessfulRequestLatency per operation, ConditionalCheckFailedRequests, account-wide UserErrors.
* ``comprehensive``: + ReplicationLatency and AgeOfOldestUnreplicatedRecord per replica region,
  OnlineIndexPercentageProgress per GSI, account provisioned read/write capacity utilisation.

Statistics, periods and datapoints follow AWS's recommended alarms for DynamoDB (throttles: Sum, 60 s,
5 of 5; SystemErrors: Sum, 60 s, 15 of 15; latency: Average per Operation, 60 s, 10 of 10;
ReplicationLatency: Average per ReceivingRegion, 60 s, 15 of 15; account utilisation: Maximum, 300 s,
2 of 2, > 80 %). Where AWS leaves the threshold to the workload, the defaults below are documented
starting points (docs/alarms.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import re

from ddbkit.config import BillingMode, ComplianceFramework, MonitoringLevel, TableConfig

from ddbkit_infra.resources import alarm_prefix, replica_regions

__all__ = [
    "AlarmSpec",
    "MetricQuery",
    "LATENCY_THRESHOLDS_MS",
    "REPLICATION_LATENCY_THRESHOLD_MS",
    "UNREPLICATED_AGE_THRESHOLD_MS",
    "alarm_specs",
    "alarm_topic_key_alias",
    "alarm_topic_key_policy",
    "alarm_topic_name",
    "creates_alarm_topic",
]

NAMESPACE = "AWS/DynamoDB"

#: SuccessfulRequestLatency thresholds (Average ms over a minute). AWS: "depends on the use case"; these
#: are a few times DynamoDB's typical single-digit-millisecond latency per operation.
LATENCY_THRESHOLDS_MS: dict[str, float] = {
    "GetItem": 20.0,
    "BatchGetItem": 50.0,
    "Query": 50.0,
    "PutItem": 25.0,
    "UpdateItem": 25.0,
    "DeleteItem": 25.0,
    "BatchWriteItem": 50.0,
}
#: AWS suggests alarming when replication falls 3 minutes behind.
REPLICATION_LATENCY_THRESHOLD_MS = 180_000.0
UNREPLICATED_AGE_THRESHOLD_MS = 300_000.0
#: Conditional-check failures are normal for optimistic locking; alarm on a sustained burst.
CONDITIONAL_CHECK_THRESHOLD = 100.0
USER_ERRORS_THRESHOLD = 10.0
CAPACITY_UTILISATION_PERCENT = 80.0


@dataclass(frozen=True)
class MetricQuery:
    """One entry of a metric-math alarm: a metric (``metric_name``) or an ``expression`` over others."""

    id: str
    metric_name: str | None = None
    dimensions: tuple[tuple[str, str], ...] = ()
    stat: str | None = None
    period: int = 60
    expression: str | None = None
    label: str | None = None
    return_data: bool = False

    def render(self) -> dict[str, Any]:
        """The MetricDataQuery shape, identical in PutMetricAlarm and in AWS::CloudWatch::Alarm."""
        out: dict[str, Any] = {"Id": self.id, "ReturnData": self.return_data}
        if self.expression is not None:
            out["Expression"] = self.expression
        else:
            out["MetricStat"] = {
                "Metric": {"Namespace": NAMESPACE, "MetricName": self.metric_name,
                           "Dimensions": [{"Name": k, "Value": v} for k, v in self.dimensions]},
                "Period": self.period,
                "Stat": self.stat,
            }
        if self.label:
            out["Label"] = self.label
        return out


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm. ``key`` is stable (``ReadThrottleEvents-index-GSI1``); ``name`` is the full alarm name."""

    key: str
    name: str
    description: str
    level: MonitoringLevel
    threshold: float
    comparison: str
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    metric_name: str | None = None
    dimensions: tuple[tuple[str, str], ...] = ()
    statistic: str | None = None
    metrics: tuple[MetricQuery, ...] = field(default=())
    treat_missing_data: str = "notBreaching"

    def _common(self, actions: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "AlarmName": self.name,
            "AlarmDescription": self.description,
            "ComparisonOperator": self.comparison,
            "Threshold": self.threshold,
            "EvaluationPeriods": self.evaluation_periods,
            "DatapointsToAlarm": self.datapoints_to_alarm,
            "TreatMissingData": self.treat_missing_data,
            "ActionsEnabled": True,
        }
        if actions:
            out["AlarmActions"] = list(actions)
            out["OKActions"] = list(actions)
        if self.metrics:
            out["Metrics"] = [m.render() for m in self.metrics]
        else:
            out.update({"Namespace": NAMESPACE, "MetricName": self.metric_name, "Statistic": self.statistic,
                        "Period": self.period,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in self.dimensions]})
        return out

    def put_metric_alarm_params(self, actions: list[str] | None = None) -> dict[str, Any]:
        """Keyword arguments of ``cloudwatch.put_metric_alarm``."""
        return self._common(list(actions or []))

    def cfn_properties(self, actions: list[Any] | None = None) -> dict[str, Any]:
        """Properties of an ``AWS::CloudWatch::Alarm`` (same names as the API for every field used)."""
        return self._common(list(actions or []))


def _spec(cfg: TableConfig, key: str, description: str, level: MonitoringLevel, **kw: Any) -> AlarmSpec:
    return AlarmSpec(key=key, name=f"{alarm_prefix(cfg.table_name)}{key}", description=description,
                     level=level, **kw)


def _throttles(cfg: TableConfig) -> list[AlarmSpec]:
    out: list[AlarmSpec] = []
    targets: list[tuple[str, tuple[tuple[str, str], ...], str]] = [
        ("", (("TableName", cfg.table_name),), f"table {cfg.table_name}")
    ]
    for g in cfg.global_secondary_indexes:
        targets.append((f"-index-{g.index_name}",
                        (("TableName", cfg.table_name), ("GlobalSecondaryIndexName", g.index_name)),
                        f"index {g.index_name} of {cfg.table_name}"))
    for suffix, dims, what in targets:
        for side in ("Read", "Write"):
            out.append(_spec(cfg, f"{side}ThrottleEvents{suffix}",
                             f"{side} requests throttled on {what} in 5 consecutive minutes",
                             MonitoringLevel.BASIC, metric_name=f"{side}ThrottleEvents", dimensions=dims,
                             statistic="Sum", period=60, evaluation_periods=5, datapoints_to_alarm=5,
                             threshold=0.0, comparison="GreaterThanThreshold"))
    return out


def _capacity(cfg: TableConfig) -> list[AlarmSpec]:
    """Consumed vs provisioned capacity above 80 % (PROVISIONED tables only; on-demand has no provision)."""
    if cfg.effective_billing_mode is not BillingMode.PROVISIONED:
        return []
    out: list[AlarmSpec] = []
    targets: list[tuple[str, tuple[tuple[str, str], ...]]] = [("", (("TableName", cfg.table_name),))]
    targets += [(f"-index-{g.index_name}",
                 (("TableName", cfg.table_name), ("GlobalSecondaryIndexName", g.index_name)))
                for g in cfg.global_secondary_indexes]
    for suffix, dims in targets:
        for side in ("Read", "Write"):
            out.append(_spec(
                cfg, f"{side}CapacityUtilization{suffix}",
                f"consumed {side.lower()} capacity above {CAPACITY_UTILISATION_PERCENT:.0f}% of provisioned",
                MonitoringLevel.ENHANCED, period=60, evaluation_periods=5, datapoints_to_alarm=5,
                threshold=CAPACITY_UTILISATION_PERCENT, comparison="GreaterThanThreshold",
                metrics=(
                    MetricQuery("consumed", f"Consumed{side}CapacityUnits", dims, "Sum", 60),
                    MetricQuery("provisioned", f"Provisioned{side}CapacityUnits", dims, "Average", 60),
                    MetricQuery("utilization", expression="100 * (consumed / 60) / provisioned",
                                label=f"{side} capacity utilization (%)", return_data=True),
                ),
            ))
    return out


def alarm_specs(cfg: TableConfig, *, home_region: str | None = None,
                level: MonitoringLevel | None = None) -> list[AlarmSpec]:
    """Every alarm for ``cfg`` at ``level`` (default: the config's monitoring level, else basic).

    ``home_region`` decides which globalTables regions are replicas (ReplicationLatency is published by
    the source region per ReceivingRegion); without it every region after the first is a replica.
    """
    lvl = level or (cfg.monitoring.level if cfg.monitoring else MonitoringLevel.BASIC)
    table_dims = (("TableName", cfg.table_name),)
    out: list[AlarmSpec] = [
        _spec(cfg, "SystemErrors", f"DynamoDB returned 5xx errors on {cfg.table_name} for 15 consecutive minutes",
              MonitoringLevel.BASIC, metric_name="SystemErrors", dimensions=table_dims, statistic="Sum",
              period=60, evaluation_periods=15, datapoints_to_alarm=15, threshold=0.0,
              comparison="GreaterThanThreshold"),
        *_throttles(cfg),
    ]
    if lvl.rank >= MonitoringLevel.ENHANCED.rank:
        out += _capacity(cfg)
        for op, ms in LATENCY_THRESHOLDS_MS.items():
            out.append(_spec(cfg, f"SuccessfulRequestLatency-{op}",
                             f"average {op} latency above {ms:g} ms for 10 consecutive minutes",
                             MonitoringLevel.ENHANCED, metric_name="SuccessfulRequestLatency",
                             dimensions=(*table_dims, ("Operation", op)), statistic="Average", period=60,
                             evaluation_periods=10, datapoints_to_alarm=10, threshold=ms,
                             comparison="GreaterThanThreshold"))
        out.append(_spec(cfg, "ConditionalCheckFailedRequests",
                         f"more than {CONDITIONAL_CHECK_THRESHOLD:g} conditional-check failures a minute for 5 minutes",
                         MonitoringLevel.ENHANCED, metric_name="ConditionalCheckFailedRequests",
                         dimensions=table_dims, statistic="Sum", period=60, evaluation_periods=5,
                         datapoints_to_alarm=5, threshold=CONDITIONAL_CHECK_THRESHOLD,
                         comparison="GreaterThanThreshold"))
        out.append(_spec(cfg, "UserErrors",
                         f"account-wide 4xx (UserErrors) above {USER_ERRORS_THRESHOLD:g} a minute for 5 minutes",
                         MonitoringLevel.ENHANCED, metric_name="UserErrors", dimensions=(), statistic="Sum",
                         period=60, evaluation_periods=5, datapoints_to_alarm=5, threshold=USER_ERRORS_THRESHOLD,
                         comparison="GreaterThanThreshold"))
    if lvl.rank >= MonitoringLevel.COMPREHENSIVE.rank:
        regions = cfg.global_tables.all_regions() if cfg.global_tables else []
        home = home_region or (regions[0] if regions else None)
        for region in replica_regions(cfg, home) if home else []:
            dims = (*table_dims, ("ReceivingRegion", region))
            out.append(_spec(cfg, f"ReplicationLatency-{region}",
                             f"replication to {region} more than {REPLICATION_LATENCY_THRESHOLD_MS / 60000:g} "
                             "minutes behind for 15 minutes",
                             MonitoringLevel.COMPREHENSIVE, metric_name="ReplicationLatency", dimensions=dims,
                             statistic="Average", period=60, evaluation_periods=15, datapoints_to_alarm=15,
                             threshold=REPLICATION_LATENCY_THRESHOLD_MS, comparison="GreaterThanThreshold"))
            out.append(_spec(cfg, f"AgeOfOldestUnreplicatedRecord-{region}",
                             f"a record waiting more than {UNREPLICATED_AGE_THRESHOLD_MS / 60000:g} minutes "
                             f"to replicate to {region}",
                             MonitoringLevel.COMPREHENSIVE, metric_name="AgeOfOldestUnreplicatedRecord",
                             dimensions=dims, statistic="Maximum", period=60, evaluation_periods=3,
                             datapoints_to_alarm=3, threshold=UNREPLICATED_AGE_THRESHOLD_MS,
                             comparison="GreaterThanThreshold"))
        for g in cfg.global_secondary_indexes:
            out.append(_spec(cfg, f"OnlineIndexPercentageProgress-{g.index_name}",
                             f"building index {g.index_name} has not finished within an hour",
                             MonitoringLevel.COMPREHENSIVE, metric_name="OnlineIndexPercentageProgress",
                             dimensions=(*table_dims, ("GlobalSecondaryIndexName", g.index_name)),
                             statistic="Maximum", period=300, evaluation_periods=12, datapoints_to_alarm=12,
                             threshold=100.0, comparison="LessThanThreshold"))
        for side in ("Read", "Write"):
            out.append(_spec(cfg, f"AccountProvisioned{side}CapacityUtilization",
                             f"account provisioned {side.lower()} capacity above "
                             f"{CAPACITY_UTILISATION_PERCENT:.0f}% of the account quota",
                             MonitoringLevel.COMPREHENSIVE,
                             metric_name=f"AccountProvisioned{side}CapacityUtilization", dimensions=(),
                             statistic="Maximum", period=300, evaluation_periods=2, datapoints_to_alarm=2,
                             threshold=CAPACITY_UTILISATION_PERCENT, comparison="GreaterThanThreshold"))
    return out


# -- where alarms go ------------------------------------------------------------------------------------


def creates_alarm_topic(cfg: TableConfig) -> bool:
    """FedRAMP tiers route every alarm somewhere (CLOUDWATCH_ALARM_ACTION_CHECK; SI-4, IR-4): without
    ``monitoring.alarmTopicArn`` ddbkit creates a KMS-encrypted SNS topic (:func:`alarm_topic_name`) for them."""
    fedramp = cfg.compliance_framework in (ComplianceFramework.FEDRAMP_MODERATE, ComplianceFramework.FEDRAMP_HIGH)
    return bool(fedramp) and not (cfg.monitoring and cfg.monitoring.alarm_topic_arn)


def alarm_topic_name(table: str) -> str:
    """``ddbkit-alarms-<table>`` (SNS names take letters, digits, ``-`` and ``_`` only)."""
    return "ddbkit-alarms-" + re.sub(r"[^A-Za-z0-9_-]", "-", table)


def alarm_topic_key_alias(table: str) -> str:
    return f"alias/ddbkit/{table}-alarms"


def alarm_topic_key_policy(root_arn: Any) -> dict[str, Any]:
    """The alarm topic key's policy: the account root manages it; CloudWatch may use it to publish alarms
    to the encrypted topic (without this grant, an alarm on a CMK-encrypted topic notifies nobody)."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "AccountRootManagesKey", "Effect": "Allow", "Principal": {"AWS": root_arn}, "Action": "kms:*",
         "Resource": "*"},
        {"Sid": "CloudWatchPublishesAlarms", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*"},
    ]}
