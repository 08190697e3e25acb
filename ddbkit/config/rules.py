"""DynamoDB's and AWS's own rules for a table config, as data: one small function per rule id.

Each rule is registered with :func:`rule`: its id, the documented limit it comes from (``source``) and a
docstring whose first line says what it checks. A rule function takes a :class:`TableConfig` and yields
``(path, message)`` for every place the config breaks it; :func:`check_table_config` runs the registry.
These are the rules CreateTable, UpdateTable, AWS Backup, DAX and application-autoscaling apply
server-side, checked here so a bad config fails before anything is sent (moto does not check most).

File-level rules (binds, component names) take a :class:`FileContext`; rules the loader itself applies
(YAML syntax, schema) are registered with :func:`describe` so the rules page lists every id.
``docs/rules.md`` is generated from :data:`RULES` (``ddbkit rules --markdown``) and kept current by a test.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic.alias_generators import to_camel

from .model import (
    AutoScaling,
    BackupRule,
    BillingMode,
    Component,
    ConfigIssue,
    GlobalSecondaryIndex,
    KeySchemaElement,
    LocalSecondaryIndex,
    Path_,
    ProvisionedThroughput,
    TableConfig,
    key_of,
    format_path,
)

__all__ = [
    "DAX_NAME_RE",
    "DAX_NODE_RE",
    "KMS_KEY_RE",
    "MAX_GSI",
    "MAX_LSI",
    "MAX_NON_KEY_ATTRIBUTES",
    "MAX_TAGS",
    "NAME_RE",
    "REGION_RE",
    "RULES",
    "SNS_ARN_RE",
    "FileContext",
    "Rule",
    "check_file_rules",
    "check_table_config",
    "check_table_warnings",
    "describe",
    "kms_key_region",
    "rule",
    "schedule_error",
    "schedule_is_daily",
]

Finding = tuple[Path_, str]
Scope = Literal["table", "file", "loader", "warning"]

# --------------------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One rule: its id, what it checks (the docstring), where the limit is documented, and its check."""

    id: str
    text: str
    source: str
    scope: Scope
    check: Callable[..., Iterator[Finding]] | None = field(default=None, compare=False)

    @property
    def summary(self) -> str:
        """The first line of the rule's text."""
        return self.text.split("\n", 1)[0]


RULES: dict[str, Rule] = {}


def rule(rule_id: str, *, source: str, scope: Scope = "table"
         ) -> Callable[[Callable[..., Iterator[Finding]]], Callable[..., Iterator[Finding]]]:
    """Register the decorated function as the check of ``rule_id`` (its docstring is the rule's text)."""

    def deco(fn: Callable[..., Iterator[Finding]]) -> Callable[..., Iterator[Finding]]:
        if rule_id in RULES:
            raise ValueError(f"rule {rule_id!r} is registered twice")
        text = inspect.getdoc(fn)
        if not text:
            raise ValueError(f"rule {rule_id!r} needs a docstring saying what it checks")
        RULES[rule_id] = Rule(rule_id, text, source, scope, fn)
        return fn

    return deco


def describe(rule_id: str, text: str, *, source: str) -> None:
    """Register a rule the loader applies itself (YAML, schema), so the rules page lists it."""
    if rule_id in RULES:
        raise ValueError(f"rule {rule_id!r} is registered twice")
    RULES[rule_id] = Rule(rule_id, text, source, "loader")


def check_table_config(cfg: TableConfig) -> list[ConfigIssue]:
    """Every DynamoDB/AWS rule the config breaks, each with its field path. Empty when valid."""
    return [ConfigIssue(path, r.id, message)
            for r in RULES.values() if r.scope == "table" and r.check is not None
            for path, message in r.check(cfg)]


def check_table_warnings(cfg: TableConfig) -> list[ConfigIssue]:
    """Advisories on a (tier-resolved) table config: not errors, the config loads; ``ddbkit validate``
    prints them. Empty when there is nothing to say."""
    return [ConfigIssue(path, r.id, message)
            for r in RULES.values() if r.scope == "warning" and r.check is not None
            for path, message in r.check(cfg)]


@dataclass(frozen=True)
class FileContext:
    """What file-level rules see: every component, and the table configs that loaded (by name).

    ``failed`` names the table components whose config had errors of its own: rules about binds to them
    stay quiet rather than repeat that error as a false one.
    """

    components: Sequence[Component]
    tables: dict[str, TableConfig]
    failed: frozenset[str] = frozenset()

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.components]


def check_file_rules(ctx: FileContext) -> list[ConfigIssue]:
    """Every file-level rule (component names, binds) the components break."""
    return [ConfigIssue(path, r.id, message)
            for r in RULES.values() if r.scope == "file" and r.check is not None
            for path, message in r.check(ctx)]


# --------------------------------------------------------------------------------------------------
# Limits and formats
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

_CREATE_TABLE = "DynamoDB API Reference, CreateTable"
_LIMITS = "DynamoDB Developer Guide, Service, account, and table quotas"
_BACKUP = "AWS Backup API Reference, BackupRule / CreateBackupPlan"
_DAX = "DynamoDB Accelerator (DAX) API Reference, CreateCluster"
_AUTOSCALING = "Application Auto Scaling, DynamoDB target tracking"
_GLOBAL = "DynamoDB Developer Guide, Global tables (version 2019.11.21) requirements"
_KMS = "AWS KMS Developer Guide, Key identifiers (KeyId)"
_TAGS = "DynamoDB Developer Guide, Tagging restrictions"


def kms_key_region(key: str) -> str | None:
    """The region in a KMS key/alias ARN, or None for a bare id/alias."""
    m = KMS_KEY_RE.match(key)
    return m.group("region") if m else None


# -- views the rules share ------------------------------------------------------------------------

AnyIndex = GlobalSecondaryIndex | LocalSecondaryIndex


def _indexes(cfg: TableConfig) -> list[tuple[Path_, AnyIndex]]:
    return [(("globalSecondaryIndexes", i), g) for i, g in enumerate(cfg.global_secondary_indexes)] + [
        (("localSecondaryIndexes", i), li) for i, li in enumerate(cfg.local_secondary_indexes)]


