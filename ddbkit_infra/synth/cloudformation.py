"""``ddbkit synth``: a CloudFormation template from the tier-resolved config.

The same model and the same pure builders as plan/apply (:mod:`ddbkit_infra.resources` for
CreateTable, autoscaling, backup rules and DAX; :mod:`ddbkit_infra.synth.alarms` for alarms;
:mod:`ddbkit_infra.iam.binds` for the DAX role's policy), rendered as CloudFormation resources:

* ``AWS::DynamoDB::Table``, or ``AWS::DynamoDB::GlobalTable`` when ``globalTables`` lists replicas (with
  per-replica PITR, KMS key, contributor insights, deletion protection and tags; autoscaled writes);
* ``AWS::ApplicationAutoScaling::ScalableTarget`` / ``ScalingPolicy`` for plain PROVISIONED tables;
* ``AWS::Backup::BackupVault`` / ``BackupPlan`` / ``BackupSelection`` (+ the role AWS Backup assumes);
* ``AWS::KMS::Key`` with rotation and an account-root key policy (+ alias) when the tier asks for a
  customer key and none is given;
* DAX subnet group, parameter group, IAM role and cluster;
* ``AWS::CloudWatch::Alarm`` per :func:`~ddbkit_infra.synth.alarms.alarm_specs`;
* Outputs (table name, ARN, stream ARN) and ``DeletionPolicy``/``UpdateReplacePolicy: Retain`` on the
  stateful resources (table, key, backup vault).
"""

from __future__ import annotations

import json
import re
from typing import Any

from ddbkit.config import BillingMode, CapacityScaling, TableConfig

from ddbkit_infra.synth.intrinsics import logical_id, sub
from ddbkit_infra.synth.alarms import alarm_specs, alarm_topic_key_policy, alarm_topic_name, creates_alarm_topic
from ddbkit_infra.compliance import EffectiveConfig
from ddbkit_infra.iam.binds import ArnContext, policy_for_access
from ddbkit_infra.iam.security import (
    audit_trail_wanted,
    data_event_selectors,
    endpoint_policy,
    log_retention,
    stream_resource_policy,
    table_resource_policy,
    trail_bucket_policy,
    trail_key_policy,
    trail_log_group_name,
    trail_logs_policy,
    trail_multi_region,
    trail_name,
)
from ddbkit_infra.resources import (
    BACKUP_MANAGED_POLICIES,
    ScalingSpec,
    backup_plan_name,
    backup_rules,
    backup_selection_name,
    backup_vault_name,
    copy_vault_name,
    create_table_request,
    dax_cluster_request,
    dax_enabled,
    dax_subnet_group_name,
    has_backup_plan,
    kms_alias_name,
    replica_contributor_insights,
    replica_pitr,
    scaling_specs,
    service_trust_policy,
    sse_target,
)

__all__ = ["synthesize", "render", "TABLE_ID", "KEY_ID"]

TABLE_ID = "Table"
KEY_ID = "TableKey"
RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
AUTOSCALING_ROLE = ("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/"
                    "dynamodb.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_DynamoDBTable")


def _tags(cfg: TableConfig) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in cfg.tags.items()]


def _key_ref(cfg: TableConfig) -> Any:
    """The table's KMS key for SSESpecification (GetAtt of the created key, or the configured id)."""
    target = sse_target(cfg)
    if target is None:
        return None
    if target.kind == "create":
        return {"Fn::GetAtt": [KEY_ID, "Arn"]}
    if target.kind == "customer":
        return target.key
    return None


def _key_arn_ref(cfg: TableConfig) -> Any:
    """The table's customer key as an ARN (AWS Backup's EncryptionKeyArn needs an ARN), else None."""
    target = sse_target(cfg)
    if target is None or target.kind not in ("create", "customer"):
        return None
    if target.kind == "create":
        return {"Fn::GetAtt": [KEY_ID, "Arn"]}
    key = target.key or ""
    if key.startswith("arn:"):
        return key
    kind = key if key.startswith("alias/") else f"key/{key}"
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:kms:${{AWS::Region}}:${{AWS::AccountId}}:{kind}"}


