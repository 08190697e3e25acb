"""``ddbkit audit``: check a live table against its compliance tier, one line per control.

Controls and their Security Hub ids (where one exists):

==========================================  ============  ========================================
control                                     Security Hub  required by
==========================================  ============  ========================================
auto scaling or on-demand capacity          DynamoDB.1    fedramp tiers (advisory for commercial)
point-in-time recovery                      DynamoDB.2    fedramp tiers, or the config
DAX encryption at rest                      DynamoDB.3    fedramp tiers when DAX is configured
in a backup plan with the tier's retention  DynamoDB.4    fedramp tiers, or a configured plan
tagged with the required tags               DynamoDB.5    every tier
deletion protection                         DynamoDB.6    fedramp tiers, or the config
DAX endpoint TLS                            DynamoDB.7    fedramp tiers when DAX is configured
customer-managed KMS key with rotation      -             fedramp tiers
replicas in the configured regions (+PITR)  -             fedramp-high, or the config
contributor insights                        -             fedramp-high, or the config
audit trail (CloudTrail data events)        -             fedramp tiers, or the config
audit trail delivers to CloudWatch Logs     -             with a trail: fedramp tiers, or the config
audit trail is multi-region                 -             fedramp tiers (with a trail)
resource policy denies requests without TLS -             fedramp tiers, or the config
VPC endpoint for the table                  -             the config (vpcEndpoints)
==========================================  ============  ========================================

A status is PASS, FAIL (required and not met, or not verifiable), WARN (not met, not required by the
tier), N/A, or SKIP: "not checked locally", when the backend (a local emulator such as moto) does not
implement what the control reads (an AWS endpoint never answers so). The audit fails when any control
FAILs; a SKIP is counted in the verdict, never passed off as a PASS.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ddbkit.config import ComplianceFramework, TableConfig, schedule_is_daily

from ddbkit_infra.compliance import TIERS, TierPolicy
from ddbkit_infra.plan import AwsClients, emulator_gap, error_code
from ddbkit_infra.resources import backup_plan_name, pitr_wanted, replica_regions, required_scaling_targets

__all__ = ["AuditReport", "ControlResult", "audit_table"]

Status = Literal["PASS", "FAIL", "WARN", "N/A", "SKIP"]

#: ``_safe``'s reason when the backend does not implement the call (a local emulator).
LOCAL_GAP = "not implemented by this backend"


def _not_checked(what: str) -> str:
    return f"not checked locally: the backend (a local emulator) does not implement {what}"


@dataclass(frozen=True)
class ControlResult:
    """One control's outcome."""

    control: str
    status: Status
    detail: str
    security_hub: str | None = None

    def line(self) -> str:
        sh = self.security_hub or "-"
        return f"{self.status:<4}  {sh:<11} {self.control}: {self.detail}"


@dataclass
class AuditReport:
    """Every control for one table."""

    table: str
    region: str
    framework: ComplianceFramework
    results: list[ControlResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.status != "FAIL" for r in self.results)

    def render(self) -> str:
        head = f"Audit of {self.table} in {self.region} against {self.framework.value}:"
        skipped = sum(r.status == "SKIP" for r in self.results)
        verdict = ("PASSED" if self.passed else f"FAILED ({sum(r.status == 'FAIL' for r in self.results)} control(s))"
                   ) + (f", {skipped} not checked locally" if skipped else "")
        return "\n".join([head, *[f"  {r.line()}" for r in self.results], verdict])

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "region": self.region, "framework": self.framework.value,
                "passed": self.passed,
                "results": [{"control": r.control, "securityHub": r.security_hub, "status": r.status,
                             "detail": r.detail} for r in self.results]}


def _result(control: str, ok: bool, required: bool, good: str, bad: str, sh: str | None = None) -> ControlResult:
    status: Status = "PASS" if ok else ("FAIL" if required else "WARN")
    return ControlResult(control, status, good if ok else bad, sh)


def _safe(call: Callable[[], Any], local: bool = False) -> tuple[Any, str | None]:
    """``(result, None)`` or ``(None, reason)`` when the backend cannot answer; :data:`LOCAL_GAP` when it
    does not implement the call (on an emulator's endpoint, ``local``, also DynamoDB Local's answers: see
    ``emulator_gap``)."""
    try:
        return call(), None
    except Exception as err:  # noqa: BLE001 - reported as "could not verify"
        if emulator_gap(err, local=local):  # never a server's HTML body or a bare 500
            return None, LOCAL_GAP
        return None, error_code(err) or type(err).__name__