def _key_schemas(cfg: TableConfig) -> list[tuple[Path_, Sequence[KeySchemaElement]]]:
    return [(("keySchema",), cfg.key_schema)] + [((*base, "keySchema"), idx.key_schema)
                                                  for base, idx in _indexes(cfg)]


def _used_keys(cfg: TableConfig) -> dict[str, Path_]:
    """Every key attribute of the table and its indexes, with the path of its first use."""
    used: dict[str, Path_] = {}
    for base, schema in _key_schemas(cfg):
        for j, k in enumerate(schema):
            used.setdefault(k.attribute_name, (*base, j, "attributeName"))
    return used


def _autoscalings(cfg: TableConfig) -> list[tuple[Path_, AutoScaling, ProvisionedThroughput | None]]:
    out: list[tuple[Path_, AutoScaling, ProvisionedThroughput | None]] = []
    if cfg.auto_scaling:
        out.append((("autoScaling",), cfg.auto_scaling, cfg.provisioned_throughput))
    for i, g in enumerate(cfg.global_secondary_indexes):
        if g.auto_scaling:
            out.append((("globalSecondaryIndexes", i, "autoScaling"), g.auto_scaling, g.provisioned_throughput))
    return out


def _kms_keys(cfg: TableConfig) -> list[tuple[Path_, str, str | None]]:
    """Every KMS key in the config: (path, key, the region it must be in, if known)."""
    out: list[tuple[Path_, str, str | None]] = []
    if cfg.sse_specification is not None and cfg.sse_specification.kms_master_key_id is not None:
        out.append((("sseSpecification", "kmsMasterKeyId"), cfg.sse_specification.kms_master_key_id, None))
    if cfg.global_tables is not None:
        for i, r in enumerate(cfg.global_tables.replication_group):
            if r.kms_key_id is not None:
                out.append((("globalTables", "replicationGroup", i, "kmsKeyId"), r.kms_key_id, r.region))
    return out


def _backup_rules(cfg: TableConfig) -> list[tuple[Path_, BackupRule]]:
    bp = cfg.backup_policy
    if bp is None:
        return []
    rules: list[tuple[Path_, BackupRule]] = []
    if bp.backup_plan:
        rules.append((("backupPolicy", "backupPlan"), bp.backup_plan))
    return rules + [(("backupPolicy", "scheduledBackups", i), r) for i, r in enumerate(bp.scheduled_backups)]


# --------------------------------------------------------------------------------------------------
# Loader rules (applied while reading the file; listed here for the rules page)
# --------------------------------------------------------------------------------------------------

describe("file.read", "The config file can be read.", source="ddbkit")
describe("yaml.syntax", "The file is well-formed YAML (the error shows the line and a caret).", source="YAML 1.1")
describe("yaml.duplicate-key", "No mapping repeats a key (YAML parsers silently keep the last one).",
         source="YAML 1.2, mapping keys are unique")
describe("yaml.size", "The file is at most 1 MiB (a component config is a few KB).", source="ddbkit")
describe("yaml.aliases", "Anchors and aliases expand to at most 100,000 nodes and never refer to themselves "
         "(alias bombs, recursive anchors).", source="ddbkit (YAML 1.1 anchors and aliases)")
describe("yaml.depth", "Lists and maps nest at most 100 levels deep (a config has fewer than 10).",
         source="ddbkit")
describe("yaml.tag", "Nodes carry no tag but the plain YAML types (map, seq, str, int, float, bool, null, timestamp, "
         "binary): `!!python/...`, `!!set` or a custom `!tag` is refused, with its line.",
         source="ddbkit (YAML 1.1 tags)")
describe("yaml.scalar", "An integer has at most 40 characters.", source="ddbkit")
describe("file.shape", "The file is a mapping with a `components:` list, or a bare table config.",
         source="ddbkit component spec")
describe("schema.*", "Every field has the type, enum value and shape of the JSON Schema; unknown fields "
         "(typos) are errors. The suffix is pydantic's error type (schema.missing, schema.extra_forbidden, ...).",
         source="docs/configuration.md (ddbkit schema)")
describe("component.ambiguous", "A command that needs one table names it when the file has several.",
         source="ddbkit")
describe("component.unknown", "A named component exists in the file.", source="ddbkit")


# --------------------------------------------------------------------------------------------------
# Table rules, in the order they are reported
# --------------------------------------------------------------------------------------------------


@rule("name.format", source=f"{_CREATE_TABLE}: TableName, IndexName pattern [a-zA-Z0-9_.-]+, length 3-255")
def _name_format(cfg: TableConfig) -> Iterator[Finding]:
    """Table and index names are 3-255 characters of A-Z a-z 0-9 _ . -"""
    if not NAME_RE.match(cfg.table_name):
        yield ("tableName",), f"table name {cfg.table_name!r} must be 3-255 characters of A-Z a-z 0-9 _ . -"
    for base, idx in _indexes(cfg):
        if not NAME_RE.match(idx.index_name):
            yield ((*base, "indexName"),
                   f"index name {idx.index_name!r} must be 3-255 characters of A-Z a-z 0-9 _ . -")


@rule("key-schema.shape", source=f"{_CREATE_TABLE}: KeySchema (one HASH, then at most one RANGE)")
def _key_schema_shape(cfg: TableConfig) -> Iterator[Finding]:
    """Every key schema (table and index) is one HASH key, optionally followed by one RANGE key on another
    attribute."""
    for base, schema in _key_schemas(cfg):
        types = [k.key_type for k in schema]
        if not schema or len(schema) > 2 or types[0] != "HASH" or (len(schema) == 2 and types[1] != "RANGE"):
            yield base, f"key schema must be one HASH key optionally followed by one RANGE key, got {types}"
        elif len(schema) == 2 and schema[0].attribute_name == schema[1].attribute_name:
            yield base, f"HASH and RANGE keys are both {schema[0].attribute_name!r}"