def synthesize(eff: EffectiveConfig, *, region: str | None = None,
               bind_accesses: list[str] | None = None,
               bind_grants: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """The CloudFormation template (a dict) for ``eff.config``.

    ``region`` is the stack's (home) region; with global tables it defaults to the first listed region,
    which is where the created KMS key (if any) serves the home replica. ``bind_accesses`` (from
    :func:`ddbkit_infra.iam.security.bind_accesses`) limits the VPC endpoint policy to the binds' actions;
    without it the endpoint allows read-write (and stream reads when the table has a stream).
    ``bind_grants`` (:func:`ddbkit_infra.iam.security.bind_grants`) adds binds of other accounts to the table's
    resource policy.
    """
    cfg = eff.config
    regions = cfg.global_tables.all_regions() if cfg.global_tables else []
    home = region or (regions[0] if regions else None)
    resources: dict[str, Any] = {}
    outputs: dict[str, Any] = {}

    target = sse_target(cfg)
    if target is not None and target.kind == "create":
        resources[KEY_ID] = {"Type": "AWS::KMS::Key", **RETAIN, "Properties": _kms_key(cfg)}
        resources["TableKeyAlias"] = {"Type": "AWS::KMS::Alias", "Properties": {
            "AliasName": kms_alias_name(cfg.table_name), "TargetKeyId": {"Ref": KEY_ID}}}
        outputs["KeyArn"] = {"Description": "Customer-managed KMS key of the table",
                             "Value": {"Fn::GetAtt": [KEY_ID, "Arn"]}}

    if len(regions) >= 2:
        resources[TABLE_ID] = {"Type": "AWS::DynamoDB::GlobalTable", **RETAIN,
                               "Properties": _global_table(cfg, regions, home)}
    else:
        resources[TABLE_ID] = {"Type": "AWS::DynamoDB::Table", **RETAIN, "Properties": _table(cfg)}
        for spec in scaling_specs(cfg):
            _scaling(resources, spec)

    _security(resources, outputs, cfg, regions, home, bind_accesses, bind_grants)
    if has_backup_plan(cfg):
        _backup(resources, cfg)
    if dax_enabled(cfg):
        _dax(resources, outputs, cfg)

    topic: Any = cfg.monitoring.alarm_topic_arn if cfg.monitoring else None
    if creates_alarm_topic(cfg):
        _alarm_topic(resources, outputs, cfg)
        topic = {"Ref": "AlarmTopic"}
    for alarm in alarm_specs(cfg, home_region=home):
        resources[logical_id("Alarm", alarm.key)] = {"Type": "AWS::CloudWatch::Alarm",
                                               "Properties": alarm.cfn_properties([topic] if topic else [])}

    outputs["TableName"] = {"Description": "DynamoDB table name", "Value": {"Ref": TABLE_ID}}
    outputs["TableArn"] = {"Description": "DynamoDB table ARN", "Value": {"Fn::GetAtt": [TABLE_ID, "Arn"]}}
    ss = cfg.stream_specification
    if (ss is not None and ss.stream_enabled) or len(regions) >= 2:
        outputs["StreamArn"] = {"Description": "DynamoDB stream ARN",
                                "Value": {"Fn::GetAtt": [TABLE_ID, "StreamArn"]}}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"ddbkit: DynamoDB table {cfg.table_name} ({eff.framework.value})",
        "Resources": resources,
        "Outputs": outputs,
    }


def render(template: dict[str, Any], fmt: str = "yaml") -> str:
    """``template`` as JSON or YAML (long-form intrinsics, which CloudFormation reads in both)."""
    if fmt == "json":
        return json.dumps(template, indent=2) + "\n"
    import yaml

    class _NoAliases(yaml.SafeDumper):
        # a dict used twice (AlarmActions/OKActions) must not become an &anchor/*alias: CloudFormation
        # and cfn-guard do not read YAML aliases
        def ignore_aliases(self, data: Any) -> bool:
            return True

    return str(yaml.dump(template, Dumper=_NoAliases, sort_keys=False, default_flow_style=False, width=120))


# -- resources ------------------------------------------------------------------------------------------


def _kms_key(cfg: TableConfig) -> dict[str, Any]:
    """Key with rotation; the policy names the account root (no ``*`` principal: CKV_AWS_33)."""
    return {
        "Description": f"ddbkit: encryption at rest for DynamoDB table {cfg.table_name}",
        "EnableKeyRotation": True,
        "KeyPolicy": {
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "AccountRootManagesKey",
                "Effect": "Allow",
                "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
                "Action": "kms:*",
                "Resource": "*",
            }],
        },
        "Tags": _tags(cfg),
    }


