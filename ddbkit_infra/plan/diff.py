"""Diff the tier-resolved config with the live state (step 2 of a plan, pure).

:func:`diff` returns a :class:`~ddbkit_infra.plan.model.Plan`: a list of changes (create / update / delete /
no-op / refuse), each with its field-by-field changes and the exact API calls that would make it so.
Changes DynamoDB cannot make in place (key schema, LSIs, DAX encryption, ...) become ``refuse`` changes with
the reason. Nothing here ever deletes a table: only ``ddbkit destroy`` does. :func:`make_plan` reads, then
diffs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ddbkit.config import BillingMode, TableConfig
from ddbkit_infra.compliance import EffectiveConfig
from ddbkit_infra.iam.binds import ArnContext, policy_for_access
from ddbkit_infra.plan.model import (
    UNKNOWN,
    Action,
    ApiCall,
    Change,
    FieldChange,
    Plan,
    ProvisioningError,
    Ref,
    Wait,
    not_checked,
)
from ddbkit_infra.plan.read import (
    GLOBAL_TABLES,
    AwsClients,
    LiveState,
    ReplicaState,
    read_live_state,
    scaling_regions,
)
from ddbkit_infra.resources import (
    BACKUP_MANAGED_POLICIES,
    ScalingSpec,
    alarm_prefix,
    backup_plan_name,
    backup_role_name,
    backup_rules,
    backup_selection_name,
    backup_vault_arn,
    backup_vault_name,
    contributor_insights_request,
    copy_vault_name,
    create_table_request,
    dax_cluster_request,
    dax_enabled,
    dax_role_name,
    dax_subnet_group_name,
    gsi_request,
    has_backup_plan,
    key_arn,
    kms_alias_name,
    pitr_request,
    pitr_wanted,
    replica_contributor_insights,
    replica_create_request,
    replica_kms_key,
    replica_pitr,
    replica_regions,
    scaling_specs,
    service_trust_policy,
    sse_target,
    sse_update_request,
    stream_wanted,
    throughput,
    ttl_request,
)
from ddbkit_infra.synth.alarms import (
    alarm_specs,
    alarm_topic_key_alias,
    alarm_topic_key_policy,
    alarm_topic_name,
    creates_alarm_topic,
)


def make_plan(eff: EffectiveConfig, clients: AwsClients, *, bind_accesses: list[str] | None = None,
              bind_grants: list[tuple[str, str]] | None = None) -> Plan:
    """Read the live state and diff it with ``eff.config`` (always the tier-resolved config).

    ``bind_accesses`` / ``bind_grants`` (:mod:`ddbkit_infra.iam.security`) carry the file's binds to the table:
    the VPC endpoint policy's actions and the resource policy's grants to other accounts."""
    return diff(eff.config, read_live_state(clients, eff.config), bind_accesses=bind_accesses,
                bind_grants=bind_grants)


class _Builder:
    """Collects changes; helpers for the common shapes."""

    def __init__(self, cfg: TableConfig, live: LiveState) -> None:
        self.cfg = cfg
        self.live = live
        self.home = live.region
        self.changes: list[Change] = []
        self.notes: list[str] = []

    def add(self, resource: str, name: str, action: Action, fields: Iterable[FieldChange] = (),
            calls: Iterable[ApiCall] = (), reason: str = "", region: str | None = None) -> Change:
        c = Change(resource, name, action, list(fields), list(calls), reason, region)
        self.changes.append(c)
        return c

    @property
    def partition(self) -> str:
        r = self.home
        return "aws-cn" if r.startswith("cn-") else "aws-us-gov" if r.startswith("us-gov-") else "aws"

    def account(self, resource: str) -> str:
        if self.live.account is None:
            raise ProvisioningError(resource, "the AWS account id is unknown (STS GetCallerIdentity did not answer)")
        return self.live.account


def diff(cfg: TableConfig, live: LiveState, *, bind_accesses: list[str] | None = None,
         bind_grants: list[tuple[str, str]] | None = None) -> Plan:
    """The plan taking ``live`` to ``cfg`` (pure: no AWS calls). ``cfg`` must be tier-resolved."""
    b = _Builder(cfg, live)
    if cfg.global_tables and cfg.global_tables.all_regions() and b.home not in cfg.global_tables.all_regions():
        raise ProvisioningError(f"dynamodb:table {cfg.table_name}",
                                f"home region {b.home} is not one of globalTables regions "
                                f"{cfg.global_tables.all_regions()}; pass --region")
    key_value = _unchecked_if_gap(b, "kms", "kms:key", lambda: _kms_key(b))
    table_arn: Any = live.table_arn or Ref("table_arn")
    _table(b, key_value)
    _ttl(b)
    _unchecked_if_gap(b, "pitr", "dynamodb:pitr", lambda: _pitr(b))
    _contributor_insights(b)
    _replicas(b)
    _unchecked_if_gap(b, "scaling", "application-autoscaling:target", lambda: _scaling(b))
    if has_backup_plan(cfg):
        _unchecked_if_gap(b, "backup", "backup:plan", lambda: _backup(b, key_value, table_arn))
    if dax_enabled(cfg):
        _unchecked_if_gap(b, "dax", "dax:cluster", lambda: _dax(b))
    if live.security is not None:
        from ddbkit_infra.plan.security import diff_security

        security = live.security
        stream_arn = (live.table or {}).get("LatestStreamArn") if live.table else (
            Ref("stream_arn") if cfg.stream_specification and cfg.stream_specification.stream_enabled else None)
        _unchecked_if_gap(b, "security", "security", lambda: diff_security(
            b, cfg, security, table_arn, stream_arn, bind_accesses, bind_grants))
    _unchecked_if_gap(b, "alarms", "cloudwatch:alarm", lambda: _alarms(b))
    for what in live.unsupported:
        if any(what in c.reason for c in b.changes):
            continue  # said on the change itself
        b.notes.append(f"the backend does not implement {what}: not checked locally")
    return Plan(cfg.table_name, b.home, b.changes, live.account, b.notes)


def _unchecked_if_gap(b: _Builder, area: str, resource: str, section: Callable[[], Any]) -> Any:
    """Run one section of the diff; when the endpoint could not serve ``area``'s reads (a local emulator:
    :attr:`LiveState.gaps`), every change the section made from the empty state it read becomes
    :attr:`Action.UNCHECKED` (no fields, no calls): not checked, not applied, never pending. A section that
    cannot even be planned without what it could not read (the account id) is one unchecked ``resource``."""
    what = b.live.gaps.get(area)
    if what is None:
        return section()
    start = len(b.changes)
    out: Any = None
    try:
        out = section()
    except ProvisioningError:
        del b.changes[start:]
        b.add(resource, b.cfg.table_name, Action.UNCHECKED, reason=not_checked(what))
    b.changes[start:] = [Change(c.resource, c.name, Action.UNCHECKED, reason=not_checked(what), region=c.region)
                         for c in b.changes[start:]]
    return out


# -- KMS -----------------------------------------------------------------------------------------------


def _kms_key(b: _Builder) -> Any:
    """The customer key for the table (ARN, configured id, or a Ref to the key created by apply)."""
    target = sse_target(b.cfg)
    if target is None or target.kind not in ("create", "customer"):
        return None
    if target.kind == "customer":
        assert target.key is not None
        return b.live.resolved_keys.get(target.key, target.key)
    alias = kms_alias_name(b.cfg.table_name)
    if b.live.created_key_arn is None:
        tags = [{"TagKey": k, "TagValue": v} for k, v in b.cfg.tags.items()]
        b.add("kms:key", alias, Action.CREATE,
              [FieldChange("KeyRotationEnabled", None, True), FieldChange("AliasName", None, alias)],
              [ApiCall("kms", "create_key", {
                  "Description": f"ddbkit: encryption at rest for DynamoDB table {b.cfg.table_name}",
                  "KeyUsage": "ENCRYPT_DECRYPT", "Tags": tags}, outputs={"kms_key_arn": "KeyMetadata.Arn"}),
               ApiCall("kms", "enable_key_rotation", {"KeyId": Ref("kms_key_arn")}),
               ApiCall("kms", "create_alias", {"AliasName": alias, "TargetKeyId": Ref("kms_key_arn")})])
        return Ref("kms_key_arn")
    if not b.live.created_key_rotation:
        b.add("kms:key", alias, Action.UPDATE, [FieldChange("KeyRotationEnabled", False, True)],
              [ApiCall("kms", "enable_key_rotation", {"KeyId": b.live.created_key_arn})])
    else:
        b.add("kms:key", alias, Action.NOOP)
    return b.live.created_key_arn


# -- table ---------------------------------------------------------------------------------------------


def _wait(b: _Builder, region: str | None = None) -> Wait:
    return Wait("table", b.cfg.table_name, region)


def _keys(schema: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(k["AttributeName"], k["KeyType"]) for k in schema]


def _projection(p: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    return p.get("ProjectionType", "ALL"), tuple(sorted(p.get("NonKeyAttributes", []) or []))


def _table(b: _Builder, key_value: Any) -> None:
    cfg, live = b.cfg, b.live
    name = cfg.table_name
    label = "dynamodb:table"
    target = sse_target(cfg)
    cmk = target is not None and target.kind in ("create", "customer")
    req = create_table_request(cfg, sse_key_id=key_value if cmk else None)
    if cmk and "kms" in live.gaps:
        # the emulator has no KMS to create or find the key in (and would not keep the setting)
        req.pop("SSESpecification", None)
        b.notes.append(f"the backend does not implement {live.gaps['kms']}: the table's SSESpecification is "
                       "not checked locally")
    if live.table is None:
        b.add(label, name, Action.CREATE, [FieldChange(k, None, v) for k, v in req.items() if k != "TableName"],
              [ApiCall("dynamodb", "create_table", req, outputs={"table_arn": "TableDescription.TableArn",
                                                                  "stream_arn": "TableDescription.LatestStreamArn"},
                       wait=_wait(b))])
        return
    t = live.table

    # -- what DynamoDB cannot change in place: refuse, never replace the table --------------------
    refusals: list[tuple[FieldChange, str]] = []
    if _keys(t["KeySchema"]) != _keys(req["KeySchema"]):
        refusals.append((FieldChange("KeySchema", t["KeySchema"], req["KeySchema"]),
                         "DynamoDB cannot change a table's key schema in place"))
    live_types = {a["AttributeName"]: a["AttributeType"] for a in t.get("AttributeDefinitions", [])}
    for a in req["AttributeDefinitions"]:
        old = live_types.get(a["AttributeName"])
        if old is not None and old != a["AttributeType"]:
            refusals.append((FieldChange(f"AttributeDefinitions.{a['AttributeName']}", old, a["AttributeType"]),
                             "an existing key attribute cannot change type"))
    live_lsis = {i["IndexName"]: (_keys(i["KeySchema"]), _projection(i["Projection"]))
                 for i in t.get("LocalSecondaryIndexes", []) or []}
    want_lsis = {i["IndexName"]: (_keys(i["KeySchema"]), _projection(i["Projection"]))
                 for i in req.get("LocalSecondaryIndexes", [])}
    if live_lsis != want_lsis:
        refusals.append((FieldChange("LocalSecondaryIndexes", sorted(live_lsis), sorted(want_lsis)),
                         "local secondary indexes can only be defined when a table is created"))
    if refusals:
        b.add(label, name, Action.REFUSE, [f for f, _ in refusals],
              reason="; ".join(r for _, r in refusals) + ": create a new table and migrate the data "
                     "(ddbkit never deletes a table to apply a change)")
        return

    fields: list[FieldChange] = []
    calls: list[ApiCall] = []

    def update(fc: list[FieldChange], params: dict[str, Any]) -> None:
        fields.extend(fc)
        calls.append(ApiCall("dynamodb", "update_table", {"TableName": name, **params}, wait=_wait(b)))

    # encryption
    sse = t.get("SSEDescription") or {}
    live_kind = "kms" if sse.get("Status") in ("ENABLED", "ENABLING", "UPDATING") else "owned"
    live_key = sse.get("KMSMasterKeyArn")
    if target is not None and "sse" in live.gaps:
        if target.kind != "owned":
            b.notes.append(f"the backend does not implement {live.gaps['sse']}: not checked locally")
    elif target is not None:
        want_key = key_value if cmk else None
        same = (live_kind == "owned") if target.kind == "owned" else (
            live_kind == "kms" and (target.kind == "aws-managed" or _same_key(live_key, want_key)))
        if not same:
            update([FieldChange("SSESpecification", {"kind": live_kind, "key": live_key},
                                {"kind": target.kind, "key": want_key})], {"SSESpecification":
                                                                           sse_update_request(target, want_key)})

    # billing mode and throughput
    want_mode = cfg.effective_billing_mode
    live_mode = t.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    scaled = {(s.index, s.side) for s in scaling_specs(cfg)}
    live_gsis = {g["IndexName"]: g for g in t.get("GlobalSecondaryIndexes", []) or []}
    want_gsis = {g.index_name: g for g in cfg.global_secondary_indexes}
    if live_mode != want_mode.value:
        params: dict[str, Any] = {"BillingMode": want_mode.value}
        if want_mode is BillingMode.PROVISIONED and cfg.provisioned_throughput:
            params["ProvisionedThroughput"] = throughput(cfg.provisioned_throughput)
            gsi_updates = [{"Update": {"IndexName": n, "ProvisionedThroughput": throughput(g.provisioned_throughput)}}
                           for n, g in want_gsis.items() if n in live_gsis and g.provisioned_throughput]
            if gsi_updates:
                params["GlobalSecondaryIndexUpdates"] = gsi_updates
        update([FieldChange("BillingMode", live_mode, want_mode.value)], params)
    elif want_mode is BillingMode.PROVISIONED and cfg.provisioned_throughput:
        pt = t.get("ProvisionedThroughput", {})
        want = throughput(cfg.provisioned_throughput)
        fc = [FieldChange(f"ProvisionedThroughput.{k}", pt.get(k), v) for k, v in want.items()
              if pt.get(k) != v and (None, "read" if k.startswith("Read") else "write") not in scaled]
        if fc:
            merged = {k: (want[k] if any(f.path.endswith(k) for f in fc) else pt.get(k, want[k])) for k in want}
            update(fc, {"ProvisionedThroughput": merged})

    # stream (a view-type change is a disable then an enable)
    want_stream = stream_wanted(cfg)
    ls = t.get("StreamSpecification") or {}
    live_stream = (bool(ls.get("StreamEnabled")), ls.get("StreamViewType") if ls.get("StreamEnabled") else None)
    if want_stream is not None and want_stream != live_stream:
        fc = [FieldChange("StreamSpecification", {"StreamEnabled": live_stream[0], "StreamViewType": live_stream[1]},
                          {"StreamEnabled": want_stream[0], "StreamViewType": want_stream[1]})]
        if live_stream[0] and want_stream[0]:
            update(fc, {"StreamSpecification": {"StreamEnabled": False}})
            update([], {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": want_stream[1]}})
        elif want_stream[0]:
            update(fc, {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": want_stream[1]}})
        else:
            update(fc, {"StreamSpecification": {"StreamEnabled": False}})

    # GSIs: delete, then create one at a time (DynamoDB allows one index operation per UpdateTable)
    attr_defs = req["AttributeDefinitions"]
    for n, g in live_gsis.items():
        w = want_gsis.get(n)
        rebuilt = w is not None and (_keys(g["KeySchema"]) != _keys(gsi_request(w, want_mode)["KeySchema"]) or
                                     _projection(g["Projection"]) != _projection(gsi_request(w, want_mode)["Projection"]))
        if w is None or rebuilt:
            update([FieldChange(f"GlobalSecondaryIndexes.{n}", "present", "rebuilt" if rebuilt else None)],
                   {"GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": n}}]})
    for n, w in want_gsis.items():
        g = live_gsis.get(n)
        wreq = gsi_request(w, want_mode)
        rebuilt = g is not None and (_keys(g["KeySchema"]) != _keys(wreq["KeySchema"]) or
                                     _projection(g["Projection"]) != _projection(wreq["Projection"]))
        if g is None or rebuilt:
            update([FieldChange(f"GlobalSecondaryIndexes.{n}", None, wreq)],
                   {"AttributeDefinitions": attr_defs, "GlobalSecondaryIndexUpdates": [{"Create": wreq}]})
        elif want_mode is BillingMode.PROVISIONED and live_mode == want_mode.value and w.provisioned_throughput:
            gpt = g.get("ProvisionedThroughput", {})
            want = throughput(w.provisioned_throughput)
            fc = [FieldChange(f"GlobalSecondaryIndexes.{n}.ProvisionedThroughput.{k}", gpt.get(k), v)
                  for k, v in want.items()
                  if gpt.get(k) != v and (n, "read" if k.startswith("Read") else "write") not in scaled]
            if fc:
                merged = {k: (want[k] if any(f.path.endswith(k) for f in fc) else gpt.get(k, want[k])) for k in want}
                update(fc, {"GlobalSecondaryIndexUpdates": [{"Update": {"IndexName": n,
                                                                         "ProvisionedThroughput": merged}}]})

    # deletion protection and table class
    if cfg.deletion_protection_enabled is not None:
        old_dp = bool(t.get("DeletionProtectionEnabled", False))
        if old_dp != cfg.deletion_protection_enabled:
            update([FieldChange("DeletionProtectionEnabled", old_dp, cfg.deletion_protection_enabled)],
                   {"DeletionProtectionEnabled": cfg.deletion_protection_enabled})
    if cfg.table_class is not None and "table-class" in live.gaps:
        if cfg.table_class != "STANDARD":
            b.notes.append(f"the backend does not implement {live.gaps['table-class']}: not checked locally")
    elif cfg.table_class is not None:
        old_class = t.get("TableClassSummary", {}).get("TableClass", "STANDARD")
        if old_class != cfg.table_class:
            update([FieldChange("TableClass", old_class, cfg.table_class)], {"TableClass": cfg.table_class})

    b.add(label, name, Action.UPDATE if calls else Action.NOOP, fields, calls)
    _unchecked_if_gap(b, "tags", "dynamodb:tags",
                      lambda: _tags(b, "dynamodb:tags", live.tags, str(t["TableArn"]), None))


def _same_key(live_key: str | None, want: Any) -> bool:
    """Whether the live key ARN is the wanted key (an ARN, a bare key id, or a Ref not yet created)."""
    if isinstance(want, Ref) or want is None or live_key is None:
        return False
    w = str(want)
    return live_key == w or live_key.endswith(f"/{w}") or live_key.endswith(f":{w}")


def _tags(b: _Builder, resource: str, live_tags: dict[str, str], arn: str, region: str | None) -> None:
    want = dict(b.cfg.tags)
    fields = [FieldChange(f"Tags.{k}", live_tags.get(k), v) for k, v in want.items() if live_tags.get(k) != v]
    stale = [k for k in live_tags if k not in want and not k.startswith("aws:")]
    fields += [FieldChange(f"Tags.{k}", live_tags[k], None) for k in stale]
    calls = []
    add = {k: v for k, v in want.items() if live_tags.get(k) != v}
    if add:
        calls.append(ApiCall("dynamodb", "tag_resource", {"ResourceArn": arn, "Tags": [
            {"Key": k, "Value": v} for k, v in add.items()]}, region=region))
    if stale:
        calls.append(ApiCall("dynamodb", "untag_resource", {"ResourceArn": arn, "TagKeys": stale}, region=region))
    b.add(resource, b.cfg.table_name, Action.UPDATE if calls else Action.NOOP, fields, calls, region=region)


# -- TTL, PITR, contributor insights ------------------------------------------------------------------


def _ttl(b: _Builder) -> None:
    spec = b.cfg.time_to_live_specification
    if spec is None:
        return
    name = b.cfg.table_name
    live = b.live.ttl or {}
    status = live.get("TimeToLiveStatus", "DISABLED")
    live_on = status in ("ENABLED", "ENABLING")
    live_attr = live.get("AttributeName")
    label = "dynamodb:ttl"
    if b.live.table is not None and live_on and spec.enabled and live_attr != spec.attribute_name:
        b.add(label, name, Action.REFUSE, [FieldChange("AttributeName", live_attr, spec.attribute_name)],
              reason="TTL is on for another attribute: disable it first (set enabled: false and apply); "
                     "DynamoDB allows one TTL change per hour")
        return
    if live_on == spec.enabled:
        b.add(label, name, Action.NOOP)
        return
    action = Action.CREATE if b.live.table is None else Action.UPDATE
    attr = spec.attribute_name if spec.enabled else (live_attr or spec.attribute_name)
    old = {"Enabled": live_on, "AttributeName": live_attr} if b.live.table is not None else None
    b.add(label, name, action, [FieldChange("TimeToLiveSpecification", old,
                                            {"Enabled": spec.enabled, "AttributeName": attr})],
          [ApiCall("dynamodb", "update_time_to_live", ttl_request(name, spec.enabled, attr))])


def _pitr(b: _Builder) -> None:
    want = pitr_wanted(b.cfg)
    if want is None:
        return
    have = bool(b.live.pitr)
    label = "dynamodb:point-in-time-recovery"
    if have == want:
        b.add(label, b.cfg.table_name, Action.NOOP)
        return
    b.add(label, b.cfg.table_name, Action.CREATE if b.live.table is None else Action.UPDATE,
          [FieldChange("PointInTimeRecoveryEnabled", have if b.live.table else None, want)],
          [ApiCall("dynamodb", "update_continuous_backups", pitr_request(b.cfg.table_name, want))])


def _ci_on(status: str | None) -> bool | str:
    if status == UNKNOWN:
        return UNKNOWN
    return status in ("ENABLED", "ENABLING")


def _contributor_insights(b: _Builder) -> None:
    ci = b.cfg.contributor_insights_specification
    if ci is None:
        return
    have = _ci_on(b.live.contributor_insights)
    label = "dynamodb:contributor-insights"
    if have == ci.enabled:
        b.add(label, b.cfg.table_name, Action.NOOP)
        return
    if have == UNKNOWN:
        b.add(label, b.cfg.table_name, Action.UNCHECKED, reason=not_checked("dynamodb:DescribeContributorInsights"))
        return
    b.add(label, b.cfg.table_name, Action.CREATE if b.live.table is None else Action.UPDATE,
          [FieldChange("ContributorInsightsEnabled", have if b.live.table else None, ci.enabled)],
          [ApiCall("dynamodb", "update_contributor_insights",
                   contributor_insights_request(b.cfg.table_name, ci.enabled, ci.mode))])


# -- global table replicas ----------------------------------------------------------------------------


def _replicas(b: _Builder) -> None:
    cfg, live = b.cfg, b.live
    want = replica_regions(cfg, b.home)
    name = cfg.table_name
    for region in [r for r in live.replicas if r not in want]:
        b.add("dynamodb:replica", name, Action.REFUSE, [FieldChange("Region", region, None)],
              reason=f"removing the replica in {region} deletes that region's copy of the data; remove it "
                     "explicitly (aws dynamodb update-table --replica-updates Delete) if that is intended",
              region=region)
    for region in want:
        rs = live.replicas.get(region)
        want_key = replica_kms_key(cfg, region)
        target = sse_target(cfg)
        cmk = target is not None and target.kind in ("create", "customer")
        if rs is None and live.replicas_unsupported:
            b.add("dynamodb:replica", name, Action.UNCHECKED, reason=not_checked(GLOBAL_TABLES),
                  region=region)
            continue
        if rs is None:
            req = replica_create_request(cfg, region)
            b.add("dynamodb:replica", name, Action.CREATE,
                  [FieldChange("Region", None, region)] + (
                      [FieldChange("KMSMasterKeyId", None, want_key)] if cmk and want_key else []),
                  [ApiCall("dynamodb", "update_table", req, wait=_wait(b))], region=region)
        elif cmk and want_key and not _same_key(rs.kms_key, want_key):
            b.add("dynamodb:replica", name, Action.UPDATE, [FieldChange("KMSMasterKeyId", rs.kms_key, want_key)],
                  [ApiCall("dynamodb", "update_table", {"TableName": name, "ReplicaUpdates": [
                      {"Update": {"RegionName": region, "KMSMasterKeyId": want_key}}]}, wait=_wait(b))],
                  region=region)
        else:
            b.add("dynamodb:replica", name, Action.NOOP, region=region)
        _replica_settings(b, region, rs)


def _replica_settings(b: _Builder, region: str, rs: ReplicaState | None) -> None:
    """PITR, contributor insights, deletion protection and tags live per replica (and per region's API)."""
    cfg = b.cfg
    name = cfg.table_name
    exists = rs is not None and rs.pitr is not None
    fields: list[FieldChange] = []
    calls: list[ApiCall] = []
    pitr = replica_pitr(cfg, region)
    if pitr is not None and (not exists or rs is None or rs.pitr != pitr):
        fields.append(FieldChange("PointInTimeRecoveryEnabled", rs.pitr if rs else None, pitr))
        calls.append(ApiCall("dynamodb", "update_continuous_backups", pitr_request(name, pitr), region=region))
    ci = replica_contributor_insights(cfg, region)
    if ci is not None:
        have = _ci_on(rs.contributor_insights) if rs else None
        if have != ci:
            fields.append(FieldChange("ContributorInsightsEnabled", have, ci))
            calls.append(ApiCall("dynamodb", "update_contributor_insights",
                                 contributor_insights_request(name, ci), region=region))
    dp = cfg.deletion_protection_enabled
    if dp is not None and (rs is None or rs.deletion_protection != dp):
        fields.append(FieldChange("DeletionProtectionEnabled", rs.deletion_protection if rs else None, dp))
        calls.append(ApiCall("dynamodb", "update_table", {"TableName": name, "DeletionProtectionEnabled": dp},
                             region=region, wait=_wait(b, region)))
    live_tags = rs.tags if rs else {}
    add = {k: v for k, v in cfg.tags.items() if live_tags.get(k) != v}
    if add:
        fields += [FieldChange(f"Tags.{k}", live_tags.get(k), v) for k, v in add.items()]
        arn: Any = f"arn:{b.partition}:dynamodb:{region}:{b.account('dynamodb:replica-settings')}:table/{name}"
        calls.append(ApiCall("dynamodb", "tag_resource", {"ResourceArn": arn, "Tags": [
            {"Key": k, "Value": v} for k, v in add.items()]}, region=region))
    action = Action.NOOP if not calls else Action.CREATE if rs is None else Action.UPDATE
    b.add("dynamodb:replica-settings", name, action, fields, calls, region=region)


# -- application auto scaling ----------------------------------------------------------------------------


def _float_eq(a: Any, b: Any) -> bool:
    try:
        return abs(float(a) - float(b)) < 1e-9
    except (TypeError, ValueError):
        return bool(a == b)


def _policy_diff(spec: ScalingSpec, live: dict[str, Any] | None) -> list[FieldChange]:
    want = spec.target_tracking()
    have = (live or {}).get("TargetTrackingScalingPolicyConfiguration", {})
    out = []
    for k in ("TargetValue", "ScaleInCooldown", "ScaleOutCooldown", "DisableScaleIn"):
        old = have.get(k, False if k == "DisableScaleIn" else None)
        if not _float_eq(old, want[k]):
            out.append(FieldChange(f"TargetTracking.{k}", old if live else None, want[k]))
    metric = have.get("PredefinedMetricSpecification", {}).get("PredefinedMetricType")
    if metric != want["PredefinedMetricSpecification"]["PredefinedMetricType"]:
        out.append(FieldChange("TargetTracking.PredefinedMetricType", metric,
                               want["PredefinedMetricSpecification"]["PredefinedMetricType"]))
    return out


def _scaling(b: _Builder) -> None:
    specs = scaling_specs(b.cfg)
    for region in scaling_regions(b.cfg, b.home):
        reg = None if region == b.home else region
        wanted: set[tuple[str, str]] = set()
        for spec in specs:
            key = (region, spec.resource_id, spec.dimension)
            wanted.add((spec.resource_id, spec.dimension))
            target = b.live.scaling_targets.get(key)
            fields: list[FieldChange] = []
            calls: list[ApiCall] = []
            if target is None or target.get("MinCapacity") != spec.min_capacity or \
                    target.get("MaxCapacity") != spec.max_capacity:
                for k, v in (("MinCapacity", spec.min_capacity), ("MaxCapacity", spec.max_capacity)):
                    old = target.get(k) if target else None
                    if old != v:
                        fields.append(FieldChange(k, old, v))
                calls.append(ApiCall("application-autoscaling", "register_scalable_target",
                                     spec.register_request(), region=reg))
            pdiff = _policy_diff(spec, b.live.scaling_policies.get(key))
            if pdiff:
                fields += pdiff
                calls.append(ApiCall("application-autoscaling", "put_scaling_policy", spec.policy_request(),
                                     region=reg))
            action = Action.NOOP if not calls else Action.CREATE if target is None else Action.UPDATE
            if calls and reg is not None and b.live.replicas_unsupported and reg not in b.live.replicas:
                b.add("application-autoscaling:target", spec.label, Action.UNCHECKED,
                      reason=not_checked(GLOBAL_TABLES), region=reg)
                continue
            b.add("application-autoscaling:target", spec.label, action, fields, calls, region=reg)
        for (r, rid, dim), t in b.live.scaling_targets.items():
            if r != region or (rid, dim) in wanted:
                continue
            b.add("application-autoscaling:target", f"{rid} {dim}", Action.DELETE,
                  [FieldChange("ScalableTarget", {"MinCapacity": t.get("MinCapacity"),
                                                  "MaxCapacity": t.get("MaxCapacity")}, None)],
                  [ApiCall("application-autoscaling", "deregister_scalable_target",
                           {"ServiceNamespace": "dynamodb", "ResourceId": rid, "ScalableDimension": dim},
                           region=reg)], region=reg)


# -- AWS Backup ----------------------------------------------------------------------------------------


def _backup(b: _Builder, key_value: Any, table_arn: Any) -> None:
    cfg, live = b.cfg, b.live
    account = b.account("backup")
    vault = backup_vault_name(cfg)
    target = sse_target(cfg)
    cmk = target is not None and target.kind in ("create", "customer")

    def vault_change(region: str, name: str, key: Any) -> None:
        reg = None if region == b.home else region
        have = live.vaults.get(f"{region}/{name}")
        if have is None:
            params: dict[str, Any] = {"BackupVaultName": name}
            if key is not None:
                params["EncryptionKeyArn"] = key
            if cfg.tags:
                params["BackupVaultTags"] = dict(cfg.tags)
            b.add("backup:vault", name, Action.CREATE, [FieldChange("EncryptionKeyArn", None, key)],
                  [ApiCall("backup", "create_backup_vault", params, region=reg)], region=reg)
        elif key is not None and not isinstance(key, Ref) and not _same_key(have.get("EncryptionKeyArn"), key):
            b.add("backup:vault", name, Action.REFUSE,
                  [FieldChange("EncryptionKeyArn", have.get("EncryptionKeyArn"), key)],
                  reason="a backup vault's encryption key cannot change; set backupPolicy.vaultName to a new vault",
                  region=reg)
        else:
            b.add("backup:vault", name, Action.NOOP, region=reg)

    home_key = None
    if cmk and key_value is not None:
        home_key = key_value if isinstance(key_value, Ref) else key_arn(str(key_value), b.home, account, b.partition)
    vault_change(b.home, vault, home_key)
    copies = {(c.region, copy_vault_name(cfg, c)) for r in (cfg.backup_policy.rules if cfg.backup_policy else [])
              for c in r.copy_to}
    for region, copy_vault in sorted(copies):
        rkey = replica_kms_key(cfg, region) if cmk else None
        vault_change(region, copy_vault, rkey if rkey and rkey.startswith("arn:") and ":key/" in rkey else None)

    role_name = backup_role_name(cfg.table_name)
    role_arn = f"arn:{b.partition}:iam::{account}:role/{role_name}"
    if live.backup_role_arn is None:
        b.add("iam:role", role_name, Action.CREATE, [FieldChange("AssumeRolePolicy", None, "backup.amazonaws.com")],
              [ApiCall("iam", "create_role", {"RoleName": role_name, "AssumeRolePolicyDocument":
                                              service_trust_policy("backup.amazonaws.com"),
                                              "Description": f"ddbkit: AWS Backup of {cfg.table_name}"},
                       json_params=("AssumeRolePolicyDocument",))] +
              [ApiCall("iam", "attach_role_policy", {"RoleName": role_name,
                                                     "PolicyArn": f"arn:{b.partition}:iam::aws:policy/{p}"})
               for p in BACKUP_MANAGED_POLICIES])
    else:
        role_arn = live.backup_role_arn
        b.add("iam:role", role_name, Action.NOOP)

    rules = backup_rules(cfg, lambda c: backup_vault_arn(c.region, account, copy_vault_name(cfg, c), b.partition))
    plan_name = backup_plan_name(cfg)
    plan_body = {"BackupPlanName": plan_name, "Rules": rules}
    if live.backup_plan is None:
        b.add("backup:plan", plan_name, Action.CREATE, [FieldChange(f"Rules.{r['RuleName']}", None, r) for r in rules],
              [ApiCall("backup", "create_backup_plan", {"BackupPlan": plan_body},
                       outputs={"backup_plan_id": "BackupPlanId"})])
        plan_id: Any = Ref("backup_plan_id")
    else:
        plan_id = live.backup_plan["BackupPlanId"]
        fields = _rules_diff(live.backup_plan.get("Rules", []), rules)
        b.add("backup:plan", plan_name, Action.UPDATE if fields else Action.NOOP, fields,
              [ApiCall("backup", "update_backup_plan", {"BackupPlanId": plan_id, "BackupPlan": plan_body})]
              if fields else [])

    sel_name = backup_selection_name(cfg)
    selection = {"SelectionName": sel_name, "IamRoleArn": role_arn, "Resources": [table_arn]}
    create_sel = ApiCall("backup", "create_backup_selection", {"BackupPlanId": plan_id, "BackupSelection": selection})
    have_sel = live.backup_selection
    if have_sel is None:
        b.add("backup:selection", sel_name, Action.CREATE, [FieldChange("Resources", None, [table_arn])], [create_sel])
    elif have_sel.get("unknown"):
        b.add("backup:selection", sel_name, Action.UNCHECKED, reason=not_checked("backup:ListBackupSelections"))
    elif list(have_sel.get("Resources", [])) != [table_arn] or have_sel.get("IamRoleArn") != role_arn:
        b.add("backup:selection", sel_name, Action.UPDATE,
              [FieldChange("Resources", have_sel.get("Resources"), [table_arn]),
               FieldChange("IamRoleArn", have_sel.get("IamRoleArn"), role_arn)],
              [ApiCall("backup", "delete_backup_selection", {"BackupPlanId": plan_id,
                                                             "SelectionId": have_sel["SelectionId"]}), create_sel])
    else:
        b.add("backup:selection", sel_name, Action.NOOP)


def _rule_view(r: dict[str, Any]) -> dict[str, Any]:
    """The fields ddbkit sets on a rule (AWS adds windows and ids we do not manage)."""
    return {
        "TargetBackupVaultName": r.get("TargetBackupVaultName"),
        "ScheduleExpression": r.get("ScheduleExpression"),
        "Lifecycle": {k: v for k, v in (r.get("Lifecycle") or {}).items()
                      if k in ("DeleteAfterDays", "MoveToColdStorageAfterDays")},
        "RecoveryPointTags": r.get("RecoveryPointTags") or {},
        "CopyActions": sorted(
            [(c.get("DestinationBackupVaultArn"), (c.get("Lifecycle") or {}).get("DeleteAfterDays"))
             for c in r.get("CopyActions") or []], key=str),
    }


def _rules_diff(live: list[dict[str, Any]], want: list[dict[str, Any]]) -> list[FieldChange]:
    have = {r["RuleName"]: _rule_view(r) for r in live}
    out: list[FieldChange] = []
    for r in want:
        w = _rule_view(r)
        h = have.pop(r["RuleName"], None)
        if h is None:
            out.append(FieldChange(f"Rules.{r['RuleName']}", None, r))
            continue
        out += [FieldChange(f"Rules.{r['RuleName']}.{k}", h[k], w[k]) for k in w if h[k] != w[k]]
    out += [FieldChange(f"Rules.{name}", "present", None) for name in have]
    return out


# -- DAX -----------------------------------------------------------------------------------------------


def _dax(b: _Builder) -> None:
    cfg, live = b.cfg, b.live
    dax = cfg.dax_cluster
    assert dax is not None and dax.cluster_name
    role: Any = dax.iam_role_arn
    if role is None:
        account = b.account("dax")
        role_name = dax_role_name(cfg.table_name)
        role = live.dax_role_arn or f"arn:{b.partition}:iam::{account}:role/{role_name}"
        if live.dax_role_arn is None:
            ctx = ArnContext(region=b.home, account=account, partition=b.partition,
                             created_key_arn=live.created_key_arn)
            b.add("iam:role", role_name, Action.CREATE, [FieldChange("AssumeRolePolicy", None, "dax.amazonaws.com")],
                  [ApiCall("iam", "create_role", {"RoleName": role_name, "AssumeRolePolicyDocument":
                                                  service_trust_policy("dax.amazonaws.com"),
                                                  "Description": f"ddbkit: DAX access to {cfg.table_name}"},
                           json_params=("AssumeRolePolicyDocument",)),
                   # a customer-managed policy attached to the role, not an inline one (IAM_NO_INLINE_POLICY_CHECK)
                   ApiCall("iam", "create_policy", {"PolicyName": role_name,
                                                    "Description": f"ddbkit: DAX access to {cfg.table_name}",
                                                    "PolicyDocument": policy_for_access(cfg, "read-write", ctx)},
                           json_params=("PolicyDocument",)),
                   ApiCall("iam", "attach_role_policy", {"RoleName": role_name, "PolicyArn":
                                                         f"arn:{b.partition}:iam::{account}:policy/{role_name}"})])
        else:
            b.add("iam:role", role_name, Action.NOOP)
    group = dax_subnet_group_name(dax)
    if dax.subnet_ids and group:
        have = live.dax_subnet_group
        if have is not None and have.get("unknown"):
            b.add("dax:subnet-group", group, Action.UNCHECKED, reason=not_checked("dax:DescribeSubnetGroups"))
        elif have is None:
            b.add("dax:subnet-group", group, Action.CREATE, [FieldChange("SubnetIds", None, dax.subnet_ids)],
                  [ApiCall("dax", "create_subnet_group", {"SubnetGroupName": group, "SubnetIds": dax.subnet_ids,
                                                          "Description": f"ddbkit: {cfg.table_name}"})])
        else:
            old = sorted(s["SubnetIdentifier"] for s in have.get("Subnets", []))
            if old != sorted(dax.subnet_ids):
                b.add("dax:subnet-group", group, Action.UPDATE, [FieldChange("SubnetIds", old, dax.subnet_ids)],
                      [ApiCall("dax", "update_subnet_group", {"SubnetGroupName": group, "SubnetIds": dax.subnet_ids})])
            else:
                b.add("dax:subnet-group", group, Action.NOOP)
    if dax.parameter_group_name:
        pg = dax.parameter_group_name
        if live.dax_parameter_group is not None and live.dax_parameter_group.get("unknown"):
            b.add("dax:parameter-group", pg, Action.UNCHECKED, reason=not_checked("dax:DescribeParameterGroups"))
        elif live.dax_parameter_group is None:
            b.add("dax:parameter-group", pg, Action.CREATE, [FieldChange("ParameterGroupName", None, pg)],
                  [ApiCall("dax", "create_parameter_group", {"ParameterGroupName": pg,
                                                             "Description": f"ddbkit: {cfg.table_name}"})])
        else:
            b.add("dax:parameter-group", pg, Action.NOOP)
    req = dax_cluster_request(dax, role)
    have_c = live.dax_cluster
    if have_c is None:
        b.add("dax:cluster", dax.cluster_name, Action.CREATE,
              [FieldChange(k, None, v) for k, v in req.items() if k != "ClusterName"],
              [ApiCall("dax", "create_cluster", req, wait=Wait("dax", dax.cluster_name))])
        return
    live_sse = (have_c.get("SSEDescription") or {}).get("Status") in ("ENABLED", "ENABLING")
    live_tls = have_c.get("ClusterEndpointEncryptionType", "NONE")
    immutable = [FieldChange(k, old, new) for k, old, new in (
        ("NodeType", have_c.get("NodeType"), dax.node_type),
        ("SSESpecification.Enabled", live_sse, dax.sse_specification.enabled),
        ("ClusterEndpointEncryptionType", live_tls, dax.cluster_endpoint_encryption_type)) if old != new]
    if immutable:
        b.add("dax:cluster", dax.cluster_name, Action.REFUSE, immutable,
              reason="DAX cannot change node type, encryption at rest or endpoint encryption of a running "
                     "cluster; create a new cluster (new clusterName) and switch clients to it")
        return
    nodes = have_c.get("TotalNodes")
    if nodes is not None and nodes != dax.replication_factor:
        op = "increase_replication_factor" if dax.replication_factor > nodes else "decrease_replication_factor"
        b.add("dax:cluster", dax.cluster_name, Action.UPDATE,
              [FieldChange("ReplicationFactor", nodes, dax.replication_factor)],
              [ApiCall("dax", op, {"ClusterName": dax.cluster_name, "NewReplicationFactor": dax.replication_factor},
                       wait=Wait("dax", dax.cluster_name))])
    else:
        b.add("dax:cluster", dax.cluster_name, Action.NOOP)


# -- CloudWatch alarms ---------------------------------------------------------------------------------

_ALARM_FIELDS = ("AlarmDescription", "ComparisonOperator", "Threshold", "EvaluationPeriods", "DatapointsToAlarm",
                 "TreatMissingData", "AlarmActions", "OKActions", "Namespace", "MetricName", "Statistic", "Period",
                 "Dimensions", "Metrics")


def _alarm_view(key: str, value: Any) -> Any:
    """Normalise an alarm field for comparison (AWS reorders dimensions, floats thresholds, ...)."""
    if key == "Dimensions":
        return sorted((d["Name"], d["Value"]) for d in value or [])
    if key in ("AlarmActions", "OKActions"):
        return sorted(value or [])
    if key == "Threshold":
        return float(value) if value is not None else None
    if key == "Metrics":
        out = []
        for m in value or []:
            ms = m.get("MetricStat")
            metric = (ms["Metric"]["MetricName"], sorted((d["Name"], d["Value"]) for d in ms["Metric"].get(
                "Dimensions", [])), ms.get("Period"), ms.get("Stat")) if ms else None
            out.append((m["Id"], m.get("Expression"), str(metric), bool(m.get("ReturnData", True))))
        return sorted(out)
    return value


def _alarm_topic(b: _Builder) -> Any:
    """The KMS-encrypted SNS topic FedRAMP alarms notify when no ``alarmTopicArn`` is given (ARN or a Ref)."""
    cfg, live = b.cfg, b.live
    alias = alarm_topic_key_alias(cfg.table_name)
    key: Any = live.alarm_topic_key_arn
    if key is None:
        root = f"arn:{b.partition}:iam::{b.account('kms:key')}:root"
        tags = [{"TagKey": k, "TagValue": v} for k, v in cfg.tags.items()]
        b.add("kms:key", alias, Action.CREATE,
              [FieldChange("KeyRotationEnabled", None, True), FieldChange("AliasName", None, alias)],
              [ApiCall("kms", "create_key", {
                  "Description": f"ddbkit: encryption of the alarm topic of DynamoDB table {cfg.table_name}",
                  "KeyUsage": "ENCRYPT_DECRYPT", "Policy": alarm_topic_key_policy(root), "Tags": tags},
                  json_params=("Policy",), outputs={"alarm_key_arn": "KeyMetadata.Arn"}),
               ApiCall("kms", "enable_key_rotation", {"KeyId": Ref("alarm_key_arn")}),
               ApiCall("kms", "create_alias", {"AliasName": alias, "TargetKeyId": Ref("alarm_key_arn")})])
        key = Ref("alarm_key_arn")
    else:
        b.add("kms:key", alias, Action.NOOP)
    name = alarm_topic_name(cfg.table_name)
    if live.alarm_topic_arn is None:
        b.add("sns:topic", name, Action.CREATE, [FieldChange("KmsMasterKeyId", None, alias)],
              [ApiCall("sns", "create_topic", {"Name": name, "Attributes": {"KmsMasterKeyId": key},
                                               "Tags": [{"Key": k, "Value": v} for k, v in cfg.tags.items()]},
                       outputs={"alarm_topic_arn": "TopicArn"})])
        return Ref("alarm_topic_arn")
    b.add("sns:topic", name, Action.NOOP)
    return live.alarm_topic_arn


def _alarms(b: _Builder) -> None:
    cfg = b.cfg
    topic: Any = cfg.monitoring.alarm_topic_arn if cfg.monitoring else None
    if creates_alarm_topic(cfg):
        topic = _alarm_topic(b)
    wanted = set()
    for spec in alarm_specs(cfg, home_region=b.home):
        params = spec.put_metric_alarm_params([topic] if topic else [])
        wanted.add(spec.name)
        have = b.live.alarms.get(spec.name)
        if have is None:
            b.add("cloudwatch:alarm", spec.name, Action.CREATE,
                  [FieldChange("Metric", None, spec.metric_name or "metric math"),
                   FieldChange("Threshold", None, spec.threshold)],
                  [ApiCall("cloudwatch", "put_metric_alarm", params)])
            continue
        fields = []
        for k in _ALARM_FIELDS:
            want_v = _alarm_view(k, params.get(k))
            have_v = _alarm_view(k, have.get(k))
            if k == "Metrics" and not params.get(k):
                continue
            if k in ("Namespace", "MetricName", "Statistic", "Period", "Dimensions") and params.get("Metrics"):
                continue
            if want_v != have_v and not (want_v in (None, []) and have_v in (None, [])):
                fields.append(FieldChange(k, have.get(k), params.get(k)))
        b.add("cloudwatch:alarm", spec.name, Action.UPDATE if fields else Action.NOOP, fields,
              [ApiCall("cloudwatch", "put_metric_alarm", params)] if fields else [])
    stale = sorted(n for n in b.live.alarms if n not in wanted)
    if stale:
        b.add("cloudwatch:alarm", f"{alarm_prefix(cfg.table_name)}* (no longer configured)", Action.DELETE,
              [FieldChange(n, "present", None) for n in stale],
              [ApiCall("cloudwatch", "delete_alarms", {"AlarmNames": stale[i:i + 100]})
               for i in range(0, len(stale), 100)])