@rule("attributes.duplicate", source=f"{_CREATE_TABLE}: AttributeDefinitions")
def _attributes_duplicate(cfg: TableConfig) -> Iterator[Finding]:
    """No attribute is defined twice in attributeDefinitions."""
    seen: set[str] = set()
    for i, a in enumerate(cfg.attribute_definitions):
        if a.attribute_name in seen:
            yield ("attributeDefinitions", i), f"{a.attribute_name!r} is defined twice"
        seen.add(a.attribute_name)


@rule("gsi.limit", source=f"{_LIMITS}: 20 global secondary indexes per table (default quota)")
def _gsi_limit(cfg: TableConfig) -> Iterator[Finding]:
    """A table has at most 20 global secondary indexes."""
    if len(cfg.global_secondary_indexes) > MAX_GSI:
        yield (("globalSecondaryIndexes",),
               f"{len(cfg.global_secondary_indexes)} global secondary indexes; DynamoDB allows at most {MAX_GSI}")


@rule("lsi.limit", source=f"{_LIMITS}: 5 local secondary indexes per table")
def _lsi_limit(cfg: TableConfig) -> Iterator[Finding]:
    """A table has at most 5 local secondary indexes."""
    if len(cfg.local_secondary_indexes) > MAX_LSI:
        yield (("localSecondaryIndexes",),
               f"{len(cfg.local_secondary_indexes)} local secondary indexes; DynamoDB allows at most {MAX_LSI}")


@rule("index.duplicate", source=f"{_CREATE_TABLE}: index names are unique per table (GSIs and LSIs together)")
def _index_duplicate(cfg: TableConfig) -> Iterator[Finding]:
    """Every index name (global and local together) is used once."""
    names: dict[str, Path_] = {}
    for base, idx in _indexes(cfg):
        if idx.index_name in names:
            yield ((*base, "indexName"),
                   f"index name {idx.index_name!r} is already used at {format_path(names[idx.index_name])}")
        names.setdefault(idx.index_name, (*base, "indexName"))


@rule("projection.include", source=f"{_CREATE_TABLE}: Projection.NonKeyAttributes")
def _projection_include(cfg: TableConfig) -> Iterator[Finding]:
    """projectionType INCLUDE needs nonKeyAttributes; the other projection types take none."""
    for base, idx in _indexes(cfg):
        p = idx.projection
        if p.projection_type == "INCLUDE":
            if not p.non_key_attributes:
                yield (*base, "projection", "nonKeyAttributes"), "projectionType INCLUDE needs nonKeyAttributes"
        elif p.non_key_attributes:
            yield ((*base, "projection", "nonKeyAttributes"),
                   f"nonKeyAttributes are only allowed with projectionType INCLUDE, not {p.projection_type}")


@rule("projection.duplicate", source=f"{_CREATE_TABLE}: Projection.NonKeyAttributes holds no duplicates "
      "(ValidationException: duplicate non-key attribute)")
def _projection_duplicate(cfg: TableConfig) -> Iterator[Finding]:
    """An index's nonKeyAttributes names each attribute once."""
    for base, idx in _indexes(cfg):
        seen: set[str] = set()
        for j, name in enumerate(idx.projection.non_key_attributes or []):
            if name in seen:
                yield (*base, "projection", "nonKeyAttributes", j), f"{name!r} is listed twice"
            seen.add(name)


@rule("projection.limit", source=f"{_LIMITS}: 100 projected non-key attributes across all indexes of a table")
def _projection_limit(cfg: TableConfig) -> Iterator[Finding]:
    """At most 100 nonKeyAttributes across all the indexes of a table."""
    total = sum(len(idx.projection.non_key_attributes or []) for _, idx in _indexes(cfg))
    if total > MAX_NON_KEY_ATTRIBUTES:
        yield (("globalSecondaryIndexes",),
               f"{total} nonKeyAttributes across all indexes; DynamoDB allows at most {MAX_NON_KEY_ATTRIBUTES}")


@rule("lsi.table-range", source=f"{_CREATE_TABLE}: LocalSecondaryIndexes need a composite table key")
def _lsi_table_range(cfg: TableConfig) -> Iterator[Finding]:
    """A table with local secondary indexes has a RANGE key."""
    if cfg.range_key is not None:
        return
    for i, lsi in enumerate(cfg.local_secondary_indexes):
        yield (("localSecondaryIndexes", i),
               f"local secondary index {lsi.index_name!r} needs a table with a RANGE key; "
               f"table key is only {cfg.hash_key!r} (HASH)")


@rule("lsi.hash", source=f"{_CREATE_TABLE}: an LSI has the same partition key as the table")
def _lsi_hash(cfg: TableConfig) -> Iterator[Finding]:
    """A local secondary index's HASH key is the table's HASH key."""
    for i, lsi in enumerate(cfg.local_secondary_indexes):
        lsi_hash = key_of(lsi.key_schema, "HASH")
        if lsi_hash is not None and lsi_hash != cfg.hash_key:
            yield (("localSecondaryIndexes", i, "keySchema"),
                   f"local secondary index HASH key must be the table's HASH key {cfg.hash_key!r}, not {lsi_hash!r}")


@rule("lsi.range", source=f"{_CREATE_TABLE}: an LSI key schema is HASH + RANGE")
def _lsi_range(cfg: TableConfig) -> Iterator[Finding]:
    """A local secondary index has a RANGE key."""
    for i, lsi in enumerate(cfg.local_secondary_indexes):
        if key_of(lsi.key_schema, "RANGE") is None:
            yield ("localSecondaryIndexes", i, "keySchema"), "a local secondary index needs a RANGE key"


@rule("attributes.undefined", source=f"{_CREATE_TABLE}: every key attribute is in AttributeDefinitions")
def _attributes_undefined(cfg: TableConfig) -> Iterator[Finding]:
    """Every key attribute (table and indexes) is in attributeDefinitions, with its type."""
    defined = cfg.attribute_types()
    for name, path in _used_keys(cfg).items():
        if name not in defined:
            yield path, f"key attribute {name!r} is not in attributeDefinitions (add it with its type S, N or B)"


