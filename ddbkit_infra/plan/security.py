"""Plan/apply of the security features (docs/security.md): resource policies, VPC endpoints, audit trail.

Read with :func:`read_security`, diffed with :func:`diff_security` into the same :class:`Change` /
:class:`ApiCall` shapes as the rest of ``ddbkit apply`` (policies are built by :mod:`ddbkit_infra.iam.security`,
the functions synth uses). moto implements every call used here (DynamoDB PutResourcePolicy, EC2 VPC
endpoints, S3, CloudTrail trails); the trail's CloudWatch Logs group and delivery role (IAM), as synth
builds them; the CloudTrail Lake event data store is created by apply too, but
moto does not implement it: that path is checked with botocore's Stubber (tests/infra/test_security_apply.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ddbkit.config import TableConfig
from ddbkit_infra.iam.security import (
    audit_trail_wanted,
    data_event_selectors,
    endpoint_policy,
    stream_resource_policy,
    table_resource_policy,
    trail_bucket_policy,
    trail_key_policy,
    trail_log_group_name,
    trail_logs_policy,
    trail_logs_role_name,
    trail_multi_region,
    trail_name,
)

__all__ = ["SecurityState", "diff_security", "read_security", "trail_bucket_name"]

TAG = "ddbkit:table"


@dataclass
class SecurityState:
    """What exists of the security features."""

    table_policy: dict[str, Any] | None = None
    stream_policy: dict[str, Any] | None = None
    endpoints: dict[str, str] = field(default_factory=dict)  # "Gateway"/"Interface" -> vpce id
    trail: dict[str, Any] | None = None
    trail_selectors: list[dict[str, Any]] = field(default_factory=list)
    trail_logging: bool = False
    event_data_store: dict[str, Any] | None = None
    trail_key_arn: str | None = None
    bucket_exists: bool = False
    log_group: dict[str, Any] | None = None  # the trail's CloudWatch Logs group (describe_log_groups entry)
    logs_role_arn: str | None = None  # the role CloudTrail delivers to the log group through
    unchecked: list[str] = field(default_factory=list)  # policies the backend cannot serve ("stream")


def trail_bucket_name(cfg: TableConfig, account: str, region: str) -> str:
    """The created log bucket: ``ddbkit-trail-<table>-<account>-<region>`` (globally unique, lower case)."""
    part = re.sub(r"[^a-z0-9-]", "-", cfg.table_name.lower())[:20].strip("-") or "table"
    return f"ddbkit-trail-{part}-{account}-{region}"


def _code(err: Exception) -> str:
    return str(getattr(err, "response", {}).get("Error", {}).get("Code", ""))


def _absent(err: Exception, *codes: str) -> bool:
    """The resource does not exist, or the endpoint (a local emulator) does not implement the call: either
    way there is nothing to read, and the plan creates it."""
    from ddbkit_infra.plan.model import unsupported

    return _code(err) in codes or unsupported(err)


def read_security(clients: Any, cfg: TableConfig, table: dict[str, Any] | None, account: str | None) -> SecurityState:
    from ddbkit_infra.plan.model import stream_policy_gap, unsupported

    st = SecurityState()
    region = clients.region
    ddb = clients.client("dynamodb")
    if cfg.resource_policy is not None and table:  # (grants-only: re-put each apply, never read)
        for attr, arn in (("table_policy", table.get("TableArn")), ("stream_policy", table.get("LatestStreamArn"))):
            if not arn:
                continue
            try:
                setattr(st, attr, json.loads(ddb.get_resource_policy(ResourceArn=arn)["Policy"]))
            except Exception as err:  # noqa: BLE001
                if stream_policy_gap(str(arn), err):  # moto: apply skipped it, plan must not re-propose it
                    st.unchecked.append("stream")
                elif unsupported(err):  # no resource policies at all (DynamoDB Local): never a create
                    st.unchecked.append(attr.removesuffix("_policy"))
                elif not _absent(err, "PolicyNotFoundException", "ResourceNotFoundException"):
                    raise
    elif cfg.resource_policy is not None and getattr(clients, "emulator_endpoint", False):
        # a table to create on a local emulator: whether it serves resource policies at all decides if the
        # plan may put them (any ARN tells: DynamoDB Local lacks the operation, moto answers not found)
        try:
            ddb.get_resource_policy(ResourceArn=f"arn:aws:dynamodb:{region}:{account or '000000000000'}:table/"
                                                f"{cfg.table_name}")
        except Exception as err:  # noqa: BLE001 - only "not implemented" is an answer here
            if unsupported(err):
                st.unchecked += ["table", "stream"]
    if cfg.vpc_endpoints is not None:
        ec2 = clients.client("ec2")
        try:
            got = ec2.describe_vpc_endpoints(Filters=[
                {"Name": "vpc-id", "Values": [cfg.vpc_endpoints.vpc_id]},
                {"Name": "service-name", "Values": [f"com.amazonaws.{region}.dynamodb"]},
                {"Name": f"tag:{TAG}", "Values": [cfg.table_name]}])["VpcEndpoints"]
        except Exception as err:  # noqa: BLE001
            if not _absent(err):
                raise
            got = []
        st.endpoints = {e["VpcEndpointType"]: e["VpcEndpointId"] for e in got
                        if e.get("State", "available") not in ("deleted", "deleting")}
    if audit_trail_wanted(cfg):
        at = cfg.audit_trail
        assert at is not None
        kms = clients.client("kms")
        try:
            st.trail_key_arn = str(kms.describe_key(KeyId=f"alias/ddbkit/{cfg.table_name}-trail")["KeyMetadata"]["Arn"])
        except Exception as err:  # noqa: BLE001
            if not _absent(err, "NotFoundException"):
                raise
        ct = clients.client("cloudtrail")
        name = trail_name(cfg)
        if at.kind == "trail":
            try:
                st.trail = ct.get_trail(Name=name)["Trail"]
                st.trail_selectors = ct.get_event_selectors(TrailName=name).get("AdvancedEventSelectors") or []
                st.trail_logging = bool(ct.get_trail_status(Name=name).get("IsLogging"))
            except Exception as err:  # noqa: BLE001
                if not _absent(err, "TrailNotFoundException"):
                    raise
            try:
                groups = clients.client("logs").describe_log_groups(
                    logGroupNamePrefix=trail_log_group_name(cfg)).get("logGroups", [])
            except Exception as err:  # noqa: BLE001
                if not _absent(err, "ResourceNotFoundException"):
                    raise
                groups = []
            st.log_group = next((g for g in groups if g.get("logGroupName") == trail_log_group_name(cfg)), None)
            try:
                st.logs_role_arn = str(clients.client("iam").get_role(
                    RoleName=trail_logs_role_name(cfg))["Role"]["Arn"])
            except Exception as err:  # noqa: BLE001
                if not _absent(err, "NoSuchEntity"):
                    raise
            if at.bucket_name is None and account:
                try:
                    clients.client("s3").head_bucket(Bucket=trail_bucket_name(cfg, account, region))
                    st.bucket_exists = True
                except Exception as err:  # noqa: BLE001
                    if not _absent(err, "404", "NoSuchBucket", "NotFound"):
                        raise
        else:
            try:
                stores = ct.list_event_data_stores().get("EventDataStores", [])
            except Exception as err:  # noqa: BLE001 - moto lacks CloudTrail Lake: planned as a create
                if not _absent(err, "InvalidAction"):
                    raise
                stores = []
            st.event_data_store = next((s for s in stores if s.get("Name") == name), None)
    return st


def diff_security(b: Any, cfg: TableConfig, st: SecurityState, table_arn: Any, stream_arn: Any,
                  accesses: list[str] | None = None, grants: list[tuple[str, str]] | None = None) -> None:
    """Add the changes taking ``st`` to ``cfg`` to the plan builder ``b`` (see plan.diff)."""
    from ddbkit_infra.plan.model import Action, ApiCall, FieldChange, Ref, not_checked

    region, partition = b.home, b.partition
    unchecked_reason = ("the backend does not serve resource policies on streams (a local emulator): not checked, "
                        "not applied")
    if not isinstance(table_arn, str) and b.live.account is not None:
        # a table created by this plan: its ARN is known from account, region and name (a Ref cannot be
        # suffixed with /index/* or /stream/)
        table_arn = f"arn:{partition}:dynamodb:{region}:{b.live.account}:table/{cfg.table_name}"
    vpce: list[Any] = []
    v = cfg.vpc_endpoints
    if v is not None:
        accesses = accesses or (["read-write", "stream-read"] if (
            cfg.stream_specification and cfg.stream_specification.stream_enabled) else ["read-write"])
        arn = f"arn:{partition}:dynamodb:{region}:{b.account('ec2:vpc-endpoint')}:table/{cfg.table_name}"
        policy = endpoint_policy([arn], accesses)
        kinds = (["Gateway"] if v.route_table_ids else []) + (["Interface"] if v.interface else [])
        for kind in kinds:
            name = f"{cfg.table_name} {kind.lower()}"
            if kind in st.endpoints:
                b.add("ec2:vpc-endpoint", name, Action.NOOP)
                vpce.append(st.endpoints[kind])
                continue
            params: dict[str, Any] = {"VpcEndpointType": kind, "VpcId": v.vpc_id,
                                      "ServiceName": f"com.amazonaws.{region}.dynamodb", "PolicyDocument": policy,
                                      "TagSpecifications": [{"ResourceType": "vpc-endpoint", "Tags": [
                                          {"Key": TAG, "Value": cfg.table_name}]}]}
            if kind == "Gateway":
                params["RouteTableIds"] = list(v.route_table_ids)
            else:
                params.update(SubnetIds=list(v.subnet_ids), SecurityGroupIds=list(v.security_group_ids),
                              PrivateDnsEnabled=False)
            out = f"vpce_{kind.lower()}"
            b.add("ec2:vpc-endpoint", name, Action.CREATE, [FieldChange("VpcEndpointType", None, kind)],
                  [ApiCall("ec2", "create_vpc_endpoint", params, json_params=("PolicyDocument",),
                           outputs={out: "VpcEndpoint.VpcEndpointId"})])
            vpce.append(Ref(out))
        vpce += list(v.endpoint_ids)
    if cfg.resource_policy is not None or grants:
        for label, want, have, arn in (
                ("table", table_resource_policy(cfg, table_arn, partition=partition, vpce_ids=vpce, grants=grants),
                 st.table_policy, table_arn),
                ("stream", stream_resource_policy(cfg, stream_arn, partition=partition, vpce_ids=vpce)
                 if stream_arn else None, st.stream_policy, stream_arn)):
            if want is None:
                continue
            resource = f"{cfg.table_name} {label}"
            if label in st.unchecked:
                b.add("dynamodb:resource-policy", resource, Action.UNCHECKED, reason=unchecked_reason if (
                    label == "stream" and "table" not in st.unchecked) else not_checked("dynamodb:GetResourcePolicy"))
                continue
            if have is not None and not _has_ref(want) and have == want:
                b.add("dynamodb:resource-policy", resource, Action.NOOP)
                continue
            b.add("dynamodb:resource-policy", resource, Action.UPDATE if have else Action.CREATE,
                  [FieldChange("Statement", [s.get("Sid") for s in (have or {}).get("Statement", [])],
                               [s.get("Sid") for s in want["Statement"]])],
                  [ApiCall("dynamodb", "put_resource_policy", {"ResourceArn": arn, "Policy": want},
                           json_params=("Policy",))])
    if audit_trail_wanted(cfg):
        _trail(b, cfg, st, table_arn)


def _has_ref(value: Any) -> bool:
    from ddbkit_infra.plan.model import Ref

    if isinstance(value, Ref):
        return True
    if isinstance(value, dict):
        return any(_has_ref(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_ref(v) for v in value)
    return False


def _trail(b: Any, cfg: TableConfig, st: SecurityState, table_arn: Any) -> None:
    from ddbkit_infra.plan.model import Action, ApiCall, FieldChange, Ref

    at = cfg.audit_trail
    assert at is not None
    account, region, partition = b.account("cloudtrail:trail"), b.home, b.partition
    name = trail_name(cfg)
    key: Any = at.kms_key_id or st.trail_key_arn
    alias = f"alias/ddbkit/{cfg.table_name}-trail"
    if key is None:
        root = f"arn:{partition}:iam::{account}:root"
        b.add("kms:key", alias, Action.CREATE, [FieldChange("KeyRotationEnabled", None, True)],
              [ApiCall("kms", "create_key", {
                  "Description": f"ddbkit: encryption of the audit trail of DynamoDB table {cfg.table_name}",
                  "KeyUsage": "ENCRYPT_DECRYPT", "Policy": trail_key_policy(root, f"logs.{region}.amazonaws.com")},
                  json_params=("Policy",), outputs={"trail_key_arn": "KeyMetadata.Arn"}),
               ApiCall("kms", "enable_key_rotation", {"KeyId": Ref("trail_key_arn")}),
               ApiCall("kms", "create_alias", {"AliasName": alias, "TargetKeyId": Ref("trail_key_arn")})])
        key = Ref("trail_key_arn")
    elif at.kms_key_id is None:
        b.add("kms:key", alias, Action.NOOP)
    stream_prefix = f"{table_arn}/stream/" if isinstance(table_arn, str) else table_arn
    selectors = data_event_selectors(table_arn, stream_prefix)
    if at.kind == "event-data-store":
        if st.event_data_store is None:
            b.add("cloudtrail:event-data-store", name, Action.CREATE,
                  [FieldChange("RetentionPeriod", None, at.retention_days)],
                  [ApiCall("cloudtrail", "create_event_data_store", {
                      "Name": name, "AdvancedEventSelectors": selectors, "RetentionPeriod": at.retention_days or 2557,
                      "KmsKeyId": key, "MultiRegionEnabled": False, "OrganizationEnabled": False,
                      "TerminationProtectionEnabled": True})])
        else:
            b.add("cloudtrail:event-data-store", name, Action.NOOP)
        return
    bucket = at.bucket_name or trail_bucket_name(cfg, account, region)
    trail_arn = f"arn:{partition}:cloudtrail:{region}:{account}:trail/{name}"
    if at.bucket_name is None and not st.bucket_exists:
        create: dict[str, Any] = {"Bucket": bucket}
        if region != "us-east-1":
            create["CreateBucketConfiguration"] = {"LocationConstraint": region}
        if at.object_lock:
            create["ObjectLockEnabledForBucket"] = True
        calls = [
            ApiCall("s3", "create_bucket", create),
            ApiCall("s3", "put_bucket_versioning", {"Bucket": bucket,
                                                    "VersioningConfiguration": {"Status": "Enabled"}}),
            ApiCall("s3", "put_public_access_block", {"Bucket": bucket, "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True}}),
            ApiCall("s3", "put_bucket_encryption", {"Bucket": bucket, "ServerSideEncryptionConfiguration": {
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key},
                           "BucketKeyEnabled": True}]}}),
            ApiCall("s3", "put_bucket_policy", {"Bucket": bucket, "Policy": trail_bucket_policy(
                f"arn:{partition}:s3:::{bucket}", trail_arn, account, partition)}, json_params=("Policy",)),
            ApiCall("s3", "put_bucket_lifecycle_configuration", {"Bucket": bucket, "LifecycleConfiguration": {
                "Rules": [{"ID": "retention", "Status": "Enabled", "Filter": {"Prefix": ""},
                           "Expiration": {"Days": at.retention_days or 365},
                           "NoncurrentVersionExpiration": {"NoncurrentDays": 1}}]}}),
        ]
        if at.object_lock:
            calls.append(ApiCall("s3", "put_object_lock_configuration", {"Bucket": bucket, "ObjectLockConfiguration": {
                "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {
                    "Mode": "COMPLIANCE", "Days": at.retention_days or 3650}}}}))
        b.add("s3:bucket", bucket, Action.CREATE, [FieldChange("Versioning", None, "Enabled"),
                                                   FieldChange("ObjectLock", None, bool(at.object_lock))], calls)
    elif at.bucket_name is None:
        b.add("s3:bucket", bucket, Action.NOOP)
    group_arn, role_arn = _trail_logs(b, cfg, st, key, account, region, partition)
    multi = trail_multi_region(cfg)  # fedramp tiers: MULTI_REGION_CLOUD_TRAIL_ENABLED
    if st.trail is None:
        b.add("cloudtrail:trail", name, Action.CREATE,
              [FieldChange("EnableLogFileValidation", None, True), FieldChange("DataEvents", None, cfg.table_name),
               FieldChange("CloudWatchLogsLogGroupArn", None, group_arn), FieldChange("IsMultiRegionTrail", None, multi)],
              [ApiCall("cloudtrail", "create_trail", {"Name": name, "S3BucketName": bucket, "KmsKeyId": key,
                                                      "EnableLogFileValidation": True, "IsMultiRegionTrail": multi,
                                                      "IncludeGlobalServiceEvents": multi,
                                                      "CloudWatchLogsLogGroupArn": group_arn,
                                                      "CloudWatchLogsRoleArn": role_arn}),
               ApiCall("cloudtrail", "put_event_selectors", {"TrailName": name, "AdvancedEventSelectors": selectors}),
               ApiCall("cloudtrail", "start_logging", {"Name": name})])
        return
    fields = []
    update: dict[str, Any] = {}
    if not st.trail.get("LogFileValidationEnabled"):
        fields.append(FieldChange("EnableLogFileValidation", False, True))
        update["EnableLogFileValidation"] = True
    have_group = st.trail.get("CloudWatchLogsLogGroupArn") or None
    if have_group != group_arn or (st.trail.get("CloudWatchLogsRoleArn") or None) != role_arn:
        fields.append(FieldChange("CloudWatchLogsLogGroupArn", have_group, group_arn))
        update.update(CloudWatchLogsLogGroupArn=group_arn, CloudWatchLogsRoleArn=role_arn)
    if multi and not st.trail.get("IsMultiRegionTrail"):
        fields.append(FieldChange("IsMultiRegionTrail", False, True))
        update.update(IsMultiRegionTrail=True, IncludeGlobalServiceEvents=True)
    calls = []
    if update:
        calls.append(ApiCall("cloudtrail", "update_trail", {"Name": name, **update}))
    if not _has_ref(selectors) and _selector_view(st.trail_selectors) != _selector_view(selectors):
        fields.append(FieldChange("AdvancedEventSelectors", "other", "this table's data events"))
        calls.append(ApiCall("cloudtrail", "put_event_selectors", {"TrailName": name,
                                                                   "AdvancedEventSelectors": selectors}))
    if not st.trail_logging:
        fields.append(FieldChange("IsLogging", False, True))
        calls.append(ApiCall("cloudtrail", "start_logging", {"Name": name}))
    b.add("cloudtrail:trail", name, Action.UPDATE if calls else Action.NOOP, fields, calls)


def _trail_logs(b: Any, cfg: TableConfig, st: SecurityState, key: Any, account: str, region: str,
                partition: str) -> tuple[Any, Any]:
    """The trail's CloudWatch Logs group (retention, the trail's KMS key) and the role CloudTrail delivers
    through (a customer-managed policy, as synth's ``AuditTrailLogs``/``AuditTrailLogsRole``/``...Policy``).
    Returns the group ARN and the role ARN the trail names."""
    from ddbkit_infra.iam.security import log_retention
    from ddbkit_infra.plan.model import Action, ApiCall, FieldChange, Ref
    from ddbkit_infra.resources import service_trust_policy

    at = cfg.audit_trail
    assert at is not None
    group = trail_log_group_name(cfg)
    retention = log_retention(at.retention_days or 365)
    group_arn = f"arn:{partition}:logs:{region}:{account}:log-group:{group}:*"
    if st.log_group is None:
        b.add("logs:log-group", group, Action.CREATE,
              [FieldChange("RetentionInDays", None, retention), FieldChange("KmsKeyId", None, key)],
              [ApiCall("logs", "create_log_group", {"logGroupName": group, "kmsKeyId": key,
                                                    "tags": {"ddbkit:table": cfg.table_name}}),
               ApiCall("logs", "put_retention_policy", {"logGroupName": group, "retentionInDays": retention})])
    elif st.log_group.get("retentionInDays") != retention:
        b.add("logs:log-group", group, Action.UPDATE,
              [FieldChange("RetentionInDays", st.log_group.get("retentionInDays"), retention)],
              [ApiCall("logs", "put_retention_policy", {"logGroupName": group, "retentionInDays": retention})])
    else:
        b.add("logs:log-group", group, Action.NOOP)
    role_name = trail_logs_role_name(cfg)
    if st.logs_role_arn is not None:
        b.add("iam:role", role_name, Action.NOOP)
        return group_arn, st.logs_role_arn
    policy_arn = f"arn:{partition}:iam::{account}:policy/{role_name}"
    b.add("iam:role", role_name, Action.CREATE, [FieldChange("AssumeRolePolicy", None, "cloudtrail.amazonaws.com")],
          [ApiCall("iam", "create_role", {"RoleName": role_name, "AssumeRolePolicyDocument":
                                          service_trust_policy("cloudtrail.amazonaws.com"),
                                          "Description": f"ddbkit: CloudTrail delivers {trail_name(cfg)} to {group}"},
                   json_params=("AssumeRolePolicyDocument",), outputs={"trail_logs_role_arn": "Role.Arn"}),
           # a customer-managed policy attached to the role, not an inline one (IAM_NO_INLINE_POLICY_CHECK)
           ApiCall("iam", "create_policy", {"PolicyName": role_name,
                                            "Description": f"ddbkit: CloudTrail delivers to {group}",
                                            "PolicyDocument": trail_logs_policy(group_arn)},
                   json_params=("PolicyDocument",)),
           ApiCall("iam", "attach_role_policy", {"RoleName": role_name, "PolicyArn": policy_arn})])
    return group_arn, Ref("trail_logs_role_arn")


def _selector_view(selectors: list[dict[str, Any]]) -> list[Any]:
    def field_view(f: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in f.items() if v not in ([], None)}

    return sorted(json.dumps(sorted((field_view(f) for f in s.get("FieldSelectors", [])), key=lambda f: f["Field"]),
                             sort_keys=True) for s in selectors)
