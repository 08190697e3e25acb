"""The table-component config model: one description of a DynamoDB table and its surroundings.

The runtime SDK reads key schema, indexes and TTL from it; ``ddbkit_infra`` provisions, synthesises
CloudFormation and derives IAM from it. Field names are the spec's camelCase YAML keys (aliases), with
snake_case attributes for Python code.

Two layers of checking:

* structure (types, enums, unknown keys) by pydantic while building the models;
* DynamoDB's own CreateTable rules (and AWS Backup / DAX / KMS / autoscaling rules) by
  :func:`check_table_config`, which returns every problem with the field path and the rule broken.

:func:`load_component_file` runs both and raises :class:`ConfigError` with YAML line numbers.

This module imports pydantic, so ``import ddbkit`` does not import it (Lambda cold start); it is loaded
only when a config is used.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema, field_validator
from pydantic.alias_generators import to_camel

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
    "ContributorInsightsSpecification",
    "CopyAction",
    "DaxCluster",
    "GlobalSecondaryIndex",
    "GlobalTables",
    "KeySchemaElement",
    "LocalSecondaryIndex",
    "Monitoring",
    "MonitoringLevel",
    "Projection",
    "ProvisionedThroughput",
    "Replica",
    "SSESpecification",
    "StreamSpecification",
    "TableConfig",
    "TargetTracking",
    "TimeToLiveSpecification",
    "check_table_config",
    "dynamodb_table_config_schema",
    "load_component_file",
    "load_component_text",
    "parse_table_config",
]

# --------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a config: where (field path, YAML line), which rule, and a readable message."""

    path: Path_
    rule: str
    message: str
    line: int | None = None

    @property
    def where(self) -> str:
        return format_path(self.path)

    def __str__(self) -> str:
        loc = f"line {self.line}: " if self.line else ""
        return f"{loc}{self.where or '<root>'}: {self.message} [{self.rule}]"


class ConfigError(ValueError):
    """Raised when a config file or model breaks a structural or DynamoDB rule; carries every issue."""

    def __init__(self, issues: Sequence[ConfigIssue], source: str | None = None) -> None:
        self.issues = list(issues)
        self.source = source
        head = f"{source}: " if source else ""
        lines = "\n".join(f"  - {i}" for i in self.issues)
        super().__init__(f"{head}{len(self.issues)} config error(s):\n{lines}")


