"""Compliance tiers: commercial, fedramp-moderate, fedramp-high.

:func:`resolve` turns a validated :class:`~ddbkit.config.TableConfig` into the *effective* config for its
tier. A setting the config leaves out is filled with the tier's default and reported in
``EffectiveConfig.defaults``; a setting that contradicts the tier (``pointInTimeRecoveryEnabled: false``
under fedramp-high, say) is a :class:`~ddbkit.config.ConfigError`, never silently overridden.

Why these controls: AWS's FedRAMP conformance packs and Security Hub's DynamoDB controls (DynamoDB.1-7):
PITR, customer-managed keys with rotation, daily backups in a plan with long retention, deletion
protection, monitoring; fedramp-high adds 10-year retention for audit, multi-region replicas for DR,
cross-region backup copies and contributor insights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ddbkit.config import (
    AuditTrail,
    BackupPolicy,
    BackupRule,
    BillingMode,
    ComplianceFramework,
    ConfigError,
    ConfigIssue,
    ContributorInsightsSpecification,
    CopyAction,
    Monitoring,
    MonitoringLevel,
    Replica,
    ResourcePolicy,
    SSESpecification,
    TableConfig,
    format_path,
    kms_key_region,
    schedule_is_daily,
)

from ddbkit_infra.resources import autoscaling_gaps

__all__ = ["EffectiveConfig", "AppliedDefault", "TierPolicy", "TIERS", "resolve"]


@dataclass(frozen=True)
class TierPolicy:
    """What a tier requires. ``None``/``False`` means the tier does not require it."""

    framework: ComplianceFramework
    customer_managed_key: bool = False
    pitr: bool = False
    backup_min_retention_days: int | None = None
    deletion_protection: bool = False
    min_monitoring: MonitoringLevel = MonitoringLevel.BASIC
    contributor_insights: bool = False
    min_regions: int = 1
    cross_region_backup_copy: bool = False
    dax_encryption: bool = False
    audit_trail_days: int | None = None  # CloudTrail data events kept this long (None: not required)
    audit_object_lock: bool = False  # the created log bucket has S3 Object Lock
    deny_insecure_transport: bool = False  # the table's resource policy denies requests without TLS
    autoscaling: bool = False  # PROVISIONED tables autoscale the table and every GSI, read and write
    alarm_actions: bool = False  # every alarm notifies a topic (given, else created KMS-encrypted)
    summary: tuple[str, ...] = ()


TIERS: dict[ComplianceFramework, TierPolicy] = {
    ComplianceFramework.COMMERCIAL: TierPolicy(
        ComplianceFramework.COMMERCIAL,
        summary=("encryption at rest with an AWS-managed or AWS-owned key", "on-demand billing by default",
                 "backups as configured"),
    ),
    ComplianceFramework.FEDRAMP_MODERATE: TierPolicy(
        ComplianceFramework.FEDRAMP_MODERATE,
        customer_managed_key=True, pitr=True, backup_min_retention_days=365, deletion_protection=True,
        min_monitoring=MonitoringLevel.ENHANCED, dax_encryption=True, alarm_actions=True, autoscaling=True,
        audit_trail_days=365, audit_object_lock=True, deny_insecure_transport=True,
        summary=("customer-managed KMS key with rotation", "point-in-time recovery on",
                 "daily backups kept >= 365 days", "deletion protection", "enhanced monitoring",
                 "alarms notify an SNS topic (given, or created KMS-encrypted)",
                 "CloudTrail data events kept >= 1 year (log bucket with S3 Object Lock)",
                 "resource policy denies requests without TLS",
                 "auto scaling on every provisioned dimension", "DAX encrypted at rest and in transit"),
    ),
    ComplianceFramework.FEDRAMP_HIGH: TierPolicy(
        ComplianceFramework.FEDRAMP_HIGH,
        customer_managed_key=True, pitr=True, backup_min_retention_days=3650, deletion_protection=True,
        min_monitoring=MonitoringLevel.COMPREHENSIVE, contributor_insights=True, min_regions=2,
        cross_region_backup_copy=True, dax_encryption=True, alarm_actions=True, autoscaling=True,
        audit_trail_days=3650, audit_object_lock=True, deny_insecure_transport=True,
        summary=("everything in fedramp-moderate", "daily backups kept >= 10 years (audit)",
                 "global table in >= 2 regions for DR", "backup copies to another region",
                 "comprehensive monitoring", "contributor insights",
                 "CloudTrail data events kept >= 10 years"),
    ),
}

DEFAULT_BACKUP_SCHEDULE = "cron(0 2 * * ? *)"


@dataclass(frozen=True)
class AppliedDefault:
    """A setting the config left out and the tier filled in."""

    path: str
    value: Any
    reason: str


@dataclass
class EffectiveConfig:
    """The config after tier resolution, plus what was filled in and why."""

    config: TableConfig
    framework: ComplianceFramework
    defaults: list[AppliedDefault] = field(default_factory=list)

    @property
    def policy(self) -> TierPolicy:
        return TIERS[self.framework]

    def default_paths(self) -> set[str]:
        return {d.path for d in self.defaults}


def resolve(cfg: TableConfig, framework: ComplianceFramework | str | None = None) -> EffectiveConfig:
    """Apply the tier (argument, else ``cfg.complianceFramework``, else commercial) to ``cfg``.

    Returns a new config; ``cfg`` is not changed. Raises :class:`ConfigError` listing every
    contradiction between the config and its tier.
    """
    fw = ComplianceFramework(framework) if framework is not None else (
        cfg.compliance_framework or ComplianceFramework.COMMERCIAL)
    tier = TIERS[fw]
    out = cfg.model_copy(deep=True)
    defaults: list[AppliedDefault] = []
    issues: list[ConfigIssue] = []
    why = f"{fw.value} default"

    def fill(path: str, value: Any, reason: str = why) -> None:
        defaults.append(AppliedDefault(path, value, reason))

    def conflict(path: tuple[str | int, ...], msg: str) -> None:
        issues.append(ConfigIssue(path, f"compliance.{fw.value}", f"{fw.value}: {msg}"))

    if out.compliance_framework is None:
        fill("complianceFramework", fw.value, "no tier given" if framework is None else "tier argument")
    out.compliance_framework = fw  # the resolved config is of the tier it was resolved for

    # billing: on-demand unless throughput says otherwise
    if out.billing_mode is None:
        out.billing_mode = out.effective_billing_mode
        fill("billingMode", out.billing_mode.value,
             "provisionedThroughput given" if out.billing_mode is BillingMode.PROVISIONED else why)

    # encryption
    if out.sse_specification is None:
        if tier.customer_managed_key:
            out.sse_specification = SSESpecification(sse_enabled=True, sse_type="KMS", create_key=True)
            fill("sseSpecification", out.sse_specification.to_yaml_dict(),
                 f"{why}: a customer-managed KMS key with rotation is created")
        else:
            out.sse_specification = SSESpecification(sse_enabled=True)
            fill("sseSpecification", {"sseEnabled": True}, f"{why}: AWS-managed key")
    elif tier.customer_managed_key:
        sse = out.sse_specification
        if not sse.sse_enabled:
            conflict(("sseSpecification", "sseEnabled"), "encryption with a customer-managed KMS key is required")
        elif not sse.customer_managed:
            if sse.kms_master_key_id:
                conflict(("sseSpecification", "kmsMasterKeyId"),
                         f"{sse.kms_master_key_id!r} is an AWS-managed key; a customer-managed key is required")
            else:
                sse.create_key = True
                sse.sse_type = "KMS"
                fill("sseSpecification.createKey", True, f"{why}: a customer-managed KMS key with rotation")

    # point-in-time recovery
    if tier.pitr:
        explicit_off = [p for p, v in _pitr_flags(out).items() if v is False]
        for p in explicit_off:
            conflict(p, "point-in-time recovery is required; remove the false setting")
        if not explicit_off and not out.pitr_enabled:
            out.point_in_time_recovery_enabled = True
            fill("pointInTimeRecoveryEnabled", True)

    # backups
    if tier.backup_min_retention_days is not None:
        _resolve_backups(out, tier, fill, conflict, why)

    # deletion protection
    if tier.deletion_protection:
        if out.deletion_protection_enabled is False:
            conflict(("deletionProtectionEnabled",), "deletion protection is required")
        elif out.deletion_protection_enabled is None:
            out.deletion_protection_enabled = True
            fill("deletionProtectionEnabled", True)

    # monitoring
    if out.monitoring is None:
        out.monitoring = Monitoring(level=tier.min_monitoring)
        fill("monitoring.level", tier.min_monitoring.value)
    elif "level" not in out.monitoring.model_fields_set and out.monitoring.level.rank < tier.min_monitoring.rank:
        # a block giving only alarmTopicArn: the level is the tier's, not the model's "basic" default
        out.monitoring.level = tier.min_monitoring
        fill("monitoring.level", tier.min_monitoring.value)
    elif out.monitoring.level.rank < tier.min_monitoring.rank:
        conflict(("monitoring", "level"),
                 f"monitoring level {out.monitoring.level.value!r} is below the required "
                 f"{tier.min_monitoring.value!r}")

    if tier.alarm_actions and not out.monitoring.alarm_topic_arn:
        fill("monitoring.alarmTopicArn", f"created: SNS topic ddbkit-alarms-{out.table_name} (KMS-encrypted)",
             f"{why}: every alarm notifies someone (CLOUDWATCH_ALARM_ACTION_CHECK)")

    # audit trail: CloudTrail data events, kept as long as the tier says
    if tier.audit_trail_days is not None:
        at = out.audit_trail
        if at is not None and not at.enabled:
            conflict(("auditTrail", "enabled"), "an audit trail (CloudTrail data events) is required")
        else:
            if at is None:
                out.audit_trail = at = AuditTrail()
                fill("auditTrail.enabled", True, f"{why}: CloudTrail data events for the table and its stream")
            if at.retention_days is None:
                at.retention_days = tier.audit_trail_days
                fill("auditTrail.retentionDays", tier.audit_trail_days)
            elif at.retention_days < tier.audit_trail_days:
                conflict(("auditTrail", "retentionDays"),
                         f"audit logs kept {at.retention_days} days; at least {tier.audit_trail_days} required")
            if tier.audit_object_lock and at.kind == "trail" and at.bucket_name is None:
                if at.object_lock is False:
                    conflict(("auditTrail", "objectLock"), "the audit log bucket needs S3 Object Lock")
                elif at.object_lock is None:
                    at.object_lock = True
                    fill("auditTrail.objectLock", True)

    # resource policy: deny requests without TLS (encryption in transit for every client)
    if tier.deny_insecure_transport:
        rp = out.resource_policy
        if rp is not None and rp.deny_insecure_transport is False:
            conflict(("resourcePolicy", "denyInsecureTransport"), "requests without TLS must be denied")
        else:
            if rp is None:
                out.resource_policy = rp = ResourcePolicy()
            if rp.deny_insecure_transport is None:
                rp.deny_insecure_transport = True
                fill("resourcePolicy.denyInsecureTransport", True, f"{why}: aws:SecureTransport deny statement")

    # auto scaling on every provisioned dimension (Security Hub DynamoDB.1): the rule audit checks live
    if tier.autoscaling:
        for path, what in autoscaling_gaps(out):
            conflict(path, f"provisioned capacity without auto scaling ({what}); add autoScaling there or use "
                           "PAY_PER_REQUEST (Security Hub DynamoDB.1, checked by ddbkit audit)")

    # contributor insights
    if tier.contributor_insights:
        ci = out.contributor_insights_specification
        if ci is not None and not ci.enabled:
            conflict(("contributorInsightsSpecification", "enabled"), "contributor insights are required")
        elif ci is None:
            out.contributor_insights_specification = ContributorInsightsSpecification(enabled=True)
            fill("contributorInsightsSpecification.enabled", True)

    # multi-region
    if tier.min_regions > 1:
        _resolve_regions(out, tier, fill, conflict)

    # DAX
    if tier.dax_encryption and out.dax_cluster is not None and out.dax_cluster.enabled:
        if not out.dax_cluster.sse_specification.enabled:
            conflict(("daxCluster", "sseSpecification", "enabled"), "DAX encryption at rest is required")
        if out.dax_cluster.cluster_endpoint_encryption_type != "TLS":
            conflict(("daxCluster", "clusterEndpointEncryptionType"), "DAX endpoints must use TLS")

    # tag the table with its tier (Security Hub DynamoDB.5: tagged resources)
    if "compliance-framework" not in out.tags:
        out.tags = {**out.tags, "compliance-framework": fw.value}
        fill("tags.compliance-framework", fw.value)

    if issues:
        raise ConfigError(issues)
    return EffectiveConfig(out, fw, defaults)


def _pitr_flags(cfg: TableConfig) -> dict[tuple[str | int, ...], bool | None]:
    bp = cfg.backup_policy
    return {
        ("pointInTimeRecoveryEnabled",): cfg.point_in_time_recovery_enabled,
        ("backupPolicy", "pointInTimeRecoveryEnabled"): bp.point_in_time_recovery_enabled if bp else None,
        ("backupPolicy", "continuousBackups", "enabled"):
            bp.continuous_backups.enabled if bp and bp.continuous_backups else None,
    }


def _resolve_backups(out: TableConfig, tier: TierPolicy, fill: Any, conflict: Any, why: str) -> None:
    min_days = tier.backup_min_retention_days or 0
    bp = out.backup_policy or BackupPolicy()
    rules = bp.rules
    if not rules:
        bp.scheduled_backups = [BackupRule(rule_name="DailyBackups", schedule=DEFAULT_BACKUP_SCHEDULE,
                                           retention=min_days, copy_tags=True)]
        out.backup_policy = bp
        fill("backupPolicy.scheduledBackups", [r.to_yaml_dict() for r in bp.scheduled_backups])
        rules = bp.rules
    else:
        for path, rule in _rule_paths(bp):
            if rule.retention < min_days:
                conflict((*path, "retention"),
                         f"rule {rule.rule_name!r} keeps backups {rule.retention} days; at least {min_days} required")
        if not any(schedule_is_daily(r.schedule) for r in rules):
            conflict(("backupPolicy",), "at least one backup rule must run daily (e.g. cron(0 2 * * ? *))")
    out.backup_policy = bp
    if tier.cross_region_backup_copy:
        regions = out.global_tables.all_regions() if out.global_tables else []
        if len(regions) >= 2:
            for path, rule in _rule_paths(bp):
                if not rule.copy_to:
                    rule.copy_to = [CopyAction(region=regions[1])]
                    fill(format_path((*path, "copyTo")), [{"region": regions[1]}],
                         f"{why}: copy recovery points to another region")


def _rule_paths(bp: BackupPolicy) -> list[tuple[tuple[str | int, ...], BackupRule]]:
    out: list[tuple[tuple[str | int, ...], BackupRule]] = []
    if bp.backup_plan:
        out.append((("backupPolicy", "backupPlan"), bp.backup_plan))
    out += [(("backupPolicy", "scheduledBackups", i), r) for i, r in enumerate(bp.scheduled_backups)]
    return out


def _resolve_regions(out: TableConfig, tier: TierPolicy, fill: Any, conflict: Any) -> None:
    gt = out.global_tables
    regions = gt.all_regions() if gt else []
    if len(regions) < tier.min_regions:
        conflict(("globalTables", "regions"),
                 f"a global table in at least {tier.min_regions} regions is required for disaster recovery; "
                 f"add globalTables.regions (have {regions or 'none'})")
        return
    assert gt is not None
    for region in regions:
        replica = next((r for r in gt.replication_group if r.region == region), None)
        if replica is None:
            replica = Replica(region=region)
            gt.replication_group = [*gt.replication_group, replica]
        j = gt.replication_group.index(replica)
        if replica.point_in_time_recovery_enabled is False:
            conflict(("globalTables", "replicationGroup", j, "pointInTimeRecoveryEnabled"),
                     f"replica {region}: point-in-time recovery is required")
        elif replica.point_in_time_recovery_enabled is None:
            replica.point_in_time_recovery_enabled = True
            fill(f"globalTables.replicationGroup[{j}].pointInTimeRecoveryEnabled", True)
        sse = out.sse_specification
        if replica.kms_key_id or sse is None or not sse.customer_managed:
            continue
        home = kms_key_region(sse.kms_master_key_id) if sse.kms_master_key_id else regions[0]
        if region == home and sse.kms_master_key_id:
            replica.kms_key_id = sse.kms_master_key_id
            fill(f"globalTables.replicationGroup[{j}].kmsKeyId", sse.kms_master_key_id, "the table's key region")
        elif region != home:
            conflict(("globalTables", "replicationGroup", j, "kmsKeyId"),
                     f"replica {region} needs kmsKeyId: a customer-managed key in {region} "
                     "(a KMS key serves one region; ddbkit creates one only in the table's own region)")