def _arn(cfg: TableConfig, region: str | None = None, tail: str = "") -> dict[str, str]:
    r = region or "${AWS::Region}"
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:dynamodb:{r}:${{AWS::AccountId}}:table/{cfg.table_name}{tail}"}


def _security(resources: dict[str, Any], outputs: dict[str, Any], cfg: TableConfig, regions: list[str],
              home: str | None, accesses: list[str] | None = None,
              grants: list[tuple[str, str]] | None = None) -> None:
    """VPC endpoints, resource policies on the table/stream (every replica), and the audit trail."""
    vpce_ids: list[Any] = []
    v = cfg.vpc_endpoints
    if v is not None:
        default = ["read-write", "stream-read"] if (cfg.stream_specification and
                                                   cfg.stream_specification.stream_enabled) else ["read-write"]
        policy = endpoint_policy([_arn(cfg, r) for r in regions] if regions else [_arn(cfg)], accesses or default)
        if v.route_table_ids:
            resources["DynamoDbGatewayEndpoint"] = {"Type": "AWS::EC2::VPCEndpoint", "Properties": {
                "VpcEndpointType": "Gateway", "VpcId": v.vpc_id, "RouteTableIds": list(v.route_table_ids),
                "ServiceName": {"Fn::Sub": "com.amazonaws.${AWS::Region}.dynamodb"}, "PolicyDocument": policy}}
            vpce_ids.append({"Ref": "DynamoDbGatewayEndpoint"})
        if v.interface:
            resources["DynamoDbInterfaceEndpoint"] = {"Type": "AWS::EC2::VPCEndpoint", "Properties": {
                "VpcEndpointType": "Interface", "VpcId": v.vpc_id, "SubnetIds": list(v.subnet_ids),
                "SecurityGroupIds": list(v.security_group_ids), "PrivateDnsEnabled": False,
                "ServiceName": {"Fn::Sub": "com.amazonaws.${AWS::Region}.dynamodb"}, "PolicyDocument": policy}}
            vpce_ids.append({"Ref": "DynamoDbInterfaceEndpoint"})
        vpce_ids += list(v.endpoint_ids)
    table = resources[TABLE_ID]["Properties"]
    stream_on = "StreamSpecification" in table
    if cfg.resource_policy is not None or grants:
        partition = "${AWS::Partition}"
        if "Replicas" in table:
            for rep in table["Replicas"]:
                region = rep["Region"]
                doc = table_resource_policy(cfg, _arn(cfg, region), partition=partition, vpce_ids=vpce_ids,
                                            grants=grants)
                if doc:
                    rep["ResourcePolicy"] = {"PolicyDocument": doc}
                sdoc = stream_resource_policy(cfg, _arn(cfg, region, "/stream/*"), partition=partition,
                                              vpce_ids=vpce_ids)
                if sdoc and stream_on:
                    rep["ReplicaStreamSpecification"] = {"ResourcePolicy": {"PolicyDocument": sdoc}}
        else:
            doc = table_resource_policy(cfg, _arn(cfg), partition=partition, vpce_ids=vpce_ids, grants=grants)
            if doc:
                table["ResourcePolicy"] = {"PolicyDocument": doc}
            sdoc = stream_resource_policy(cfg, _arn(cfg, None, "/stream/*"), partition=partition, vpce_ids=vpce_ids)
            if sdoc and stream_on:
                table["StreamSpecification"]["ResourcePolicy"] = {"PolicyDocument": sdoc}
    if audit_trail_wanted(cfg):
        _audit_trail(resources, outputs, cfg)


