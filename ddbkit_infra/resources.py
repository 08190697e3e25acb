"""The config model as DynamoDB API requests (CreateTable and friends).

Pure functions from a validated :class:`~ddbkit.config.TableConfig` to boto3 request dicts; the plan/apply
engine and the tests that create tables on the local backends both use them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ddbkit.config import (
    AutoScaling,
    BillingMode,
    CapacityScaling,
    CopyAction,
    DaxCluster,
    GlobalSecondaryIndex,
    KeySchemaElement,
    LocalSecondaryIndex,
    Projection,
    ProvisionedThroughput,
    TableConfig,
)

__all__ = [
    "BACKUP_MANAGED_POLICIES",
    "ScalingSpec",
    "SseTarget",
    "alarm_prefix",
    "backup_plan_name",
    "backup_role_name",
    "backup_rules",
    "backup_selection_name",
    "backup_vault_arn",
    "backup_vault_name",
    "contributor_insights_request",
    "copy_vault_name",
    "create_table_request",
    "dax_cluster_request",
    "dax_enabled",
    "dax_role_name",
    "dax_subnet_group_name",
    "gsi_request",
    "has_backup_plan",
    "key_arn",
    "key_schema",
    "kms_alias_name",
    "lsi_request",
    "pitr_request",
    "pitr_wanted",
    "projection",
    "replica_contributor_insights",
    "replica_create_request",
    "replica_kms_key",
    "replica_pitr",
    "replica_regions",
    "scaling_specs",
    "service_trust_policy",
    "autoscaling_gaps",
    "required_scaling_targets",
    "sse_target",
    "sse_update_request",
    "stream_wanted",
    "throughput",
    "ttl_request",
]


def key_schema(schema: list[KeySchemaElement]) -> list[dict[str, str]]:
    return [{"AttributeName": k.attribute_name, "KeyType": k.key_type} for k in schema]


def projection(p: Projection) -> dict[str, Any]:
    out: dict[str, Any] = {"ProjectionType": p.projection_type}
    if p.non_key_attributes:
        out["NonKeyAttributes"] = list(p.non_key_attributes)
    return out


def throughput(t: ProvisionedThroughput) -> dict[str, int]:
    return {"ReadCapacityUnits": t.read_capacity_units, "WriteCapacityUnits": t.write_capacity_units}


def gsi_request(g: GlobalSecondaryIndex, billing: BillingMode) -> dict[str, Any]:
    out: dict[str, Any] = {"IndexName": g.index_name, "KeySchema": key_schema(g.key_schema),
                           "Projection": projection(g.projection)}
    if billing is BillingMode.PROVISIONED and g.provisioned_throughput:
        out["ProvisionedThroughput"] = throughput(g.provisioned_throughput)
    return out


def lsi_request(li: LocalSecondaryIndex) -> dict[str, Any]:
    return {"IndexName": li.index_name, "KeySchema": key_schema(li.key_schema), "Projection": projection(li.projection)}


def create_table_request(cfg: TableConfig, *, sse_key_id: Any = None) -> dict[str, Any]:
    """The CreateTable parameters for ``cfg``.

    CreateTable does not take PITR, TTL, contributor insights, replicas or autoscaling: those are
    separate calls made after the table is ACTIVE. ``sse_key_id`` overrides the key (e.g. a key ddbkit
    just created because the config asks for ``createKey``; plan/apply pass a placeholder resolved at
    apply time).
    """
    billing = cfg.effective_billing_mode
    req: dict[str, Any] = {
        "TableName": cfg.table_name,
        "AttributeDefinitions": [{"AttributeName": a.attribute_name, "AttributeType": a.attribute_type}
                                 for a in cfg.attribute_definitions],
        "KeySchema": key_schema(cfg.key_schema),
        "BillingMode": billing.value,
    }
    if billing is BillingMode.PROVISIONED and cfg.provisioned_throughput:
        req["ProvisionedThroughput"] = throughput(cfg.provisioned_throughput)
    if cfg.global_secondary_indexes:
        req["GlobalSecondaryIndexes"] = [gsi_request(g, billing) for g in cfg.global_secondary_indexes]
    if cfg.local_secondary_indexes:
        req["LocalSecondaryIndexes"] = [lsi_request(li) for li in cfg.local_secondary_indexes]
    ss = cfg.stream_specification
    if ss and ss.stream_enabled:
        req["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": ss.stream_view_type}
    elif cfg.global_tables:
        req["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    sse = cfg.sse_specification
    if sse and sse.sse_enabled:
        spec: dict[str, Any] = {"Enabled": True, "SSEType": "KMS"}  # the API says Enabled; CFN says SSEEnabled
        key = sse_key_id or sse.kms_master_key_id
        if key:
            spec["KMSMasterKeyId"] = key
        req["SSESpecification"] = spec
    if cfg.table_class:
        req["TableClass"] = cfg.table_class
    if cfg.deletion_protection_enabled is not None:
        req["DeletionProtectionEnabled"] = cfg.deletion_protection_enabled
    if cfg.tags:
        req["Tags"] = [{"Key": k, "Value": v} for k, v in cfg.tags.items()]
    return req


# ==================================================================================================
# Shared by plan/apply (boto3) and CloudFormation synth: names, desired settings, request bodies.
# Everything below is a pure function of the (tier-resolved) config, so both outputs agree.
# ==================================================================================================

_SAFE = re.compile(r"[^A-Za-z0-9_\-]")


def _safe(name: str, limit: int) -> str:
    """``name`` with characters outside ``[A-Za-z0-9_-]`` replaced by ``-``, cut to ``limit``."""
    return _SAFE.sub("-", name)[:limit]


def kms_alias_name(table: str) -> str:
    """Alias of the key ddbkit creates for ``sseSpecification.createKey`` (lookup key for idempotency)."""
    return f"alias/ddbkit/{_safe(table, 200)}"


def backup_vault_name(cfg: TableConfig) -> str:
    """The table's AWS Backup vault: ``backupPolicy.vaultName`` or ``ddbkit-<table>`` (2-50 chars)."""
    bp = cfg.backup_policy
    if bp is not None and bp.vault_name:
        return bp.vault_name
    return _safe(f"ddbkit-{cfg.table_name}", 50)


