"""The table-component config model: one description of a DynamoDB table and its surroundings.

The runtime SDK reads key schema, indexes and TTL from it; ``ddbkit_infra`` provisions, synthesises
CloudFormation and derives IAM from it. Field names are the spec's camelCase YAML keys (aliases), with
snake_case attributes for Python code.

Two layers of checking:

* structure (types, enums, unknown keys) by pydantic while building the models (:mod:`.model`);
* DynamoDB's own CreateTable rules (and AWS Backup / DAX / KMS / autoscaling rules) by
  :func:`check_table_config`, a loop over the rule registry in :mod:`.rules` (one function per rule id),
  which returns every problem with the field path and the rule broken.

:func:`load_component_file` runs both and raises :class:`ConfigError` with YAML line numbers.

This package imports pydantic, so ``import ddbkit`` does not import it (Lambda cold start); it is loaded
only when a config is used.
"""

from __future__ import annotations

from typing import Any

from .load import load_component_file, load_component_text, parse_table_config
from .model import (
    AttributeDefinition,
    AutoScaling,
    BackupPolicy,
    BackupRule,
    Bind,
    BillingMode,
    CapacityScaling,
    Component,
    ComponentFile,
    ComplianceFramework,
    ConfigError,
    ConfigIssue,
    ContinuousBackups,
    ContributorInsightsSpecification,
    CopyAction,
    DaxCluster,
    DaxSSE,
    GlobalSecondaryIndex,
    GlobalTables,
    KeySchemaElement,
    LocalSecondaryIndex,
    AuditTrail,
    Monitoring,
    ResourcePolicy,
    VpcEndpoints,
    MonitoringLevel,
    Path_,
    Projection,
    ProvisionedThroughput,
    Replica,
    SSESpecification,
    StreamSpecification,
    TableConfig,
    TargetTracking,
    TimeToLiveSpecification,
    dynamodb_table_config_schema,
    format_path,
)
from .rules import (
    DAX_NAME_RE,
    DAX_NODE_RE,
    KMS_KEY_RE,
    MAX_GSI,
    MAX_LSI,
    MAX_NON_KEY_ATTRIBUTES,
    MAX_TAGS,
    NAME_RE,
    REGION_RE,
    RULES,
    SNS_ARN_RE,
    Rule,
    check_table_config,
    check_table_warnings,
    kms_key_region,
    rule,
    schedule_error,
    schedule_is_daily,
)

__all__ = [
    "AttributeDefinition",
    "AutoScaling",
    "BackupPolicy",
    "BackupRule",
    "Bind",
    "BillingMode",
    "CapacityScaling",
    "Component",
    "ComponentFile",
    "ComplianceFramework",
    "ConfigError",
    "ConfigIssue",
    "ContinuousBackups",
    "ContributorInsightsSpecification",
    "CopyAction",
    "DAX_NAME_RE",
    "DAX_NODE_RE",
    "DaxCluster",
    "DaxSSE",
    "GlobalSecondaryIndex",
    "GlobalTables",
    "KMS_KEY_RE",
    "KeySchemaElement",
    "LocalSecondaryIndex",
    "MAX_GSI",
    "MAX_LSI",
    "MAX_NON_KEY_ATTRIBUTES",
    "MAX_TAGS",
    "Monitoring",
    "AuditTrail",
    "ResourcePolicy",
    "VpcEndpoints",
    "MonitoringLevel",
    "NAME_RE",
    "Path_",
    "Projection",
    "ProvisionedThroughput",
    "REGION_RE",
    "RULES",
    "Replica",
    "Rule",
    "SNS_ARN_RE",
    "SSESpecification",
    "StreamSpecification",
    "TableConfig",
    "TargetTracking",
    "TimeToLiveSpecification",
    "check_table_config",
    "check_table_warnings",
    "dynamodb_table_config_schema",
    "format_path",
    "kms_key_region",
    "load_component_file",
    "load_component_text",
    "parse_table_config",
    "rule",
    "schedule_error",
    "schedule_is_daily",
]


def __getattr__(name: str) -> Any:
    # Computed on first use: building the schema costs a few ms nobody at runtime needs.
    if name == "DYNAMODB_TABLE_CONFIG_SCHEMA":
        return dynamodb_table_config_schema()
    raise AttributeError(name)