@rule("attributes.unused", source=f"{_CREATE_TABLE}: AttributeDefinitions lists only key attributes "
      "(ValidationException otherwise)")
def _attributes_unused(cfg: TableConfig) -> Iterator[Finding]:
    """attributeDefinitions lists only attributes some table or index key uses."""
    used = _used_keys(cfg)
    for i, a in enumerate(cfg.attribute_definitions):
        if a.attribute_name not in used:
            yield (("attributeDefinitions", i),
                   f"{a.attribute_name!r} is defined but used by no table or index key; DynamoDB rejects "
                   "attribute definitions that are not keys (non-key attributes need no definition)")


@rule("billing.on-demand", source=f"{_CREATE_TABLE}: ProvisionedThroughput with BillingMode PAY_PER_REQUEST")
def _billing_on_demand(cfg: TableConfig) -> Iterator[Finding]:
    """PAY_PER_REQUEST (ON_DEMAND) tables and their indexes take no provisionedThroughput."""
    if cfg.effective_billing_mode is not BillingMode.PAY_PER_REQUEST:
        return
    if cfg.provisioned_throughput is not None:
        yield ("provisionedThroughput",), "PAY_PER_REQUEST (ON_DEMAND) tables take no provisionedThroughput"
    for i, g in enumerate(cfg.global_secondary_indexes):
        if g.provisioned_throughput is not None:
            yield (("globalSecondaryIndexes", i, "provisionedThroughput"),
                   f"index {g.index_name!r}: PAY_PER_REQUEST tables take no index provisionedThroughput")


@rule("autoscaling.on-demand", source=f"{_AUTOSCALING}: scalable targets need provisioned capacity")
def _autoscaling_on_demand(cfg: TableConfig) -> Iterator[Finding]:
    """autoScaling applies only to PROVISIONED tables (on-demand scales by itself)."""
    if cfg.effective_billing_mode is not BillingMode.PAY_PER_REQUEST:
        return
    if cfg.auto_scaling and (cfg.auto_scaling.read_capacity or cfg.auto_scaling.write_capacity):
        yield ("autoScaling",), "autoScaling applies only to PROVISIONED tables (on-demand scales by itself)"
    for i, g in enumerate(cfg.global_secondary_indexes):
        if g.auto_scaling is not None:
            yield ("globalSecondaryIndexes", i, "autoScaling"), "autoScaling applies only to PROVISIONED tables"


@rule("billing.provisioned", source=f"{_CREATE_TABLE}: ProvisionedThroughput is required with BillingMode "
      "PROVISIONED, on the table and every GSI")
def _billing_provisioned(cfg: TableConfig) -> Iterator[Finding]:
    """PROVISIONED tables give provisionedThroughput on the table and on every GSI."""
    if cfg.effective_billing_mode is BillingMode.PAY_PER_REQUEST:
        return
    if cfg.provisioned_throughput is None:
        yield (("provisionedThroughput",),
               "PROVISIONED tables need provisionedThroughput (readCapacityUnits, writeCapacityUnits)")
    for i, g in enumerate(cfg.global_secondary_indexes):
        if g.provisioned_throughput is None:
            yield (("globalSecondaryIndexes", i, "provisionedThroughput"),
                   f"index {g.index_name!r}: PROVISIONED tables need provisionedThroughput on every GSI")


@rule("autoscaling.range", source=f"{_AUTOSCALING}: RegisterScalableTarget MinCapacity <= MaxCapacity")
def _autoscaling_range(cfg: TableConfig) -> Iterator[Finding]:
    """minCapacity <= maxCapacity, and the provisioned units lie between them."""
    for base, auto, throughput in _autoscalings(cfg):
        for side in ("read_capacity", "write_capacity"):
            scaling = getattr(auto, side)
            if scaling is None:
                continue
            path = (*base, to_camel(side))
            if scaling.min_capacity > scaling.max_capacity:
                yield ((*path, "minCapacity"),
                       f"minCapacity {scaling.min_capacity} is above maxCapacity {scaling.max_capacity}")
            if throughput is not None:
                current = (throughput.read_capacity_units if side == "read_capacity"
                           else throughput.write_capacity_units)
                if not scaling.min_capacity <= current <= scaling.max_capacity:
                    yield ((*path, "minCapacity"),
                           f"provisioned {to_camel(side)} units {current} is outside [{scaling.min_capacity}, "
                           f"{scaling.max_capacity}]")


@rule("autoscaling.target", source=f"{_AUTOSCALING}: TargetValue for DynamoDB utilisation is 20-90")
def _autoscaling_target(cfg: TableConfig) -> Iterator[Finding]:
    """A target-tracking targetValue is between 20 and 90 percent utilisation."""
    for base, auto, _ in _autoscalings(cfg):
        for side in ("read_capacity", "write_capacity"):
            scaling = getattr(auto, side)
            if scaling is None:
                continue
            tv = scaling.target_tracking_scaling_policy_configuration.target_value
            if not 20.0 <= tv <= 90.0:
                yield ((*base, to_camel(side), "targetTrackingScalingPolicyConfiguration", "targetValue"),
                       f"targetValue {tv} must be between 20 and 90 (percent utilisation)")


@rule("stream.view-type", source=f"{_CREATE_TABLE}: StreamSpecification.StreamViewType")
def _stream_view_type(cfg: TableConfig) -> Iterator[Finding]:
    """An enabled stream has a streamViewType; a disabled one has none."""
    ss = cfg.stream_specification
    if ss is None:
        return
    if ss.stream_enabled and ss.stream_view_type is None:
        yield (("streamSpecification", "streamViewType"),
               "streamEnabled: true needs streamViewType (KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES)")
    if not ss.stream_enabled and ss.stream_view_type is not None:
        yield ("streamSpecification", "streamViewType"), "streamViewType is only allowed when streamEnabled is true"