def _audit_trail(resources: dict[str, Any], outputs: dict[str, Any], cfg: TableConfig) -> None:
    at = cfg.audit_trail
    assert at is not None
    name = trail_name(cfg)
    root = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    key: Any = at.kms_key_id
    key_arn: Any = at.kms_key_id
    if key is None:
        logs = {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}
        resources["TrailKey"] = {"Type": "AWS::KMS::Key", **RETAIN, "Properties": {
            "Description": f"ddbkit: encryption of the audit trail of DynamoDB table {cfg.table_name}",
            "EnableKeyRotation": True, "KeyPolicy": trail_key_policy(root, logs), "Tags": _tags(cfg)}}
        alias = f"alias/ddbkit/{cfg.table_name}-trail"
        resources["TrailKeyAlias"] = {"Type": "AWS::KMS::Alias", "Properties": {
            "AliasName": alias, "TargetKeyId": {"Ref": "TrailKey"}}}
        key = alias  # a string, as CLOUD_TRAIL_ENCRYPTION_ENABLED wants; the alias is created first
        key_arn = {"Fn::GetAtt": ["TrailKey", "Arn"]}
    selectors = data_event_selectors(_arn(cfg), _arn(cfg, None, "/stream/"))
    if at.kind == "event-data-store":
        resources["AuditEventDataStore"] = {"Type": "AWS::CloudTrail::EventDataStore", **RETAIN, "Properties": {
            "Name": name, "AdvancedEventSelectors": selectors, "RetentionPeriod": at.retention_days or 2557,
            "KmsKeyId": key_arn, "MultiRegionEnabled": False, "OrganizationEnabled": False,
            "TerminationProtectionEnabled": True, "Tags": _tags(cfg)}}
        outputs["AuditEventDataStoreArn"] = {"Description": "CloudTrail Lake event data store of the table",
                                             "Value": {"Fn::GetAtt": ["AuditEventDataStore", "EventDataStoreArn"]}}
        return
    trail_arn = {"Fn::Sub": f"arn:${{AWS::Partition}}:cloudtrail:${{AWS::Region}}:${{AWS::AccountId}}:trail/{name}"}
    bucket: Any = at.bucket_name
    depends: list[str] = []
    if bucket is None:
        props: dict[str, Any] = {
            "BucketName": {"Fn::Sub": f"ddbkit-trail-{_bucket_part(cfg.table_name)}-${{AWS::AccountId}}-${{AWS::Region}}"},
            "VersioningConfiguration": {"Status": "Enabled"},
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                               "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [{
                "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
                "BucketKeyEnabled": True}]},
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "LifecycleConfiguration": {"Rules": [{"Id": "retention", "Status": "Enabled",
                                                  "ExpirationInDays": at.retention_days or 365,
                                                  "NoncurrentVersionExpiration": {"NoncurrentDays": 1}}]},
            "Tags": [{"Key": t["Key"], "Value": t["Value"]} for t in _tags(cfg)],
        }
        if at.object_lock:
            props["ObjectLockEnabled"] = True
            props["ObjectLockConfiguration"] = {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {
                "Mode": "COMPLIANCE", "Days": at.retention_days or 3650}}}
        resources["TrailBucket"] = {"Type": "AWS::S3::Bucket", **RETAIN, "Properties": props, "Metadata": {
            "guard": {"SuppressedRules": ["S3_BUCKET_LOGGING_ENABLED", "S3_BUCKET_REPLICATION_ENABLED"]},
            "checkov": {"skip": [{"id": "CKV_AWS_18", "comment": SUPPRESSION_REASONS["CKV_AWS_18"]}]},
            "ddbkit": {"note": "audit log bucket: versioned, object-locked, KMS, TLS-only (docs/security.md)",
                       "suppressions": _reasons("S3_BUCKET_LOGGING_ENABLED", "S3_BUCKET_REPLICATION_ENABLED",
                                                "CKV_AWS_18")}}}
        bucket = {"Ref": "TrailBucket"}
        bucket_arn: Any = {"Fn::Sub": "${TrailBucket.Arn}"}
        resources["TrailBucketPolicy"] = {"Type": "AWS::S3::BucketPolicy", "Metadata": {
            "cfn-lint": {"config": {"ignore_checks": ["E3514"]}},
            "ddbkit": {"suppressions": _reasons("E3514")}}, "Properties": {
            "Bucket": bucket, "PolicyDocument": trail_bucket_policy(bucket_arn, trail_arn, None)}}
        depends = ["TrailBucketPolicy"]
    if "TrailKeyAlias" in resources:
        depends.append("TrailKeyAlias")
    # CloudWatch Logs delivery (CLOUD_TRAIL_CLOUD_WATCH_LOGS_ENABLED; AU-6 review and alerting)
    resources["AuditTrailLogs"] = {"Type": "AWS::Logs::LogGroup", **RETAIN, "Properties": {
        "LogGroupName": trail_log_group_name(cfg),
        "RetentionInDays": log_retention(at.retention_days or 365), "KmsKeyId": key_arn}}
    resources["AuditTrailLogsRole"] = {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": service_trust_policy("cloudtrail.amazonaws.com")}}
    resources["AuditTrailLogsPolicy"] = {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
        "Description": f"ddbkit: CloudTrail delivers {name} to its log group",
        "Roles": [{"Ref": "AuditTrailLogsRole"}],
        "PolicyDocument": trail_logs_policy({"Fn::Sub": "${AuditTrailLogs.Arn}"})}}
    depends.append("AuditTrailLogsPolicy")
    multi = trail_multi_region(cfg)  # fedramp tiers: MULTI_REGION_CLOUD_TRAIL_ENABLED
    checkov = [] if multi else [{"id": "CKV_AWS_67", "comment": SUPPRESSION_REASONS["CKV_AWS_67"]}]
    resources["AuditTrail"] = {"Type": "AWS::CloudTrail::Trail", "DependsOn": depends, "Metadata": {
        "guard": {"SuppressedRules": ["CLOUDTRAIL_S3_DATAEVENTS_ENABLED"]},
        **({"checkov": {"skip": checkov}} if checkov else {}),
        "ddbkit": {"note": "a table-scoped trail: it records this table's and stream's data events",
                   "suppressions": _reasons("CLOUDTRAIL_S3_DATAEVENTS_ENABLED", *(c["id"] for c in checkov))}},
                               "Properties": {
        "TrailName": name, "S3BucketName": bucket, "IsLogging": True, "EnableLogFileValidation": True,
        "KMSKeyId": key, "IncludeGlobalServiceEvents": multi, "IsMultiRegionTrail": multi,
        "CloudWatchLogsLogGroupArn": {"Fn::GetAtt": ["AuditTrailLogs", "Arn"]},
        "CloudWatchLogsRoleArn": {"Fn::GetAtt": ["AuditTrailLogsRole", "Arn"]},
        "AdvancedEventSelectors": selectors, "Tags": _tags(cfg)}}
    outputs["AuditTrailArn"] = {"Description": "CloudTrail trail recording the table's data events",
                                "Value": {"Fn::GetAtt": ["AuditTrail", "Arn"]}}