def audit_table(clients: AwsClients, table: str, framework: ComplianceFramework | str | None = None,
                cfg: TableConfig | None = None) -> AuditReport:
    """Audit the live ``table`` in ``clients.region``.

    The tier is ``framework``, else ``cfg.complianceFramework``, else the table's ``compliance-framework``
    tag, else commercial. ``cfg`` (tier-resolved) adds what the config itself asks for (required tags,
    replicas, DAX cluster, PITR...); without it only the tier's controls are checked.
    """
    ddb = clients.client("dynamodb")
    desc = ddb.describe_table(TableName=table)["Table"]
    arn = str(desc["TableArn"])
    tags_gap = False
    try:
        tags = {t["Key"]: t["Value"] for t in ddb.list_tags_of_resource(ResourceArn=arn).get("Tags", [])}
    except Exception as err:  # noqa: BLE001 - re-raised unless the endpoint has no tagging (DynamoDB Local)
        if not emulator_gap(err, local=clients.emulator_endpoint):
            raise
        tags, tags_gap = {}, True
    fw = ComplianceFramework(framework) if framework is not None else (
        cfg.compliance_framework if cfg and cfg.compliance_framework else
        ComplianceFramework(tags["compliance-framework"]) if tags.get("compliance-framework") in
        {f.value for f in ComplianceFramework} else ComplianceFramework.COMMERCIAL)
    tier = TIERS[fw]
    fedramp = fw is not ComplianceFramework.COMMERCIAL
    report = AuditReport(table, clients.region, fw)
    add = report.results.append

    add(_capacity(clients, desc, fedramp))
    add(_pitr(ddb, table, tier.pitr or bool(cfg and pitr_wanted(cfg))))
    if _dynamodb_local(clients, desc) and not desc.get("SSEDescription"):
        add(ControlResult("customer-managed KMS key with rotation", "SKIP",
                          _not_checked("SSESpecification (DynamoDB Local keeps none)")))
    else:
        add(_kms(clients, desc, tier.customer_managed_key))
    add(_backup(clients, arn, tier, cfg))
    add(_result("deletion protection", bool(desc.get("DeletionProtectionEnabled")),
                tier.deletion_protection or bool(cfg and cfg.deletion_protection_enabled),
                "on", "off: the table can be deleted by a single call", "DynamoDB.6"))
    required_tags = dict(cfg.tags) if cfg else {"compliance-framework": fw.value}
    missing = {k: v for k, v in required_tags.items() if tags.get(k) != v}
    if tags_gap:
        add(ControlResult("required tags", "SKIP", _not_checked("ListTagsOfResource"), "DynamoDB.5"))
    else:
        add(_result("required tags", not missing and bool(tags), True,
                    f"{len(tags)} tag(s), all {len(required_tags)} required present",
                    f"missing or different: {', '.join(f'{k}={v}' for k, v in missing.items()) or '(no tags)'}",
                    "DynamoDB.5"))
    add(_replicas(clients, desc, tier, cfg))
    add(_insights(ddb, table, tier.contributor_insights or bool(
        cfg and cfg.contributor_insights_specification and cfg.contributor_insights_specification.enabled)))
    report.results += _dax(clients, tier, cfg)
    report.results += _security_controls(clients, desc, tier, cfg)
    return report


def _dynamodb_local(clients: AwsClients, desc: dict[str, Any]) -> bool:
    """The table is on DynamoDB Local (an emulator endpoint whose ARNs name the region ``ddblocal``)."""
    return clients.emulator_endpoint and ":ddblocal:" in str(desc.get("TableArn", ""))


