"""The spec's API reference in Python: :class:`DynamoDBTableComponent` (issue #29).

The product spec ends with a ``DynamodbTableComponent`` whose ``synth()`` creates the resources,
``getCapabilities()`` returns the ``database:dynamodb`` capability and ``getType()`` returns
``dynamodb-table``, with ``DynamodbTableConfig`` and ``DYNAMODB_TABLE_CONFIG_SCHEMA`` as its configuration
interfaces. This module is that object: one table component, built from a component file, a loaded
:class:`~ddbkit.config.Component` or a config mapping, with its compliance tier resolved once, and every
operation the ``ddbkit`` command line offers as a method with the same semantics and errors. The CLI commands
(``validate``, ``plan``, ``apply``, ``synth``, ``bind``, ``audit``) are shells over these methods: one path.

>>> comp = DynamoDBTableComponent.from_file("examples/session-store/component.yaml", "user-sessions")
>>> comp.get_type()
'dynamodb-table'
>>> comp.synth()["Resources"]["Table"]["Type"]                                   # doctest: +SKIP
'AWS::DynamoDB::Table'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ddbkit.config import (
    Component,
    ComponentFile,
    ComplianceFramework,
    ConfigError,
    ConfigIssue,
    TableConfig,
    check_table_warnings,
    dynamodb_table_config_schema,
    format_path,
    load_component_file,
    load_component_text,
)
from ddbkit_infra.compliance import AppliedDefault, EffectiveConfig, resolve

if TYPE_CHECKING:
    from ddbkit import Table
    from ddbkit_infra.apply import ApplyResult
    from ddbkit_infra.audit import AuditReport
    from ddbkit_infra.iam.binds import ArnContext, BindReport
    from ddbkit_infra.plan import AwsClients, Plan

__all__ = [
    "COMPONENT_TYPE", "CAPABILITY", "DynamoDBTableComponent", "DynamodbTableComponent", "DynamoDBTableConfig",
    "DynamodbTableConfig", "DYNAMODB_TABLE_CONFIG_SCHEMA", "Validation", "ConsentRequest", "ConsentRequired",
    "ChangeRefused", "ApplyProgress", "ApplyOutcome", "BindContextMissing", "aws_clients", "quick_client",
]

#: The component type (the spec's ``getType()``).
COMPONENT_TYPE = "dynamodb-table"
#: The capability a table component provides (the spec's ``getCapabilities()`` key).
CAPABILITY = "database:dynamodb"

#: The config model of a table component (the spec's ``DynamodbTableConfig``).
DynamoDBTableConfig = TableConfig
DynamodbTableConfig = TableConfig

#: The JSON Schema of the config block (the spec's ``DYNAMODB_TABLE_CONFIG_SCHEMA``), built on first use.
DYNAMODB_TABLE_CONFIG_SCHEMA: dict[str, Any]

Echo = Callable[..., None]  # echo(text, style=None): style names what the line is, for a terminal's colours


def __getattr__(name: str) -> Any:
    # The JSON Schema of the config block (the spec's DYNAMODB_TABLE_CONFIG_SCHEMA), built on first use.
    if name == "DYNAMODB_TABLE_CONFIG_SCHEMA":
        return dynamodb_table_config_schema()
    raise AttributeError(f"module 'ddbkit_infra.component' has no attribute {name!r}")


# --------------------------------------------------------------------------------------------------
# Results and errors
# --------------------------------------------------------------------------------------------------


@dataclass
class Validation:
    """What :meth:`DynamoDBTableComponent.validate` found: the tier-resolved config, the settings the tier
    filled in (and why), and the advisories (``monitoring.notify`` ...) that do not fail validation.
    ``warnings`` are ``(where, message, rule)`` with ``where`` a path in the file (``components[0].config...``)."""

    component: str
    framework: ComplianceFramework
    config: TableConfig
    defaults: list[AppliedDefault] = field(default_factory=list)
    warnings: list[tuple[str, str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The effective config as the spec's camelCase mapping (what ``ddbkit validate --json`` prints)."""
        return self.config.to_yaml_dict()