def copy_vault_name(cfg: TableConfig, action: CopyAction) -> str:
    """Destination vault (in ``action.region``) of a cross-region copy: its own name or the table's vault name."""
    return action.vault_name or backup_vault_name(cfg)


def backup_plan_name(cfg: TableConfig) -> str:
    return _safe(f"ddbkit-{cfg.table_name}", 50)


def backup_selection_name(cfg: TableConfig) -> str:
    return _safe(f"ddbkit-{cfg.table_name}", 50)


def backup_role_name(table: str) -> str:
    return _safe(f"ddbkit-backup-{table}", 64)


def dax_role_name(table: str) -> str:
    return _safe(f"ddbkit-dax-{table}", 64)


def alarm_prefix(table: str) -> str:
    """Every alarm ddbkit manages for ``table`` starts with this (plan finds stale ones by it)."""
    return f"ddbkit-{table}-"


def has_backup_plan(cfg: TableConfig) -> bool:
    return bool(cfg.backup_policy and cfg.backup_policy.rules)


def dax_enabled(cfg: TableConfig) -> bool:
    return bool(cfg.dax_cluster and cfg.dax_cluster.enabled and cfg.dax_cluster.cluster_name)


def replica_regions(cfg: TableConfig, home_region: str) -> list[str]:
    """The globalTables regions other than ``home_region`` (where the table itself lives)."""
    if not cfg.global_tables:
        return []
    return [r for r in cfg.global_tables.all_regions() if r != home_region]


def stream_wanted(cfg: TableConfig) -> tuple[bool, str | None] | None:
    """``(enabled, view type)`` the config asks for, or None when it leaves streams unmanaged.

    Global tables replicate through a NEW_AND_OLD_IMAGES stream, so they always want one.
    """
    ss = cfg.stream_specification
    if ss is not None and ss.stream_enabled:
        return True, ss.stream_view_type
    if cfg.global_tables:
        return True, "NEW_AND_OLD_IMAGES"
    if ss is not None:
        return False, None
    return None


