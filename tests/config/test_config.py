"""The table-component config model: structure, DynamoDB's CreateTable rules, YAML loading, schema."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ddbkit.config import (
    BillingMode,
    ConfigError,
    TableConfig,
    check_table_config,
    dynamodb_table_config_schema,
    load_component_file,
    load_component_text,
    parse_table_config,
    schedule_error,
    schedule_is_daily,
)

ROOT = Path(__file__).resolve().parents[2]
# The component spec's first example, copied into the repo (origin noted in the file).
SPEC_FIRST_EXAMPLE = ROOT / "tests" / "fixtures" / "spec" / "first-example.yaml"
EXAMPLES = sorted((ROOT / "examples").glob("*/component.yaml"))

BASE: dict[str, Any] = {
    "tableName": "Orders",
    "billingMode": "PAY_PER_REQUEST",
    "attributeDefinitions": [
        {"attributeName": "pk", "attributeType": "S"},
        {"attributeName": "sk", "attributeType": "S"},
        {"attributeName": "gpk", "attributeType": "S"},
        {"attributeName": "lsk", "attributeType": "N"},
    ],
    "keySchema": [{"attributeName": "pk", "keyType": "HASH"}, {"attributeName": "sk", "keyType": "RANGE"}],
    "globalSecondaryIndexes": [
        {
            "indexName": "ByG",
            "keySchema": [{"attributeName": "gpk", "keyType": "HASH"}],
            "projection": {"projectionType": "ALL"},
        }
    ],
    "localSecondaryIndexes": [
        {
            "indexName": "ByL",
            "keySchema": [
                {"attributeName": "pk", "keyType": "HASH"},
                {"attributeName": "lsk", "keyType": "RANGE"},
            ],
            "projection": {"projectionType": "INCLUDE", "nonKeyAttributes": ["a"]},
        }
    ],
}


def rules_of(data: dict[str, Any]) -> dict[str, str]:
    """{rule: dotted path} of every issue (structural or DynamoDB rule)."""
    try:
        parse_table_config(data)
    except ConfigError as err:
        return {i.rule: i.where for i in err.issues}
    return {}


def mutate(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def test_base_config_is_valid() -> None:
    cfg = parse_table_config(BASE)
    assert cfg.hash_key == "pk" and cfg.range_key == "sk"
    assert cfg.index_keys() == {"ByG": ("gpk", None), "ByL": ("pk", "lsk")}
    assert check_table_config(cfg) == []


@pytest.mark.parametrize("value", ["ON_DEMAND", "on_demand", "PAY_PER_REQUEST"])
def test_on_demand_and_pay_per_request_are_the_same(value: str) -> None:
    assert parse_table_config(mutate(billingMode=value)).billing_mode is BillingMode.PAY_PER_REQUEST


def test_unknown_billing_mode_names_field() -> None:
    assert "billingMode" in rules_of(mutate(billingMode="FREE")).values()


@pytest.mark.parametrize(
    "name,ok",
    [
        ("abc", True),
        ("a.b-c_D9", True),
        ("ab", False),
        ("x" * 256, False),
        ("has space", False),
        ("x" * 255, True),
        ("bad/slash", False),
    ],
)
def test_table_name_rule(name: str, ok: bool) -> None:
    got = rules_of(mutate(tableName=name))
    assert ("name.format" not in got) is ok
    if not ok:
        assert got["name.format"] == "tableName"


def test_index_name_rule_and_duplicates() -> None:
    data = mutate()
    data["globalSecondaryIndexes"][0]["indexName"] = "x"
    assert rules_of(data)["name.format"] == "globalSecondaryIndexes[0].indexName"
    data = mutate()
    data["localSecondaryIndexes"][0]["indexName"] = "ByG"
    assert rules_of(data)["index.duplicate"] == "localSecondaryIndexes[0].indexName"


def test_unused_attribute_definition_rejected() -> None:
    data = mutate()
    data["attributeDefinitions"].append({"attributeName": "status", "attributeType": "S"})
    assert rules_of(data) == {"attributes.unused": "attributeDefinitions[4]"}


def test_undefined_key_attribute_rejected() -> None:
    data = mutate()
    data["attributeDefinitions"] = [a for a in data["attributeDefinitions"] if a["attributeName"] != "gpk"]
    assert rules_of(data) == {"attributes.undefined": "globalSecondaryIndexes[0].keySchema[0].attributeName"}


def test_duplicate_attribute_definition_rejected() -> None:
    data = mutate()
    data["attributeDefinitions"].append({"attributeName": "pk", "attributeType": "S"})
    assert "attributes.duplicate" in rules_of(data)


@pytest.mark.parametrize(
    "schema",
    [
        [{"attributeName": "sk", "keyType": "RANGE"}],
        [{"attributeName": "pk", "keyType": "HASH"}, {"attributeName": "sk", "keyType": "HASH"}],
        [],
        [{"attributeName": "pk", "keyType": "HASH"}, {"attributeName": "pk", "keyType": "RANGE"}],
        [
            {"attributeName": "pk", "keyType": "HASH"},
            {"attributeName": "sk", "keyType": "RANGE"},
            {"attributeName": "gpk", "keyType": "RANGE"},
        ],
    ],
)
def test_key_schema_shape(schema: list[dict[str, str]]) -> None:
    assert rules_of(mutate(keySchema=schema)).get("key-schema.shape") == "keySchema"


def test_key_type_enum() -> None:
    got = rules_of(mutate(keySchema=[{"attributeName": "pk", "keyType": "PARTITION"}]))
    assert any(p.startswith("keySchema[0].keyType") for p in got.values())


def test_lsi_needs_table_range_key() -> None:
    data = mutate(keySchema=[{"attributeName": "pk", "keyType": "HASH"}])
    data["attributeDefinitions"] = [a for a in data["attributeDefinitions"] if a["attributeName"] != "sk"]
    assert rules_of(data) == {"lsi.table-range": "localSecondaryIndexes[0]"}


def test_lsi_hash_must_be_table_hash_and_needs_range() -> None:
    data = mutate()
    data["localSecondaryIndexes"][0]["keySchema"] = [{"attributeName": "gpk", "keyType": "HASH"}]
    got = rules_of(data)
    assert got["lsi.hash"] == "localSecondaryIndexes[0].keySchema"
    assert got["lsi.range"] == "localSecondaryIndexes[0].keySchema"


def test_index_count_limits() -> None:
    def gsi(i: int) -> dict[str, Any]:
        return {"indexName": f"G{i:03d}", "keySchema": [{"attributeName": "gpk", "keyType": "HASH"}]}

    assert "gsi.limit" not in rules_of(mutate(globalSecondaryIndexes=[gsi(i) for i in range(20)]))
    assert (
        rules_of(mutate(globalSecondaryIndexes=[gsi(i) for i in range(21)]))["gsi.limit"]
        == "globalSecondaryIndexes"
    )
    lsi = BASE["localSecondaryIndexes"][0]
    lsis = [dict(lsi, indexName=f"L{i:03d}") for i in range(6)]
    assert rules_of(mutate(localSecondaryIndexes=lsis[:5])) == {}
    assert rules_of(mutate(localSecondaryIndexes=lsis))["lsi.limit"] == "localSecondaryIndexes"


def test_projection_rules() -> None:
    data = mutate()
    data["localSecondaryIndexes"][0]["projection"] = {"projectionType": "INCLUDE"}
    assert rules_of(data) == {"projection.include": "localSecondaryIndexes[0].projection.nonKeyAttributes"}
    data = mutate()
    data["globalSecondaryIndexes"][0]["projection"] = {
        "projectionType": "KEYS_ONLY",
        "nonKeyAttributes": ["x"],
    }
    assert rules_of(data) == {"projection.include": "globalSecondaryIndexes[0].projection.nonKeyAttributes"}


def test_non_key_attributes_total_limit() -> None:
    data = mutate()
    data["globalSecondaryIndexes"][0]["projection"] = {
        "projectionType": "INCLUDE",
        "nonKeyAttributes": [f"a{i}" for i in range(99)],
    }
    assert rules_of(data) == {}  # 99 + 1 in the LSI = 100
    data["globalSecondaryIndexes"][0]["projection"]["nonKeyAttributes"].append("one-more")
    assert rules_of(data) == {"projection.limit": "globalSecondaryIndexes"}


def test_on_demand_forbids_throughput() -> None:
    data = mutate(provisionedThroughput={"readCapacityUnits": 5, "writeCapacityUnits": 5})
    assert rules_of(data) == {"billing.on-demand": "provisionedThroughput"}
    data = mutate()
    data["globalSecondaryIndexes"][0]["provisionedThroughput"] = {
        "readCapacityUnits": 5,
        "writeCapacityUnits": 5,
    }
    assert rules_of(data) == {"billing.on-demand": "globalSecondaryIndexes[0].provisionedThroughput"}


def test_provisioned_needs_throughput_on_table_and_gsis() -> None:
    got = rules_of(mutate(billingMode="PROVISIONED"))
    assert got["billing.provisioned"] in (
        "provisionedThroughput",
        "globalSecondaryIndexes[0].provisionedThroughput",
    )
    data = mutate(
        billingMode="PROVISIONED", provisionedThroughput={"readCapacityUnits": 5, "writeCapacityUnits": 5}
    )
    assert rules_of(data) == {"billing.provisioned": "globalSecondaryIndexes[0].provisionedThroughput"}
    data["globalSecondaryIndexes"][0]["provisionedThroughput"] = {
        "readCapacityUnits": 5,
        "writeCapacityUnits": 5,
    }
    assert rules_of(data) == {}


def test_missing_billing_mode_inferred_from_throughput() -> None:
    data = mutate(billingMode=None, provisionedThroughput={"readCapacityUnits": 5, "writeCapacityUnits": 5})
    data["globalSecondaryIndexes"][0]["provisionedThroughput"] = {
        "readCapacityUnits": 1,
        "writeCapacityUnits": 1,
    }
    assert parse_table_config(data).effective_billing_mode is BillingMode.PROVISIONED
    assert parse_table_config(mutate(billingMode=None)).effective_billing_mode is BillingMode.PAY_PER_REQUEST


def test_stream_view_type_rules() -> None:
    assert rules_of(mutate(streamSpecification={"streamEnabled": False, "streamViewType": "NEW_IMAGE"})) == {
        "stream.view-type": "streamSpecification.streamViewType"
    }
    assert rules_of(mutate(streamSpecification={"streamEnabled": True})) == {
        "stream.view-type": "streamSpecification.streamViewType"
    }
    assert rules_of(mutate(streamSpecification={"streamEnabled": True, "streamViewType": "KEYS_ONLY"})) == {}


def test_ttl_key_attribute_must_be_number() -> None:
    assert rules_of(mutate(timeToLiveSpecification={"enabled": True, "attributeName": "gpk"})) == {
        "ttl.type": "timeToLiveSpecification.attributeName"
    }
    assert rules_of(mutate(timeToLiveSpecification={"enabled": True, "attributeName": "lsk"})) == {}
    assert rules_of(mutate(timeToLiveSpecification={"enabled": True, "attributeName": "expiresAt"})) == {}


@pytest.mark.parametrize(
    "expr",
    [
        "cron(0 2 * * ? *)",
        "cron(0 2 ? * SUN *)",
        "cron(0/15 * * * ? *)",
        "cron(30 1 1,15 * ? *)",
        "cron(0 5 ? * MON-FRI *)",
        "cron(0 0 L * ? 2026-2030)",
        "cron(0 3 ? * 6#3 *)",
    ],
)
def test_valid_schedules(expr: str) -> None:
    assert schedule_error(expr) is None


@pytest.mark.parametrize(
    "expr",
    [
        "cron(0 2 * * * *)",
        "cron(0 2 ? * ? *)",
        "cron(60 2 * * ? *)",
        "cron(0 24 * * ? *)",
        "cron(0 2 * * ?)",
        "every day",
        "rate(1 days)",
        "rate(2 day)",
        "rate(0 days)",
        "rate(1 day)",  # AWS Backup takes cron only (issue 16)
        "rate(12 hours)",
        "cron(0 2 32 * ? *)",
        "cron(0 2 * 13 ? *)",
    ],
)
def test_invalid_schedules(expr: str) -> None:
    assert schedule_error(expr)
    data = mutate(backupPolicy={"backupPlan": {"ruleName": "R", "schedule": expr, "retention": 30}})
    assert rules_of(data) == {"backup.schedule": "backupPolicy.backupPlan.schedule"}


def test_daily_schedule_detection() -> None:
    assert schedule_is_daily("cron(0 2 * * ? *)") and not schedule_is_daily("rate(1 day)")  # cron only
    assert schedule_is_daily("cron(0 2 ? * SUN-SAT *)") and schedule_is_daily("cron(0 2 1-31 * ? *)")
    assert not schedule_is_daily("cron(0 2 ? * SUN *)") and not schedule_is_daily("rate(2 days)")


def test_backup_retention_and_rule_names() -> None:
    rule = {"ruleName": "R", "schedule": "cron(0 2 * * ? *)", "retention": 0}
    assert rules_of(mutate(backupPolicy={"backupPlan": rule})) == {
        "backup.retention": "backupPolicy.backupPlan.retention"
    }
    rule = {**rule, "retention": 100, "coldStorageAfter": 30}
    assert rules_of(mutate(backupPolicy={"backupPlan": rule})) == {
        "backup.retention": "backupPolicy.backupPlan.retention"
    }
    rule["retention"] = 120
    assert rules_of(mutate(backupPolicy={"backupPlan": rule, "scheduledBackups": [rule]})) == {
        "backup.rule-name": "backupPolicy.scheduledBackups[0].ruleName"
    }


def test_pitr_flags_must_agree() -> None:
    data = mutate(pointInTimeRecoveryEnabled=True, backupPolicy={"pointInTimeRecoveryEnabled": False})
    assert rules_of(data) == {"pitr.conflict": "backupPolicy.pointInTimeRecoveryEnabled"}
    cfg = parse_table_config(mutate(backupPolicy={"continuousBackups": {"enabled": True}}))
    assert cfg.pitr_enabled


@pytest.mark.parametrize(
    "name,ok",
    [
        ("sessions-dax", True),
        ("a", True),
        ("x" * 20, True),
        ("x" * 21, False),
        ("1dax", False),
        ("da--x", False),
        ("dax-", False),
        ("dax_1", False),
    ],
)
def test_dax_cluster_name(name: str, ok: bool) -> None:
    got = rules_of(mutate(daxCluster={"enabled": True, "clusterName": name}))
    assert ("dax.name" not in got) is ok


def test_dax_replication_factor_and_node_type() -> None:
    got = rules_of(
        mutate(
            daxCluster={"enabled": True, "clusterName": "c", "replicationFactor": 11, "nodeType": "r5.large"}
        )
    )
    assert got == {
        "dax.replication-factor": "daxCluster.replicationFactor",
        "dax.node-type": "daxCluster.nodeType",
    }
    assert rules_of(mutate(daxCluster={"enabled": False, "replicationFactor": 11})) == {}


GT = {
    "regions": ["us-east-1", "us-west-2"],
    "replicationGroup": [{"region": "us-east-1"}, {"region": "us-west-2"}],
}


def test_global_table_regions_consistent() -> None:
    assert rules_of(mutate(globalTables=GT)) == {}
    bad = copy.deepcopy(GT)
    bad["replicationGroup"][1]["region"] = "eu-west-1"
    assert rules_of(mutate(globalTables=bad)) == {"global.regions": "globalTables.replicationGroup"}
    assert rules_of(mutate(globalTables={"regions": ["us-east-1"]})) == {
        "global.regions": "globalTables.regions"
    }
    assert rules_of(mutate(globalTables={"regions": ["us-east-1", "Mars-1"]})) == {
        "region.format": "globalTables.regions[1]"
    }


def test_global_table_stream_must_be_new_and_old() -> None:
    data = mutate(globalTables=GT, streamSpecification={"streamEnabled": True, "streamViewType": "KEYS_ONLY"})
    assert rules_of(data) == {"global.stream": "streamSpecification"}


def test_replica_kms_region_must_match() -> None:
    gt = copy.deepcopy(GT)
    gt["replicationGroup"][1]["kmsKeyId"] = (
        "arn:aws:kms:us-east-1:123456789012:key/12345678-1234-1234-1234-123456789012"
    )
    assert rules_of(mutate(globalTables=gt)) == {"kms.region": "globalTables.replicationGroup[1].kmsKeyId"}


def test_replicas_need_keys_with_customer_managed_key() -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/12345678-1234-1234-1234-123456789012"
    data = mutate(globalTables=GT, sseSpecification={"sseEnabled": True, "kmsMasterKeyId": key})
    assert rules_of(data) == {"global.kms": "globalTables.replicationGroup"}


@pytest.mark.parametrize(
    "key,ok",
    [
        ("arn:aws:kms:us-east-1:123456789012:key/12345678-1234-1234-1234-123456789012", True),
        ("12345678-1234-1234-1234-123456789012", True),
        ("alias/my-key", True),
        ("arn:aws:kms:us-east-1:123456789012:alias/my-key", True),
        ("arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef", True),
        ("arn:aws:kms:us-east-1:123456789012:key/primary-key", False),  # the spec's placeholder
        ("arn:aws:kms:us-east-1:1234:key/12345678-1234-1234-1234-123456789012", False),
        ("my-key", False),
    ],
)
def test_kms_key_format(key: str, ok: bool) -> None:
    got = rules_of(mutate(sseSpecification={"sseEnabled": True, "kmsMasterKeyId": key}))
    assert ("kms.format" not in got) is ok


def test_autoscaling_rules() -> None:
    pt = {"readCapacityUnits": 10, "writeCapacityUnits": 10}
    base = mutate(billingMode="PROVISIONED", provisionedThroughput=pt)
    base["globalSecondaryIndexes"][0]["provisionedThroughput"] = pt
    ok = {
        "readCapacity": {
            "minCapacity": 5,
            "maxCapacity": 100,
            "targetTrackingScalingPolicyConfiguration": {"targetValue": 70},
        }
    }
    assert rules_of({**base, "autoScaling": ok}) == {}
    bad = {
        "readCapacity": {
            "minCapacity": 50,
            "maxCapacity": 5,
            "targetTrackingScalingPolicyConfiguration": {"targetValue": 95},
        }
    }
    got = rules_of({**base, "autoScaling": bad})
    assert (
        got["autoscaling.target"]
        == "autoScaling.readCapacity.targetTrackingScalingPolicyConfiguration.targetValue"
    )
    assert got["autoscaling.range"] == "autoScaling.readCapacity.minCapacity"
    assert rules_of(mutate(autoScaling=ok)) == {"autoscaling.on-demand": "autoScaling"}


def test_provisioned_global_table_needs_write_autoscaling() -> None:
    pt = {"readCapacityUnits": 10, "writeCapacityUnits": 10}
    data = mutate(billingMode="PROVISIONED", provisionedThroughput=pt, globalTables=GT)
    data["globalSecondaryIndexes"][0]["provisionedThroughput"] = pt
    assert rules_of(data) == {"global.autoscaling": "autoScaling.writeCapacity"}


def test_tags_rules() -> None:
    assert rules_of(mutate(tags={"aws:reserved": "x"})) == {"tags.key": "tags.aws:reserved"}
    assert "tags.limit" in rules_of(mutate(tags={f"k{i}": "v" for i in range(51)}))
    got = rules_of(mutate(tags={"enabled": True}))
    assert got and "tags" in next(iter(got.values()))


def test_unknown_field_is_an_error_naming_it() -> None:
    got = rules_of(mutate(tableNmae="x"))
    assert got == {"schema.extra_forbidden": "tableNmae"}


# --------------------------------------------------------------------------------------------------
# YAML files
# --------------------------------------------------------------------------------------------------


def spec_first_example() -> str:
    return SPEC_FIRST_EXAMPLE.read_text()


def test_spec_first_example_is_rejected_with_clear_messages() -> None:
    with pytest.raises(ConfigError) as exc:
        load_component_text(spec_first_example(), "spec.yaml")
    issues = {i.rule: i for i in exc.value.issues}
    assert set(issues) == {"lsi.table-range", "attributes.undefined"}
    assert issues["lsi.table-range"].where == "components[0].config.localSecondaryIndexes[0]"
    assert "RANGE" in issues["lsi.table-range"].message
    assert "'sessionType'" in issues["attributes.undefined"].message
    # line numbers point into the YAML
    lines = spec_first_example().splitlines()
    assert "sessionType" in lines[issues["attributes.undefined"].line - 1]  # type: ignore[operator]
    assert "spec.yaml" in str(exc.value)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.parent.name)
def test_examples_are_valid(path: Path) -> None:
    loaded = load_component_file(path)
    assert loaded.tables


def test_session_store_example_is_the_corrected_spec() -> None:
    cfg = load_component_file(ROOT / "examples/session-store/component.yaml").table("user-sessions")
    assert cfg.table_name == "UserSessions" and cfg.local_secondary_indexes == []
    assert "SessionTypeIndex" in cfg.index_keys() and cfg.attribute_types()["sessionType"] == "S"
    assert cfg.billing_mode is BillingMode.PAY_PER_REQUEST and cfg.ttl_attribute == "expiresAt"


def test_yaml_syntax_error_has_line() -> None:
    with pytest.raises(ConfigError) as exc:
        load_component_text("components:\n  - name: [x\n", "bad.yaml")
    assert exc.value.issues[0].rule == "yaml.syntax" and exc.value.issues[0].line


def test_yaml_duplicate_key_is_an_error() -> None:
    text = "components:\n  - name: t\n    type: dynamodb-table\n    name: u\n"
    with pytest.raises(ConfigError) as exc:
        load_component_text(text)
    assert exc.value.issues[0].rule == "yaml.duplicate-key" and exc.value.issues[0].line == 4


def test_bare_table_config_is_accepted() -> None:
    import yaml

    loaded = load_component_text(yaml.safe_dump(BASE))
    assert loaded.table().table_name == "Orders"


def test_binds_are_checked() -> None:
    import yaml

    doc = {
        "components": [
            {"name": "t", "type": "dynamodb-table", "config": BASE},
            {
                "name": "fn",
                "type": "lambda-api",
                "binds": [
                    {"to": "t", "access": "stream-read"},
                    {"to": "nope", "access": "read"},
                    {"to": "t", "access": "admin"},
                ],
            },
        ]
    }
    with pytest.raises(ConfigError) as exc:
        load_component_text(yaml.safe_dump(doc))
    got = {i.rule: i.where for i in exc.value.issues}
    assert got["schema.literal_error"] == "components[1].binds[2].access"
    doc["components"][1]["binds"] = doc["components"][1]["binds"][:2]
    with pytest.raises(ConfigError) as exc:
        load_component_text(yaml.safe_dump(doc))
    got = {i.rule: i.where for i in exc.value.issues}
    assert got == {"bind.stream": "components[1].binds[0].access", "bind.target": "components[1].binds[1].to"}


def test_yaml_round_trip() -> None:
    import yaml

    cfg = load_component_file(ROOT / "examples/session-store/component.yaml").table()
    again = load_component_text(yaml.safe_dump(cfg.to_yaml_dict())).table()
    assert again == cfg


def test_model_uses_snake_case_in_python() -> None:
    cfg = TableConfig(
        table_name="Abc",
        attribute_definitions=[{"attribute_name": "id", "attribute_type": "S"}],
        key_schema=[{"attribute_name": "id", "key_type": "HASH"}],
    )  # type: ignore[list-item]
    assert cfg.to_yaml_dict()["tableName"] == "Abc" and cfg.hash_key == "id"


# --------------------------------------------------------------------------------------------------
# JSON Schema
# --------------------------------------------------------------------------------------------------


def test_schema_file_is_current() -> None:
    committed = json.loads((ROOT / "docs/schema/dynamodb-table.schema.json").read_text())
    assert committed == dynamodb_table_config_schema(), (
        "run: ddbkit schema -o docs/schema/dynamodb-table.schema.json"
    )


def test_schema_validates_examples_and_rejects_typos() -> None:
    import jsonschema
    import yaml

    schema = dynamodb_table_config_schema()
    for path in EXAMPLES:
        for comp in yaml.safe_load(path.read_text())["components"]:
            if comp["type"] == "dynamodb-table":
                jsonschema.validate(comp["config"], schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**BASE, "billingMode": "FREE"}, schema)


def test_schema_constant_is_exported() -> None:
    import ddbkit.config as config

    assert config.DYNAMODB_TABLE_CONFIG_SCHEMA["title"] == "DynamodbTableConfig"


# --------------------------------------------------------------------------------------------------
# Errors as a user meets them (issue 17)
# --------------------------------------------------------------------------------------------------


def test_yaml_syntax_error_keeps_its_lines_and_caret() -> None:
    with pytest.raises(ConfigError) as exc:
        load_component_text("components:\n  - name: [x\n    type: t\n", "bad.yaml")
    text = str(exc.value)
    assert "\n" in exc.value.issues[0].message and "^" in text
    caret = next(line for line in text.splitlines() if line.strip() == "^")
    assert caret.startswith("    ")  # indented under the issue line, not flattened into one line


def test_bad_top_level_compliance_framework_is_reported_on_its_own_path() -> None:
    import yaml

    doc = {"complianceFramework": "fedramp-extreme",
           "components": [{"name": "a", "type": "dynamodb-table", "config": BASE},
                          {"name": "b", "type": "dynamodb-table", "config": {**BASE, "tableName": "Other"}}]}
    with pytest.raises(ConfigError) as exc:
        load_component_text(yaml.safe_dump(doc))
    assert [(i.where, i.rule) for i in exc.value.issues] == [("complianceFramework", "schema.enum")]
    assert "fedramp-extreme" in exc.value.issues[0].message and "fedramp-high" in exc.value.issues[0].message
    assert exc.value.issues[0].line == 1


def test_a_table_error_does_not_cascade_into_its_binds() -> None:
    import yaml

    doc = {"components": [
        {"name": "t", "type": "dynamodb-table", "config": {**BASE, "tableName": "x"}},
        {"name": "fn", "type": "lambda-api", "binds": [{"to": "t", "access": "read"},
                                                       {"to": "t", "access": "stream-read"}]},
        {"name": "other", "type": "s3-bucket"},
        {"name": "fn2", "type": "lambda-api", "binds": [{"to": "other", "access": "read"}]}]}
    with pytest.raises(ConfigError) as exc:
        load_component_text(yaml.safe_dump(doc))
    got = [(i.rule, i.where) for i in exc.value.issues]
    assert got == [("name.format", "components[0].config.tableName"),
                   ("bind.target", "components[3].binds[0].to")]  # a real non-table target is still one


def test_non_key_attributes_duplicates_rejected() -> None:
    data = copy.deepcopy(BASE)
    data["localSecondaryIndexes"][0]["projection"]["nonKeyAttributes"] = ["a0", "b", "a0"]
    assert rules_of(data) == {"projection.duplicate": "localSecondaryIndexes[0].projection.nonKeyAttributes[2]"}


def test_dynamodb_local_rejects_what_projection_duplicate_rejects(ddb_local_backend: Any) -> None:
    """The rule is DynamoDB's: DynamoDB Local refuses the same CreateTable."""
    attrs = ["a0", "a0"]
    from botocore.exceptions import ClientError

    client = ddb_local_backend.client()
    with pytest.raises(ClientError) as exc:
        client.create_table(
            TableName="Dup", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "g", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[{"IndexName": "ByG", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                     "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": attrs}}])
    assert exc.value.response["Error"]["Code"] == "ValidationException"


def test_every_rule_is_documented_with_a_source() -> None:
    from ddbkit.config import RULES

    assert len(RULES) > 40
    for r in RULES.values():
        assert r.summary and r.source, r.id
    checked = {r.id for r in RULES.values() if r.scope == "table"}
    assert {"lsi.table-range", "projection.duplicate", "attributes.undefined"} <= checked