@rule("sse.key", source=f"{_CREATE_TABLE}: SSESpecification (KMSMasterKeyId only with SSEEnabled)")
def _sse_key(cfg: TableConfig) -> Iterator[Finding]:
    """A KMS key (given or created) needs sseEnabled: true; give a key or createKey, not both."""
    sse = cfg.sse_specification
    if sse is None:
        return
    if sse.kms_master_key_id is not None:
        if not sse.sse_enabled:
            yield ("sseSpecification", "kmsMasterKeyId"), "kmsMasterKeyId needs sseEnabled: true"
        if sse.create_key:
            yield ("sseSpecification", "createKey"), "give either kmsMasterKeyId or createKey: true, not both"
    if sse.create_key and not sse.sse_enabled:
        yield ("sseSpecification", "createKey"), "createKey needs sseEnabled: true"


@rule("kms.format", source=_KMS)
def _kms_format(cfg: TableConfig) -> Iterator[Finding]:
    """Every KMS key is a key id, key ARN, alias name or alias ARN."""
    for path, key, _ in _kms_keys(cfg):
        if not KMS_KEY_RE.match(key):
            yield path, (f"{key!r} is not a KMS key id, key ARN (arn:aws:kms:REGION:ACCOUNT:key/UUID), "
                         "alias or alias ARN")


@rule("kms.region", source=f"{_GLOBAL}: a replica's KMS key is in the replica's region")
def _kms_region(cfg: TableConfig) -> Iterator[Finding]:
    """A replica's KMS key ARN names the replica's own region."""
    for path, key, region in _kms_keys(cfg):
        key_region = kms_key_region(key)
        if region and key_region and key_region != region:
            yield path, f"key {key!r} is in {key_region}, but the replica is in {region}"


@rule("ttl.type", source="DynamoDB Developer Guide, Time to Live: the TTL attribute is a Number (epoch seconds)")
def _ttl_type(cfg: TableConfig) -> Iterator[Finding]:
    """A TTL attribute that is also a key attribute is of type N."""
    ttl = cfg.time_to_live_specification
    defined = cfg.attribute_types()
    if ttl is not None and ttl.attribute_name in defined and defined[ttl.attribute_name] != "N":
        yield (("timeToLiveSpecification", "attributeName"),
               f"TTL attribute {ttl.attribute_name!r} is a key attribute of type {defined[ttl.attribute_name]}; "
               "TTL needs a Number (epoch seconds)")


@rule("backup.rule-name", source=f"{_BACKUP}: RuleName pattern ^[a-zA-Z0-9\\-\\_\\.]{{1,50}}$, unique per plan")
def _backup_rule_name(cfg: TableConfig) -> Iterator[Finding]:
    """Backup rule names are 1-50 of A-Z a-z 0-9 - _ . and unique in the plan."""
    seen: set[str] = set()
    for base, r in _backup_rules(cfg):
        if not re.fullmatch(r"[A-Za-z0-9\-_.]{1,50}", r.rule_name):
            yield (*base, "ruleName"), f"rule name {r.rule_name!r} must be 1-50 of A-Z a-z 0-9 - _ ."
        if r.rule_name in seen:
            yield (*base, "ruleName"), f"rule name {r.rule_name!r} is used twice"
        seen.add(r.rule_name)


@rule("backup.schedule", source="AWS Backup Developer Guide, schedule expressions (cron with 6 fields; AWS Backup takes no rate())")
def _backup_schedule(cfg: TableConfig) -> Iterator[Finding]:
    """A backup schedule is a valid AWS cron(...) expression (AWS Backup rejects rate(...))."""
    for base, r in _backup_rules(cfg):
        err = schedule_error(r.schedule)
        if err:
            yield (*base, "schedule"), err


@rule("backup.retention", source=f"{_BACKUP}: Lifecycle.DeleteAfterDays >= MoveToColdStorageAfterDays + 90")
def _backup_retention(cfg: TableConfig) -> Iterator[Finding]:
    """Retention is positive, and at least coldStorageAfter + 90 days when cold storage is used."""
    for base, r in _backup_rules(cfg):
        if r.retention <= 0:
            yield (*base, "retention"), f"retention must be > 0 days, got {r.retention}"
        if r.cold_storage_after is not None and r.retention < r.cold_storage_after + 90:
            yield ((*base, "retention"),
                   f"retention ({r.retention}) must be at least coldStorageAfter + 90 days "
                   f"({r.cold_storage_after + 90}) as AWS Backup requires")


@rule("region.format", source="AWS General Reference, Regions and endpoints (region codes)")
def _region_format(cfg: TableConfig) -> Iterator[Finding]:
    """Every region (backup copies, global table regions and replicas) is an AWS region code."""
    for base, r in _backup_rules(cfg):
        for j, c in enumerate(r.copy_to):
            if not REGION_RE.match(c.region):
                yield (*base, "copyTo", j, "region"), f"{c.region!r} is not an AWS region name"
    gt = cfg.global_tables
    if gt is None:
        return
    for i, name in enumerate(gt.regions):
        if not REGION_RE.match(name):
            yield ("globalTables", "regions", i), f"{name!r} is not an AWS region name"
    for i, replica in enumerate(gt.replication_group):
        if not REGION_RE.match(replica.region):
            yield ("globalTables", "replicationGroup", i, "region"), f"{replica.region!r} is not an AWS region name"


@rule("backup.vault-name", source="AWS Backup API Reference, CreateBackupVault: BackupVaultName pattern, 2-50")
def _backup_vault_name(cfg: TableConfig) -> Iterator[Finding]:
    """A backup vault name is 2-50 of A-Z a-z 0-9 - _"""
    bp = cfg.backup_policy
    if bp is not None and bp.vault_name is not None and not re.fullmatch(r"[A-Za-z0-9\-_]{2,50}", bp.vault_name):
        yield ("backupPolicy", "vaultName"), f"vault name {bp.vault_name!r} must be 2-50 of A-Z a-z 0-9 - _"