def _security_controls(clients: AwsClients, desc: dict[str, Any], tier: TierPolicy,
                       cfg: TableConfig | None) -> list[ControlResult]:
    """Audit trail with data events, TLS-deny resource policy, VPC endpoint (docs/security.md)."""
    out: list[ControlResult] = []
    arn = str(desc["TableArn"])
    want_trail = tier.audit_trail_days is not None or bool(cfg and cfg.audit_trail and cfg.audit_trail.enabled)
    trails: list[dict[str, Any]] = []
    found, err = _safe(lambda: _data_event_sources(clients, arn, trails), clients.emulator_endpoint)
    if err == LOCAL_GAP:
        out.append(ControlResult("audit trail (CloudTrail data events)", "SKIP", _not_checked("CloudTrail trails")))
    elif err:
        out.append(_result("audit trail (CloudTrail data events)", False, want_trail, "",
                           f"could not read CloudTrail ({err})", None))
    else:
        out.append(_result("audit trail (CloudTrail data events)", bool(found), want_trail,
                           f"recorded by {', '.join(found)}",
                           "no logging trail or event data store records this table's data events", None))
    if not err and trails:  # (no trail at all: the control above already fails)
        # as synth and apply build it: delivered to CloudWatch Logs (CLOUD_TRAIL_CLOUD_WATCH_LOGS_ENABLED,
        # AU-6) and, at the fedramp tiers, multi-region (MULTI_REGION_CLOUD_TRAIL_ENABLED)
        logs = [t["Name"] for t in trails if t.get("CloudWatchLogsLogGroupArn")]
        out.append(_result("audit trail delivers to CloudWatch Logs", bool(logs), want_trail,
                           f"{', '.join(logs)} delivers to CloudWatch Logs",
                           "no trail recording this table delivers to a CloudWatch Logs group", None))
        if tier.audit_trail_days is not None:
            multi = [t["Name"] for t in trails if t.get("IsMultiRegionTrail")]
            out.append(_result("audit trail is multi-region", bool(multi), True,
                               f"{', '.join(multi)} is multi-region",
                               "no trail recording this table is multi-region", None))
    want_tls = tier.deny_insecure_transport or bool(
        cfg and cfg.resource_policy and cfg.resource_policy.deny_insecure_transport)
    ddb = clients.client("dynamodb")
    policy, err = _safe(lambda: json.loads(ddb.get_resource_policy(ResourceArn=arn)["Policy"]), clients.emulator_endpoint)
    tls = not err and any(s.get("Effect") == "Deny" and str((s.get("Condition") or {}).get("Bool", {}).get(
        "aws:SecureTransport", "")).lower() == "false" for s in (policy or {}).get("Statement", []))
    if err == LOCAL_GAP:
        out.append(ControlResult("resource policy denies requests without TLS", "SKIP",
                                 _not_checked("GetResourcePolicy")))
    else:
        out.append(_result("resource policy denies requests without TLS", tls, want_tls,
                           "aws:SecureTransport deny statement present",
                           "no resource policy" if err else "the resource policy has no aws:SecureTransport deny",
                           None))
    v = cfg.vpc_endpoints if cfg else None
    if v is None:
        out.append(ControlResult("VPC endpoint for the table", "N/A", "no vpcEndpoints configured"))
    else:
        region = clients.region
        got, err = _safe(lambda: clients.client("ec2").describe_vpc_endpoints(Filters=[
            {"Name": "vpc-id", "Values": [v.vpc_id]},
            {"Name": "service-name", "Values": [f"com.amazonaws.{region}.dynamodb"]}])["VpcEndpoints"],
            clients.emulator_endpoint)
        ok = not err and any(arn in json.dumps(json.loads(e.get("PolicyDocument") or "{}")) for e in got or [])
        if err == LOCAL_GAP:
            out.append(ControlResult("VPC endpoint for the table", "SKIP", _not_checked("ec2:DescribeVpcEndpoints")))
        else:
            out.append(_result("VPC endpoint for the table", ok, True, f"endpoint in {v.vpc_id} scoped to the table",
                               f"no DynamoDB endpoint in {v.vpc_id} with a policy naming this table", None))
    return out