def format_path(path: Iterable[str | int]) -> str:
    """``('globalSecondaryIndexes', 0, 'keySchema')`` -> ``globalSecondaryIndexes[0].keySchema``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


# --------------------------------------------------------------------------------------------------
# Enums
# --------------------------------------------------------------------------------------------------


class BillingMode(str, Enum):
    """DynamoDB billing mode. The spec's ``ON_DEMAND`` is the API's ``PAY_PER_REQUEST``."""

    PAY_PER_REQUEST = "PAY_PER_REQUEST"
    PROVISIONED = "PROVISIONED"


class MonitoringLevel(str, Enum):
    BASIC = "basic"
    ENHANCED = "enhanced"
    COMPREHENSIVE = "comprehensive"

    @property
    def rank(self) -> int:
        return list(MonitoringLevel).index(self)


class ComplianceFramework(str, Enum):
    COMMERCIAL = "commercial"
    FEDRAMP_MODERATE = "fedramp-moderate"
    FEDRAMP_HIGH = "fedramp-high"


# --------------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------------


class _Model(BaseModel):
    """Base: camelCase aliases, snake_case attributes, unknown keys rejected (typos are errors)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        validate_assignment=True,
    )

    def to_yaml_dict(self, *, exclude_unset: bool = False) -> dict[str, Any]:
        """The model as the spec's camelCase mapping, without None fields (and unset ones if asked)."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json",
                               exclude_unset=exclude_unset)


class AttributeDefinition(_Model):
    attribute_name: str = Field(min_length=1, max_length=255)
    attribute_type: Literal["S", "N", "B"]


class KeySchemaElement(_Model):
    attribute_name: str = Field(min_length=1, max_length=255)
    key_type: Literal["HASH", "RANGE"]


class ProvisionedThroughput(_Model):
    read_capacity_units: int = Field(ge=1)
    write_capacity_units: int = Field(ge=1)


class Projection(_Model):
    projection_type: Literal["ALL", "KEYS_ONLY", "INCLUDE"] = "ALL"
    non_key_attributes: list[str] | None = None


class TargetTracking(_Model):
    target_value: float
    scale_in_cooldown: int = Field(default=60, ge=0)
    scale_out_cooldown: int = Field(default=60, ge=0)
    disable_scale_in: bool = False


class CapacityScaling(_Model):
    min_capacity: int = Field(ge=1)
    max_capacity: int = Field(ge=1)
    target_tracking_scaling_policy_configuration: TargetTracking = Field(
        default_factory=lambda: TargetTracking(target_value=70.0)
    )


class AutoScaling(_Model):
    read_capacity: CapacityScaling | None = None
    write_capacity: CapacityScaling | None = None


class GlobalSecondaryIndex(_Model):
    index_name: str
    key_schema: list[KeySchemaElement]
    projection: Projection = Field(default_factory=Projection)
    provisioned_throughput: ProvisionedThroughput | None = None
    auto_scaling: AutoScaling | None = None


class LocalSecondaryIndex(_Model):
    index_name: str
    key_schema: list[KeySchemaElement]
    projection: Projection = Field(default_factory=Projection)


class StreamSpecification(_Model):
    stream_enabled: bool
    stream_view_type: Literal["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"] | None = None


class SSESpecification(_Model):
    """Encryption at rest.

    ``sseEnabled: false`` means DynamoDB's AWS-owned key; ``true`` without a key id means the AWS-managed
    key ``alias/aws/dynamodb``; a ``kmsMasterKeyId`` is a customer-managed key; ``createKey: true`` asks
    ddbkit to provision a customer-managed key with rotation (the FedRAMP tiers' default).
    """

    sse_enabled: bool = True
    sse_type: Literal["KMS"] | None = None
    kms_master_key_id: str | None = None
    create_key: bool = False

    @property
    def customer_managed(self) -> bool:
        key = self.kms_master_key_id or ""
        return self.sse_enabled and (self.create_key or (bool(key) and "alias/aws/" not in key))


class CopyAction(_Model):
    """Copy each recovery point to a backup vault in another region (cross-region DR)."""

    region: str
    vault_name: str | None = None
    retention: int | None = Field(default=None, ge=1)


class BackupRule(_Model):
    rule_name: str = Field(min_length=1, max_length=50)
    schedule: str
    retention: int = Field(description="Days to keep each recovery point (AWS Backup DeleteAfterDays).")
    copy_tags: bool = True
    cold_storage_after: int | None = Field(default=None, ge=1)
    copy_to: list[CopyAction] = Field(default_factory=list)


class ContinuousBackups(_Model):
    enabled: bool


class BackupPolicy(_Model):
    point_in_time_recovery_enabled: bool | None = None
    continuous_backups: ContinuousBackups | None = None
    backup_plan: BackupRule | None = None
    scheduled_backups: list[BackupRule] = Field(default_factory=list)
    vault_name: str | None = None

    @property
    def rules(self) -> list[BackupRule]:
        """Every backup rule: ``backupPlan`` (the spec's short form) then ``scheduledBackups``."""
        return ([self.backup_plan] if self.backup_plan else []) + list(self.scheduled_backups)


class TimeToLiveSpecification(_Model):
    enabled: bool
    attribute_name: str = Field(min_length=1, max_length=255)


class Replica(_Model):
    region: str
    point_in_time_recovery_enabled: bool | None = None
    kms_key_id: str | None = None
    contributor_insights_enabled: bool | None = None
    table_class: Literal["STANDARD", "STANDARD_INFREQUENT_ACCESS"] | None = None


class GlobalTables(_Model):
    regions: list[str] = Field(default_factory=list)
    replication_group: list[Replica] = Field(default_factory=list)

    def all_regions(self) -> list[str]:
        """Regions from ``regions`` then any only in ``replicationGroup``, in order, without repeats."""
        seen: dict[str, None] = dict.fromkeys(self.regions)
        for replica in self.replication_group:
            seen.setdefault(replica.region)
        return list(seen)

    def replica(self, region: str) -> Replica:
        for r in self.replication_group:
            if r.region == region:
                return r
        return Replica(region=region)


class DaxSSE(_Model):
    enabled: bool = True


class DaxCluster(_Model):
    enabled: bool = False
    cluster_name: str | None = None
    node_type: str = "dax.r5.large"
    replication_factor: int = 3
    subnet_group_name: str | None = None
    subnet_ids: list[str] = Field(default_factory=list)
    security_group_ids: list[str] = Field(default_factory=list)
    parameter_group_name: str | None = None
    sse_specification: DaxSSE = Field(default_factory=DaxSSE)
    cluster_endpoint_encryption_type: Literal["NONE", "TLS"] = "TLS"
    iam_role_arn: str | None = None
    endpoint: str | None = Field(default=None, description="Cluster endpoint for the runtime (dax://...).")


class ContributorInsightsSpecification(_Model):
    enabled: bool
    mode: Literal["ACCESSED_AND_THROTTLED_KEYS", "THROTTLED_KEYS"] | None = None


class Monitoring(_Model):
    level: MonitoringLevel = MonitoringLevel.BASIC
    alarm_topic_arn: str | None = Field(default=None, description="SNS topic for alarm actions.")


class TableConfig(_Model):
    """The ``config:`` block of a ``dynamodb-table`` component."""

    table_name: str
    billing_mode: Annotated[
        BillingMode | None,
        WithJsonSchema({"enum": ["ON_DEMAND", "PAY_PER_REQUEST", "PROVISIONED"],
                        "description": "ON_DEMAND is PAY_PER_REQUEST; default from the compliance tier."}),
    ] = None
    provisioned_throughput: ProvisionedThroughput | None = None
    attribute_definitions: list[AttributeDefinition]
    key_schema: list[KeySchemaElement]
    global_secondary_indexes: list[GlobalSecondaryIndex] = Field(default_factory=list)
    local_secondary_indexes: list[LocalSecondaryIndex] = Field(default_factory=list)
    stream_specification: StreamSpecification | None = None
    sse_specification: SSESpecification | None = None
    point_in_time_recovery_enabled: bool | None = None
    backup_policy: BackupPolicy | None = None
    time_to_live_specification: TimeToLiveSpecification | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    global_tables: GlobalTables | None = None
    auto_scaling: AutoScaling | None = None
    dax_cluster: DaxCluster | None = None
    contributor_insights_specification: ContributorInsightsSpecification | None = None
    deletion_protection_enabled: bool | None = None
    table_class: Literal["STANDARD", "STANDARD_INFREQUENT_ACCESS"] | None = None
    monitoring: Monitoring | None = None
    compliance_framework: ComplianceFramework | None = None

    @field_validator("billing_mode", mode="before")
    @classmethod
    def _on_demand_alias(cls, value: Any) -> Any:
        # The spec writes ON_DEMAND; the API (and CloudFormation) say PAY_PER_REQUEST.
        if isinstance(value, str) and value.upper() == "ON_DEMAND":
            return BillingMode.PAY_PER_REQUEST
        return value

    @field_validator("tags", mode="before")
    @classmethod
    def _tag_values_are_strings(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            for k, v in value.items():
                if not isinstance(v, str):
                    raise ValueError(f"tag {k!r} must be a string; quote it in YAML (e.g. \"{str(v).lower()}\")")
        return value

    # -- derived views the runtime uses ---------------------------------------------------------
    @property
    def hash_key(self) -> str:
        return _key_of(self.key_schema, "HASH") or ""

    @property
    def range_key(self) -> str | None:
        return _key_of(self.key_schema, "RANGE")

    def index_keys(self) -> dict[str, tuple[str, str | None]]:
        """``{index name: (hash attribute, range attribute or None)}`` for every GSI and LSI."""
        out: dict[str, tuple[str, str | None]] = {}
        indexes: list[GlobalSecondaryIndex | LocalSecondaryIndex] = [
            *self.global_secondary_indexes, *self.local_secondary_indexes]
        for idx in indexes:
            out[idx.index_name] = (_key_of(idx.key_schema, "HASH") or "", _key_of(idx.key_schema, "RANGE"))
        return out

    def attribute_types(self) -> dict[str, str]:
        return {a.attribute_name: a.attribute_type for a in self.attribute_definitions}

    @property
    def ttl_attribute(self) -> str | None:
        ttl = self.time_to_live_specification
        return ttl.attribute_name if ttl and ttl.enabled else None

    @property
    def effective_billing_mode(self) -> BillingMode:
        if self.billing_mode is not None:
            return self.billing_mode
        return BillingMode.PROVISIONED if self.provisioned_throughput else BillingMode.PAY_PER_REQUEST

    @property
    def pitr_enabled(self) -> bool:
        """PITR is on when either the top-level flag or ``backupPolicy`` turns it on."""
        bp = self.backup_policy
        flags = [self.point_in_time_recovery_enabled]
        if bp:
            flags += [bp.point_in_time_recovery_enabled, bp.continuous_backups.enabled if bp.continuous_backups else None]
        return any(f is True for f in flags)


def _key_of(schema: Sequence[KeySchemaElement], key_type: str) -> str | None:
    for k in schema:
        if k.key_type == key_type:
            return k.attribute_name
    return None


class Bind(_Model):
    """A consumer's access to a table component (turned into IAM policy and environment by ddbkit_infra)."""

    to: str
    capability: Literal["database:dynamodb"] = "database:dynamodb"
    access: Literal["read", "write", "read-write", "stream-read"]
    leading_keys: list[str] | None = Field(
        default=None, description="Restrict items to these partition key values (dynamodb:LeadingKeys)."
    )


class Component(_Model):
    """An entry of ``components:``. Only ``dynamodb-table`` configs are modelled; others pass through."""

    name: str = Field(min_length=1)
    type: str
    config: dict[str, Any] = Field(default_factory=dict)
    binds: list[Bind] = Field(default_factory=list)


@dataclass
class ComponentFile:
    """A loaded component file: every component, and the validated table configs by component name."""

    components: list[Component]
    tables: dict[str, TableConfig]
    source: str | None = None
    lines: dict[Path_, int] = field(default_factory=dict)

    def table(self, name: str | None = None) -> TableConfig:
        """The table config of component ``name`` (or the only table component)."""
        if name is None:
            if len(self.tables) != 1:
                raise ConfigError(
                    [ConfigIssue(("components",), "component.ambiguous",
                                 f"file has {len(self.tables)} dynamodb-table components; name one of "
                                 f"{sorted(self.tables)}")], self.source)
            return next(iter(self.tables.values()))
        if name not in self.tables:
            raise ConfigError([ConfigIssue(("components",), "component.unknown",
                                           f"no dynamodb-table component named {name!r}; have {sorted(self.tables)}")],
                              self.source)
        return self.tables[name]

    def component(self, name: str) -> Component:
        for c in self.components:
            if c.name == name:
                return c
        raise ConfigError([ConfigIssue(("components",), "component.unknown",
                                       f"no component named {name!r}; have {[c.name for c in self.components]}")],
                          self.source)


# --------------------------------------------------------------------------------------------------
# DynamoDB's rules
# --------------------------------------------------------------------------------------------------

NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,255}$")
REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_KEY_ID = rf"(?:{_UUID}|mrk-[0-9a-fA-F]{{32}})"
_ALIAS = r"alias/[A-Za-z0-9/_\-]{1,250}"
KMS_KEY_RE = re.compile(
    rf"^(?:{_KEY_ID}|{_ALIAS}|arn:aws(?:-[a-z]+)*:kms:(?P<region>[a-z0-9-]+):\d{{12}}:(?:key/{_KEY_ID}|{_ALIAS}))$"
)
DAX_NAME_RE = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|-(?!-)){0,19}$")
DAX_NODE_RE = re.compile(r"^dax\.[a-z0-9]+\.[a-z0-9]+$")
SNS_ARN_RE = re.compile(r"^arn:aws(?:-[a-z]+)*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_\-]{1,256}$")
MAX_GSI = 20
MAX_LSI = 5
MAX_NON_KEY_ATTRIBUTES = 100
MAX_TAGS = 50


def kms_key_region(key: str) -> str | None:
    """The region in a KMS key/alias ARN, or None for a bare id/alias."""
    m = KMS_KEY_RE.match(key)
    return m.group("region") if m else None


def check_table_config(cfg: TableConfig) -> list[ConfigIssue]:
    """Every DynamoDB/AWS rule the config breaks, each with its field path. Empty when valid.

    These are the rules CreateTable, UpdateTable, AWS Backup, DAX and application-autoscaling apply
    server-side, checked here so a bad config fails before anything is sent (moto does not check most).
    """
    out: list[ConfigIssue] = []

    def bad(path: Path_, rule: str, msg: str) -> None:
        out.append(ConfigIssue(path, rule, msg))

    if not NAME_RE.match(cfg.table_name):
        bad(("tableName",), "name.format",
            f"table name {cfg.table_name!r} must be 3-255 characters of A-Z a-z 0-9 _ . -")

    # key schema of the table ------------------------------------------------------------------
    _check_key_schema(cfg.key_schema, ("keySchema",), bad)
    defined = cfg.attribute_types()
    seen_defs: set[str] = set()
    for i, a in enumerate(cfg.attribute_definitions):
        if a.attribute_name in seen_defs:
            bad(("attributeDefinitions", i), "attributes.duplicate", f"{a.attribute_name!r} is defined twice")
        seen_defs.add(a.attribute_name)

    used: dict[str, Path_] = {}

    def use(schema: Sequence[KeySchemaElement], base: Path_) -> None:
        for j, k in enumerate(schema):
            used.setdefault(k.attribute_name, (*base, j, "attributeName"))

    use(cfg.key_schema, ("keySchema",))

    # indexes -----------------------------------------------------------------------------------
    names: dict[str, Path_] = {}
    non_key_total = 0
    if len(cfg.global_secondary_indexes) > MAX_GSI:
        bad(("globalSecondaryIndexes",), "gsi.limit",
            f"{len(cfg.global_secondary_indexes)} global secondary indexes; DynamoDB allows at most {MAX_GSI}")
    if len(cfg.local_secondary_indexes) > MAX_LSI:
        bad(("localSecondaryIndexes",), "lsi.limit",
            f"{len(cfg.local_secondary_indexes)} local secondary indexes; DynamoDB allows at most {MAX_LSI}")
    indexes: list[tuple[Path_, GlobalSecondaryIndex | LocalSecondaryIndex]] = [
        (("globalSecondaryIndexes", i), g) for i, g in enumerate(cfg.global_secondary_indexes)
    ] + [(("localSecondaryIndexes", i), li) for i, li in enumerate(cfg.local_secondary_indexes)]
    for base, idx in indexes:
        if not NAME_RE.match(idx.index_name):
            bad((*base, "indexName"), "name.format",
                f"index name {idx.index_name!r} must be 3-255 characters of A-Z a-z 0-9 _ . -")
        if idx.index_name in names:
            bad((*base, "indexName"), "index.duplicate",
                f"index name {idx.index_name!r} is already used at {format_path(names[idx.index_name])}")
        names.setdefault(idx.index_name, (*base, "indexName"))
        _check_key_schema(idx.key_schema, (*base, "keySchema"), bad)
        use(idx.key_schema, (*base, "keySchema"))
        p = idx.projection
        if p.projection_type == "INCLUDE":
            if not p.non_key_attributes:
                bad((*base, "projection", "nonKeyAttributes"), "projection.include",
                    "projectionType INCLUDE needs nonKeyAttributes")
        elif p.non_key_attributes:
            bad((*base, "projection", "nonKeyAttributes"), "projection.include",
                f"nonKeyAttributes are only allowed with projectionType INCLUDE, not {p.projection_type}")
        non_key_total += len(p.non_key_attributes or [])

    if non_key_total > MAX_NON_KEY_ATTRIBUTES:
        bad(("globalSecondaryIndexes",), "projection.limit",
            f"{non_key_total} nonKeyAttributes across all indexes; DynamoDB allows at most {MAX_NON_KEY_ATTRIBUTES}")

    table_hash, table_range = cfg.hash_key, cfg.range_key
    for i, lsi in enumerate(cfg.local_secondary_indexes):
        base = ("localSecondaryIndexes", i)
        if table_range is None:
            bad(base, "lsi.table-range",
                f"local secondary index {lsi.index_name!r} needs a table with a RANGE key; "
                f"table key is only {table_hash!r} (HASH)")
        lsi_hash = _key_of(lsi.key_schema, "HASH")
        if lsi_hash is not None and lsi_hash != table_hash:
            bad((*base, "keySchema"), "lsi.hash",
                f"local secondary index HASH key must be the table's HASH key {table_hash!r}, not {lsi_hash!r}")
        if _key_of(lsi.key_schema, "RANGE") is None:
            bad((*base, "keySchema"), "lsi.range", "a local secondary index needs a RANGE key")

    # attribute definitions = exactly the key attributes ---------------------------------------
    for name, path in used.items():
        if name not in defined:
            bad(path, "attributes.undefined",
                f"key attribute {name!r} is not in attributeDefinitions (add it with its type S, N or B)")
    for i, a in enumerate(cfg.attribute_definitions):
        if a.attribute_name not in used:
            bad(("attributeDefinitions", i), "attributes.unused",
                f"{a.attribute_name!r} is defined but used by no table or index key; DynamoDB rejects "
                "attribute definitions that are not keys (non-key attributes need no definition)")

    # billing / throughput ----------------------------------------------------------------------
    mode = cfg.effective_billing_mode
    if mode is BillingMode.PAY_PER_REQUEST:
        if cfg.provisioned_throughput is not None:
            bad(("provisionedThroughput",), "billing.on-demand",
                "PAY_PER_REQUEST (ON_DEMAND) tables take no provisionedThroughput")
        for i, g in enumerate(cfg.global_secondary_indexes):
            if g.provisioned_throughput is not None:
                bad(("globalSecondaryIndexes", i, "provisionedThroughput"), "billing.on-demand",
                    f"index {g.index_name!r}: PAY_PER_REQUEST tables take no index provisionedThroughput")
        if cfg.auto_scaling and (cfg.auto_scaling.read_capacity or cfg.auto_scaling.write_capacity):
            bad(("autoScaling",), "autoscaling.on-demand",
                "autoScaling applies only to PROVISIONED tables (on-demand scales by itself)")
        for i, g in enumerate(cfg.global_secondary_indexes):
            if g.auto_scaling is not None:
                bad(("globalSecondaryIndexes", i, "autoScaling"), "autoscaling.on-demand",
                    "autoScaling applies only to PROVISIONED tables")
    else:
        if cfg.provisioned_throughput is None:
            bad(("provisionedThroughput",), "billing.provisioned",
                "PROVISIONED tables need provisionedThroughput (readCapacityUnits, writeCapacityUnits)")
        for i, g in enumerate(cfg.global_secondary_indexes):
            if g.provisioned_throughput is None:
                bad(("globalSecondaryIndexes", i, "provisionedThroughput"), "billing.provisioned",
                    f"index {g.index_name!r}: PROVISIONED tables need provisionedThroughput on every GSI")

    if cfg.auto_scaling:
        _check_autoscaling(cfg.auto_scaling, ("autoScaling",), cfg.provisioned_throughput, bad)
    for i, g in enumerate(cfg.global_secondary_indexes):
        if g.auto_scaling:
            _check_autoscaling(g.auto_scaling, ("globalSecondaryIndexes", i, "autoScaling"),
                               g.provisioned_throughput, bad)

    # streams -----------------------------------------------------------------------------------
    ss = cfg.stream_specification
    if ss is not None:
        if ss.stream_enabled and ss.stream_view_type is None:
            bad(("streamSpecification", "streamViewType"), "stream.view-type",
                "streamEnabled: true needs streamViewType (KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES)")
        if not ss.stream_enabled and ss.stream_view_type is not None:
            bad(("streamSpecification", "streamViewType"), "stream.view-type",
                "streamViewType is only allowed when streamEnabled is true")

    # encryption --------------------------------------------------------------------------------
    sse = cfg.sse_specification
    if sse is not None:
        if sse.kms_master_key_id is not None:
            if not sse.sse_enabled:
                bad(("sseSpecification", "kmsMasterKeyId"), "sse.key",
                    "kmsMasterKeyId needs sseEnabled: true")
            _check_kms(sse.kms_master_key_id, ("sseSpecification", "kmsMasterKeyId"), bad)
            if sse.create_key:
                bad(("sseSpecification", "createKey"), "sse.key",
                    "give either kmsMasterKeyId or createKey: true, not both")
        if sse.create_key and not sse.sse_enabled:
            bad(("sseSpecification", "createKey"), "sse.key", "createKey needs sseEnabled: true")

    # TTL ---------------------------------------------------------------------------------------
    ttl = cfg.time_to_live_specification
    if ttl is not None and ttl.attribute_name in defined and defined[ttl.attribute_name] != "N":
        bad(("timeToLiveSpecification", "attributeName"), "ttl.type",
            f"TTL attribute {ttl.attribute_name!r} is a key attribute of type {defined[ttl.attribute_name]}; "
            "TTL needs a Number (epoch seconds)")

    # backups -----------------------------------------------------------------------------------
    bp = cfg.backup_policy
    if bp is not None:
        rule_names: set[str] = set()
        rules: list[tuple[Path_, BackupRule]] = []
        if bp.backup_plan:
            rules.append((("backupPolicy", "backupPlan"), bp.backup_plan))
        rules += [(("backupPolicy", "scheduledBackups", i), r) for i, r in enumerate(bp.scheduled_backups)]
        for base, rule in rules:
            if not re.fullmatch(r"[A-Za-z0-9\-_.]{1,50}", rule.rule_name):
                bad((*base, "ruleName"), "backup.rule-name",
                    f"rule name {rule.rule_name!r} must be 1-50 of A-Z a-z 0-9 - _ .")
            if rule.rule_name in rule_names:
                bad((*base, "ruleName"), "backup.rule-name", f"rule name {rule.rule_name!r} is used twice")
            rule_names.add(rule.rule_name)
            err = schedule_error(rule.schedule)
            if err:
                bad((*base, "schedule"), "backup.schedule", err)
            if rule.retention <= 0:
                bad((*base, "retention"), "backup.retention", f"retention must be > 0 days, got {rule.retention}")
            if rule.cold_storage_after is not None and rule.retention < rule.cold_storage_after + 90:
                bad((*base, "retention"), "backup.retention",
                    f"retention ({rule.retention}) must be at least coldStorageAfter + 90 days "
                    f"({rule.cold_storage_after + 90}) as AWS Backup requires")
            for j, c in enumerate(rule.copy_to):
                if not REGION_RE.match(c.region):
                    bad((*base, "copyTo", j, "region"), "region.format", f"{c.region!r} is not an AWS region name")
        if bp.vault_name is not None and not re.fullmatch(r"[A-Za-z0-9\-_]{2,50}", bp.vault_name):
            bad(("backupPolicy", "vaultName"), "backup.vault-name",
                f"vault name {bp.vault_name!r} must be 2-50 of A-Z a-z 0-9 - _")
        flags = {("pointInTimeRecoveryEnabled",): cfg.point_in_time_recovery_enabled,
                 ("backupPolicy", "pointInTimeRecoveryEnabled"): bp.point_in_time_recovery_enabled,
                 ("backupPolicy", "continuousBackups", "enabled"):
                     bp.continuous_backups.enabled if bp.continuous_backups else None}
        given = {k: v for k, v in flags.items() if v is not None}
        if len(set(given.values())) > 1:
            paths = ", ".join(f"{format_path(k)}={v}" for k, v in given.items())
            bad(("backupPolicy", "pointInTimeRecoveryEnabled"), "pitr.conflict",
                f"point-in-time recovery is both on and off: {paths}")

    # global tables -----------------------------------------------------------------------------
    gt = cfg.global_tables
    if gt is not None:
        _check_global_tables(cfg, gt, bad)

    # DAX ---------------------------------------------------------------------------------------
    dax = cfg.dax_cluster
    if dax is not None and dax.enabled:
        if not dax.cluster_name:
            bad(("daxCluster", "clusterName"), "dax.name", "an enabled DAX cluster needs clusterName")
        elif not DAX_NAME_RE.match(dax.cluster_name) or dax.cluster_name.endswith("-"):
            bad(("daxCluster", "clusterName"), "dax.name",
                f"DAX cluster name {dax.cluster_name!r} must be 1-20 letters, digits or hyphens, start with a "
                "letter, not end with a hyphen nor contain two hyphens in a row")
        if not 1 <= dax.replication_factor <= 10:
            bad(("daxCluster", "replicationFactor"), "dax.replication-factor",
                f"replicationFactor must be 1-10 nodes, got {dax.replication_factor}")
        if not DAX_NODE_RE.match(dax.node_type):
            bad(("daxCluster", "nodeType"), "dax.node-type",
                f"nodeType {dax.node_type!r} is not a DAX node type like dax.r5.large or dax.t3.small")

    # contributor insights, tags, monitoring ---------------------------------------------------
    if len(cfg.tags) > MAX_TAGS:
        bad(("tags",), "tags.limit", f"{len(cfg.tags)} tags; at most {MAX_TAGS} per resource")
    for k, v in cfg.tags.items():
        if not 1 <= len(k) <= 128 or k.lower().startswith("aws:"):
            bad(("tags", k), "tags.key", f"tag key {k!r} must be 1-128 characters and not start with 'aws:'")
        if len(v) > 256:
            bad(("tags", k), "tags.value", f"tag {k!r} value is {len(v)} characters; at most 256")
    if cfg.monitoring and cfg.monitoring.alarm_topic_arn and not SNS_ARN_RE.match(cfg.monitoring.alarm_topic_arn):
        bad(("monitoring", "alarmTopicArn"), "monitoring.topic",
            f"{cfg.monitoring.alarm_topic_arn!r} is not an SNS topic ARN")
    return out


def _check_key_schema(schema: Sequence[KeySchemaElement], base: Path_,
                      bad: Any) -> None:
    types = [k.key_type for k in schema]
    if not schema or len(schema) > 2 or types[0] != "HASH" or (len(schema) == 2 and types[1] != "RANGE"):
        bad(base, "key-schema.shape",
            f"key schema must be one HASH key optionally followed by one RANGE key, got {types}")
    elif len(schema) == 2 and schema[0].attribute_name == schema[1].attribute_name:
        bad(base, "key-schema.shape", f"HASH and RANGE keys are both {schema[0].attribute_name!r}")


def _check_kms(key: str, path: Path_, bad: Any, region: str | None = None) -> None:
    if not KMS_KEY_RE.match(key):
        bad(path, "kms.format",
            f"{key!r} is not a KMS key id, key ARN (arn:aws:kms:REGION:ACCOUNT:key/UUID), alias or alias ARN")
        return
    key_region = kms_key_region(key)
    if region and key_region and key_region != region:
        bad(path, "kms.region", f"key {key!r} is in {key_region}, but the replica is in {region}")


def _check_autoscaling(auto: AutoScaling, base: Path_, throughput: ProvisionedThroughput | None,
                       bad: Any) -> None:
    for side in ("read_capacity", "write_capacity"):
        scaling: CapacityScaling | None = getattr(auto, side)
        if scaling is None:
            continue
        path = (*base, to_camel(side))
        if scaling.min_capacity > scaling.max_capacity:
            bad((*path, "minCapacity"), "autoscaling.range",
                f"minCapacity {scaling.min_capacity} is above maxCapacity {scaling.max_capacity}")
        tv = scaling.target_tracking_scaling_policy_configuration.target_value
        if not 20.0 <= tv <= 90.0:
            bad((*path, "targetTrackingScalingPolicyConfiguration", "targetValue"), "autoscaling.target",
                f"targetValue {tv} must be between 20 and 90 (percent utilisation)")
        if throughput is not None:
            current = throughput.read_capacity_units if side == "read_capacity" else throughput.write_capacity_units
            if not scaling.min_capacity <= current <= scaling.max_capacity:
                bad((*path, "minCapacity"), "autoscaling.range",
                    f"provisioned {to_camel(side)} units {current} is outside [{scaling.min_capacity}, "
                    f"{scaling.max_capacity}]")


def _check_global_tables(cfg: TableConfig, gt: GlobalTables, bad: Any) -> None:
    base: Path_ = ("globalTables",)
    for i, name in enumerate(gt.regions):
        if not REGION_RE.match(name):
            bad((*base, "regions", i), "region.format", f"{name!r} is not an AWS region name")
    if len(set(gt.regions)) != len(gt.regions):
        bad((*base, "regions"), "global.regions", "a region is listed twice")
    group_regions = [r.region for r in gt.replication_group]
    if len(set(group_regions)) != len(group_regions):
        bad((*base, "replicationGroup"), "global.regions", "a region appears twice in replicationGroup")
    stray = [g for g in group_regions if g not in gt.regions]
    if gt.regions and stray:
        bad((*base, "replicationGroup"), "global.regions",
            f"replicationGroup regions {stray} are not in regions {gt.regions}")
    if len(gt.all_regions()) < 2:
        bad((*base, "regions"), "global.regions", "a global table needs at least 2 regions")
    for i, r in enumerate(gt.replication_group):
        if not REGION_RE.match(r.region):
            bad((*base, "replicationGroup", i, "region"), "region.format", f"{r.region!r} is not an AWS region name")
        if r.kms_key_id is not None:
            _check_kms(r.kms_key_id, (*base, "replicationGroup", i, "kmsKeyId"), bad, region=r.region)
    ss = cfg.stream_specification
    if ss is not None and (not ss.stream_enabled or ss.stream_view_type not in (None, "NEW_AND_OLD_IMAGES")):
        bad(("streamSpecification",), "global.stream",
            "global tables replicate through a NEW_AND_OLD_IMAGES stream; enable it or leave streamSpecification out")
    if cfg.effective_billing_mode is BillingMode.PROVISIONED and not (
        cfg.auto_scaling and cfg.auto_scaling.write_capacity
    ):
        bad(("autoScaling", "writeCapacity"), "global.autoscaling",
            "PROVISIONED global tables need write capacity auto scaling (replicas must keep up with writes)")
    sse = cfg.sse_specification
    if sse is not None and sse.kms_master_key_id and gt.replication_group:
        home = kms_key_region(sse.kms_master_key_id)
        missing = [r.region for r in gt.replication_group if not r.kms_key_id and r.region != home]
        if missing:
            bad((*base, "replicationGroup"), "global.kms",
                f"with a customer-managed key every replica needs its own kmsKeyId; missing in {missing}")


# --------------------------------------------------------------------------------------------------
# AWS Backup schedule expressions
# --------------------------------------------------------------------------------------------------

_MONTHS = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()
_DAYS = "SUN MON TUE WED THU FRI SAT".split()


def _cron_field_ok(value: str, lo: int, hi: int, names: Sequence[str] = (), extra: str = "") -> bool:
    for part in value.split(","):
        if part == "*":
            continue
        step_parts = part.split("/")
        if len(step_parts) > 2:
            return False
        if len(step_parts) == 2 and not (step_parts[1].isdigit() and int(step_parts[1]) > 0):
            return False
        rng = step_parts[0]
        if rng == "*":
            continue
        if extra and re.fullmatch(extra, rng):
            continue
        bounds = rng.split("-")
        if len(bounds) > 2:
            return False
        for b in bounds:
            b_up = b.upper()
            if b_up in names:
                continue
            if not b.isdigit() or not lo <= int(b) <= hi:
                return False
    return True


def schedule_error(expr: str) -> str | None:
    """Why ``expr`` is not an AWS Backup schedule (``cron(m h dom mon dow yr)`` or ``rate(N unit)``)."""
    m = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expr.strip())
    if m:
        n, unit = int(m.group(1)), m.group(2)
        if n <= 0:
            return f"{expr!r}: rate value must be positive"
        if (n == 1) != (not unit.endswith("s")):
            return f"{expr!r}: use the singular unit for 1 and plural otherwise (rate(1 day), rate(2 days))"
        return None
    m = re.fullmatch(r"cron\((.*)\)", expr.strip())
    if not m:
        return f"{expr!r} is not cron(...) or rate(...)"
    fields = m.group(1).split()
    if len(fields) != 6:
        return (f"{expr!r}: cron needs 6 fields (minutes hours day-of-month month day-of-week year), "
                f"got {len(fields)}")
    minute, hour, dom, month, dow, year = fields
    checks = [
        ("minutes", _cron_field_ok(minute, 0, 59)),
        ("hours", _cron_field_ok(hour, 0, 23)),
        ("day-of-month", dom == "?" or _cron_field_ok(dom, 1, 31, extra=r"L|LW|\d{1,2}W")),
        ("month", _cron_field_ok(month, 1, 12, _MONTHS)),
        ("day-of-week", dow == "?" or _cron_field_ok(dow, 1, 7, _DAYS, extra=r"[1-7A-Za-z]{1,3}(#[1-5]|L)")),
        ("year", _cron_field_ok(year, 1970, 2199)),
    ]
    for name, ok in checks:
        if not ok:
            return f"{expr!r}: invalid {name} field"
    if (dom == "?") == (dow == "?"):
        return f"{expr!r}: exactly one of day-of-month and day-of-week must be '?'"
    return None