@rule("pitr.conflict", source="ddbkit component spec: the three point-in-time recovery flags are one setting")
def _pitr_conflict(cfg: TableConfig) -> Iterator[Finding]:
    """Point-in-time recovery is not both on and off across its three spellings."""
    bp = cfg.backup_policy
    if bp is None:
        return
    flags = {("pointInTimeRecoveryEnabled",): cfg.point_in_time_recovery_enabled,
             ("backupPolicy", "pointInTimeRecoveryEnabled"): bp.point_in_time_recovery_enabled,
             ("backupPolicy", "continuousBackups", "enabled"):
                 bp.continuous_backups.enabled if bp.continuous_backups else None}
    given = {k: v for k, v in flags.items() if v is not None}
    if len(set(given.values())) > 1:
        paths = ", ".join(f"{format_path(k)}={v}" for k, v in given.items())
        yield ("backupPolicy", "pointInTimeRecoveryEnabled"), f"point-in-time recovery is both on and off: {paths}"


@rule("global.regions", source=f"{_GLOBAL}: at least two distinct regions, each listed once")
def _global_regions(cfg: TableConfig) -> Iterator[Finding]:
    """A global table lists at least 2 regions, each once; replicationGroup regions are among them."""
    gt = cfg.global_tables
    if gt is None:
        return
    base: Path_ = ("globalTables",)
    if len(set(gt.regions)) != len(gt.regions):
        yield (*base, "regions"), "a region is listed twice"
    group_regions = [r.region for r in gt.replication_group]
    if len(set(group_regions)) != len(group_regions):
        yield (*base, "replicationGroup"), "a region appears twice in replicationGroup"
    stray = [g for g in group_regions if g not in gt.regions]
    if gt.regions and stray:
        yield (*base, "replicationGroup"), f"replicationGroup regions {stray} are not in regions {gt.regions}"
    if len(gt.all_regions()) < 2:
        yield (*base, "regions"), "a global table needs at least 2 regions"


@rule("global.stream", source=f"{_GLOBAL}: replication uses a NEW_AND_OLD_IMAGES stream")
def _global_stream(cfg: TableConfig) -> Iterator[Finding]:
    """A global table's stream, if given, is enabled with NEW_AND_OLD_IMAGES."""
    ss = cfg.stream_specification
    if cfg.global_tables is not None and ss is not None and (
            not ss.stream_enabled or ss.stream_view_type not in (None, "NEW_AND_OLD_IMAGES")):
        yield (("streamSpecification",),
               "global tables replicate through a NEW_AND_OLD_IMAGES stream; enable it or leave "
               "streamSpecification out")


@rule("global.autoscaling", source=f"{_GLOBAL}: provisioned replicas need write capacity auto scaling")
def _global_autoscaling(cfg: TableConfig) -> Iterator[Finding]:
    """A PROVISIONED global table has write capacity auto scaling."""
    if cfg.global_tables is not None and cfg.effective_billing_mode is BillingMode.PROVISIONED and not (
            cfg.auto_scaling and cfg.auto_scaling.write_capacity):
        yield (("autoScaling", "writeCapacity"),
               "PROVISIONED global tables need write capacity auto scaling (replicas must keep up with writes)")


@rule("global.kms", source=f"{_GLOBAL}: with a customer-managed key, each replica names a key in its region")
def _global_kms(cfg: TableConfig) -> Iterator[Finding]:
    """With a customer-managed key, every replica outside the key's region names its own kmsKeyId."""
    gt, sse = cfg.global_tables, cfg.sse_specification
    if gt is None or sse is None or not sse.kms_master_key_id or not gt.replication_group:
        return
    home = kms_key_region(sse.kms_master_key_id)
    missing = [r.region for r in gt.replication_group if not r.kms_key_id and r.region != home]
    if missing:
        yield (("globalTables", "replicationGroup"),
               f"with a customer-managed key every replica needs its own kmsKeyId; missing in {missing}")


@rule("dax.name", source=f"{_DAX}: ClusterName, 1-20 characters")
def _dax_name(cfg: TableConfig) -> Iterator[Finding]:
    """An enabled DAX cluster has a name of 1-20 letters, digits or single hyphens, starting with a letter."""
    dax = cfg.dax_cluster
    if dax is None or not dax.enabled:
        return
    if not dax.cluster_name:
        yield ("daxCluster", "clusterName"), "an enabled DAX cluster needs clusterName"
    elif not DAX_NAME_RE.match(dax.cluster_name) or dax.cluster_name.endswith("-"):
        yield (("daxCluster", "clusterName"),
               f"DAX cluster name {dax.cluster_name!r} must be 1-20 letters, digits or hyphens, start with a "
               "letter, not end with a hyphen nor contain two hyphens in a row")


@rule("dax.replication-factor", source=f"{_DAX}: ReplicationFactor 1-10 nodes")
def _dax_replication_factor(cfg: TableConfig) -> Iterator[Finding]:
    """An enabled DAX cluster has 1-10 nodes."""
    dax = cfg.dax_cluster
    if dax is not None and dax.enabled and not 1 <= dax.replication_factor <= 10:
        yield (("daxCluster", "replicationFactor"),
               f"replicationFactor must be 1-10 nodes, got {dax.replication_factor}")


@rule("dax.node-type", source=f"{_DAX}: NodeType (dax.<family>.<size>)")
def _dax_node_type(cfg: TableConfig) -> Iterator[Finding]:
    """An enabled DAX cluster's nodeType looks like dax.r5.large."""
    dax = cfg.dax_cluster
    if dax is not None and dax.enabled and not DAX_NODE_RE.match(dax.node_type):
        yield (("daxCluster", "nodeType"),
               f"nodeType {dax.node_type!r} is not a DAX node type like dax.r5.large or dax.t3.small")


@rule("tags.limit", source=f"{_TAGS}: at most 50 tags per resource")
def _tags_limit(cfg: TableConfig) -> Iterator[Finding]:
    """A table has at most 50 tags."""
    if len(cfg.tags) > MAX_TAGS:
        yield ("tags",), f"{len(cfg.tags)} tags; at most {MAX_TAGS} per resource"


@rule("tags.key", source=f"{_TAGS}: keys 1-128 characters, the aws: prefix is reserved")
def _tags_key(cfg: TableConfig) -> Iterator[Finding]:
    """Tag keys are 1-128 characters and do not start with aws:"""
    for k in cfg.tags:
        if not 1 <= len(k) <= 128 or k.lower().startswith("aws:"):
            yield ("tags", k), f"tag key {k!r} must be 1-128 characters and not start with 'aws:'"