def _data_event_sources(clients: AwsClients, table_arn: str, trails: list[dict[str, Any]] | None = None) -> list[str]:
    """Trails (logging, with log file validation) and event data stores whose selectors record the table's
    data events; the trails' descriptions are appended to ``trails`` when given."""
    ct = clients.client("cloudtrail")
    out = []
    for trail in ct.describe_trails(includeShadowTrails=True).get("trailList", []):
        name = trail.get("TrailARN") or trail["Name"]
        if not trail.get("LogFileValidationEnabled"):
            continue
        if not ct.get_trail_status(Name=name).get("IsLogging"):
            continue
        sel = ct.get_event_selectors(TrailName=name)
        if _selects(sel.get("AdvancedEventSelectors") or [], table_arn) or any(
                d.get("Type") == "AWS::DynamoDB::Table" and any(table_arn.startswith(v.rstrip("*")) or v == table_arn
                                                               for v in d.get("Values", []))
                for e in sel.get("EventSelectors") or [] for d in e.get("DataResources", [])):
            out.append(f"trail {trail['Name']}")
            if trails is not None:
                trails.append(trail)
    try:
        stores = ct.list_event_data_stores().get("EventDataStores", [])
    except Exception:  # noqa: BLE001 - CloudTrail Lake unavailable (or an emulator without it)
        stores = []
    for store in stores:
        full = ct.get_event_data_store(EventDataStore=store["EventDataStoreArn"])
        if full.get("Status") == "ENABLED" and _selects(full.get("AdvancedEventSelectors") or [], table_arn):
            out.append(f"event data store {store.get('Name')}")
    return out


def _selects(selectors: list[dict[str, Any]], table_arn: str) -> bool:
    for s in selectors:
        fields = {f["Field"]: f for f in s.get("FieldSelectors", [])}
        if fields.get("eventCategory", {}).get("Equals") != ["Data"]:
            continue
        if "AWS::DynamoDB::Table" not in fields.get("resources.type", {}).get("Equals", []):
            continue
        arn = fields.get("resources.ARN")
        if arn is None or table_arn in arn.get("Equals", []) or any(
                table_arn.startswith(p) for p in arn.get("StartsWith", [])):
            return True
    return False


def _capacity(clients: AwsClients, desc: dict[str, Any], required: bool) -> ControlResult:
    name = "auto scaling or on-demand capacity"
    if desc.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST":
        return ControlResult(name, "PASS", "on-demand (PAY_PER_REQUEST)", "DynamoDB.1")
    table = desc["TableName"]
    wanted = required_scaling_targets(table, [g["IndexName"] for g in desc.get("GlobalSecondaryIndexes", []) or []])
    rids = sorted({rid for rid, _unit in wanted}, key=[r for r, _u in wanted].index)
    got, err = _safe(lambda: clients.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="dynamodb", ResourceIds=rids)["ScalableTargets"], clients.emulator_endpoint)
    if err == LOCAL_GAP:
        return ControlResult(name, "SKIP", _not_checked("application-autoscaling"), "DynamoDB.1")
    if err:
        return _result(name, False, required, "", f"could not read scalable targets ({err})", "DynamoDB.1")
    have = {(t["ResourceId"], t["ScalableDimension"].rsplit(":", 1)[-1]) for t in got}
    missing = [f"{rid} {unit}" for rid, unit in wanted if (rid, unit) not in have]
    return _result(name, not missing, required, "provisioned with auto scaling on table and every GSI",
                   f"provisioned without auto scaling for {', '.join(missing)}", "DynamoDB.1")


def _pitr(ddb: Any, table: str, required: bool) -> ControlResult:
    try:
        cb = ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    except Exception as err:  # noqa: BLE001 - re-raised unless the endpoint lacks the call (DynamoDB Local)
        if not emulator_gap(err, local=False):
            raise
        return ControlResult("point-in-time recovery", "SKIP", _not_checked("DescribeContinuousBackups"), "DynamoDB.2")
    on = cb.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") == "ENABLED"
    return _result("point-in-time recovery", on, required, "enabled", "disabled", "DynamoDB.2")