@dataclass(frozen=True)
class ConsentRequest:
    """What :meth:`DynamoDBTableComponent.apply` asks consent for: ``question`` (``apply 2 change(s) to T in
    R``), the destructive/disruptive ``risks`` in words, and ``replace_table`` (the table's name) when the
    table is to be deleted with every item and created anew."""

    question: str
    risks: tuple[str, ...] = ()
    replace_table: str | None = None


class ConsentRequired(Exception):
    """A destructive or disruptive change (or a table replacement) and no consent for it: nothing changed."""

    def __init__(self, request: ConsentRequest) -> None:
        self.request = request
        if request.replace_table is not None:
            text = (f"table {request.replace_table}: replacing it deletes every item: pass consent=True "
                    "(ddbkit apply: confirm on a terminal or pass --yes)")
        else:
            more = f" (and {len(request.risks) - 1} more)" if len(request.risks) > 1 else ""
            text = (f"{request.question}: refused: {request.risks[0] if request.risks else 'no consent'}{more}; "
                    "pass consent=True to proceed (ddbkit apply: --yes)")
        super().__init__(text)


class ChangeRefused(Exception):
    """The plan holds a change DynamoDB cannot make in place (key schema, key types, LSIs): nothing changed.
    ``replaceable`` says whether replacing the table (``replace_table=True``) would make it."""

    def __init__(self, plan: Plan, replaceable: bool) -> None:
        self.plan = plan
        self.replaceable = replaceable
        hint = ("; to replace the table (delete it and every item, then create it anew) pass --replace-table"
                if replaceable else "")
        super().__init__("\n".join(f"error: {c.label}: refused: {c.reason}" for c in plan.refused) + hint)


class BindContextMissing(ValueError):
    """:meth:`DynamoDBTableComponent.bind` cannot write real ARNs: the region or the account is unknown."""


@dataclass
class ApplyProgress:
    """Filled in while :meth:`DynamoDBTableComponent.apply` runs, so a caller cut short (Ctrl-C) can say what
    was done and what was not: the calls planned and the result filling in."""

    calls: list[str] = field(default_factory=list)
    result: ApplyResult | None = None


@dataclass
class ApplyOutcome:
    """What :meth:`DynamoDBTableComponent.apply` did to one table."""

    table: str
    plan: Plan
    result: ApplyResult | None = None
    replaced: bool = False
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        """Whether calls were made (False for a dry run or nothing to do)."""
        return bool(self.result and self.result.calls and not self.dry_run) or (self.replaced and not self.dry_run)


# --------------------------------------------------------------------------------------------------
# The component
# --------------------------------------------------------------------------------------------------

_AUTO: Any = object()