#: why each check a generated template suppresses does not apply (written into the resource's
#: ``Metadata.ddbkit.suppressions`` beside the suppression, and listed in docs/cloudformation.md)
SUPPRESSION_REASONS: dict[str, str] = {
    "S3_BUCKET_LOGGING_ENABLED": "the audit log bucket's own reads and writes are recorded by CloudTrail; S3 "
                                 "server access logging would need a second bucket, itself unlogged",
    "S3_BUCKET_REPLICATION_ENABLED": "cross-region replication of the audit logs is the account's DR choice "
                                     "(a bucket in another region and a replication role ddbkit cannot pick); "
                                     "the bucket is versioned and object-locked",
    "CKV_AWS_18": "the audit log bucket's own access is recorded by CloudTrail, not by another bucket",
    "E3514": "AWS's Guard rule S3_BUCKET_SSL_REQUESTS_ONLY matches the TLS-deny statement only with Resource "
             "\"*\" literally, which cfn-lint's ARN check flags; the bucket policy is attached to this bucket "
             "only, so \"*\" means this bucket",
    "CLOUDTRAIL_S3_DATAEVENTS_ENABLED": "the trail is scoped to one DynamoDB table: it records this table's and "
                                        "its stream's data events; S3 data events belong to an account trail",
    "CKV_AWS_67": "single-region at the commercial tier: the trail records one regional table's data events "
                  "(the fedramp tiers make it multi-region)",
}


def _reasons(*rules: str) -> dict[str, str]:
    return {r: SUPPRESSION_REASONS[r] for r in rules}


def _bucket_part(table: str) -> str:
    return re.sub(r"[^a-z0-9-]", "-", table.lower())[:20].strip("-") or "table"


def _alarm_topic(resources: dict[str, Any], outputs: dict[str, Any], cfg: TableConfig) -> None:
    """A KMS-encrypted SNS topic for the alarms (FedRAMP tiers without ``monitoring.alarmTopicArn``)."""
    root = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    resources["AlarmTopicKey"] = {"Type": "AWS::KMS::Key", **RETAIN, "Properties": {
        "Description": f"ddbkit: encryption of the alarm topic of DynamoDB table {cfg.table_name}",
        "EnableKeyRotation": True, "KeyPolicy": alarm_topic_key_policy(root), "Tags": _tags(cfg)}}
    resources["AlarmTopic"] = {"Type": "AWS::SNS::Topic", "Properties": {
        "TopicName": alarm_topic_name(cfg.table_name),
        "KmsMasterKeyId": {"Fn::GetAtt": ["AlarmTopicKey", "Arn"]}, "Tags": _tags(cfg)}}
    outputs["AlarmTopicArn"] = {"Description": "SNS topic the alarms notify: subscribe the on-call here",
                                "Value": {"Ref": "AlarmTopic"}}


