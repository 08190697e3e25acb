"""Alarms per monitoring level; statistics, periods and datapoints from AWS's recommended alarms."""

from __future__ import annotations

import copy
from typing import Any

import boto3
import pytest

from ddbkit.config import MonitoringLevel, parse_table_config
from ddbkit_infra.synth.alarms import (
    LATENCY_THRESHOLDS_MS,
    REPLICATION_LATENCY_THRESHOLD_MS,
    AlarmSpec,
    alarm_specs,
)

TOPIC = "arn:aws:sns:us-east-1:123456789012:ops-alarms"
TABLE: dict[str, Any] = {
    "tableName": "Scores",
    "billingMode": "PROVISIONED",
    "provisionedThroughput": {"readCapacityUnits": 10, "writeCapacityUnits": 10},
    "attributeDefinitions": [{"attributeName": "id", "attributeType": "S"},
                             {"attributeName": "board", "attributeType": "S"}],
    "keySchema": [{"attributeName": "id", "keyType": "HASH"}],
    "globalSecondaryIndexes": [{"indexName": "ByBoard", "keySchema": [{"attributeName": "board", "keyType": "HASH"}],
                                "provisionedThroughput": {"readCapacityUnits": 5, "writeCapacityUnits": 5}}],
    "streamSpecification": {"streamEnabled": True, "streamViewType": "NEW_AND_OLD_IMAGES"},
    "globalTables": {"regions": ["us-east-1", "us-west-2", "eu-west-1"]},
    "autoScaling": {"writeCapacity": {"minCapacity": 5, "maxCapacity": 100}},
}


def cfg(level: str, **over: Any) -> Any:
    data = copy.deepcopy(TABLE)
    data["monitoring"] = {"level": level, **over}
    return parse_table_config(data)


def by_key(specs: list[AlarmSpec]) -> dict[str, AlarmSpec]:
    return {s.key: s for s in specs}


def shape(s: AlarmSpec) -> tuple[Any, ...]:
    return (s.metric_name, s.statistic, s.period, s.evaluation_periods, s.datapoints_to_alarm, s.comparison,
            s.threshold)


def test_basic_level() -> None:
    specs = by_key(alarm_specs(cfg("basic"), home_region="us-east-1"))
    assert set(specs) == {"SystemErrors", "ReadThrottleEvents", "WriteThrottleEvents",
                          "ReadThrottleEvents-index-ByBoard", "WriteThrottleEvents-index-ByBoard"}
    assert shape(specs["SystemErrors"]) == ("SystemErrors", "Sum", 60, 15, 15, "GreaterThanThreshold", 0.0)
    for key in ("ReadThrottleEvents", "WriteThrottleEvents-index-ByBoard"):
        assert shape(specs[key])[1:5] == ("Sum", 60, 5, 5)
    assert specs["WriteThrottleEvents-index-ByBoard"].dimensions == (
        ("TableName", "Scores"), ("GlobalSecondaryIndexName", "ByBoard"))
    assert all(s.name == f"ddbkit-Scores-{s.key}" for s in specs.values())


def test_enhanced_level_adds_capacity_latency_and_errors() -> None:
    basic = set(by_key(alarm_specs(cfg("basic"), home_region="us-east-1")))
    specs = by_key(alarm_specs(cfg("enhanced"), home_region="us-east-1"))
    added = set(specs) - basic
    assert added == {*(f"SuccessfulRequestLatency-{op}" for op in LATENCY_THRESHOLDS_MS),
                     "ConditionalCheckFailedRequests", "UserErrors",
                     "ReadCapacityUtilization", "WriteCapacityUtilization",
                     "ReadCapacityUtilization-index-ByBoard", "WriteCapacityUtilization-index-ByBoard"}
    latency = specs["SuccessfulRequestLatency-GetItem"]
    assert shape(latency) == ("SuccessfulRequestLatency", "Average", 60, 10, 10, "GreaterThanThreshold", 20.0)
    assert ("Operation", "GetItem") in latency.dimensions
    assert specs["UserErrors"].dimensions == ()  # account-wide metric
    util = specs["ReadCapacityUtilization-index-ByBoard"]
    assert util.threshold == 80.0 and util.comparison == "GreaterThanThreshold"
    consumed, provisioned, expr = util.metrics
    assert (consumed.metric_name, consumed.stat) == ("ConsumedReadCapacityUnits", "Sum")
    assert (provisioned.metric_name, provisioned.stat) == ("ProvisionedReadCapacityUnits", "Average")
    assert expr.return_data and expr.expression == "100 * (consumed / 60) / provisioned"
    assert ("GlobalSecondaryIndexName", "ByBoard") in consumed.dimensions


