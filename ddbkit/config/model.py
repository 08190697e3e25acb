"""The table-component config model: pydantic models, YAML loading with line marks, JSON Schema.

Field names are the spec's camelCase YAML keys (aliases), with snake_case attributes for Python code.
pydantic checks structure (types, enums, unknown keys) while building the models; DynamoDB's own rules
live in :mod:`ddbkit.config.rules`, and :mod:`ddbkit.config.load` runs both over a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, WithJsonSchema, field_validator
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
    "ContinuousBackups",
    "ContributorInsightsSpecification",
    "CopyAction",
    "DaxCluster",
    "DaxSSE",
    "GlobalSecondaryIndex",
    "GlobalTables",
    "KeySchemaElement",
    "LocalSecondaryIndex",
    "Monitoring",
    "AuditTrail",
    "ResourcePolicy",
    "VpcEndpoints",
    "MonitoringLevel",
    "Path_",
    "Projection",
    "ProvisionedThroughput",
    "Replica",
    "SSESpecification",
    "StreamSpecification",
    "TableConfig",
    "TargetTracking",
    "TimeToLiveSpecification",
    "dynamodb_table_config_schema",
    "format_path",
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
        first, *more = self.message.split("\n")
        text = f"{loc}{self.where or '<root>'}: {first} [{self.rule}]"
        # a multi-line message (a YAML error with its caret) keeps its lines, indented under the first
        return "\n".join([text, *(f"    {m}" for m in more)])


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
    """CloudWatch alarms to create: each level adds to the one before (docs/alarms.md lists them)."""

    BASIC = "basic"
    ENHANCED = "enhanced"
    COMPREHENSIVE = "comprehensive"

    @property
    def rank(self) -> int:
        return list(MonitoringLevel).index(self)


class ComplianceFramework(str, Enum):
    """Compliance tier: the defaults it fills in and the settings it refuses (docs/compliance.md)."""

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
    disable_scale_in: StrictBool = False


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
    stream_enabled: StrictBool
    stream_view_type: Literal["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"] | None = None


class SSESpecification(_Model):
    """Encryption at rest.

    ``sseEnabled: false`` means DynamoDB's AWS-owned key; ``true`` without a key id means the AWS-managed
    key ``alias/aws/dynamodb``; a ``kmsMasterKeyId`` is a customer-managed key; ``createKey: true`` asks
    ddbkit to provision a customer-managed key with rotation (the FedRAMP tiers' default).
    """

    sse_enabled: StrictBool = True
    sse_type: Literal["KMS"] | None = None
    kms_master_key_id: str | None = None
    create_key: StrictBool = False

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
    copy_tags: StrictBool = True
    cold_storage_after: int | None = Field(default=None, ge=1)
    copy_to: list[CopyAction] = Field(default_factory=list)


class ContinuousBackups(_Model):
    enabled: StrictBool


class BackupPolicy(_Model):
    point_in_time_recovery_enabled: StrictBool | None = None
    continuous_backups: ContinuousBackups | None = None
    backup_plan: BackupRule | None = None
    scheduled_backups: list[BackupRule] = Field(default_factory=list)
    vault_name: str | None = None

    @property
    def rules(self) -> list[BackupRule]:
        """Every backup rule: ``backupPlan`` (the spec's short form) then ``scheduledBackups``."""
        return ([self.backup_plan] if self.backup_plan else []) + list(self.scheduled_backups)


class TimeToLiveSpecification(_Model):
    enabled: StrictBool
    attribute_name: str = Field(min_length=1, max_length=255)


class Replica(_Model):
    region: str
    point_in_time_recovery_enabled: StrictBool | None = None
    kms_key_id: str | None = None
    contributor_insights_enabled: StrictBool | None = None
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
    enabled: StrictBool = True


class DaxCluster(_Model):
    enabled: StrictBool = False
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
    enabled: StrictBool
    mode: Literal["ACCESSED_AND_THROTTLED_KEYS", "THROTTLED_KEYS"] | None = None


class Monitoring(_Model):
    level: MonitoringLevel = MonitoringLevel.BASIC
    alarm_topic_arn: str | None = Field(default=None, description="SNS topic for alarm actions.")


class AuditTrail(_Model):
    """CloudTrail data events for the table, its indexes and its stream (docs/security.md#audit-trails)."""

    enabled: StrictBool = True
    kind: Literal["trail", "event-data-store"] = Field(
        default="trail", description="A CloudTrail trail writing to S3, or a CloudTrail Lake event data store.")
    name: str | None = Field(default=None, description="Trail / event data store name (default ddbkit-<table>).")
    bucket_name: str | None = Field(
        default=None, description="An existing S3 bucket to write to (trail); else ddbkit creates one.")
    retention_days: int | None = Field(
        default=None, ge=1, description="Days to keep the log files / events (tier default: 365, 3650).")
    object_lock: StrictBool | None = Field(
        default=None, description="S3 Object Lock (COMPLIANCE mode) on a created bucket (fedramp-high default).")
    kms_key_id: str | None = Field(
        default=None, description="KMS key for the logs; default: a key ddbkit creates for the trail.")


class ResourcePolicy(_Model):
    """A resource-based policy on the table and its stream (PutResourcePolicy)."""

    cross_account_principals: list[str] = Field(
        default_factory=list, description="Account ids or IAM role/user ARNs of other accounts given access.")
    access: Literal["read", "write", "read-write"] = Field(
        default="read", description="What the cross-account principals may do (the binds' action sets).")
    deny_insecure_transport: StrictBool | None = Field(
        default=None, description="Deny requests without TLS (aws:SecureTransport); fedramp tiers: always.")
    deny_outside_vpc_endpoints: StrictBool = Field(
        default=False, description="Deny requests not through vpcEndpoints (aws:SourceVpce).")
    principal_org_id: str | None = Field(
        default=None, description="AWS Organizations id (o-...): every cross-account grant (crossAccountPrincipals "
        "and binds from other accounts) also needs aws:PrincipalOrgID to equal it.")


class VpcEndpoints(_Model):
    """Private connectivity to DynamoDB from a VPC: a gateway endpoint, and an interface endpoint if asked."""

    vpc_id: str
    route_table_ids: list[str] = Field(default_factory=list, description="Route tables of the gateway endpoint.")
    interface: StrictBool = Field(default=False, description="Also an interface endpoint (PrivateLink).")
    subnet_ids: list[str] = Field(default_factory=list, description="Subnets of the interface endpoint.")
    security_group_ids: list[str] = Field(default_factory=list)
    endpoint_ids: list[str] = Field(
        default_factory=list, description="Existing endpoint ids (vpce-...) for resourcePolicy's aws:SourceVpce.")


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
    point_in_time_recovery_enabled: StrictBool | None = None
    backup_policy: BackupPolicy | None = None
    time_to_live_specification: TimeToLiveSpecification | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    global_tables: GlobalTables | None = None
    auto_scaling: AutoScaling | None = None
    dax_cluster: DaxCluster | None = None
    contributor_insights_specification: ContributorInsightsSpecification | None = None
    deletion_protection_enabled: StrictBool | None = None
    table_class: Literal["STANDARD", "STANDARD_INFREQUENT_ACCESS"] | None = None
    monitoring: Monitoring | None = None
    audit_trail: AuditTrail | None = None
    resource_policy: ResourcePolicy | None = None
    vpc_endpoints: VpcEndpoints | None = None
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
        return key_of(self.key_schema, "HASH") or ""

    @property
    def range_key(self) -> str | None:
        return key_of(self.key_schema, "RANGE")

    def index_keys(self) -> dict[str, tuple[str, str | None]]:
        """``{index name: (hash attribute, range attribute or None)}`` for every GSI and LSI."""
        out: dict[str, tuple[str, str | None]] = {}
        indexes: list[GlobalSecondaryIndex | LocalSecondaryIndex] = [
            *self.global_secondary_indexes, *self.local_secondary_indexes]
        for idx in indexes:
            out[idx.index_name] = (key_of(idx.key_schema, "HASH") or "", key_of(idx.key_schema, "RANGE"))
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


def key_of(schema: Sequence[KeySchemaElement], key_type: str) -> str | None:
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
    attributes: list[str] | None = Field(
        default=None, description="Only these attributes (dynamodb:Attributes, Select=SPECIFIC_ATTRIBUTES): "
        "the consumer cannot read or write any other (data masking).")
    account: str | None = Field(
        default=None, description="The consumer's AWS account when it is not the table's: the table's resource "
        "policy then grants that account the bind's actions (cross-account access).")


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
# YAML with line marks, pydantic issues, JSON Schema
# --------------------------------------------------------------------------------------------------


def pydantic_issues(err: ValidationError, prefix: Path_) -> list[ConfigIssue]:
    issues = []
    errors = err.errors()
    # a snake_case key whose camelCase name is a field: "did you mean", and no "missing" for that name
    snake = {(*e["loc"][:-1], to_camel(e["loc"][-1])): e["loc"] for e in errors
             if e["type"] == "extra_forbidden" and isinstance(e["loc"][-1], str)
             and "_" in e["loc"][-1] and to_camel(e["loc"][-1]) != e["loc"][-1]}
    for e in errors:
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        msg, rule = e["msg"], f"schema.{e['type']}"
        if e["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling against the schema: ddbkit schema)"
            key = e["loc"][-1] if e["loc"] else None
            if isinstance(key, str) and (*e["loc"][:-1], to_camel(key)) in snake and _is_field(err, e["loc"]):
                msg, rule = (f"snake_case keys are not accepted: did you mean {to_camel(key)!r}? "
                             "(config keys are camelCase, as in the spec)"), "schema.snake-case"
        elif e["type"] == "missing":
            if tuple(e["loc"]) in snake:
                continue
            msg = "required field is missing"
        elif e["type"] in ("enum", "literal_error"):
            msg = f"{msg}; got {e.get('input')!r}"
        elif e["type"] == "bool_type":
            msg = (f"must be true or false (a YAML boolean, unquoted); got a {type(e.get('input')).__name__}: "
                   "quoted strings such as 'yes' or 'true' and numbers are not booleans")
        issues.append(ConfigIssue((*prefix, *loc), rule, msg))
    return issues


def _is_field(err: ValidationError, loc: tuple[int | str, ...]) -> bool:
    """Whether the camelCase form of ``loc``'s last key is a field of the model at that place."""
    model: Any = {"TableConfig": TableConfig, "Component": Component}.get(err.title)
    for part in loc[:-1]:
        if model is None:
            return False
        if isinstance(part, int):
            continue
        info = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        model = _model_of(info.annotation) if info is not None else None
    return model is not None and to_camel(str(loc[-1])) in {f.alias or n for n, f in model.model_fields.items()}


def _model_of(annotation: Any) -> Any:
    """The model class inside ``X``, ``X | None``, ``list[X]``, ``dict[str, X]``, else None."""
    from typing import get_args

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def with_line(issue: ConfigIssue, lines: Mapping[Path_, int]) -> ConfigIssue:
    path = issue.path
    while path:
        if path in lines:
            return ConfigIssue(issue.path, issue.rule, issue.message, lines[path])
        path = path[:-1]
    return issue


class DuplicateKey(Exception):
    def __init__(self, path: Path_, line: int) -> None:
        super().__init__(path)
        self.path, self.line = path, line


#: a component file is at most this large (the spec's largest example is ~3 KB)
MAX_CONFIG_BYTES = 1024 * 1024
#: at most this many YAML nodes once aliases are expanded (a real config has a few hundred)
MAX_EXPANDED_NODES = 100_000


#: at most this many levels of nested lists/maps (a real config has fewer than 10)
MAX_YAML_DEPTH = 100
#: at most this many characters in an integer scalar (Python refuses over 4300 digits with a ValueError)
MAX_INT_CHARS = 40
#: the only tags a collection may carry; a scalar may carry the YAML 1.1 scalar types SafeLoader knows
_COLLECTION_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})
_SCALAR_TAGS = frozenset("tag:yaml.org,2002:" + t for t in ("null", "bool", "int", "float", "str", "timestamp",
                                                             "binary", "merge"))


class YamlAliases(Exception):
    """A YAML shape the loader refuses (alias bomb, nesting, tag, scalar): ``rule`` is the rule id."""

    def __init__(self, message: str, line: int | None, rule: str = "yaml.aliases") -> None:
        super().__init__(message)
        self.message, self.line, self.rule = message, line, rule


_LOADER: Any = None


def _config_loader() -> Any:
    """SafeLoader with a nesting limit (its composer recurses once per level: 50,000 ``[`` overflow the
    Python stack) and a length limit on integers; built on first use (``yaml`` is imported lazily)."""
    global _LOADER
    if _LOADER is not None:
        return _LOADER
    import yaml

    class ConfigLoader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            self.depth += 1
            try:
                if self.depth > MAX_YAML_DEPTH:
                    event = self.current_event  # the node's start event, already peeked by the parent
                    mark = event.start_mark if event is not None else self.get_mark()
                    raise YamlAliases(f"lists and maps nest deeper than {MAX_YAML_DEPTH} levels: not a config",
                                       mark.line + 1, "yaml.depth")
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    _LOADER = ConfigLoader
    return _LOADER


def _check_node(node: Any) -> None:
    """Refuse a non-standard tag (``!!python/...``, ``!custom``, ``!!set``) on any node, and an integer too
    long to be a setting, before it is constructed."""
    from yaml.nodes import MappingNode, SequenceNode

    line = node.start_mark.line + 1
    allowed = _COLLECTION_TAGS if isinstance(node, (MappingNode, SequenceNode)) else _SCALAR_TAGS
    if node.tag not in allowed:
        raise YamlAliases(f"the tag {node.tag!r} is not a plain YAML type: a config holds only maps, lists, "
                           "strings, numbers, booleans and null", line, "yaml.tag")
    if node.tag == "tag:yaml.org,2002:int" and len(node.value) > MAX_INT_CHARS:
        raise YamlAliases(f"an integer of {len(node.value)} characters (at most {MAX_INT_CHARS})", line,
                           "yaml.scalar")


def _check_expansion(root: Any) -> None:
    """Refuse alias bombs (``&a [*a,*a...]`` nested: billions of nodes from a few hundred bytes) and
    self-referencing aliases before anything is built, by counting the expanded size on the composed graph
    (aliases are shared node objects there, so this is linear in the file); every node's tag and integer
    length are checked on the way (:func:`_check_node`), merged maps included."""
    from yaml.nodes import MappingNode, SequenceNode

    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: Any) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise YamlAliases("an alias refers to itself (a recursive anchor): not a config",
                               node.start_mark.line + 1)
        active.add(key)
        _check_node(node)
        total = 1
        if isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, SequenceNode):
            children = list(node.value)
        else:
            children = []
        for child in children:
            total += size(child)
            if total > MAX_EXPANDED_NODES:
                raise YamlAliases(f"aliases expand this file beyond {MAX_EXPANDED_NODES} nodes (an alias bomb?)",
                                   node.start_mark.line + 1)
        active.discard(key)
        sizes[key] = total
        return total

    size(root)


def yaml_with_lines(text: str) -> tuple[Any, dict[Path_, int]]:
    """Safe-load YAML and record the 1-based line of every path (for errors); duplicate keys are errors."""
    import yaml
    from yaml.nodes import MappingNode, Node, SequenceNode

    loader = _config_loader()(text)
    try:
        root = loader.get_single_node()
        if root is not None:
            _check_expansion(root)
        lines: dict[Path_, int] = {}

        def build(node: Node, path: Path_) -> Any:
            lines[path] = node.start_mark.line + 1
            if isinstance(node, MappingNode):
                loader.flatten_mapping(node)
                out: dict[Any, Any] = {}
                for k_node, v_node in node.value:
                    if isinstance(k_node, (MappingNode, SequenceNode)):
                        raise yaml.constructor.ConstructorError(
                            "while constructing a mapping", node.start_mark,
                            "found a list or map as a key (a config's keys are names)", k_node.start_mark)
                    key = loader.construct_object(k_node, deep=True)
                    if key in out:
                        raise DuplicateKey((*path, key), k_node.start_mark.line + 1)
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