def _table(cfg: TableConfig) -> dict[str, Any]:
    req = create_table_request(cfg, sse_key_id=_key_ref(cfg))
    props: dict[str, Any] = {k: v for k, v in req.items()
                             if k not in ("StreamSpecification", "SSESpecification")}
    if "StreamSpecification" in req:
        props["StreamSpecification"] = {"StreamViewType": req["StreamSpecification"]["StreamViewType"]}
    sse = cfg.sse_specification
    if sse is not None:
        spec: dict[str, Any] = {"SSEEnabled": sse.sse_enabled}  # the API says Enabled
        if sse.sse_enabled:
            spec["SSEType"] = "KMS"
            key = _key_ref(cfg) or sse.kms_master_key_id
            if key:
                spec["KMSMasterKeyId"] = key
        props["SSESpecification"] = spec
    if cfg.pitr_enabled:
        props["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
    ttl = cfg.time_to_live_specification
    if ttl is not None:
        props["TimeToLiveSpecification"] = {"AttributeName": ttl.attribute_name, "Enabled": ttl.enabled}
    ci = cfg.contributor_insights_specification
    if ci is not None:
        props["ContributorInsightsSpecification"] = {"Enabled": ci.enabled}
    return props


def _autoscaling_settings(cap: CapacityScaling) -> dict[str, Any]:
    tt = cap.target_tracking_scaling_policy_configuration
    return {"MinCapacity": cap.min_capacity, "MaxCapacity": cap.max_capacity,
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": tt.target_value, "ScaleInCooldown": tt.scale_in_cooldown,
                "ScaleOutCooldown": tt.scale_out_cooldown, "DisableScaleIn": tt.disable_scale_in}}


