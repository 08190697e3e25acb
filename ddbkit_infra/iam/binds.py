"""Binds -> least-privilege IAM policy documents and environment variables.

A consumer component's ``binds: [{to: user-sessions, access: read-write}]`` becomes:

* an IAM policy with exactly the actions CDK's ``grantReadData`` / ``grantWriteData`` /
  ``grantReadWriteData`` / ``grantStreamRead`` give, on the table ARN (and replica-region ARNs), the
  ``/index/*`` ARNs for Query/Scan when the table has indexes, the stream ARN for stream reads (plus
  ``ListStreams`` on ``*``, the only wildcard), and KMS actions on the customer-managed key(s), only
  through DynamoDB (``kms:ViaService`` ``dynamodb.<region>.amazonaws.com``);
* environment variables ``<COMPONENT>_TABLE``, ``_KEY``, ``_KEY_TYPES``, ``_INDEXES``, ``_INDEX_KEYS``,
  ``_TTL``, ``_TABLE_ARN``, ``_STREAM_ARN`` (what ``Table.from_env`` reads: :mod:`ddbkit.core.envconfig`), and
  the consumer's own ``config.environment.variables`` with ``${component.tableName}``-style references
  resolved. Environment values are real or left out: no ``${AWS::...}`` placeholder, no ``/stream/*``.

ARNs come from an :class:`ArnContext`: account and region given, or from STS, or CloudFormation
placeholders (``${AWS::Partition}``/``${AWS::Region}``/``${AWS::AccountId}``) that a template's
``Fn::Sub`` fills.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ddbkit.config import ComponentFile, TableConfig, kms_key_region
from ddbkit.core.envconfig import env_prefix as _env_prefix
from ddbkit.core.envconfig import table_env_vars

from ddbkit_infra.resources import kms_alias_name, sse_target
from ddbkit_infra.synth.intrinsics import logical_id, sub

__all__ = [
    "ACCESS_LEVELS",
    "ArnContext",
    "BindError",
    "BindOutput",
    "BindReport",
    "READ_ACTIONS",
    "STREAM_ACTIONS",
    "WRITE_ACTIONS",
    "arn_context",
    "backup_function_policy",
    "bind_outputs",
    "bind_template",
    "created_key_arn",
    "env_prefix",
    "is_real_value",
    "kms_via_services",
    "policy_for_access",
    "resolve_references",
    "table_env",
]

READ_ACTIONS: tuple[str, ...] = (
    "dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan",
    "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable",
)
WRITE_ACTIONS: tuple[str, ...] = (
    "dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
)
STREAM_ACTIONS: tuple[str, ...] = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")
INDEX_ACTIONS: tuple[str, ...] = ("dynamodb:Query", "dynamodb:Scan")  # the only actions that take index ARNs
KMS_READ: tuple[str, ...] = ("kms:Decrypt", "kms:DescribeKey")
KMS_WRITE: tuple[str, ...] = ("kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*")
ACCESS_LEVELS: tuple[str, ...] = ("read", "write", "read-write", "stream-read")

PLACEHOLDER_PARTITION = "${AWS::Partition}"
PLACEHOLDER_REGION = "${AWS::Region}"
PLACEHOLDER_ACCOUNT = "${AWS::AccountId}"


class BindError(ValueError):
    """A bind that cannot become a policy (unknown access level, target not a table)."""


@dataclass(frozen=True)
class ArnContext:
    """Partition, home region and account used to build ARNs (placeholders when unknown)."""

    region: str = PLACEHOLDER_REGION
    account: str = PLACEHOLDER_ACCOUNT
    partition: str = PLACEHOLDER_PARTITION
    #: The live table's stream ARN (``LatestStreamArn``) when the table was described.
    stream_arn: str | None = None
    #: The live ARN of the key ddbkit created (``createKey``), when known.
    created_key_arn: str | None = None

    @property
    def has_placeholders(self) -> bool:
        return "${" in f"{self.region}{self.account}{self.partition}"

    def table_arn(self, table: str, region: str | None = None) -> str:
        return f"arn:{self.partition}:dynamodb:{region or self.region}:{self.account}:table/{table}"

    def kms_arn(self, key: str, region: str | None = None) -> str:
        if key.startswith("arn:"):
            return key
        return f"arn:{self.partition}:kms:{region or self.region}:{self.account}:key/{key}"


def arn_context(account_id: str | None = None, region: str | None = None, sts_client: Any = None) -> ArnContext:
    """An :class:`ArnContext` from the given values, else STS ``GetCallerIdentity``, else placeholders.

    ``sts_client`` is asked only when ``account_id`` is missing; any failure (no credentials, no network)
    falls back to the ``${AWS::AccountId}`` placeholder.
    """
    account = account_id
    partition = PLACEHOLDER_PARTITION
    if account is None and sts_client is not None:
        try:
            ident = sts_client.get_caller_identity()
            account = str(ident["Account"])
            partition = str(ident.get("Arn", "arn:aws:")).split(":")[1] or "aws"
        except Exception:  # noqa: BLE001 - any failure means "unknown": use placeholders
            account = None
    if account is not None and partition == PLACEHOLDER_PARTITION:
        partition = _partition_of(region) if region else "aws"
    return ArnContext(region=region or PLACEHOLDER_REGION, account=account or PLACEHOLDER_ACCOUNT,
                      partition=partition)


def _partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _regions(cfg: TableConfig, ctx: ArnContext) -> list[str | None]:
    """Home region (None: the context's) then each replica region."""
    out: list[str | None] = [None]
    if cfg.global_tables:
        out += [r for r in cfg.global_tables.all_regions() if r != ctx.region]
    return out


def stream_arn(cfg: TableConfig, ctx: ArnContext) -> str:
    """The live stream ARN when known, else ``.../table/NAME/stream/*`` (the label changes on re-enable)."""
    return ctx.stream_arn or f"{ctx.table_arn(cfg.table_name)}/stream/*"


def _kms_statement(cfg: TableConfig, ctx: ArnContext, actions: tuple[str, ...]) -> dict[str, Any] | None:
    """KMS permissions on the table's customer-managed key(s), or None when AWS owns/manages the key."""
    target = sse_target(cfg)
    if target is None or target.kind not in ("customer", "create"):
        return None
    resources: list[str] = []
    condition: dict[str, Any] | None = None
    if target.kind == "create":
        if ctx.created_key_arn:
            resources.append(ctx.created_key_arn)
        else:
            # The key does not exist yet (or was not looked up): any key in the account, but only while it
            # carries ddbkit's alias for this table. IAM ignores alias ARNs in Resource, hence the condition.
            resources.append(f"arn:{ctx.partition}:kms:{ctx.region}:{ctx.account}:key/*")
            condition = {"ForAnyValue:StringEquals": {"kms:ResourceAliases": [kms_alias_name(cfg.table_name)]}}
    elif target.key:
        if target.key.startswith("alias/") or ":alias/" in target.key:
            alias = target.key.split(":", 5)[-1] if target.key.startswith("arn:") else target.key
            region = kms_key_region(target.key) or ctx.region
            resources.append(f"arn:{ctx.partition}:kms:{region}:{ctx.account}:key/*")
            condition = {"ForAnyValue:StringEquals": {"kms:ResourceAliases": [alias]}}
        else:
            resources.append(ctx.kms_arn(target.key))
    if cfg.global_tables:
        for region in cfg.global_tables.all_regions():
            key = cfg.global_tables.replica(region).kms_key_id
            if key and not key.startswith("alias/") and ":alias/" not in key:
                arn = ctx.kms_arn(key, region)
                if arn not in resources:
                    resources.append(arn)
    # Only through DynamoDB (as AWS documents for customer-managed table keys): the grantee cannot call KMS
    # itself with the table's key (Decrypt data keys, GenerateDataKey for anything). One entry per region
    # the table lives in; ``${AWS::Region}`` in a template.
    condition = dict(condition or {})
    condition["StringEquals"] = {"kms:ViaService": kms_via_services(cfg, ctx)}
    return {"Sid": "TableKey", "Effect": "Allow", "Action": list(actions), "Resource": resources,
            "Condition": condition}


def kms_via_services(cfg: TableConfig, ctx: ArnContext) -> list[str]:
    """``dynamodb.<region>.amazonaws.com`` for the home region and every replica region (the values of a
    ``kms:ViaService`` condition on the table's key)."""
    return [f"dynamodb.{region or ctx.region}.amazonaws.com" for region in _regions(cfg, ctx)]


def created_key_arn(cfg: TableConfig, kms: Any) -> str | None:
    """The ARN of the key ddbkit created for ``cfg`` (``createKey``), found by its alias, or None (no such key
    yet, no access). A policy then names the key itself instead of ``key/*`` with a ``kms:ResourceAliases``
    condition."""
    target = sse_target(cfg)
    if target is None or target.kind != "create" or kms is None:
        return None
    try:
        meta = kms.describe_key(KeyId=kms_alias_name(cfg.table_name))["KeyMetadata"]
    except Exception:  # noqa: BLE001 - NotFound/AccessDenied/no network: the alias condition stays
        return None
    return str(meta["Arn"])


def backup_function_policy(cfg: TableConfig, ctx: ArnContext | None = None, *, export_bucket: str | None = None,
                           export_prefix: str = "", copy_role_arn: str | None = None) -> dict[str, Any]:
    """IAM for the role of the backup Lambda (:func:`ddbkit.ops.backup.handler`): backup, export, copy, prune.

    Resource types follow the Service Authorization Reference: ``dynamodb:ListBackups`` and
    ``backup:ListRecoveryPointsByResource`` have none, so they need ``"*"`` (a table ARN there makes the
    prune step's ListBackups fail with AccessDenied); DescribeBackup/DeleteBackup take
    ``table/NAME/backup/*``; Export/DescribeExport take the table and ``table/NAME/export/*``.
    """
    ctx = ctx or ArnContext()
    table = ctx.table_arn(cfg.table_name)
    statements: list[dict[str, Any]] = [
        {"Sid": "ListWithoutResourceType", "Effect": "Allow", "Action": ["dynamodb:ListBackups"], "Resource": "*"},
        {"Sid": "TableBackups", "Effect": "Allow",
         "Action": ["dynamodb:CreateBackup", "dynamodb:DescribeTable", "dynamodb:DescribeContinuousBackups",
                    "dynamodb:ExportTableToPointInTime"],
         "Resource": [table]},
        {"Sid": "Backups", "Effect": "Allow", "Action": ["dynamodb:DescribeBackup", "dynamodb:DeleteBackup"],
         "Resource": [f"{table}/backup/*"]},
        {"Sid": "Exports", "Effect": "Allow", "Action": ["dynamodb:DescribeExport"],
         "Resource": [f"{table}/export/*"]},
    ]
    if export_bucket:
        statements.append({"Sid": "ExportObjects", "Effect": "Allow",
                           "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
                           "Resource": [f"arn:{ctx.partition}:s3:::{export_bucket}/{export_prefix}*"]})
    if copy_role_arn:
        statements += [
            {"Sid": "ListRecoveryPoints", "Effect": "Allow", "Action": ["backup:ListRecoveryPointsByResource"],
             "Resource": "*"},
            {"Sid": "CopyJobs", "Effect": "Allow", "Action": ["backup:StartCopyJob"],
             "Resource": [f"arn:{ctx.partition}:backup:{ctx.region}:{ctx.account}:recovery-point:*"]},
            {"Sid": "PassCopyRole", "Effect": "Allow", "Action": ["iam:PassRole"], "Resource": [copy_role_arn]},
        ]
    kms = _kms_statement(cfg, ctx, KMS_READ + KMS_WRITE)
    if kms:
        statements.append(kms)
    return _document(statements)


def key_attributes(cfg: TableConfig) -> list[str]:
    """The table's and every index's key attributes (always part of a request, so always allowed)."""
    names = [k.attribute_name for k in cfg.key_schema]
    for g in cfg.global_secondary_indexes:
        names += [k.attribute_name for k in g.key_schema]
    for li in cfg.local_secondary_indexes:
        names += [k.attribute_name for k in li.key_schema]
    return list(dict.fromkeys(names))


def policy_for_access(cfg: TableConfig, access: str, ctx: ArnContext | None = None,
                      leading_keys: list[str] | None = None, attributes: list[str] | None = None) -> dict[str, Any]:
    """The least-privilege IAM policy document for ``access`` to ``cfg``'s table.

    ``leading_keys`` adds ``ForAllValues:StringEquals dynamodb:LeadingKeys`` to the item actions (per-tenant
    access); Scan is then left out, since a Scan has no partition key for the condition to check and
    would read every tenant's items.

    ``attributes`` limits the item actions to those attributes (plus the key attributes): ``ForAllValues:
    StringEquals dynamodb:Attributes``, ``dynamodb:Select = SPECIFIC_ATTRIBUTES`` (a read must project) and
    ``dynamodb:ReturnValues`` in NONE/UPDATED_OLD/UPDATED_NEW (a write cannot echo the whole old or new item).
    """
    if access not in ACCESS_LEVELS:
        raise BindError(f"unknown access level {access!r}; use one of {', '.join(ACCESS_LEVELS)}")
    ctx = ctx or ArnContext()
    table_arns = [ctx.table_arn(cfg.table_name, r) for r in _regions(cfg, ctx)]
    has_indexes = bool(cfg.global_secondary_indexes or cfg.local_secondary_indexes)
    statements: list[dict[str, Any]] = []

    if access == "stream-read":
        stream_resources = [stream_arn(cfg, ctx)]
        for region in _regions(cfg, ctx)[1:]:
            stream_resources.append(f"{ctx.table_arn(cfg.table_name, region)}/stream/*")
        statements.append({"Sid": "ListStreams", "Effect": "Allow", "Action": ["dynamodb:ListStreams"],
                           "Resource": "*"})
        statements.append({"Sid": "ReadStream", "Effect": "Allow", "Action": list(STREAM_ACTIONS),
                           "Resource": stream_resources})
        kms = _kms_statement(cfg, ctx, KMS_READ)
        return _document(statements + ([kms] if kms else []))

    actions: list[str] = []
    if access in ("read", "read-write"):
        actions += READ_ACTIONS
    if access in ("write", "read-write"):
        actions += [a for a in WRITE_ACTIONS if a not in actions]
    if leading_keys:
        actions = [a for a in actions if a != "dynamodb:Scan"]
    item_actions = [a for a in actions if a != "dynamodb:DescribeTable"]
    condition: dict[str, Any] | None = None
    if leading_keys:
        condition = {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": list(leading_keys)}}
    if attributes:
        condition = condition or {}
        allowed = list(dict.fromkeys([*key_attributes(cfg), *attributes]))
        condition.setdefault("ForAllValues:StringEquals", {})["dynamodb:Attributes"] = allowed
        if_exists: dict[str, Any] = {}
        if access in ("read", "read-write"):
            if_exists["dynamodb:Select"] = "SPECIFIC_ATTRIBUTES"
        if access in ("write", "read-write"):
            if_exists["dynamodb:ReturnValues"] = ["NONE", "UPDATED_OLD", "UPDATED_NEW"]
        condition["StringEqualsIfExists"] = if_exists

    stmt: dict[str, Any] = {"Sid": "TableItems", "Effect": "Allow", "Action": item_actions,
                            "Resource": table_arns}
    if condition:
        stmt["Condition"] = condition
    statements.append(stmt)
    statements.append({"Sid": "DescribeTable", "Effect": "Allow", "Action": ["dynamodb:DescribeTable"],
                       "Resource": table_arns})
    index_actions = [a for a in actions if a in INDEX_ACTIONS]
    if has_indexes and index_actions:
        idx: dict[str, Any] = {"Sid": "Indexes", "Effect": "Allow", "Action": index_actions,
                               "Resource": [f"{arn}/index/*" for arn in table_arns]}
        if condition:
            idx["Condition"] = condition
        statements.append(idx)
    kms_actions = KMS_READ if access == "read" else KMS_READ + KMS_WRITE
    kms = _kms_statement(cfg, ctx, kms_actions)
    if kms:
        statements.append(kms)
    return _document(statements)


def _document(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


# -- environment ---------------------------------------------------------------------------------------


def env_prefix(component: str) -> str:
    """``user-sessions`` -> ``USER_SESSIONS`` (upper case, non-alphanumerics as ``_``)."""
    return _env_prefix(component)


def is_real_value(value: str) -> bool:
    """False for a value a program must not read: a CloudFormation ``${...}`` placeholder or an ARN wildcard."""
    return "${" not in value and not value.endswith("/*")


def table_values(cfg: TableConfig, ctx: ArnContext) -> dict[str, str]:
    """The values a ``${component.X}`` reference can name."""
    names = [g.index_name for g in cfg.global_secondary_indexes] + [i.index_name for i in cfg.local_secondary_indexes]
    out = {"tableName": cfg.table_name, "tableArn": ctx.table_arn(cfg.table_name),
           "indexNames": ",".join(names)}
    want_stream = (cfg.stream_specification and cfg.stream_specification.stream_enabled) or cfg.global_tables
    if want_stream:
        out["streamArn"] = stream_arn(cfg, ctx)
    if cfg.dax_cluster and cfg.dax_cluster.enabled and cfg.dax_cluster.endpoint:
        out["daxEndpoint"] = cfg.dax_cluster.endpoint
    return out


def table_env(component: str, cfg: TableConfig, ctx: ArnContext) -> dict[str, str]:
    """What a handler needs to build its Table with no YAML and no pydantic (``Table.from_env(PREFIX)``).

    ``<PREFIX>_TABLE``, ``_KEY``, ``_KEY_TYPES``, ``_INDEXES`` + ``_INDEX_KEYS`` (indexes), ``_TTL`` (TTL on),
    ``_DAX_ENDPOINT`` (DAX endpoint set), in :mod:`ddbkit.core.envconfig`'s format, plus ``_TABLE_ARN`` when the
    account and region are known and ``_STREAM_ARN`` when the live stream ARN is (a ``/stream/*`` wildcard
    or a ``${AWS::...}`` placeholder is never written into a value a program reads; templates keep them).
    """
    p = env_prefix(component)
    env = table_env_vars(p, cfg.table_name, cfg.hash_key, cfg.range_key, types=cfg.attribute_types(),
                         indexes=cfg.index_keys(), ttl_attribute=cfg.ttl_attribute)
    values = table_values(cfg, ctx)
    for var, name in ((f"{p}_TABLE_ARN", "tableArn"), (f"{p}_STREAM_ARN", "streamArn"),
                      (f"{p}_DAX_ENDPOINT", "daxEndpoint")):
        if name in values and is_real_value(values[name]):
            env[var] = values[name]
    return env


_REF = re.compile(r"\$\{([A-Za-z0-9_.\-]+)\.([A-Za-z]+)\}")


def resolve_references(text: str, tables: Mapping[str, TableConfig], ctx: ArnContext,
                       contexts: Mapping[str, ArnContext] | None = None) -> str:
    """Replace ``${component.tableName|tableArn|streamArn|indexNames|daxEndpoint}`` in ``text``.

    ``contexts`` gives a per-component context (live stream ARN...); others use ``ctx``. Unknown
    components or attributes raise :class:`BindError` (a typo must not reach a deployment).
    """
    def sub(m: re.Match[str]) -> str:
        comp, attr = m.group(1), m.group(2)
        if comp not in tables:
            raise BindError(f"${{{comp}.{attr}}}: {comp!r} is not a dynamodb-table component")
        values = table_values(tables[comp], (contexts or {}).get(comp, ctx))
        if attr not in values:
            raise BindError(f"${{{comp}.{attr}}}: unknown attribute {attr!r}; use one of {sorted(values)}")
        return values[attr]

    return _REF.sub(sub, text)


@dataclass
class BindOutput:
    """What one bind gives its consumer: the IAM policy and the table's environment variables."""

    target: str
    access: str
    policy: dict[str, Any]
    environment: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "access": self.access, "policy": self.policy,
                "environment": self.environment}


@dataclass
class BindReport:
    """Every bind of one consumer component, and its whole environment (table vars + its own, resolved)."""

    component: str
    binds: list[BindOutput]
    environment: dict[str, str]
    #: The consumer's own variables left out of ``environment``, with why (a value only a template can fill).
    omitted: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"component": self.component, "binds": [b.to_dict() for b in self.binds],
                               "environment": self.environment}
        if self.omitted:
            out["omitted"] = self.omitted
        return out


def bind_outputs(loaded: ComponentFile, component: str, ctx: ArnContext | None = None,
                 tables: Mapping[str, TableConfig] | None = None,
                 contexts: Mapping[str, ArnContext] | None = None, kms: Any = None) -> BindReport:
    """For each bind of ``component``: its policy and env vars; plus the consumer's own variables resolved.

    ``tables`` overrides ``loaded.tables`` (pass tier-resolved configs); ``contexts`` gives per-table
    contexts (live stream ARN, created key ARN). With a ``kms`` client, the key ddbkit created for a table is
    looked up by its alias and granted by ARN (see :func:`created_key_arn`). Raises :class:`BindError` for a component without binds,
    an unknown access level or an unresolvable ``${...}`` reference.
    """
    ctx = ctx or ArnContext()
    tabs = dict(tables) if tables is not None else dict(loaded.tables)
    comp = loaded.component(component)
    if not comp.binds:
        raise BindError(f"component {component!r} has no binds")
    binds: list[BindOutput] = []
    env: dict[str, str] = {}
    for bind in comp.binds:
        if bind.to not in tabs:
            raise BindError(f"bind target {bind.to!r} is not a dynamodb-table component")
        cfg = tabs[bind.to]
        bctx = (contexts or {}).get(bind.to, ctx)
        if bctx.created_key_arn is None:
            found = created_key_arn(cfg, kms)
            if found:
                bctx = replace(bctx, created_key_arn=found)
        out = BindOutput(bind.to, bind.access, policy_for_access(cfg, bind.access, bctx, bind.leading_keys,
                                                                 bind.attributes),
                         table_env(bind.to, cfg, bctx))
        binds.append(out)
        env.update(out.environment)
    omitted: dict[str, str] = {}
    for key, value in _own_variables(comp.config).items():
        resolved = resolve_references(value, tabs, ctx, contexts)
        if is_real_value(resolved):
            env[key] = resolved
        else:  # an unknown account/region or stream label: a program must not read a placeholder
            omitted[key] = (f"{resolved!r} is not known yet (needs --account-id/--region, or the live table "
                            "for a stream ARN)")
    return BindReport(comp.name, binds, env, omitted)


def _own_variables(config: Mapping[str, Any]) -> dict[str, str]:
    env = config.get("environment")
    variables = env.get("variables") if isinstance(env, Mapping) else None
    if not isinstance(variables, Mapping):
        return {}
    return {str(k): str(v) for k, v in variables.items()}


def bind_template(loaded: ComponentFile, component: str, tables: Mapping[str, TableConfig] | None = None,
                  ctx: ArnContext | None = None) -> dict[str, Any]:
    """A CloudFormation template for ``component``'s binds: one ``AWS::IAM::ManagedPolicy`` per bind, and
    under ``Metadata.ddbkit.Environment.Variables`` the variables to give its function.

    The only place placeholders are kept: ARNs CloudFormation can fill at deploy time are ``Fn::Sub``
    (``${AWS::Partition}``/``${AWS::Region}``/``${AWS::AccountId}``), including ``<PREFIX>_TABLE_ARN``.
    A stream ARN is still left out of the variables (its label is only known once the table exists;
    take it from the table stack's ``StreamArn`` output); the stream-read policy keeps ``/stream/*``.
    """

    ctx = ctx or ArnContext()
    report = bind_outputs(loaded, component, ctx, tables=tables)
    tabs = dict(tables) if tables is not None else dict(loaded.tables)
    resources: dict[str, Any] = {}
    variables: dict[str, Any] = dict(report.environment)
    for b in report.binds:
        resources[logical_id(component, b.target, b.access, "Policy")] = {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {"Description": f"ddbkit: {b.access} access of {component} to {b.target}",
                           "PolicyDocument": sub(b.policy)}}
        variables.setdefault(f"{env_prefix(b.target)}_TABLE_ARN", ctx.table_arn(tabs[b.target].table_name))
    for key in report.omitted:
        resolved = resolve_references(_own_variables(loaded.component(component).config)[key], tabs, ctx)
        if not resolved.endswith("/*"):
            variables[key] = resolved
    return {"AWSTemplateFormatVersion": "2010-09-09",
            "Description": f"ddbkit bind: IAM policies and environment of {component}",
            "Metadata": {"ddbkit": {"Environment": {"Variables": sub(variables)}}},
            "Resources": resources}
