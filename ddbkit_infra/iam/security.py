"""Access control and audit around a table, defined once for synth, apply and audit (docs/security.md).

* :func:`table_resource_policy` / :func:`stream_resource_policy`: the resource-based policies
  (PutResourcePolicy / CloudFormation ``ResourcePolicy``): cross-account principals with a bind's action set,
  a deny of requests without TLS (``aws:SecureTransport``, fedramp tiers always), optionally a deny of
  data-plane requests not through the configured VPC endpoints (``aws:SourceVpce``).
* :func:`endpoint_policy`: the VPC endpoint policy, limited to this table's ARNs and the binds' actions.
* :func:`data_event_selectors` and the trail helpers: CloudTrail data events for the table (indexes
  included: their requests are logged against the table ARN) and its stream.

ARNs are given by the caller: CloudFormation ``Fn::Sub`` strings in synth, real ARNs in apply.
"""

from __future__ import annotations

import re
from typing import Any

from ddbkit.config import TableConfig

from ddbkit_infra.iam.binds import INDEX_ACTIONS, READ_ACTIONS, STREAM_ACTIONS, WRITE_ACTIONS

__all__ = [
    "DATA_PLANE_ACTIONS",
    "audit_trail_wanted",
    "bind_accesses",
    "bind_actions",
    "bind_grants",
    "data_event_selectors",
    "endpoint_policy",
    "stream_resource_policy",
    "table_resource_policy",
    "trail_bucket_policy",
    "log_retention",
    "trail_key_policy",
    "trail_logs_policy",
    "trail_log_group_name",
    "trail_logs_role_name",
    "trail_multi_region",
    "trail_name",
]

#: what a deny-outside-VPC-endpoint statement covers: item and stream reads/writes, not the control plane
#: (CloudFormation and ``ddbkit apply`` still manage the table from outside the VPC)
DATA_PLANE_ACTIONS: tuple[str, ...] = tuple(a for a in dict.fromkeys(
    [*READ_ACTIONS, *WRITE_ACTIONS, *STREAM_ACTIONS, "dynamodb:PartiQLSelect", "dynamodb:PartiQLInsert",
     "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete"]) if a != "dynamodb:DescribeTable")


def bind_actions(accesses: list[str]) -> list[str]:
    """The union of the action sets of ``accesses`` (read, write, read-write, stream-read)."""
    out: list[str] = []
    for access in accesses:
        if access in ("read", "read-write"):
            out += READ_ACTIONS
        if access in ("write", "read-write"):
            out += WRITE_ACTIONS
        if access == "stream-read":
            out += [*STREAM_ACTIONS, "dynamodb:ListStreams"]
    return list(dict.fromkeys(out))


def bind_accesses(loaded: Any, component: str) -> list[str]:
    """The access levels of every bind to table component ``component`` in a loaded file (what a VPC
    endpoint policy for that table must allow); empty when nothing binds to it."""
    return list(dict.fromkeys(b.access for c in loaded.components for b in c.binds if b.to == component))


def bind_grants(loaded: Any, component: str) -> list[tuple[str, str]]:
    """``(account, access)`` of every bind to ``component`` from another account (``binds[].account``): the
    table's resource policy grants each (the consumer's own identity policy is the other half)."""
    return list(dict.fromkeys((b.account, b.access) for c in loaded.components for b in c.binds
                              if b.to == component and b.account and b.access != "stream-read"))


def _principal(p: str, partition: str) -> Any:
    if not re.fullmatch(r"\d{12}", p):
        return p
    arn = f"arn:{partition}:iam::{p}:root"
    return {"Fn::Sub": arn} if "${" in partition else arn