def schedule_is_daily(expr: str) -> bool:
    """True when the schedule fires at least once every day (what the FedRAMP packs require)."""
    m = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expr.strip())
    if m:
        n, unit = int(m.group(1)), m.group(2)
        return unit.startswith("minute") or (unit.startswith("hour") and n <= 24) or n == 1
    m = re.fullmatch(r"cron\((.*)\)", expr.strip())
    if not m or schedule_error(expr):
        return False
    _minute, _hour, dom, month, dow, year = m.group(1).split()
    return dom in ("*", "?") and dow in ("*", "?") and month == "*" and year == "*"


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------


def _pydantic_issues(err: ValidationError, prefix: Path_) -> list[ConfigIssue]:
    issues = []
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling against the schema: ddbkit schema)"
        elif e["type"] == "missing":
            msg = "required field is missing"
        elif e["type"] in ("enum", "literal_error"):
            msg = f"{msg}; got {e.get('input')!r}"
        issues.append(ConfigIssue((*prefix, *loc), f"schema.{e['type']}", msg))
    return issues


def parse_table_config(data: Mapping[str, Any], prefix: Path_ = ()) -> TableConfig:
    """Build and fully check a :class:`TableConfig` from a camelCase mapping; raise :class:`ConfigError`."""
    try:
        cfg = TableConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_pydantic_issues(err, prefix)) from None
    issues = [ConfigIssue((*prefix, *i.path), i.rule, i.message) for i in check_table_config(cfg)]
    if issues:
        raise ConfigError(issues)
    return cfg