@rule("tags.value", source=f"{_TAGS}: values at most 256 characters")
def _tags_value(cfg: TableConfig) -> Iterator[Finding]:
    """Tag values are at most 256 characters."""
    for k, v in cfg.tags.items():
        if len(v) > 256:
            yield ("tags", k), f"tag {k!r} value is {len(v)} characters; at most 256"


@rule("monitoring.topic", source="Amazon SNS API Reference, topic ARN format (alarm actions)")
def _monitoring_topic(cfg: TableConfig) -> Iterator[Finding]:
    """monitoring.alarmTopicArn is an SNS topic ARN."""
    m = cfg.monitoring
    if m and m.alarm_topic_arn and not SNS_ARN_RE.match(m.alarm_topic_arn):
        yield ("monitoring", "alarmTopicArn"), f"{m.alarm_topic_arn!r} is not an SNS topic ARN"


@rule("monitoring.notify", source="CloudWatch PutMetricAlarm AlarmActions; AWS Config CLOUDWATCH_ALARM_ACTION_CHECK",
      scope="warning")
def _monitoring_notify(cfg: TableConfig) -> Iterator[Finding]:
    """Alarms notify someone: without monitoring.alarmTopicArn the alarms of a commercial-tier table have no
    action (the fedramp tiers create a KMS-encrypted topic instead). A warning: the config still loads."""
    m = cfg.monitoring
    fedramp = cfg.compliance_framework is not None and cfg.compliance_framework.value.startswith("fedramp")
    if not fedramp and not (m and m.alarm_topic_arn):
        yield (("monitoring", "alarmTopicArn"),
               "the table's CloudWatch alarms notify nobody: set monitoring.alarmTopicArn to an SNS topic ARN")


@rule("security.org-id", source="IAM global condition keys: aws:PrincipalOrgID (o- followed by 10-32 characters)")
def _security_org_id(cfg: TableConfig) -> Iterator[Finding]:
    """resourcePolicy.principalOrgId is an AWS Organizations id (o-...) and is set only with cross-account
    grants to restrict (crossAccountPrincipals or binds from other accounts)."""
    rp = cfg.resource_policy
    if rp and rp.principal_org_id is not None and not re.fullmatch(r"o-[a-z0-9]{10,32}", rp.principal_org_id):
        yield (("resourcePolicy", "principalOrgId"),
               f"{rp.principal_org_id!r} is not an AWS Organizations id (o- and 10-32 lower-case letters or digits)")


# --------------------------------------------------------------------------------------------------
# File rules (components and binds)
# --------------------------------------------------------------------------------------------------


@rule("component.duplicate", source="ddbkit component spec: component names are unique in a file", scope="file")
def _component_duplicate(ctx: FileContext) -> Iterator[Finding]:
    """Every component name is used once in a file."""
    names = ctx.names
    for i, comp in enumerate(ctx.components):
        if names.count(comp.name) > 1:
            yield ("components", i, "name"), f"component name {comp.name!r} is used twice"


@rule("bind.target", source="ddbkit component spec: binds name a dynamodb-table component of the same file",
      scope="file")
def _bind_target(ctx: FileContext) -> Iterator[Finding]:
    """A bind's `to` names a dynamodb-table component in the same file."""
    names = ctx.names
    for i, comp in enumerate(ctx.components):
        for j, b in enumerate(comp.binds):
            if b.to not in names:
                yield ("components", i, "binds", j, "to"), f"bind target {b.to!r} is not a component in this file"
            elif b.to not in ctx.tables and b.to not in ctx.failed:
                yield ("components", i, "binds", j, "to"), f"{b.to!r} is not a dynamodb-table component"


@rule("bind.stream", source="DynamoDB Streams: a stream-read consumer needs the table's stream", scope="file")
def _bind_stream(ctx: FileContext) -> Iterator[Finding]:
    """A stream-read bind targets a table with its stream enabled (or a global table, which has one)."""
    for i, comp in enumerate(ctx.components):
        for j, b in enumerate(comp.binds):
            table = ctx.tables.get(b.to)
            if b.access != "stream-read" or table is None:
                continue
            ss = table.stream_specification
            if not (ss and ss.stream_enabled) and not table.global_tables:
                yield (("components", i, "binds", j, "access"),
                       f"stream-read needs streamSpecification.streamEnabled on {b.to!r}")


@rule("bind.attributes", source="IAM: dynamodb:Attributes condition key (DynamoDB fine-grained access control)",
      scope="file")
def _bind_attributes(ctx: FileContext) -> Iterator[Finding]:
    """A bind's `attributes` are non-empty top-level attribute names on a read/write bind (not stream-read,
    whose records carry whole items). IAM's `dynamodb:Attributes` matches top-level names only, so a
    document path (`address.city`, `tags[0]`) is refused: it would match nothing and deny every request."""
    for i, comp in enumerate(ctx.components):
        for j, b in enumerate(comp.binds):
            if b.attributes is None:
                continue
            where = ("components", i, "binds", j, "attributes")
            if b.access == "stream-read":
                yield where, "attributes cannot limit a stream-read bind: stream records carry whole items"
            elif not b.attributes or any(not a or len(a) > 255 for a in b.attributes):
                yield where, "attributes lists 1 or more attribute names of 1-255 characters"
            else:
                for k, a in enumerate(b.attributes):
                    top = re.split(r"[.\[]", a, maxsplit=1)[0]
                    if top != a:
                        yield ((*where, k), f"{a!r} is a document path; IAM's dynamodb:Attributes matches "
                               f"top-level attribute names only: name the top-level attribute {top!r}")


@rule("bind.account", source="AWS account identifiers (12 digits); IAM cross-account access", scope="file")
def _bind_account(ctx: FileContext) -> Iterator[Finding]:
    """A bind's `account` is a 12-digit AWS account id."""
    for i, comp in enumerate(ctx.components):
        for j, b in enumerate(comp.binds):
            if b.account is not None and not re.fullmatch(r"\d{12}", b.account):
                yield ("components", i, "binds", j, "account"), f"{b.account!r} is not a 12-digit AWS account id"


