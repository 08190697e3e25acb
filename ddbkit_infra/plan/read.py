"""Read the live state of a table and everything around it (step 1 of a plan).

:func:`read_live_state` asks AWS (DescribeTable, DescribeTimeToLive, DescribeContinuousBackups,
ListTagsOfResource, DescribeContributorInsights, replicas' regions, application-autoscaling, KMS, AWS Backup,
IAM, DAX, CloudWatch) and returns a :class:`LiveState`. What a backend cannot answer is recorded, not guessed:
on a local emulator each area it lacks (DynamoDB Local serves tables, TTL and items, no more) lands in
:attr:`LiveState.gaps` and the diff plans it as "not checked locally", never as a change.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ddbkit.config import TableConfig
from ddbkit_infra.plan.model import DEFAULT_REGION, UNKNOWN, emulator_gap, error_code, unsupported
from ddbkit_infra.resources import (
    alarm_prefix,
    backup_plan_name,
    backup_role_name,
    backup_selection_name,
    backup_vault_name,
    copy_vault_name,
    dax_enabled,
    dax_role_name,
    dax_subnet_group_name,
    has_backup_plan,
    kms_alias_name,
    pitr_wanted,
    replica_contributor_insights,
    replica_regions,
    sse_target,
)
from ddbkit_infra.synth.alarms import (
    alarm_topic_key_alias,
    alarm_topic_name,
    creates_alarm_topic,
)


class AwsClients:
    """boto3 clients per (service, region), sharing one session and an optional endpoint URL.

    ``endpoint_url`` (moto's server, a local emulator) applies to every service. ``customize`` is called
    with each new client, its service and region (tests use it to attach Stubbers or emulate what a
    local backend lacks).
    """

    def __init__(self, region: str | None = None, *, endpoint_url: str | None = None, session: Any = None,
                 customize: Callable[[Any, str, str], None] | None = None, config: Any = None) -> None:
        import boto3

        self.config = config  # a botocore Config for every client (e.g. fewer retries on a local emulator)
        self.session = session or boto3.Session(region_name=region)
        from ddbkit.core.region import resolve_region

        self.region: str = resolve_region(region, self.session) or DEFAULT_REGION
        self.endpoint_url = endpoint_url
        self.customize = customize
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, region: str | None = None) -> Any:
        reg = region or self.region
        key = (service, reg)
        if key not in self._clients:
            kwargs: dict[str, Any] = {"region_name": reg}
            if self.endpoint_url:
                kwargs["endpoint_url"] = self.endpoint_url
            if self.config is not None:
                kwargs["config"] = self.config
            c = self.session.client(service, **kwargs)  # type: ignore[call-overload]  # boto3-stubs types client() per service literal; the name is a variable here
            if self.customize is not None:
                self.customize(c, service, reg)
            self._clients[key] = c
        return self._clients[key]

    @property
    def local_endpoint(self) -> bool:
        """Whether every call goes to a loopback endpoint (``ddbkit local``, DynamoDB Local): resources the
        config names in an AWS account (a KMS key ARN) are not there, and audit says "not checked locally"."""
        if not self.endpoint_url:
            return False
        from urllib.parse import urlsplit

        host = urlsplit(self.endpoint_url).hostname or ""
        return host == "localhost" or host == "::1" or host.startswith("127.")

    @property
    def emulator_endpoint(self) -> bool:
        """Whether the endpoint is an emulator (DynamoDB Local, moto), not AWS: a loopback one, or any
        ``endpoint_url`` whose host is not AWS's (``*.amazonaws.com``, ``*.amazonaws.com.cn``, ``*.api.aws``),
        such as ``http://dynamodb-local:8000`` in a compose file. Only there do an emulator's answers for a
        call it lacks (:func:`~ddbkit_infra.plan.model.emulator_gap`) mean "not checked locally"."""
        if not self.endpoint_url:
            return False
        if self.local_endpoint:
            return True
        from urllib.parse import urlsplit

        host = (urlsplit(self.endpoint_url).hostname or "").lower().rstrip(".")
        return not any(host == d or host.endswith("." + d) for d in ("amazonaws.com", "amazonaws.com.cn", "api.aws"))

    def account_id(self) -> str | None:
        """The caller's account (STS), or None when STS does not answer."""
        try:
            return str(self.client("sts").get_caller_identity()["Account"])
        except Exception:  # noqa: BLE001 - unknown account is handled by callers
            return None


@dataclass
class ReplicaState:
    """A replica as DescribeTable reports it, plus its own region's settings."""

    region: str
    status: str | None = None
    kms_key: str | None = None
    pitr: bool | None = None
    contributor_insights: str | None = None
    deletion_protection: bool | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class LiveState:
    """Everything :func:`diff` compares against. ``None`` means absent; :data:`UNKNOWN` means unreadable."""

    region: str
    account: str | None = None
    table: dict[str, Any] | None = None
    ttl: dict[str, Any] | None = None
    pitr: bool | None = None
    tags: dict[str, str] = field(default_factory=dict)
    contributor_insights: str | None = None
    created_key_arn: str | None = None
    created_key_rotation: bool | None = None
    resolved_keys: dict[str, str] = field(default_factory=dict)
    replicas: dict[str, ReplicaState] = field(default_factory=dict)
    scaling_targets: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    scaling_policies: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    vaults: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    backup_role_arn: str | None = None
    backup_plan: dict[str, Any] | None = None
    backup_selection: dict[str, Any] | None = None
    dax_role_arn: str | None = None
    dax_subnet_group: dict[str, Any] | None = None
    dax_parameter_group: dict[str, Any] | None = None
    dax_cluster: dict[str, Any] | None = None
    alarms: dict[str, dict[str, Any]] = field(default_factory=dict)
    alarm_topic_arn: str | None = None
    alarm_topic_key_arn: str | None = None
    security: Any = None  # plan_security.SecurityState: resource policies, VPC endpoints, audit trail
    unsupported: list[str] = field(default_factory=list)
    replicas_unsupported: bool = False  # the backend has no global tables (a wanted replica cannot be checked)
    #: areas a local emulator cannot serve (:data:`GAP_AREAS`), each with the call or field it lacks
    gaps: dict[str, str] = field(default_factory=dict)

    @property
    def table_arn(self) -> str | None:
        return str(self.table["TableArn"]) if self.table and "TableArn" in self.table else None


#: The areas of a live state a local emulator may lack, as :attr:`LiveState.gaps` keys (the diff plans each
#: one's resources as "not checked locally").
GAP_AREAS = ("kms", "sse", "table-class", "pitr", "tags", "scaling", "backup", "dax", "alarms", "security")

#: DynamoDB Local's ARNs name this region (``arn:aws:dynamodb:ddblocal:000000000000:table/T``).
DYNAMODB_LOCAL_REGION = "ddblocal"


def _area(clients: AwsClients, live: LiveState, area: str, what: str, read: Callable[[], None], *,
          note: bool = True) -> None:
    """``read()``; when the endpoint cannot serve it (:func:`emulator_gap`), record ``area`` as a gap naming
    ``what`` instead of failing (and, with ``note``, say so in the plan's notes when no change does). Any
    other error propagates."""
    try:
        read()
    except Exception as err:  # noqa: BLE001 - re-raised unless the endpoint lacks the call
        if not emulator_gap(err, local=clients.emulator_endpoint):
            raise
        live.gaps[area] = what
        if note:
            live.unsupported.append(what)


def _table_field_gaps(clients: AwsClients, live: LiveState) -> None:
    """DynamoDB Local accepts SSESpecification and TableClass and keeps neither: its DescribeTable shows
    neither, so they cannot be compared there (AWS and moto always describe both)."""
    t = live.table
    if t is None or not clients.emulator_endpoint or f":{DYNAMODB_LOCAL_REGION}:" not in str(t.get("TableArn", "")):
        return
    if not t.get("SSEDescription"):
        live.gaps["sse"] = "SSESpecification (DynamoDB Local keeps none)"
    if not t.get("TableClassSummary"):
        live.gaps["table-class"] = "TableClass (DynamoDB Local keeps none)"


def _missing(call: Callable[[], Any], *codes: str) -> Any:
    """``call()``, or None when it fails with one of ``codes`` (the resource does not exist)."""
    try:
        return call()
    except Exception as err:  # noqa: BLE001 - re-raised unless it is a not-found code
        if error_code(err) in codes:
            return None
        raise


def _optional(live: LiveState, what: str, call: Callable[[], Any], *codes: str) -> Any:
    """Like :func:`_missing`, but an unimplemented operation is recorded and returns :data:`UNKNOWN`."""
    try:
        return _missing(call, *codes)
    except Exception as err:  # noqa: BLE001
        if unsupported(err):
            live.unsupported.append(what)
            return UNKNOWN
        raise


def _tags_of(client: Any, arn: str) -> dict[str, str]:
    out: dict[str, str] = {}
    kwargs: dict[str, Any] = {"ResourceArn": arn}
    while True:
        resp = client.list_tags_of_resource(**kwargs)
        out.update({t["Key"]: t["Value"] for t in resp.get("Tags", [])})
        if not resp.get("NextToken"):
            return out
        kwargs["NextToken"] = resp["NextToken"]


def contributor_insights_status(live: LiveState, client: Any, table: str, what: str) -> str | None:
    """The table's (or a replica's) contributor insights status, or None when it has none; an endpoint that
    cannot answer is recorded in ``live`` under ``what``."""
    resp = _optional(live, what, lambda: client.describe_contributor_insights(TableName=table),
                     "ResourceNotFoundException")
    if resp is None or resp == UNKNOWN:
        return resp if resp == UNKNOWN else None
    return str(resp.get("ContributorInsightsStatus", "DISABLED"))


def read_live_state(clients: AwsClients, cfg: TableConfig) -> LiveState:
    """Read everything ddbkit manages for ``cfg`` (tier-resolved) in ``clients.region`` and replica regions."""
    home = clients.region
    live = LiveState(region=home, account=clients.account_id())
    ddb = clients.client("dynamodb")
    name = cfg.table_name
    live.table = _missing(lambda: ddb.describe_table(TableName=name)["Table"], "ResourceNotFoundException")
    if live.account is None and live.table_arn:
        live.account = live.table_arn.split(":")[4]
    _table_field_gaps(clients, live)
    _area(clients, live, "kms", "kms:DescribeKey", lambda: _read_kms(clients, cfg, live))

    if live.table is not None:
        live.ttl = ddb.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
        arn = str(live.table["TableArn"])

        def read_pitr() -> None:
            cb = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
            live.pitr = cb.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") == "ENABLED"

        def read_tags() -> None:
            live.tags = _tags_of(ddb, arn)

        _area(clients, live, "pitr", "dynamodb:DescribeContinuousBackups", read_pitr,
              note=pitr_wanted(cfg) is not None)  # PITR the file does not set is not managed: nothing unchecked
        _area(clients, live, "tags", "dynamodb:ListTagsOfResource", read_tags)
        if cfg.contributor_insights_specification is not None:
            live.contributor_insights = contributor_insights_status(live, ddb, name, "dynamodb:DescribeContributorInsights")
        for rep in live.table.get("Replicas", []):
            region = rep["RegionName"]
            if region == home:
                continue
            rs = ReplicaState(region, status=rep.get("ReplicaStatus"), kms_key=rep.get("KMSMasterKeyId"))
            _read_replica(clients, cfg, live, rs)
            live.replicas[region] = rs
        if any(r not in live.replicas for r in replica_regions(cfg, home)):
            _probe_global_tables(live, ddb, name)
    elif clients.emulator_endpoint:
        # a table to create: whether the emulator serves PITR at all decides if the plan may turn it on
        _area(clients, live, "pitr", "dynamodb:DescribeContinuousBackups", lambda: _missing(
            lambda: ddb.describe_continuous_backups(TableName=name), "TableNotFoundException",
            "ResourceNotFoundException"), note=pitr_wanted(cfg) is not None)
        if cfg.contributor_insights_specification is not None:
            live.contributor_insights = contributor_insights_status(live, ddb, name, "dynamodb:DescribeContributorInsights")
        if live.account is None and replica_regions(cfg, home):
            # no STS either (DynamoDB Local): a replica's settings cannot be planned without the account,
            # and whether the endpoint has global tables at all decides if they can be checked
            _probe_global_tables(live, ddb, name)

    _area(clients, live, "scaling", "application-autoscaling:DescribeScalableTargets",
          lambda: _read_scaling(clients, cfg, live))
    if has_backup_plan(cfg):
        _area(clients, live, "backup", "AWS Backup and IAM (backup:ListBackupPlans)",
              lambda: _read_backup(clients, cfg, live))
    if dax_enabled(cfg):
        _area(clients, live, "dax", "DAX and IAM (dax:DescribeClusters)", lambda: _read_dax(clients, cfg, live))
    _area(clients, live, "alarms", "CloudWatch alarms (cloudwatch:DescribeAlarms)",
          lambda: _read_alarms(clients, cfg, live))
    from ddbkit_infra.plan.security import SecurityState, read_security

    def read_sec() -> None:
        live.security = read_security(clients, cfg, live.table, live.account)

    _area(clients, live, "security", "the security surroundings (resource policies, VPC endpoints, audit trail)",
          read_sec)
    if live.security is None:
        live.security = SecurityState()
    return live


def _read_kms(clients: AwsClients, cfg: TableConfig, live: LiveState) -> None:
    """The key ddbkit creates for the table (and its rotation), or what a configured alias names."""
    target = sse_target(cfg)
    kms = clients.client("kms")
    if target is not None and target.kind == "create":
        meta = _missing(lambda: kms.describe_key(KeyId=kms_alias_name(cfg.table_name))["KeyMetadata"],
                        "NotFoundException")
        if meta is not None:
            live.created_key_arn = str(meta["Arn"])
            live.created_key_rotation = bool(
                kms.get_key_rotation_status(KeyId=meta["KeyId"]).get("KeyRotationEnabled"))
    elif target is not None and target.kind == "customer" and target.key and ":key/" not in target.key:
        # an alias or bare key id: compare the table's key ARN with what it points to
        key = target.key
        try:
            live.resolved_keys[key] = str(kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"])
        except Exception as err:  # noqa: BLE001 - an unresolvable key is compared as given
            if not error_code(err) and not unsupported(err):
                raise


GLOBAL_TABLES = "global table replicas (dynamodb:DescribeTableReplicaAutoScaling)"


def _probe_global_tables(live: LiveState, ddb: Any, name: str) -> None:
    """A wanted replica is not listed: a real pending create, or a backend without global tables (moto and
    DynamoDB Local accept ReplicaUpdates and create nothing). Such a backend lacks the replica API
    DescribeTableReplicaAutoScaling too; any other answer (AWS's) leaves the replica planned as a create."""
    if _optional_any(live, GLOBAL_TABLES, lambda: ddb.describe_table_replica_auto_scaling(TableName=name)) == UNKNOWN:
        live.replicas_unsupported = True


def _optional_any(live: LiveState, what: str, call: Callable[[], Any]) -> Any:
    """:func:`_optional` for a read whose other failures do not matter (a probe)."""
    try:
        return _optional(live, what, call)
    except Exception:  # noqa: BLE001 - only "not implemented" is an answer here
        return None


def _read_replica(clients: AwsClients, cfg: TableConfig, live: LiveState, rs: ReplicaState) -> None:
    ddb = clients.client("dynamodb", rs.region)
    name = cfg.table_name
    desc = _missing(lambda: ddb.describe_table(TableName=name)["Table"], "ResourceNotFoundException")
    if desc is None:
        return
    rs.deletion_protection = bool(desc.get("DeletionProtectionEnabled", False))
    cb = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    rs.pitr = cb.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") == "ENABLED"
    rs.tags = _tags_of(ddb, str(desc["TableArn"]))
    if replica_contributor_insights(cfg, rs.region) is not None:
        rs.contributor_insights = contributor_insights_status(live, ddb, name, f"dynamodb:DescribeContributorInsights[{rs.region}]")


def scaling_regions(cfg: TableConfig, home: str) -> list[str]:
    return [home, *replica_regions(cfg, home)]


def _read_scaling(clients: AwsClients, cfg: TableConfig, live: LiveState) -> None:
    """Scalable targets and policies on the table and its GSIs (desired or not: stale ones are removed)."""
    resource_ids = [f"table/{cfg.table_name}"] + [f"table/{cfg.table_name}/index/{g.index_name}"
                                                  for g in cfg.global_secondary_indexes]
    if live.table:
        resource_ids += [f"table/{cfg.table_name}/index/{g['IndexName']}"
                         for g in live.table.get("GlobalSecondaryIndexes", [])]
    resource_ids = list(dict.fromkeys(resource_ids))
    for region in scaling_regions(cfg, live.region):
        aas = clients.client("application-autoscaling", region)
        for t in pages(aas.describe_scalable_targets, "ScalableTargets", ServiceNamespace="dynamodb",
                        ResourceIds=resource_ids):
            live.scaling_targets[(region, t["ResourceId"], t["ScalableDimension"])] = t
        for rid in resource_ids:
            for p in pages(aas.describe_scaling_policies, "ScalingPolicies", ServiceNamespace="dynamodb",
                            ResourceId=rid):
                if p.get("PolicyName", "").startswith("ddbkit-"):
                    live.scaling_policies[(region, p["ResourceId"], p["ScalableDimension"])] = p


def pages(op: Callable[..., Any], key: str, **kwargs: Any) -> Iterable[dict[str, Any]]:
    """Every item under ``key`` of a NextToken-paginated operation."""
    while True:
        resp = op(**kwargs)
        yield from resp.get(key, [])
        token = resp.get("NextToken")
        if not token:
            return
        kwargs["NextToken"] = token


def _read_backup(clients: AwsClients, cfg: TableConfig, live: LiveState) -> None:
    regions = [live.region] + [c.region for r in (cfg.backup_policy.rules if cfg.backup_policy else [])
                               for c in r.copy_to]
    for region in dict.fromkeys(regions):
        names = {backup_vault_name(cfg)} if region == live.region else {
            copy_vault_name(cfg, c) for r in cfg.backup_policy.rules for c in r.copy_to  # type: ignore[union-attr]  # backup_policy is checked non-None by has_backup_plan() before this runs
            if c.region == region}
        bk = clients.client("backup", region)
        for vault in names:
            live.vaults[f"{region}/{vault}"] = _missing(
                functools.partial(bk.describe_backup_vault, BackupVaultName=vault), "ResourceNotFoundException")
    iam = clients.client("iam")
    role = _missing(lambda: iam.get_role(RoleName=backup_role_name(cfg.table_name))["Role"], "NoSuchEntity")
    live.backup_role_arn = str(role["Arn"]) if role else None
    bk = clients.client("backup")
    plan_name = backup_plan_name(cfg)
    for p in pages(bk.list_backup_plans, "BackupPlansList"):
        if p.get("BackupPlanName") == plan_name:
            got = bk.get_backup_plan(BackupPlanId=p["BackupPlanId"])
            live.backup_plan = {"BackupPlanId": got["BackupPlanId"], "Rules": got["BackupPlan"].get("Rules", [])}
            break
    if live.backup_plan is not None:
        plan_id = live.backup_plan["BackupPlanId"]
        sels = _optional(live, "backup:ListBackupSelections",
                         lambda: list(pages(bk.list_backup_selections, "BackupSelectionsList", BackupPlanId=plan_id)))
        if sels == UNKNOWN:
            live.backup_selection = {"unknown": True}
            return
        for s in sels or []:
            if s.get("SelectionName") == backup_selection_name(cfg):
                got = bk.get_backup_selection(BackupPlanId=plan_id, SelectionId=s["SelectionId"])
                live.backup_selection = {"SelectionId": s["SelectionId"], **got["BackupSelection"]}


def _read_dax(clients: AwsClients, cfg: TableConfig, live: LiveState) -> None:
    dax_cfg = cfg.dax_cluster
    assert dax_cfg is not None and dax_cfg.cluster_name
    dax = clients.client("dax")
    if dax_cfg.iam_role_arn is None:
        iam = clients.client("iam")
        role = _missing(lambda: iam.get_role(RoleName=dax_role_name(cfg.table_name))["Role"], "NoSuchEntity")
        live.dax_role_arn = str(role["Arn"]) if role else None
    group = dax_subnet_group_name(dax_cfg)
    if dax_cfg.subnet_ids and group:
        got = _optional(live, "dax:DescribeSubnetGroups",
                        lambda: dax.describe_subnet_groups(SubnetGroupNames=[group])["SubnetGroups"],
                        "SubnetGroupNotFoundFault")
        live.dax_subnet_group = {"unknown": True} if got == UNKNOWN else (got[0] if got else None)
    if dax_cfg.parameter_group_name:
        pg = dax_cfg.parameter_group_name
        got = _optional(live, "dax:DescribeParameterGroups",
                        lambda: dax.describe_parameter_groups(ParameterGroupNames=[pg])["ParameterGroups"],
                        "ParameterGroupNotFoundFault")
        live.dax_parameter_group = {"unknown": True} if got == UNKNOWN else (got[0] if got else None)
    name = dax_cfg.cluster_name
    got = _missing(lambda: dax.describe_clusters(ClusterNames=[name])["Clusters"], "ClusterNotFoundFault")
    live.dax_cluster = got[0] if got else None


def _read_alarms(clients: AwsClients, cfg: TableConfig, live: LiveState) -> None:
    cw = clients.client("cloudwatch")
    for a in pages(cw.describe_alarms, "MetricAlarms", AlarmNamePrefix=alarm_prefix(cfg.table_name)):
        live.alarms[a["AlarmName"]] = a
    if creates_alarm_topic(cfg):
        kms = clients.client("kms")
        meta = _missing(lambda: kms.describe_key(KeyId=alarm_topic_key_alias(cfg.table_name))["KeyMetadata"],
                        "NotFoundException")
        live.alarm_topic_key_arn = str(meta["Arn"]) if meta else None
        if live.account is not None:
            partition = "aws-cn" if live.region.startswith("cn-") else (
                "aws-us-gov" if live.region.startswith("us-gov-") else "aws")
            arn = f"arn:{partition}:sns:{live.region}:{live.account}:{alarm_topic_name(cfg.table_name)}"
            sns = clients.client("sns")
            got = _missing(lambda: sns.get_topic_attributes(TopicArn=arn)["Attributes"], "NotFound",
                           "NotFoundException")
            live.alarm_topic_arn = arn if got else None


# ==================================================================================================
# Diff
# ==================================================================================================