def test_capacity_alarms_only_for_provisioned_tables() -> None:
    data = copy.deepcopy(TABLE)
    data.update(billingMode="PAY_PER_REQUEST", monitoring={"level": "enhanced"})
    data.pop("provisionedThroughput"), data.pop("autoScaling")
    data["globalSecondaryIndexes"][0].pop("provisionedThroughput")
    keys = set(by_key(alarm_specs(parse_table_config(data), home_region="us-east-1")))
    assert not [k for k in keys if "CapacityUtilization" in k]


def test_comprehensive_level_adds_replication_index_and_account_alarms() -> None:
    specs = by_key(alarm_specs(cfg("comprehensive"), home_region="us-west-2"))
    repl = {k for k in specs if k.startswith(("ReplicationLatency", "AgeOfOldest"))}
    # per replica region: every globalTables region except the home region
    assert repl == {"ReplicationLatency-us-east-1", "ReplicationLatency-eu-west-1",
                    "AgeOfOldestUnreplicatedRecord-us-east-1", "AgeOfOldestUnreplicatedRecord-eu-west-1"}
    lat = specs["ReplicationLatency-eu-west-1"]
    assert shape(lat) == ("ReplicationLatency", "Average", 60, 15, 15, "GreaterThanThreshold",
                          REPLICATION_LATENCY_THRESHOLD_MS)
    assert ("ReceivingRegion", "eu-west-1") in lat.dimensions
    assert specs["AgeOfOldestUnreplicatedRecord-us-east-1"].statistic == "Maximum"
    assert shape(specs["AccountProvisionedReadCapacityUtilization"]) == (
        "AccountProvisionedReadCapacityUtilization", "Maximum", 300, 2, 2, "GreaterThanThreshold", 80.0)
    assert specs["AccountProvisionedWriteCapacityUtilization"].dimensions == ()
    idx = specs["OnlineIndexPercentageProgress-ByBoard"]
    assert idx.comparison == "LessThanThreshold" and idx.threshold == 100.0


def test_level_counts_grow_and_override_parameter() -> None:
    c = cfg("basic")
    counts = [len(alarm_specs(c, home_region="us-east-1", level=lvl)) for lvl in MonitoringLevel]
    assert counts == sorted(counts) and len(set(counts)) == 3
    assert counts == [5, 5 + 7 + 2 + 4, 5 + 7 + 2 + 4 + 4 + 1 + 2]
    names = [s.name for s in alarm_specs(c, home_region="us-east-1", level=MonitoringLevel.COMPREHENSIVE)]
    assert len(names) == len(set(names))


def test_topic_becomes_alarm_and_ok_actions() -> None:
    with_topic = cfg("basic", alarmTopicArn=TOPIC)
    spec = alarm_specs(with_topic)[0]
    params = spec.put_metric_alarm_params([TOPIC])
    assert params["AlarmActions"] == [TOPIC] and params["OKActions"] == [TOPIC]
    assert "AlarmActions" not in spec.put_metric_alarm_params()
    assert spec.cfn_properties([TOPIC]) == params  # synth and apply share one definition


@pytest.mark.parametrize("level", [lvl.value for lvl in MonitoringLevel])
def test_cloudwatch_accepts_every_alarm(level: str) -> None:
    """moto's CloudWatch validates PutMetricAlarm (metric math included); it stores what we send."""
    from moto import mock_aws

    specs = alarm_specs(cfg(level), home_region="us-east-1")
    with mock_aws():
        cw = boto3.client("cloudwatch", region_name="us-east-1")
        for s in specs:
            cw.put_metric_alarm(**s.put_metric_alarm_params([TOPIC]))
        got = {a["AlarmName"]: a for a in cw.describe_alarms(AlarmNamePrefix="ddbkit-Scores-")["MetricAlarms"]}
    assert set(got) == {s.name for s in specs}
    sys_err = got["ddbkit-Scores-SystemErrors"]
    assert (sys_err["Period"], sys_err["EvaluationPeriods"], sys_err["DatapointsToAlarm"]) == (60, 15, 15)
    assert sys_err["AlarmActions"] == [TOPIC]