def _fixed_write(units: int) -> dict[str, Any]:
    """GlobalTable writes must autoscale; a fixed capacity is autoscaling with min = max."""
    return {"MinCapacity": units, "MaxCapacity": units,
            "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 70.0}}


def _global_table(cfg: TableConfig, regions: list[str], home: str | None) -> dict[str, Any]:
    req = create_table_request(cfg)
    provisioned = cfg.effective_billing_mode is BillingMode.PROVISIONED
    props: dict[str, Any] = {
        "TableName": cfg.table_name,
        "AttributeDefinitions": req["AttributeDefinitions"],
        "KeySchema": req["KeySchema"],
        "BillingMode": req["BillingMode"],
        "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
    }
    if cfg.local_secondary_indexes:
        props["LocalSecondaryIndexes"] = req["LocalSecondaryIndexes"]
    gsis: list[dict[str, Any]] = []
    for g, g_req in zip(cfg.global_secondary_indexes, req.get("GlobalSecondaryIndexes", []), strict=True):
        entry = {k: v for k, v in g_req.items() if k != "ProvisionedThroughput"}
        if provisioned:
            write = g.auto_scaling.write_capacity if g.auto_scaling else None
            units = g.provisioned_throughput.write_capacity_units if g.provisioned_throughput else 1
            entry["WriteProvisionedThroughputSettings"] = {
                "WriteCapacityAutoScalingSettings": _autoscaling_settings(write) if write else _fixed_write(units)}
        gsis.append(entry)
    if gsis:
        props["GlobalSecondaryIndexes"] = gsis
    if provisioned:
        write = cfg.auto_scaling.write_capacity if cfg.auto_scaling else None
        units = cfg.provisioned_throughput.write_capacity_units if cfg.provisioned_throughput else 1
        props["WriteProvisionedThroughputSettings"] = {
            "WriteCapacityAutoScalingSettings": _autoscaling_settings(write) if write else _fixed_write(units)}
    target = sse_target(cfg)
    kms = target is not None and target.kind != "owned"
    if target is not None:
        props["SSESpecification"] = {"SSEEnabled": True, "SSEType": "KMS"} if kms else {"SSEEnabled": False}
    ttl = cfg.time_to_live_specification
    if ttl is not None:
        props["TimeToLiveSpecification"] = {"AttributeName": ttl.attribute_name, "Enabled": ttl.enabled}
    props["Replicas"] = [_replica(cfg, r, home, kms, provisioned) for r in regions]
    return props


def _replica(cfg: TableConfig, region: str, home: str | None, kms: bool, provisioned: bool) -> dict[str, Any]:
    """Per-replica settings: GlobalTable puts PITR, keys, insights, protection and tags on each replica."""
    gt = cfg.global_tables
    replica = gt.replica(region) if gt else None
    out: dict[str, Any] = {"Region": region}
    pitr = replica_pitr(cfg, region)
    if pitr is not None:
        out["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": pitr}
    if kms:
        target = sse_target(cfg)
        key: Any = "alias/aws/dynamodb"
        if target is not None and target.kind != "aws-managed":
            key = (replica.kms_key_id if replica else None) or (_key_ref(cfg) if region == home else None) or key
        out["SSESpecification"] = {"KMSMasterKeyId": key}
    ci = replica_contributor_insights(cfg, region)
    if ci is not None:
        out["ContributorInsightsSpecification"] = {"Enabled": ci}
    if cfg.deletion_protection_enabled is not None:
        out["DeletionProtectionEnabled"] = cfg.deletion_protection_enabled
    table_class = (replica.table_class if replica else None) or cfg.table_class
    if table_class:
        out["TableClass"] = table_class
    if cfg.tags:
        out["Tags"] = _tags(cfg)
    if provisioned:
        read = cfg.auto_scaling.read_capacity if cfg.auto_scaling else None
        units = cfg.provisioned_throughput.read_capacity_units if cfg.provisioned_throughput else 1
        out["ReadProvisionedThroughputSettings"] = (
            {"ReadCapacityAutoScalingSettings": _autoscaling_settings(read)} if read else {"ReadCapacityUnits": units})
        gsis = []
        for g in cfg.global_secondary_indexes:
            g_read = g.auto_scaling.read_capacity if g.auto_scaling else None
            g_units = g.provisioned_throughput.read_capacity_units if g.provisioned_throughput else 1
            gsis.append({"IndexName": g.index_name, "ReadProvisionedThroughputSettings": (
                {"ReadCapacityAutoScalingSettings": _autoscaling_settings(g_read)} if g_read
                else {"ReadCapacityUnits": g_units})})
        if gsis:
            out["GlobalSecondaryIndexes"] = gsis
    return out


def _scaling(resources: dict[str, Any], spec: ScalingSpec) -> None:
    base = logical_id("Index", spec.index) if spec.index else "Table"
    target_id = f"{base}{spec.side.capitalize()}ScalableTarget"
    resource_id = "table/${" + TABLE_ID + "}" + (f"/index/{spec.index}" if spec.index else "")
    resources[target_id] = {"Type": "AWS::ApplicationAutoScaling::ScalableTarget", "Properties": {
        "ServiceNamespace": "dynamodb",
        "ResourceId": {"Fn::Sub": resource_id},
        "ScalableDimension": spec.dimension,
        "MinCapacity": spec.min_capacity,
        "MaxCapacity": spec.max_capacity,
        "RoleARN": {"Fn::Sub": AUTOSCALING_ROLE},
    }}
    resources[f"{base}{spec.side.capitalize()}ScalingPolicy"] = {
        "Type": "AWS::ApplicationAutoScaling::ScalingPolicy", "Properties": {
            "PolicyName": spec.policy_name,
            "PolicyType": "TargetTrackingScaling",
            "ScalingTargetId": {"Ref": target_id},
            "TargetTrackingScalingPolicyConfiguration": spec.target_tracking(),
        }}


def _backup(resources: dict[str, Any], cfg: TableConfig) -> None:
    vault: dict[str, Any] = {"BackupVaultName": backup_vault_name(cfg)}
    key = _key_arn_ref(cfg)
    if key is not None:
        vault["EncryptionKeyArn"] = key  # CKV_AWS_166: recovery points under the customer key
    if cfg.tags:
        vault["BackupVaultTags"] = dict(cfg.tags)
    resources["BackupVault"] = {"Type": "AWS::Backup::BackupVault", **RETAIN, "Properties": vault}
    resources["BackupRole"] = {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": service_trust_policy("backup.amazonaws.com"),
        "ManagedPolicyArns": [{"Fn::Sub": f"arn:${{AWS::Partition}}:iam::aws:policy/{p}"}
                              for p in BACKUP_MANAGED_POLICIES],
    }}
    rules = []
    for rule in backup_rules(cfg, lambda c: {"Fn::Sub": (
            f"arn:${{AWS::Partition}}:backup:{c.region}:${{AWS::AccountId}}:backup-vault:{copy_vault_name(cfg, c)}")}):
        rule = dict(rule)
        rule.pop("TargetBackupVaultName")
        rules.append({"RuleName": rule.pop("RuleName"), "TargetBackupVault": {"Ref": "BackupVault"}, **rule})
    resources["BackupPlan"] = {"Type": "AWS::Backup::BackupPlan", "Properties": {
        "BackupPlan": {"BackupPlanName": backup_plan_name(cfg), "BackupPlanRule": rules}}}
    resources["BackupSelection"] = {"Type": "AWS::Backup::BackupSelection", "Properties": {
        "BackupPlanId": {"Ref": "BackupPlan"},
        "BackupSelection": {"SelectionName": backup_selection_name(cfg),
                            "IamRoleArn": {"Fn::GetAtt": ["BackupRole", "Arn"]},
                            "Resources": [{"Fn::GetAtt": [TABLE_ID, "Arn"]}]},
    }}