def pitr_wanted(cfg: TableConfig) -> bool | None:
    """True/False when the config sets point-in-time recovery, None when it says nothing (unmanaged)."""
    if cfg.pitr_enabled:
        return True
    bp = cfg.backup_policy
    flags = [cfg.point_in_time_recovery_enabled]
    if bp is not None:
        flags += [bp.point_in_time_recovery_enabled, bp.continuous_backups.enabled if bp.continuous_backups else None]
    return False if any(f is False for f in flags) else None


@dataclass(frozen=True)
class SseTarget:
    """The encryption the config asks for.

    ``kind``: ``owned`` (AWS-owned key, sseEnabled false), ``aws-managed`` (alias/aws/dynamodb),
    ``customer`` (``key`` is the configured key id/alias/ARN), ``create`` (ddbkit's own key with rotation).
    """

    kind: Literal["owned", "aws-managed", "customer", "create"]
    key: str | None = None


def sse_target(cfg: TableConfig) -> SseTarget | None:
    sse = cfg.sse_specification
    if sse is None:
        return None
    if not sse.sse_enabled:
        return SseTarget("owned")
    if sse.create_key:
        return SseTarget("create")
    if sse.kms_master_key_id:
        if "alias/aws/" in sse.kms_master_key_id:
            return SseTarget("aws-managed")
        return SseTarget("customer", sse.kms_master_key_id)
    return SseTarget("aws-managed")


def sse_update_request(target: SseTarget, key_arn: Any = None) -> dict[str, Any]:
    """UpdateTable's ``SSESpecification`` for ``target`` (``key_arn``: the resolved customer key)."""
    if target.kind == "owned":
        return {"Enabled": False}
    spec: dict[str, Any] = {"Enabled": True, "SSEType": "KMS"}
    if target.kind in ("customer", "create"):
        spec["KMSMasterKeyId"] = key_arn if key_arn is not None else target.key
    return spec


def key_arn(key: str, region: str, account: str, partition: str = "aws") -> str:
    """A KMS key reference as an ARN: ARNs pass through; bare ids and aliases get region and account."""
    if key.startswith("arn:"):
        return key
    return f"arn:{partition}:kms:{region}:{account}:{key if key.startswith('alias/') else 'key/' + key}"


# -- TTL / PITR / contributor insights / replicas ----------------------------------------------------


def ttl_request(table: str, enabled: bool, attribute: str) -> dict[str, Any]:
    return {"TableName": table, "TimeToLiveSpecification": {"Enabled": enabled, "AttributeName": attribute}}


def pitr_request(table: str, enabled: bool) -> dict[str, Any]:
    return {"TableName": table, "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": enabled}}


def contributor_insights_request(table: str, enabled: bool, mode: str | None = None,
                                 index: str | None = None) -> dict[str, Any]:
    req: dict[str, Any] = {"TableName": table, "ContributorInsightsAction": "ENABLE" if enabled else "DISABLE"}
    if index:
        req["IndexName"] = index
    if enabled and mode:
        req["ContributorInsightsMode"] = mode
    return req


def replica_kms_key(cfg: TableConfig, region: str) -> str | None:
    """The customer key a replica in ``region`` uses (None: the AWS-managed/owned key)."""
    gt = cfg.global_tables
    if gt is None:
        return None
    return gt.replica(region).kms_key_id


def replica_create_request(cfg: TableConfig, region: str) -> dict[str, Any]:
    """UpdateTable's ``ReplicaUpdates`` entry creating the replica in ``region`` (one per call)."""
    create: dict[str, Any] = {"RegionName": region}
    key = replica_kms_key(cfg, region)
    target = sse_target(cfg)
    if key and target is not None and target.kind in ("customer", "create"):
        create["KMSMasterKeyId"] = key
    replica = cfg.global_tables.replica(region) if cfg.global_tables else None
    if replica is not None and replica.table_class:
        create["TableClassOverride"] = replica.table_class
    return {"TableName": cfg.table_name, "ReplicaUpdates": [{"Create": create}]}


def replica_pitr(cfg: TableConfig, region: str) -> bool | None:
    gt = cfg.global_tables
    own = gt.replica(region).point_in_time_recovery_enabled if gt else None
    return own if own is not None else pitr_wanted(cfg)