def _kms(clients: AwsClients, desc: dict[str, Any], required: bool) -> ControlResult:
    name = "customer-managed KMS key with rotation"
    sse = desc.get("SSEDescription") or {}
    key = sse.get("KMSMasterKeyArn")
    if sse.get("Status") not in ("ENABLED", "UPDATING") or not key:
        return _result(name, False, required, "", "encrypted with the AWS-owned key")
    kms = clients.client("kms", key.split(":")[3] if key.startswith("arn:") else None)
    meta, err = _safe(lambda: kms.describe_key(KeyId=key)["KeyMetadata"], clients.emulator_endpoint)
    if err == LOCAL_GAP or err == "NotFoundException" and clients.local_endpoint:
        # moto accepts a table encrypted with a key it does not hold (the config names a key of an AWS account)
        return ControlResult(name, "SKIP", f"not checked locally: key {key} is not on this local endpoint")
    if err:
        return _result(name, False, required, "", f"cannot read key {key} ({err})")
    if meta.get("KeyManager") == "AWS":
        return _result(name, False, required, "", f"AWS-managed key {key}")
    rot, err = _safe(lambda: kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"])
    if err:
        return _result(name, False, required, "", f"cannot read rotation of {key} ({err})")
    return _result(name, bool(rot), required, f"{key}, rotation on", f"{key}: rotation off")


def _covers(resources: list[str], arn: str) -> bool:
    table_wild = arn.rsplit("/", 1)[0] + "/*"
    return any(r in (arn, "*", table_wild) or r.endswith(":table/*") and arn.startswith(r[:-1]) for r in resources)


def _backup(clients: AwsClients, arn: str, tier: TierPolicy, cfg: TableConfig | None) -> ControlResult:
    name = "in a backup plan"
    min_days = tier.backup_min_retention_days
    required = min_days is not None or bool(cfg and cfg.backup_policy and cfg.backup_policy.rules)
    bk = clients.client("backup")
    plans, err = _safe(lambda: bk.list_backup_plans()["BackupPlansList"], clients.emulator_endpoint)
    if err == LOCAL_GAP:
        return ControlResult(name, "SKIP", _not_checked("AWS Backup (backup:ListBackupPlans)"), "DynamoDB.4")
    if err:
        return _result(name, False, required, "", f"could not list backup plans ({err})", "DynamoDB.4")
    problems: list[str] = []
    unreadable: list[str] = []  # other tables' plans are not named: the audit reports this table only
    for p in plans:
        plan_id = p["BackupPlanId"]
        listed, err = _safe(functools.partial(bk.list_backup_selections, BackupPlanId=plan_id))
        if err:
            unreadable.append(err)
            continue
        covered = False
        for s in listed["BackupSelectionsList"]:
            got, err = _safe(functools.partial(bk.get_backup_selection, BackupPlanId=plan_id,
                                               SelectionId=s["SelectionId"]))
            if not err and _covers(list(got["BackupSelection"].get("Resources", [])), arn):
                covered = True
        if not covered:
            continue
        rules = bk.get_backup_plan(BackupPlanId=plan_id)["BackupPlan"].get("Rules", [])
        daily = [r for r in rules if schedule_is_daily(r.get("ScheduleExpression", ""))]
        keep = max((r.get("Lifecycle", {}).get("DeleteAfterDays", 0) or 0 for r in daily), default=0)
        if min_days is not None and not daily:
            problems.append(f"{p['BackupPlanName']}: no daily rule")
            continue
        if min_days is not None and keep < min_days:
            problems.append(f"{p['BackupPlanName']}: daily backups kept {keep} days, {min_days} required")
            continue
        if tier.cross_region_backup_copy and not any(r.get("CopyActions") for r in rules):
            problems.append(f"{p['BackupPlanName']}: no cross-region copy")
            continue
        return ControlResult(name, "PASS", f"plan {p['BackupPlanName']}: daily, kept {keep} days"
                             + (", copied cross-region" if tier.cross_region_backup_copy else ""), "DynamoDB.4")
    if LOCAL_GAP in unreadable and not problems:
        own = [p["BackupPlanName"] for p in plans if cfg and p["BackupPlanName"] == backup_plan_name(cfg)]
        return ControlResult(name, "SKIP", _not_checked("backup:ListBackupSelections") + (
            f" (plan {own[0]} exists)" if own else ""), "DynamoDB.4")
    if unreadable:
        problems.append(f"the selections of {len(unreadable)} backup plan(s) are unreadable ({unreadable[0]})")
    return _result(name, False, required, "", "; ".join(problems) or "no backup plan selects the table",
                   "DynamoDB.4")


def _replicas(clients: AwsClients, desc: dict[str, Any], tier: TierPolicy, cfg: TableConfig | None) -> ControlResult:
    name = "global table replicas"
    want = replica_regions(cfg, clients.region) if cfg else []
    live = [r["RegionName"] for r in desc.get("Replicas", []) or [] if r["RegionName"] != clients.region]
    required = tier.min_regions > 1 or bool(want)
    if not required and not live:
        return ControlResult(name, "N/A", "single-region table (not required)")
    absent = [r for r in want if r not in live]
    if absent:
        _, err = _safe(lambda: clients.client("dynamodb").describe_table_replica_auto_scaling(
            TableName=desc["TableName"]))
        if err == LOCAL_GAP:  # moto, DynamoDB Local: no global tables (plan says the same)
            return ControlResult(name, "SKIP", _not_checked(f"global table replicas ({', '.join(absent)})"))
    problems = [f"no replica in {r}" for r in absent]
    if 1 + len(live) < tier.min_regions:
        problems.append(f"{1 + len(live)} region(s), {tier.min_regions} required")
    for region in live:
        got, err = _safe(functools.partial(clients.client("dynamodb", region).describe_continuous_backups,
                                           TableName=desc["TableName"]))
        cb = got["ContinuousBackupsDescription"] if got else {}
        if err:
            problems.append(f"{region}: PITR unreadable ({err})")
        elif tier.pitr and cb.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") != "ENABLED":
            problems.append(f"{region}: PITR off")
    return _result(name, not problems, required, f"replicas in {', '.join(live)}" + (", PITR on" if tier.pitr else ""),
                   "; ".join(problems))


def _insights(ddb: Any, table: str, required: bool) -> ControlResult:
    name = "contributor insights"
    got, err = _safe(lambda: ddb.describe_contributor_insights(TableName=table))
    if err == LOCAL_GAP:
        return ControlResult(name, "SKIP" if required else "N/A", _not_checked("DescribeContributorInsights")
                             if required else "not required (not checked locally)")
    if err:
        if not required:
            return ControlResult(name, "N/A", f"not required (could not read: {err})")
        return _result(name, False, required, "", f"could not read ({err})")
    status = got.get("ContributorInsightsStatus", "DISABLED")
    if not required and status not in ("ENABLED", "ENABLING"):
        return ControlResult(name, "N/A", f"{status.lower()} (not required)")
    return _result(name, status in ("ENABLED", "ENABLING"), required, status.lower(), status.lower())


def _dax(clients: AwsClients, tier: TierPolicy, cfg: TableConfig | None) -> list[ControlResult]:
    dax_cfg = cfg.dax_cluster if cfg else None
    if dax_cfg is None or not dax_cfg.enabled or not dax_cfg.cluster_name:
        return [ControlResult("DAX encryption at rest", "N/A", "no DAX cluster configured", "DynamoDB.3"),
                ControlResult("DAX endpoint TLS", "N/A", "no DAX cluster configured", "DynamoDB.7")]
    cluster_name = dax_cfg.cluster_name
    got, err = _safe(lambda: clients.client("dax").describe_clusters(ClusterNames=[cluster_name])["Clusters"],
                     clients.emulator_endpoint)
    if err == LOCAL_GAP:
        return [ControlResult("DAX encryption at rest", "SKIP", _not_checked("dax:DescribeClusters"), "DynamoDB.3"),
                ControlResult("DAX endpoint TLS", "SKIP", _not_checked("dax:DescribeClusters"), "DynamoDB.7")]
    if err or not got:
        reason = f"cluster {cluster_name} unreadable ({err or 'not found'})"
        return [_result("DAX encryption at rest", False, True, "", reason, "DynamoDB.3"),
                _result("DAX endpoint TLS", False, True, "", reason, "DynamoDB.7")]
    c = got[0]
    sse = (c.get("SSEDescription") or {}).get("Status") == "ENABLED"
    tls = c.get("ClusterEndpointEncryptionType") == "TLS"
    return [_result("DAX encryption at rest", sse, tier.dax_encryption, f"{cluster_name}: enabled",
                    f"{cluster_name}: disabled", "DynamoDB.3"),
            _result("DAX endpoint TLS", tls, tier.dax_encryption, f"{cluster_name}: TLS",
                    f"{cluster_name}: {c.get('ClusterEndpointEncryptionType', 'NONE')}", "DynamoDB.7")]