def _dax(resources: dict[str, Any], outputs: dict[str, Any], cfg: TableConfig) -> None:
    dax = cfg.dax_cluster
    assert dax is not None
    role: Any = dax.iam_role_arn
    if role is None:
        target = sse_target(cfg)
        ctx = ArnContext(created_key_arn="${" + KEY_ID + ".Arn}" if target and target.kind == "create" else None)
        resources["DaxRole"] = {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": service_trust_policy("dax.amazonaws.com"),
        }}
        # a customer-managed policy, not an inline one (IAM_NO_INLINE_POLICY_CHECK; AC-6)
        resources["DaxPolicy"] = {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
            "Description": f"ddbkit: DAX access to {cfg.table_name}",
            "PolicyDocument": sub(policy_for_access(cfg, "read-write", ctx)),
            "Roles": [{"Ref": "DaxRole"}],
        }}
        role = {"Fn::GetAtt": ["DaxRole", "Arn"]}
    req = dax_cluster_request(dax, role)
    props: dict[str, Any] = {
        "ClusterName": req["ClusterName"],
        "NodeType": req["NodeType"],
        "ReplicationFactor": req["ReplicationFactor"],
        "IAMRoleARN": role,
        "SSESpecification": {"SSEEnabled": req["SSESpecification"]["Enabled"]},
        "ClusterEndpointEncryptionType": req["ClusterEndpointEncryptionType"],
    }
    subnet_group = dax_subnet_group_name(dax)
    if dax.subnet_ids and subnet_group:
        resources["DaxSubnetGroup"] = {"Type": "AWS::DAX::SubnetGroup", "Properties": {
            "SubnetGroupName": subnet_group, "SubnetIds": list(dax.subnet_ids),
            "Description": f"ddbkit: DAX subnets for {cfg.table_name}"}}
        props["SubnetGroupName"] = {"Ref": "DaxSubnetGroup"}
    elif subnet_group:
        props["SubnetGroupName"] = subnet_group
    if dax.parameter_group_name:
        resources["DaxParameterGroup"] = {"Type": "AWS::DAX::ParameterGroup", "Properties": {
            "ParameterGroupName": dax.parameter_group_name,
            "Description": f"ddbkit: DAX parameters for {cfg.table_name}"}}
        props["ParameterGroupName"] = {"Ref": "DaxParameterGroup"}
    if dax.security_group_ids:
        props["SecurityGroupIds"] = list(dax.security_group_ids)
    resources["DaxCluster"] = {"Type": "AWS::DAX::Cluster", "Properties": props}
    if "DaxPolicy" in resources:
        resources["DaxCluster"]["DependsOn"] = ["DaxPolicy"]  # the role can read the table before DAX starts
    outputs["DaxClusterEndpoint"] = {"Description": "DAX cluster discovery endpoint",
                                     "Value": {"Fn::GetAtt": ["DaxCluster", "ClusterDiscoveryEndpointURL"]}}