def replica_contributor_insights(cfg: TableConfig, region: str) -> bool | None:
    gt = cfg.global_tables
    own = gt.replica(region).contributor_insights_enabled if gt else None
    if own is not None:
        return own
    ci = cfg.contributor_insights_specification
    return ci.enabled if ci else None


# -- application auto scaling ------------------------------------------------------------------------

_METRIC = {"read": "DynamoDBReadCapacityUtilization", "write": "DynamoDBWriteCapacityUtilization"}


@dataclass(frozen=True)
class ScalingSpec:
    """One scalable dimension (table or GSI, read or write) and its target-tracking policy."""

    table: str
    index: str | None
    side: Literal["read", "write"]
    min_capacity: int
    max_capacity: int
    target_value: float
    scale_in_cooldown: int
    scale_out_cooldown: int
    disable_scale_in: bool

    @property
    def resource_id(self) -> str:
        return f"table/{self.table}" + (f"/index/{self.index}" if self.index else "")

    @property
    def dimension(self) -> str:
        unit = "ReadCapacityUnits" if self.side == "read" else "WriteCapacityUnits"
        return f"dynamodb:{'index' if self.index else 'table'}:{unit}"

    @property
    def policy_name(self) -> str:
        return f"ddbkit-{self.side}-utilization"

    @property
    def label(self) -> str:
        return f"{self.resource_id} {self.side}"

    def target_tracking(self) -> dict[str, Any]:
        """TargetTrackingScalingPolicyConfiguration: the same keys in the API and in CloudFormation."""
        return {
            "TargetValue": self.target_value,
            "PredefinedMetricSpecification": {"PredefinedMetricType": _METRIC[self.side]},
            "ScaleInCooldown": self.scale_in_cooldown,
            "ScaleOutCooldown": self.scale_out_cooldown,
            "DisableScaleIn": self.disable_scale_in,
        }

    def register_request(self) -> dict[str, Any]:
        return {"ServiceNamespace": "dynamodb", "ResourceId": self.resource_id,
                "ScalableDimension": self.dimension, "MinCapacity": self.min_capacity,
                "MaxCapacity": self.max_capacity}

    def policy_request(self) -> dict[str, Any]:
        return {"PolicyName": self.policy_name, "ServiceNamespace": "dynamodb", "ResourceId": self.resource_id,
                "ScalableDimension": self.dimension, "PolicyType": "TargetTrackingScaling",
                "TargetTrackingScalingPolicyConfiguration": self.target_tracking()}


def _scaling(table: str, index: str | None, auto: AutoScaling | None) -> list[ScalingSpec]:
    out: list[ScalingSpec] = []
    if auto is None:
        return out
    sides: tuple[tuple[Literal["read", "write"], CapacityScaling | None], ...] = (
        ("read", auto.read_capacity), ("write", auto.write_capacity))
    for side, cap in sides:
        if cap is None:
            continue
        tt = cap.target_tracking_scaling_policy_configuration
        out.append(ScalingSpec(table, index, side, cap.min_capacity, cap.max_capacity,
                               tt.target_value, tt.scale_in_cooldown, tt.scale_out_cooldown, tt.disable_scale_in))
    return out


def scaling_specs(cfg: TableConfig) -> list[ScalingSpec]:
    """Every scalable target of a PROVISIONED table: the table's and each GSI's, read then write."""
    if cfg.effective_billing_mode is not BillingMode.PROVISIONED:
        return []
    out = _scaling(cfg.table_name, None, cfg.auto_scaling)
    for g in cfg.global_secondary_indexes:
        out += _scaling(cfg.table_name, g.index_name, g.auto_scaling)
    return out


def required_scaling_targets(table: str, indexes: list[str]) -> list[tuple[str, str]]:
    """``(resource id, unit)`` of every dimension a PROVISIONED table must autoscale (Security Hub
    DynamoDB.1): read and write of the table and of every GSI. The one rule behind ``validate`` (tier
    resolution), ``synth`` (which renders only resolved configs) and ``audit`` (against live targets)."""
    rids = [f"table/{table}"] + [f"table/{table}/index/{i}" for i in indexes]
    return [(rid, unit) for rid in rids for unit in ("ReadCapacityUnits", "WriteCapacityUnits")]