class DynamoDBTableComponent:
    """One ``dynamodb-table`` component of a component file, tier resolved, with the CLI's operations.

    Build it with :meth:`from_file`, :meth:`from_component` or :meth:`from_config` (the constructor takes an
    already loaded :class:`~ddbkit.config.ComponentFile`). ``tier`` overrides the config's
    ``complianceFramework``; a contradiction between config and tier raises :class:`~ddbkit.config.ConfigError`
    here, once. Where to talk to AWS: ``region``, ``endpoint_url`` (moto's server, DynamoDB Local),
    ``profile`` or ``session`` (a boto3 Session), or ready ``clients`` (:class:`ddbkit_infra.plan.AwsClients`).
    Nothing is sent until a method needs it (:meth:`plan`, :meth:`apply`, :meth:`audit`, :meth:`table`,
    :meth:`bind` asking STS).
    """

    def __init__(self, file: ComponentFile, name: str | None = None, *,
                 tier: ComplianceFramework | str | None = None, region: str | None = None,
                 endpoint_url: str | None = None, profile: str | None = None, session: Any = None,
                 clients: AwsClients | None = None) -> None:
        config = file.table(name)  # ConfigError naming the file's table components when unknown/ambiguous
        self.name: str = name if name is not None else next(iter(file.tables))
        self.file = file
        self.index = next(i for i, c in enumerate(file.components) if c.name == self.name)
        self.effective: EffectiveConfig = resolve(config, tier)
        self.endpoint_url = endpoint_url
        self.profile = profile
        self._region = region
        self._session = session
        self._clients = clients
        self._tier = tier

    # -- construction -------------------------------------------------------------------------------

    @classmethod
    def from_file(cls, path: str | Path, name: str | None = None, **options: Any) -> DynamoDBTableComponent:
        """The table component ``name`` of the component file at ``path`` (``name`` may be left out when the
        file has one table). Raises :class:`~ddbkit.config.ConfigError` with YAML lines for a bad file."""
        return cls(load_component_file(path), name, **options)

    @classmethod
    def all_from_file(cls, path: str | Path | ComponentFile, **options: Any) -> list[DynamoDBTableComponent]:
        """Every table component of a file, in file order (what the CLI works on without ``--component``)."""
        loaded = path if isinstance(path, ComponentFile) else load_component_file(path)
        return [cls(loaded, name, **options) for name in loaded.tables]

    @classmethod
    def from_component(cls, component: Component, file: ComponentFile | None = None,
                       **options: Any) -> DynamoDBTableComponent:
        """From a loaded :class:`~ddbkit.config.Component` (an entry of ``components:``). Give the ``file``
        it came from for binds to it (the VPC endpoint and resource policies derive from them); without it the
        component stands alone."""
        if component.type != COMPONENT_TYPE:
            raise ConfigError([ConfigIssue(("type",), "component.type",
                                           f"component {component.name!r} is a {component.type!r}, not a "
                                           f"{COMPONENT_TYPE!r}")])
        if file is None or component.name not in file.tables:
            file = _file_of([component.to_yaml_dict()])
        return cls(file, component.name, **options)

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | TableConfig, name: str | None = None,
                    **options: Any) -> DynamoDBTableComponent:
        """From the ``config:`` block alone (a mapping in the spec's camelCase, or a ``TableConfig``), checked
        with DynamoDB's rules as a file would be. ``name`` is the component's name (default: the table
        name), used for ``${name.tableName}`` references and the bind environment's prefix."""
        data = config.to_yaml_dict() if isinstance(config, TableConfig) else dict(config)
        component_name = name or str(data.get("tableName") or "table")
        return cls(_file_of([{"name": component_name, "type": COMPONENT_TYPE, "config": data}]), component_name,
                   **options)

    # -- the spec's API reference --------------------------------------------------------------------

    def get_type(self) -> str:
        """``"dynamodb-table"`` (the spec's ``getType()``)."""
        return COMPONENT_TYPE

    def synth(self, format: Literal["dict", "json", "yaml"] = "dict", *,  # noqa: A002 - the spec's word
              region: str | None = None) -> dict[str, Any] | str:
        """The CloudFormation template ``ddbkit synth`` writes for this table (table, GSIs, auto scaling,
        backups, alarms, security surroundings): a dict, or its ``json``/``yaml`` text. ``region`` is the
        stack's region (default: the first ``globalTables`` region, if any), as ``synth --region``."""
        from ddbkit_infra.synth.cloudformation import render, synthesize

        template = synthesize(self.effective, region=region, **self._bind_inputs())
        if format == "dict":
            return template
        if format not in ("json", "yaml"):
            raise ValueError(f"format must be 'dict', 'json' or 'yaml', not {format!r}")
        return render(template, format)

    def get_capabilities(self, *, account_id: str | None = None, region: str | None = None,
                         stream_arn: str | None = None) -> dict[str, dict[str, Any]]:
        """``{"database:dynamodb": {...}}``: what a binder needs (the spec's ``getCapabilities()``).

        ``tableName``, ``tableArn``, ``streamArn`` (when streams are on), ``indexNames`` (comma-separated)
        and ``daxEndpoint`` are exactly what ``${<component>.tableName}``-style references resolve to (the
        same function computes both); plus ``indexes`` (a list), ``region``, ``kmsKey`` (the key's ARN, or
        None for AWS's own key) and ``environment`` (the variables ``bind`` gives a consumer:
        ``Table.from_env`` reads them). Offline: an unknown account or region stays a ``${AWS::...}``
        placeholder (give ``account_id``/``region``), a stream ARN not given is ``.../stream/*``.
        """
        from ddbkit_infra.iam.binds import arn_context, table_env, table_values

        ctx = self._arn_context(arn_context(account_id, region or self.known_region()), stream_arn)
        cfg = self.config
        values: dict[str, Any] = dict(table_values(cfg, ctx))
        values["indexes"] = [g.index_name for g in cfg.global_secondary_indexes] + \
            [i.index_name for i in cfg.local_secondary_indexes]
        values["region"] = ctx.region
        values["kmsKey"] = self._kms_key(ctx)
        values["environment"] = table_env(self.name, cfg, ctx)
        return {CAPABILITY: values}

    # camelCase names of the spec, for code ported from it
    getType = get_type  # noqa: N815
    getCapabilities = get_capabilities  # noqa: N815

    # -- what the component is -----------------------------------------------------------------------

    @property
    def config(self) -> TableConfig:
        """The tier-resolved config (what every operation works from)."""
        return self.effective.config

    @property
    def framework(self) -> ComplianceFramework:
        """The compliance tier this component was resolved against."""
        return self.effective.framework

    @property
    def table_name(self) -> str:
        return self.config.table_name

    def known_region(self) -> str | None:
        """The region when known without asking AWS: ``region=``, else ``AWS_REGION``, else
        ``AWS_DEFAULT_REGION`` / the profile's (the one region rule, ``ddbkit.core.region``)."""
        if self._region:
            return self._region
        from ddbkit.core.region import resolve_region

        return resolve_region(None, self._boto_session() if (self.profile or self._session) else None)

    @property
    def clients(self) -> AwsClients:
        """The boto3 clients plan/apply/audit use (built on first use; ``clients=`` gives ready ones)."""
        if self._clients is None:
            self._clients = aws_clients(self._region, self.endpoint_url,
                                        self._boto_session() if (self.profile or self._session) else None)
        return self._clients

    @property
    def region(self) -> str:
        """The region plan/apply/audit work in (the clients' region)."""
        return self.clients.region

    # -- the CLI's operations ------------------------------------------------------------------------

    def validate(self) -> Validation:
        """The effective config, the tier's filled-in settings and the advisories, as ``ddbkit validate``
        reports them. DynamoDB's rules and the tier's were checked when the component was built (a
        :class:`~ddbkit.config.ConfigError` then), so this never fails; it says what was decided."""
        warnings = [(format_path(("components", self.index, "config", *issue.path)), issue.message, issue.rule)
                    for issue in check_table_warnings(self.config)]
        return Validation(self.name, self.framework, self.config, list(self.effective.defaults), warnings)

    def plan(self) -> Plan:
        """Read the live table and its surroundings and diff them with the config, field by field, as
        ``ddbkit plan``: the returned :class:`~ddbkit_infra.plan.Plan` renders itself and lists what is
        pending and what is refused (a change DynamoDB cannot make in place)."""
        from ddbkit_infra.plan import make_plan

        return make_plan(self.effective, self.clients, **self._bind_inputs())

    def apply(self, *, consent: bool | Callable[[ConsentRequest], bool] = False, dry_run: bool = False,
              replace_table: bool = False, poll: float = 5.0, timeout: float = 3600.0,
              skip_unsupported: bool = False, echo: Echo | None = None, on_wait: Any = None,
              progress: ApplyProgress | None = None) -> ApplyOutcome:
        """Make the live table match the config (idempotent), as ``ddbkit apply``.

        Consent is an explicit argument, as the CLI asks it: ``consent=True`` is ``--yes``; ``False`` (the
        default) is the CLI without a terminal: a plan with nothing destructive or disruptive goes on, one
        with such a change, or a table replacement, raises :class:`ConsentRequired` before anything changes.
        A callable is asked with a :class:`ConsentRequest` before every apply (the CLI asks a person through
        it) and must return True to go on. A change DynamoDB cannot make in place raises
        :class:`ChangeRefused` unless ``replace_table`` (delete the table with every item, create it anew:
        asked for separately). ``dry_run`` lists the calls and changes nothing. ``echo(text, style=None)``
        receives what the CLI prints; ``progress`` is filled in as the calls are made.
        """
        from ddbkit_infra.apply import ApplyResult, apply_plan
        from ddbkit_infra.apply import destroy as run_destroy
        from ddbkit_infra.plan.risk import assess, replaceable

        def say(text: str, style: str | None = None) -> None:
            if echo is not None:
                echo(text, style)

        def line(text: str) -> None:
            say(text)

        progress = progress if progress is not None else ApplyProgress()
        table, clients = self.table_name, self.clients
        plan = self.plan()
        say(plan.render())
        if plan.refused and not (replace_table and replaceable(plan)):
            raise ChangeRefused(plan, replaceable(plan))
        replaced = bool(plan.refused)
        if replaced:  # replace_table and only table-level refusals
            say(f"destructive: table {table} is REPLACED: deleted with every item, then created from FILE",
                "replace")
            self._consent(consent, ConsentRequest(f"delete table {table} in {clients.region} and every item in it",
                                                  replace_table=table), dry_run)
            progress.calls = [f"delete table {table} (replacing it)"]
            run_destroy(self.config, clients, dry_run=dry_run, echo=line, poll=poll, timeout=timeout,
                        on_wait=on_wait)
            if dry_run:
                say(f"{table}: would replace the table (dry run)", "dry-run")
                return ApplyOutcome(table, plan, None, replaced=True, dry_run=True)
            plan = self.plan()
            say(plan.render())
        if not plan.pending:
            plan.check()
            say(f"{plan.table}: nothing to do")
            return ApplyOutcome(table, plan, None, replaced=replaced, dry_run=dry_run)
        risks = assess(plan)
        for risk in risks:
            say(f"  {risk}", risk.kind)
        if not replaced:  # a replacement was consented to by the table's name already
            self._consent(consent, ConsentRequest(f"apply {len(plan.pending)} change(s) to {table} in "
                                                  f"{clients.region}", tuple(str(r) for r in risks)), dry_run)
        progress.calls = [c.describe() for change in plan.pending for c in change.calls]
        progress.result = result = ApplyResult()
        apply_plan(plan, clients, dry_run=dry_run, echo=line, poll=poll, timeout=timeout,
                   skip_unsupported=skip_unsupported, on_wait=on_wait, result=result)
        verb = "would make" if dry_run else "made"
        skipped = f", skipped {len(result.skipped)} the endpoint lacks" if result.skipped else ""
        say(f"{plan.table}: {verb} {len(result.calls)} call(s){skipped}", "dry-run" if dry_run else "done")
        return ApplyOutcome(table, plan, result, replaced=replaced, dry_run=dry_run)

    def bind(self, consumer: str, *, account_id: str | None = None, region: str | None = None,
             describe: bool = False, sts: Any = _AUTO, warn: Callable[[str], None] | None = None) -> BindReport:
        """The least-privilege IAM policy of each bind of component ``consumer`` (in this component's file)
        and the consumer's environment variables, as ``ddbkit bind``: the consumer's whole report, every
        table it binds (this one included), each table resolved against its own tier.

        ARNs are real: the region is ``region`` or :meth:`known_region`, the account ``account_id`` or STS
        GetCallerIdentity with this component's credentials (``sts`` gives the client; None: do not ask);
        when either stays unknown, :class:`BindContextMissing`. ``describe`` reads each bound table's live
        stream ARN and the KMS keys ddbkit created (else ``*_STREAM_ARN`` is left out); ``warn`` hears a
        table that could not be described."""
        from ddbkit_infra.iam.binds import arn_context, bind_outputs

        region = region or self.known_region()
        if region is None:
            raise BindContextMissing(
                "bind: no AWS region for the ARNs: pass --region REGION or set AWS_REGION (or a region in your AWS "
                "profile), or use --format cloudformation (a template CloudFormation fills in)")
        if account_id is None and sts is _AUTO:
            sts = quick_client(self._boto_session(), "sts", region, self.endpoint_url)
        ctx = arn_context(account_id, region, sts if account_id is None else None)
        if ctx.has_placeholders:
            raise BindContextMissing(
                "bind: the AWS account id for the ARNs is unknown: pass --account-id ACCOUNT, or make AWS "
                "credentials available (bind asks STS GetCallerIdentity), or use --format cloudformation (a "
                "template CloudFormation fills in)")
        tables = self._file_tables()
        contexts = self._live_contexts(consumer, tables, ctx, region, warn) if describe else None
        kms = quick_client(self._boto_session(), "kms", region, self.endpoint_url) if describe else None
        return bind_outputs(self.file, consumer, ctx, tables=tables, contexts=contexts, kms=kms)

    def bind_template(self, consumer: str) -> dict[str, Any]:
        """``ddbkit bind --format cloudformation``: a template with the consumer's policies, ARNs as
        ``Fn::Sub`` that CloudFormation fills in (no region or account needed)."""
        from ddbkit_infra.iam.binds import bind_template

        return bind_template(self.file, consumer, tables=self._file_tables())

    def audit(self, tier: ComplianceFramework | str | None = None) -> AuditReport:
        """Check the live table against its compliance tier (``tier`` overrides it), as ``ddbkit audit``:
        each control passes, fails or is "not checked" (what a local emulator cannot answer)."""
        from ddbkit_infra.audit import audit_table

        return audit_table(self.clients, self.table_name, tier or self.framework, self.config)

    def table(self, **kwargs: Any) -> Table:
        """A runtime :class:`ddbkit.Table` for this component: its name, key schema and DAX endpoint from the
        config, the region/endpoint/session of this component unless ``kwargs`` say otherwise."""
        from ddbkit import Table

        kwargs.setdefault("region_name", self.known_region())
        if self.endpoint_url:
            kwargs.setdefault("endpoint_url", self.endpoint_url)
        if self.profile or self._session:
            kwargs.setdefault("session", self._boto_session())
        return Table.from_config(self.config, **kwargs)

    def __repr__(self) -> str:
        return (f"DynamoDBTableComponent({self.name!r}, table={self.table_name!r}, "
                f"tier={self.framework.value!r})")

    # -- helpers -------------------------------------------------------------------------------------

    def _boto_session(self) -> Any:
        if self._session is None:
            import boto3

            self._session = boto3.Session(profile_name=self.profile, region_name=self._region)
        return self._session

    def _bind_inputs(self) -> dict[str, Any]:
        """The file's binds to this table, as make_plan/synthesize take them (the VPC endpoint policy's
        actions and the resource policy's grants to other accounts)."""
        from ddbkit_infra.iam.security import bind_accesses, bind_grants

        return {"bind_accesses": bind_accesses(self.file, self.name), "bind_grants": bind_grants(self.file, self.name)}

    def _file_tables(self) -> dict[str, TableConfig]:
        """Every table of the file, tier-resolved (this one as resolved, the others against their own tier)."""
        out: dict[str, TableConfig] = {}
        for name, cfg in self.file.tables.items():
            out[name] = self.config if name == self.name else resolve(cfg).config
        return out

    def _arn_context(self, ctx: ArnContext, stream_arn: str | None) -> ArnContext:
        return dataclasses.replace(ctx, stream_arn=stream_arn) if stream_arn else ctx

    def _kms_key(self, ctx: ArnContext) -> str | None:
        from ddbkit_infra.resources import key_arn, kms_alias_name, sse_target

        target = sse_target(self.config)
        if target is None or target.kind == "owned":
            return None
        if target.kind == "create":
            return ctx.created_key_arn or key_arn(kms_alias_name(self.table_name), ctx.region, ctx.account,
                                                  ctx.partition)
        return key_arn(target.key or "alias/aws/dynamodb", ctx.region, ctx.account, ctx.partition)

    def _live_contexts(self, consumer: str, tables: Mapping[str, TableConfig], ctx: ArnContext, region: str,
                       warn: Callable[[str], None] | None) -> dict[str, ArnContext]:
        """Per bound table, the context with its live ``LatestStreamArn`` (DescribeTable; a table that cannot
        be described keeps ``ctx``, so its stream ARN is left out rather than guessed)."""
        from botocore.config import Config

        kwargs: dict[str, Any] = {"region_name": region,
                                  "config": Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1})}
        if self.endpoint_url:
            kwargs["endpoint_url"] = self.endpoint_url
        client = self._boto_session().client("dynamodb", **kwargs)
        out: dict[str, ArnContext] = {}
        for bind in self.file.component(consumer).binds:
            cfg = tables.get(bind.to)
            if cfg is None:
                continue
            try:
                arn = client.describe_table(TableName=cfg.table_name)["Table"].get("LatestStreamArn")
            except Exception as err:  # noqa: BLE001 - report and leave the ARN out
                if warn is not None:
                    warn(f"bind: could not describe {cfg.table_name}: {err}")
                continue
            if arn:
                out[bind.to] = dataclasses.replace(ctx, stream_arn=str(arn))
        return out

    @staticmethod
    def _consent(consent: bool | Callable[[ConsentRequest], bool], request: ConsentRequest, dry_run: bool) -> None:
        if dry_run or consent is True:
            return
        if callable(consent):
            if not consent(request):
                raise ConsentRequired(request)
            return
        if request.replace_table is not None or request.risks:
            raise ConsentRequired(request)