# --------------------------------------------------------------------------------------------------
# Security features: audit trail, resource policy, VPC endpoints
# --------------------------------------------------------------------------------------------------

_PRINCIPAL_RE = re.compile(r"^(\d{12}|arn:aws[a-z-]*:iam::\d{12}:(root|role/[\w+=,.@/-]+|user/[\w+=,.@/-]+))$")


@rule("security.principal", source="IAM JSON policy reference: Principal (AWS account and IAM ARNs)")
def _security_principal(cfg: TableConfig) -> Iterator[Finding]:
    """Cross-account principals are 12-digit account ids or IAM root/role/user ARNs (no wildcards)."""
    rp = cfg.resource_policy
    for k, p in enumerate(rp.cross_account_principals if rp else []):
        if not _PRINCIPAL_RE.match(p):
            yield (("resourcePolicy", "crossAccountPrincipals", k),
                   f"{p!r} is not an account id or an IAM role/user/root ARN")


@rule("security.vpc-endpoints", source="Amazon VPC: gateway and interface endpoints for DynamoDB")
def _security_vpce(cfg: TableConfig) -> Iterator[Finding]:
    """vpcEndpoints has a vpc-... id, route tables for the gateway, subnets for an interface endpoint;
    resourcePolicy.denyOutsideVpcEndpoints needs vpcEndpoints."""
    v, rp = cfg.vpc_endpoints, cfg.resource_policy
    if rp and rp.deny_outside_vpc_endpoints and v is None:
        yield (("resourcePolicy", "denyOutsideVpcEndpoints"),
               "denyOutsideVpcEndpoints needs a vpcEndpoints block (else every request is denied)")
    if v is None:
        return
    if not re.fullmatch(r"vpc-[0-9a-f]{8,17}", v.vpc_id):
        yield ("vpcEndpoints", "vpcId"), f"{v.vpc_id!r} is not a VPC id (vpc-...)"
    if not v.route_table_ids and not v.endpoint_ids:
        yield ("vpcEndpoints", "routeTableIds"), "a gateway endpoint needs at least one route table (rtb-...)"
    for k, r in enumerate(v.route_table_ids):
        if not re.fullmatch(r"rtb-[0-9a-f]{8,17}", r):
            yield ("vpcEndpoints", "routeTableIds", k), f"{r!r} is not a route table id (rtb-...)"
    if v.interface and not v.subnet_ids:
        yield ("vpcEndpoints", "subnetIds"), "an interface endpoint needs subnetIds"
    for k, e in enumerate(v.endpoint_ids):
        if not re.fullmatch(r"vpce-[0-9a-f]{8,17}", e):
            yield ("vpcEndpoints", "endpointIds", k), f"{e!r} is not a VPC endpoint id (vpce-...)"


@rule("security.audit-trail", source="CloudTrail: event data store retention 7-3653 days; S3 bucket naming rules")
def _security_audit_trail(cfg: TableConfig) -> Iterator[Finding]:
    """auditTrail's retention fits its kind (an event data store keeps 7-3653 days), a given bucket name
    is a valid S3 bucket name, and objectLock applies to a bucket ddbkit creates."""
    a = cfg.audit_trail
    if a is None or not a.enabled:
        return
    if a.kind == "event-data-store" and a.retention_days is not None and not 7 <= a.retention_days <= 3653:
        yield ("auditTrail", "retentionDays"), "an event data store keeps events 7-3653 days"
    if a.bucket_name is not None:
        if a.kind != "trail":
            yield ("auditTrail", "bucketName"), "bucketName is for kind: trail"
        elif not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", a.bucket_name):
            yield ("auditTrail", "bucketName"), f"{a.bucket_name!r} is not an S3 bucket name"
        if a.object_lock:
            yield (("auditTrail", "objectLock"),
                   "objectLock is set when ddbkit creates the bucket; turn it on for your own bucket yourself")
    if a.name is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{2,127}", a.name):
        yield ("auditTrail", "name"), f"{a.name!r} is not a CloudTrail name (3-128 letters, digits, . _ -)"


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
    """Why ``expr`` is not an AWS Backup schedule: AWS Backup takes ``cron(m h dom mon dow yr)`` only."""
    if re.match(r"\s*rate\s*\(", expr):
        return (f"{expr!r}: AWS Backup takes cron expressions only, not rate(...); for a daily backup at "
                "02:00 UTC use cron(0 2 * * ? *)")
    m = re.fullmatch(r"cron\((.*)\)", expr.strip())
    if not m:
        return f"{expr!r} is not a cron(...) expression"
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
    """True when the cron schedule fires on every day of every month of every year (what the FedRAMP packs
    require): ``*``/``?``, ``1-31``, ``SUN-SAT``, ``1-7`` or a list naming every day all count."""
    m = re.fullmatch(r"cron\((.*)\)", expr.strip())
    if not m or schedule_error(expr):
        return False
    _minute, _hour, dom, month, dow, year = m.group(1).split()
    return (year == "*" and _cron_covers(month, 1, 12, _MONTHS)
            and (dom == "?" or _cron_covers(dom, 1, 31)) and (dow == "?" or _cron_covers(dow, 1, 7, _DAYS)))


def _cron_covers(value: str, lo: int, hi: int, names: Sequence[str] = ()) -> bool:
    """True when the cron field ``value`` selects every value in ``lo..hi`` (names count from ``lo``)."""
    def num(tok: str) -> int:
        up = tok.upper()
        return lo + names.index(up) if up in names else int(tok)

    seen: set[int] = set()
    for part in value.split(","):
        if part == "*":
            return True
        rng, _, step = part.partition("/")
        try:
            if rng == "*":
                a, b = lo, hi
            elif "-" in rng:
                a, b = (num(t) for t in rng.split("-", 1))
            else:
                a = b = num(rng)
            seen.update(range(a, b + 1, int(step) if step else 1))
        except ValueError:
            return False
    return set(range(lo, hi + 1)) <= seen