def autoscaling_gaps(cfg: TableConfig) -> list[tuple[tuple[str | int, ...], str]]:
    """Config paths and ``resource unit`` labels of the dimensions of a PROVISIONED ``cfg`` that have no
    ``autoScaling`` (empty for on-demand tables)."""
    if cfg.effective_billing_mode is not BillingMode.PROVISIONED:
        return []
    have = {(s.resource_id, s.dimension.rsplit(":", 1)[-1]) for s in scaling_specs(cfg)}
    names = [g.index_name for g in cfg.global_secondary_indexes]
    out: list[tuple[tuple[str | int, ...], str]] = []
    for rid, unit in required_scaling_targets(cfg.table_name, names):
        if (rid, unit) in have:
            continue
        side = "readCapacity" if unit.startswith("Read") else "writeCapacity"
        index = rid.split("/index/")[1] if "/index/" in rid else None
        path: tuple[str | int, ...] = ("autoScaling", side) if index is None else (
            "globalSecondaryIndexes", names.index(index), "autoScaling", side)
        out.append((path, f"{rid} {unit}"))
    return out


# -- AWS Backup ----------------------------------------------------------------------------------------


def backup_rules(cfg: TableConfig, copy_vault_arn: Callable[[CopyAction], Any]) -> list[dict[str, Any]]:
    """The backup plan's rules in the API's shape (CloudFormation renames TargetBackupVaultName only).

    ``copyTags`` is carried as RecoveryPointTags = the table's tags, so recovery points are tagged like
    the table. ``copy_vault_arn`` gives the destination vault ARN of a cross-region copy.
    """
    bp = cfg.backup_policy
    if bp is None:
        return []
    vault = backup_vault_name(cfg)
    rules: list[dict[str, Any]] = []
    for rule in bp.rules:
        lifecycle: dict[str, int] = {"DeleteAfterDays": rule.retention}
        if rule.cold_storage_after is not None:
            lifecycle["MoveToColdStorageAfterDays"] = rule.cold_storage_after
        out: dict[str, Any] = {"RuleName": rule.rule_name, "TargetBackupVaultName": vault,
                               "ScheduleExpression": rule.schedule, "Lifecycle": lifecycle}
        if rule.copy_tags and cfg.tags:
            out["RecoveryPointTags"] = dict(cfg.tags)
        if rule.copy_to:
            out["CopyActions"] = [
                {"DestinationBackupVaultArn": copy_vault_arn(c),
                 "Lifecycle": {"DeleteAfterDays": c.retention or rule.retention}}
                for c in rule.copy_to
            ]
        rules.append(out)
    return rules


def backup_vault_arn(region: str, account: str, name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:backup:{region}:{account}:backup-vault:{name}"


BACKUP_MANAGED_POLICIES = (
    "service-role/AWSBackupServiceRolePolicyForBackup",
    "service-role/AWSBackupServiceRolePolicyForRestores",
)


def service_trust_policy(service: str) -> dict[str, Any]:
    """Trust policy letting ``service`` (e.g. ``backup.amazonaws.com``) assume a role."""
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}


# -- DAX -----------------------------------------------------------------------------------------------


def dax_subnet_group_name(dax: DaxCluster) -> str | None:
    return dax.subnet_group_name or (f"{dax.cluster_name}-subnets" if dax.subnet_ids and dax.cluster_name else None)


def dax_cluster_request(dax: DaxCluster, role_arn: Any) -> dict[str, Any]:
    """DAX CreateCluster parameters (CloudFormation maps the same values to its own key names)."""
    req: dict[str, Any] = {
        "ClusterName": dax.cluster_name,
        "NodeType": dax.node_type,
        "ReplicationFactor": dax.replication_factor,
        "IamRoleArn": role_arn,
        "SSESpecification": {"Enabled": dax.sse_specification.enabled},
        "ClusterEndpointEncryptionType": dax.cluster_endpoint_encryption_type,
    }
    subnet_group = dax_subnet_group_name(dax)
    if subnet_group:
        req["SubnetGroupName"] = subnet_group
    if dax.security_group_ids:
        req["SecurityGroupIds"] = list(dax.security_group_ids)
    if dax.parameter_group_name:
        req["ParameterGroupName"] = dax.parameter_group_name
    return req