def table_resource_policy(cfg: TableConfig, table_arn: Any, *, partition: str = "aws",
                          vpce_ids: list[Any] | None = None,
                          grants: list[tuple[str, str]] | None = None) -> dict[str, Any] | None:
    """The table's resource-based policy, or None when there is nothing to say. ``grants`` adds
    ``(account, access)`` pairs from binds of other accounts (:func:`bind_grants`), one statement per access."""
    rp = cfg.resource_policy
    if rp is None and not grants:
        return None
    index_arn = _suffix(table_arn, "/index/*")
    statements: list[dict[str, Any]] = []
    if rp is not None and rp.cross_account_principals:
        actions = [a for a in bind_actions([rp.access])]
        statements.append(_org({"Sid": "CrossAccountAccess", "Effect": "Allow",
                                "Principal": {"AWS": [_principal(p, partition) for p in rp.cross_account_principals]},
                                "Action": actions, "Resource": [table_arn, index_arn]}, cfg))
    for access in dict.fromkeys(a for _acct, a in grants or []):
        accounts = [acct for acct, a in grants or [] if a == access]
        statements.append(_org({"Sid": "Bind" + "".join(w.title() for w in access.split("-")), "Effect": "Allow",
                                "Principal": {"AWS": [_principal(acct, partition) for acct in accounts]},
                                "Action": bind_actions([access]), "Resource": [table_arn, index_arn]}, cfg))
    if rp is None:
        return {"Version": "2012-10-17", "Statement": statements}
    statements += _denies(rp.deny_insecure_transport, rp.deny_outside_vpc_endpoints, vpce_ids,
                          [a for a in DATA_PLANE_ACTIONS if a not in STREAM_ACTIONS], [table_arn, index_arn])
    return {"Version": "2012-10-17", "Statement": statements} if statements else None


def stream_resource_policy(cfg: TableConfig, stream_arn: Any, *, partition: str = "aws",
                           vpce_ids: list[Any] | None = None) -> dict[str, Any] | None:
    """The stream's resource-based policy (cross-account stream reads when ``access`` reads; the denies)."""
    rp = cfg.resource_policy
    if rp is None:
        return None
    statements: list[dict[str, Any]] = []
    if rp.cross_account_principals and rp.access in ("read", "read-write"):
        statements.append(_org({"Sid": "CrossAccountStreamRead", "Effect": "Allow",
                                "Principal": {"AWS": [_principal(p, partition) for p in rp.cross_account_principals]},
                                "Action": list(STREAM_ACTIONS), "Resource": stream_arn}, cfg))
    statements += _denies(rp.deny_insecure_transport, rp.deny_outside_vpc_endpoints, vpce_ids,
                          list(STREAM_ACTIONS), stream_arn)
    return {"Version": "2012-10-17", "Statement": statements} if statements else None


def _org(statement: dict[str, Any], cfg: TableConfig) -> dict[str, Any]:
    """A cross-account grant, limited to principals of ``resourcePolicy.principalOrgId`` when set
    (``aws:PrincipalOrgID``: an account that leaves the organisation loses access)."""
    org = cfg.resource_policy.principal_org_id if cfg.resource_policy else None
    if org:
        statement["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": org}}
    return statement