#: The spec's spelling.
DynamodbTableComponent = DynamoDBTableComponent


def aws_clients(region: str | None, endpoint_url: str | None, session: Any = None) -> AwsClients:
    """The boto3 clients plan/apply/audit use (the component's and the CLI's): at an ``endpoint_url`` (an
    emulator, which answers what it lacks with a 500) with two attempts, not seconds of retries."""
    from ddbkit_infra.plan import AwsClients

    config = None
    if endpoint_url:
        from botocore.config import Config

        config = Config(retries={"total_max_attempts": 2, "mode": "standard"})
    return AwsClients(region, endpoint_url=endpoint_url, session=session, config=config)


def quick_client(session: Any, service: str, region: str, endpoint_url: str | None = None) -> Any:
    """A ``service`` client of ``session`` that gives up fast (one attempt, 2 s timeouts), or None when
    it cannot be made (no region, no credentials): bind asks STS and KMS with it and must work offline."""
    from botocore.config import Config

    kwargs: dict[str, Any] = {"region_name": region,
                              "config": Config(connect_timeout=2, read_timeout=2, retries={"max_attempts": 1})}
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
    try:
        return session.client(service, **kwargs)
    except Exception:  # noqa: BLE001 - no region/credentials: placeholders
        return None


def _file_of(components: list[dict[str, Any]]) -> ComponentFile:
    """A component file holding ``components`` (checked as a file is: structure, DynamoDB's rules)."""
    import json

    return load_component_text(json.dumps({"components": components}), "<config>")