def load_component_text(text: str, source: str = "<string>") -> ComponentFile:
    """Parse a component file (YAML) and validate every ``dynamodb-table`` config and every bind."""
    import yaml

    try:
        data, lines = _yaml_with_lines(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError([ConfigIssue((), "yaml.syntax", str(err).replace("\n", " "), line)], source) from None
    except _DuplicateKey as dup:
        raise ConfigError([ConfigIssue(dup.path, "yaml.duplicate-key",
                                       f"key {dup.path[-1]!r} appears twice", dup.line)], source) from None

    if isinstance(data, Mapping) and "components" not in data and "tableName" in data:
        data = {"components": [{"name": data["tableName"], "type": "dynamodb-table", "config": data}]}
        lines = {("components", 0, "config", *k): v for k, v in lines.items()}
    issues: list[ConfigIssue] = []
    components: list[Component] = []
    tables: dict[str, TableConfig] = {}
    if not isinstance(data, Mapping) or not isinstance(data.get("components"), list):
        issues.append(ConfigIssue(("components",), "file.shape",
                                  "expected a mapping with a 'components:' list (or a bare table config)"))
    else:
        default_tier = data.get("complianceFramework")
        for i, raw in enumerate(data["components"]):
            try:
                comp = Component.model_validate(raw)
            except ValidationError as err:
                issues += _pydantic_issues(err, ("components", i))
                continue
            components.append(comp)
            if comp.type == "dynamodb-table":
                cfg_data = dict(comp.config)
                if default_tier is not None:
                    cfg_data.setdefault("complianceFramework", default_tier)
                try:
                    tables[comp.name] = parse_table_config(cfg_data, ("components", i, "config"))
                except ConfigError as err:
                    issues += err.issues
        names = [c.name for c in components]
        for i, comp in enumerate(components):
            if names.count(comp.name) > 1:
                issues.append(ConfigIssue(("components", i, "name"), "component.duplicate",
                                          f"component name {comp.name!r} is used twice"))
            for j, b in enumerate(comp.binds):
                if b.to not in names:
                    issues.append(ConfigIssue(("components", i, "binds", j, "to"), "bind.target",
                                              f"bind target {b.to!r} is not a component in this file"))
                elif b.to not in tables and b.to in names:
                    issues.append(ConfigIssue(("components", i, "binds", j, "to"), "bind.target",
                                              f"{b.to!r} is not a dynamodb-table component"))
                elif b.access == "stream-read" and b.to in tables:
                    ss = tables[b.to].stream_specification
                    if not (ss and ss.stream_enabled) and not tables[b.to].global_tables:
                        issues.append(ConfigIssue(("components", i, "binds", j, "access"), "bind.stream",
                                                  f"stream-read needs streamSpecification.streamEnabled on {b.to!r}"))
    if issues:
        raise ConfigError([_with_line(i, lines) for i in issues], source)
    return ComponentFile(components=components, tables=tables, source=source, lines=lines)


def load_component_file(path: str | Path) -> ComponentFile:
    """Load and validate a component YAML file (see :func:`load_component_text`)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError([ConfigIssue((), "file.read", f"cannot read {p}: {err.strerror}")], str(p)) from None
    return load_component_text(text, str(p))


def _with_line(issue: ConfigIssue, lines: Mapping[Path_, int]) -> ConfigIssue:
    path = issue.path
    while path:
        if path in lines:
            return ConfigIssue(issue.path, issue.rule, issue.message, lines[path])
        path = path[:-1]
    return issue


class _DuplicateKey(Exception):
    def __init__(self, path: Path_, line: int) -> None:
        super().__init__(path)
        self.path, self.line = path, line


def _yaml_with_lines(text: str) -> tuple[Any, dict[Path_, int]]:
    """Safe-load YAML and record the 1-based line of every path (for errors); duplicate keys are errors."""
    import yaml
    from yaml.nodes import MappingNode, Node, SequenceNode

    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        lines: dict[Path_, int] = {}

        def build(node: Node, path: Path_) -> Any:
            lines[path] = node.start_mark.line + 1
            if isinstance(node, MappingNode):
                loader.flatten_mapping(node)
                out: dict[Any, Any] = {}
                for k_node, v_node in node.value:
                    key = loader.construct_object(k_node, deep=True)
                    if key in out:
                        raise _DuplicateKey((*path, key), k_node.start_mark.line + 1)
                    out[key] = build(v_node, (*path, key))
                return out
            if isinstance(node, SequenceNode):
                return [build(v, (*path, i)) for i, v in enumerate(node.value)]
            return loader.construct_object(node, deep=True)

        data = build(root, ()) if root is not None else None
    finally:
        loader.dispose()
    return data, lines


def dynamodb_table_config_schema() -> dict[str, Any]:
    """JSON Schema of the ``config:`` block (``DYNAMODB_TABLE_CONFIG_SCHEMA``), for editors and docs."""
    schema = TableConfig.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "DynamodbTableConfig"
    schema["description"] = "The config block of a ddbkit dynamodb-table component."
    return schema


def __getattr__(name: str) -> Any:
    # Computed on first use: building the schema costs a few ms nobody at runtime needs.
    if name == "DYNAMODB_TABLE_CONFIG_SCHEMA":
        return dynamodb_table_config_schema()
    raise AttributeError(name)