def _denies(tls: bool | None, vpce: bool, vpce_ids: list[Any] | None, data_actions: list[str],
            resource: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if tls:
        out.append({"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "dynamodb:*",
                    "Resource": resource, "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
    if vpce and vpce_ids:
        out.append({"Sid": "DenyOutsideVpcEndpoints", "Effect": "Deny", "Principal": "*", "Action": data_actions,
                    "Resource": resource, "Condition": {"StringNotEquals": {"aws:SourceVpce": list(vpce_ids)}}})
    return out


def _suffix(arn: Any, tail: str) -> Any:
    if isinstance(arn, dict) and "Fn::Sub" in arn and isinstance(arn["Fn::Sub"], str):
        return {"Fn::Sub": arn["Fn::Sub"] + tail}
    return f"{arn}{tail}"


def endpoint_policy(table_arns: list[Any], accesses: list[str]) -> dict[str, Any]:
    """A VPC endpoint policy allowing only the binds' actions (``accesses``; read-write when unknown) on
    this table, its indexes and its stream; everything else through the endpoint is implicitly denied."""
    actions = bind_actions(accesses or ["read-write"])
    item = [a for a in actions if a not in (*STREAM_ACTIONS, "dynamodb:ListStreams")]
    statements: list[dict[str, Any]] = []
    if item:
        statements.append({"Sid": "ThisTable", "Effect": "Allow", "Principal": "*", "Action": item,
                           "Resource": [*table_arns, *(_suffix(a, "/index/*") for a in table_arns
                                                       if any(x in INDEX_ACTIONS for x in item))]})
    stream = [a for a in actions if a in STREAM_ACTIONS]
    if stream:
        statements.append({"Sid": "ThisStream", "Effect": "Allow", "Principal": "*", "Action": stream,
                           "Resource": [_suffix(a, "/stream/*") for a in table_arns]})
    if "dynamodb:ListStreams" in actions:
        statements.append({"Sid": "ListStreams", "Effect": "Allow", "Principal": "*",
                           "Action": ["dynamodb:ListStreams"], "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}


# -- audit trail ---------------------------------------------------------------------------------------


def audit_trail_wanted(cfg: TableConfig) -> bool:
    return bool(cfg.audit_trail and cfg.audit_trail.enabled)


def trail_name(cfg: TableConfig) -> str:
    """``auditTrail.name``, else ``ddbkit-<table>`` (CloudTrail names: letters, digits, ``.``, ``_``, ``-``)."""
    assert cfg.audit_trail is not None
    return cfg.audit_trail.name or "ddbkit-" + re.sub(r"[^A-Za-z0-9._-]", "-", cfg.table_name)


def trail_multi_region(cfg: TableConfig) -> bool:
    """Whether the trail is multi-region: at the fedramp tiers (AWS's FedRAMP/NIST Guard rule
    MULTI_REGION_CLOUD_TRAIL_ENABLED; a global table's replicas are in other regions). The selectors still
    name this table only, so the cost is the same; CloudTrail requires global service events with it."""
    return cfg.compliance_framework is not None and cfg.compliance_framework.value.startswith("fedramp")


def trail_log_group_name(cfg: TableConfig) -> str:
    """The CloudWatch Logs group the trail delivers to: ``/ddbkit/audit/<table>``."""
    return f"/ddbkit/audit/{cfg.table_name}"


def trail_logs_role_name(cfg: TableConfig) -> str:
    """The role CloudTrail assumes to write to the log group (IAM role names: at most 64 characters)."""
    return ("ddbkit-trail-logs-" + re.sub(r"[^A-Za-z0-9+=,.@_-]", "-", cfg.table_name))[:64]


def trail_logs_policy(log_group_arn: Any) -> dict[str, Any]:
    """CloudTrail may create streams and put events in the trail's log group, nothing else."""
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "DeliverToLogGroup", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": log_group_arn}]}


def data_event_selectors(table_arn: Any, stream_arn: Any) -> list[dict[str, Any]]:
    """Advanced event selectors logging every data event of this table (index requests included) and of
    its stream, and nothing else (data events cost per event: never the whole account)."""
    return [
        {"Name": "DynamoDB table data events",
         "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]},
                            {"Field": "resources.type", "Equals": ["AWS::DynamoDB::Table"]},
                            {"Field": "resources.ARN", "Equals": [table_arn]}]},
        {"Name": "DynamoDB stream data events",
         "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]},
                            {"Field": "resources.type", "Equals": ["AWS::DynamoDB::Stream"]},
                            {"Field": "resources.ARN", "StartsWith": [stream_arn]}]},
    ]


def trail_bucket_policy(bucket_arn: Any, trail_arn: Any, account: Any, partition: Any = "aws") -> dict[str, Any]:
    """CloudTrail may check the ACL and write under AWSLogs/<account>/ for this trail only; nothing without TLS."""
    objects = _suffix(bucket_arn, "/*")
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "CloudTrailAclCheck", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:GetBucketAcl", "Resource": bucket_arn,
         "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}}},
        {"Sid": "CloudTrailWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": objects,
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": trail_arn}}},
        # exactly the statement AWS's S3_BUCKET_SSL_REQUESTS_ONLY guard rule looks for
        {"Action": "s3:*", "Effect": "Deny", "Principal": "*", "Resource": "*",
         "Condition": {"Bool": {"aws:SecureTransport": False}}},
    ]}


def trail_key_policy(root_arn: Any, logs_service: Any = None) -> dict[str, Any]:
    """The trail's KMS key: the account root manages it; CloudTrail encrypts log files / events with it, and
    CloudWatch Logs (``logs.<region>.amazonaws.com``) the trail's log group."""
    statements: list[dict[str, Any]] = [
        {"Sid": "AccountRootManagesKey", "Effect": "Allow", "Principal": {"AWS": root_arn}, "Action": "kms:*",
         "Resource": "*"},
        {"Sid": "CloudTrailEncrypts", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": ["kms:GenerateDataKey*", "kms:DescribeKey", "kms:Decrypt"], "Resource": "*"},
    ]
    if logs_service is not None:
        statements.append({"Sid": "CloudWatchLogsEncrypts", "Effect": "Allow", "Principal": {"Service": logs_service},
                           "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                                      "kms:Describe*"], "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}


#: CloudWatch Logs accepts only these retention values (days)
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                      3288, 3653)


def log_retention(days: int) -> int:
    """The smallest CloudWatch Logs retention that keeps ``days``."""
    return next((d for d in LOG_RETENTION_DAYS if d >= days), LOG_RETENTION_DAYS[-1])
