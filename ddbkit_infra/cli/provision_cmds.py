"""``ddbkit plan | apply | destroy | synth | bind | audit``: provisioning from the component file.

Every command resolves each table against its compliance tier first
(:func:`ddbkit_infra.compliance.resolve`) and works from the effective config. Refusals and AWS errors
print a message and exit 1.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from ddbkit_infra.cli.common import dump, fail, load_or_exit

if TYPE_CHECKING:
    from ddbkit.config import ComponentFile

    from ddbkit_infra.compliance import EffectiveConfig
    from ddbkit_infra.plan import AwsClients

TIERS = ["commercial", "fedramp-moderate", "fedramp-high"]


def register(group: click.Group) -> None:
    for cmd in (plan, apply, destroy, synth, bind, audit):
        group.add_command(cmd)


def make_clients(region: str | None, endpoint_url: str | None) -> AwsClients:
    """The clients every command uses (tests replace this to attach emulators or stubs)."""
    from ddbkit_infra.plan import AwsClients

    return AwsClients(region, endpoint_url=endpoint_url)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn provisioning, config and AWS errors into a message and exit code 1."""
    from botocore.exceptions import BotoCoreError, ClientError

    from ddbkit.config import ConfigError
    from ddbkit_infra.iam import BindError
    from ddbkit_infra.plan import ProvisioningError, UnsupportedOperationError

    try:
        yield
    except UnsupportedOperationError as err:
        fail(f"failed: {err.resource}: {err.reason}")
    except ProvisioningError as err:
        fail(f"refused: {err.resource}: {err.reason}")
    except (ConfigError, BindError) as err:
        fail(str(err))
    except (ClientError, BotoCoreError) as err:
        fail(f"AWS error: {err}")


def _effective(loaded: ComponentFile, component: str | None, tier: str | None = None) -> dict[str, EffectiveConfig]:
    from ddbkit_infra.compliance import resolve

    if component:
        loaded.table(component)
    names = [component] if component else list(loaded.tables)
    if not names:
        fail(f"{loaded.source}: no dynamodb-table component found")
    return {n: resolve(loaded.tables[n], tier) for n in names}


_file = click.argument("file", type=click.Path(dir_okay=False))
_component = click.option("--component", "-c", help="Only this table component (default: every table).")
_region = click.option("--region", help="Home region (default: the session's, else us-east-1).")
_endpoint = click.option("--endpoint-url", help="Send every AWS call here (moto server, local emulator).")


@click.command()
@_file
@_component
@_region
@_endpoint
@click.option("--show-unchanged", is_flag=True, help="List no-op resources too.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes (0: none).")
def plan(file: str, component: str | None, region: str | None, endpoint_url: str | None, show_unchanged: bool,
         as_json: bool, detailed_exitcode: bool) -> None:
    """Show what apply would change, field by field (create / update / delete / no-op / refuse).

    Exit 1 when a change is refused (key schema, LSIs, ...).
    """
    from ddbkit_infra.plan import make_plan

    loaded = load_or_exit(file)
    with _errors():
        clients = make_clients(region, endpoint_url)
        plans = [make_plan(eff, clients) for eff in _effective(loaded, component).values()]
    if as_json:
        click.echo(json.dumps([p.to_dict() for p in plans], indent=2, default=str))
    else:
        for p in plans:
            click.echo(p.render(show_noop=show_unchanged))
    refused = [c for p in plans for c in p.refused]
    if refused:
        fail("\n".join(f"refused: {c.label}: {c.reason}" for c in refused))
    if detailed_exitcode and any(p.pending for p in plans):
        sys.exit(2)


@click.command()
@_file
@_component
@_region
@_endpoint
@click.option("--dry-run", is_flag=True, help="Plan and list the calls; change nothing.")
@click.option("--poll", type=float, default=5.0, show_default=True, help="Seconds between waiter polls.")
@click.option("--timeout", type=float, default=3600.0, show_default=True, help="Seconds to wait per resource.")
@click.option("--skip-unsupported", is_flag=True,
              help="Local emulators only: skip calls the endpoint does not implement (reported), don't stop.")
def apply(file: str, component: str | None, region: str | None, endpoint_url: str | None, dry_run: bool,
          poll: float, timeout: float, skip_unsupported: bool) -> None:
    """Make the live resources match FILE (idempotent: a second apply changes nothing)."""
    from ddbkit_infra.apply import apply_plan
    from ddbkit_infra.plan import make_plan

    loaded = load_or_exit(file)
    with _errors():
        clients = make_clients(region, endpoint_url)
        for eff in _effective(loaded, component).values():
            p = make_plan(eff, clients)
            click.echo(p.render())
            if not p.pending:
                p.check()
                click.echo(f"{p.table}: nothing to do")
                continue
            result = apply_plan(p, clients, dry_run=dry_run, echo=click.echo, poll=poll, timeout=timeout,
                                skip_unsupported=skip_unsupported)
            verb = "would make" if dry_run else "made"
            skipped = f", skipped {len(result.skipped)} the endpoint lacks" if result.skipped else ""
            click.secho(f"{p.table}: {verb} {len(result.calls)} call(s){skipped}", fg="yellow" if dry_run else "green")


@click.command()
@_file
@_component
@_region
@_endpoint
@click.option("--dry-run", is_flag=True, help="List what would be deleted; delete nothing.")
@click.option("--poll", type=float, default=5.0, show_default=True, help="Seconds between waiter polls.")
def destroy(file: str, component: str | None, region: str | None, endpoint_url: str | None, dry_run: bool,
            poll: float) -> None:
    """Delete the table (replicas first), its alarms and scalable targets.

    Refuses while deletion protection is on. The KMS key, backup vault, recovery points and DAX
    cluster are kept.
    """
    from ddbkit_infra.apply import destroy as run_destroy

    loaded = load_or_exit(file)
    with _errors():
        clients = make_clients(region, endpoint_url)
        for eff in _effective(loaded, component).values():
            run_destroy(eff.config, clients, dry_run=dry_run, echo=click.echo, poll=poll)


@click.command()
@_file
@_component
@click.option("--region", help="The stack's region (default: the first globalTables region, if any).")
@click.option("--tier", type=click.Choice(TIERS), help="Synthesise for this tier instead of the config's.")
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write here instead of stdout.")
def synth(file: str, component: str | None, region: str | None, tier: str | None, fmt: str,
          output: str | None) -> None:
    """Print a CloudFormation template for a table component (one component per template)."""
    from ddbkit_infra.cloudformation import render, synthesize

    loaded = load_or_exit(file)
    with _errors():
        effs = _effective(loaded, component, tier)
        if len(effs) > 1:
            fail(f"{file} has {len(effs)} tables ({', '.join(effs)}); choose one with --component")
        text = render(synthesize(next(iter(effs.values())), region=region), fmt)
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        click.echo(text, nl=False)


@click.command()
@_file
@click.option("--component", "-c", required=True, help="The consuming component (the one with binds:).")
@click.option("--account-id", help="Account for ARNs (default: STS, else ${AWS::AccountId}).")
@click.option("--region", help="Region for ARNs (default: ${AWS::Region}).")
@click.option("--endpoint-url", help="Ask STS (and DynamoDB with --describe) here (local emulator).")
@click.option("--describe", is_flag=True,
              help="Describe the bound tables for their live stream ARNs (else *_STREAM_ARN is left out).")
@click.option("--format", "fmt", type=click.Choice(["json", "yaml", "cloudformation"]), default="json",
              show_default=True, help="cloudformation: a template (YAML) with the policies; ARNs as Fn::Sub.")
def bind(file: str, component: str, account_id: str | None, region: str | None, endpoint_url: str | None,
         describe: bool, fmt: str) -> None:
    """Print each bind's least-privilege IAM policy and the component's environment variables.

    Environment values are real or left out (no ${AWS::...} placeholder, no /stream/* wildcard); only
    --format cloudformation keeps placeholders, as Fn::Sub in a template."""
    from ddbkit_infra.iam import arn_context, bind_outputs, bind_template

    loaded = load_or_exit(file)
    if fmt == "cloudformation":
        from ddbkit_infra.cloudformation import render

        with _errors():
            effs = {n: e.config for n, e in _effective(loaded, None).items()}
            click.echo(render(bind_template(loaded, component, tables=effs)), nl=False)
        return
    with _errors():
        sts: Any = None
        if account_id is None:
            sts = _quick_sts(region, endpoint_url)
        ctx = arn_context(account_id, region, sts)
        effs = {n: e.config for n, e in _effective(loaded, None).items()}
        contexts = _live_contexts(loaded, component, effs, ctx, region, endpoint_url) if describe else None
        report = bind_outputs(loaded, component, ctx, tables=effs, contexts=contexts)
    click.echo(dump(report.to_dict(), fmt))


def _live_contexts(loaded: ComponentFile, component: str, effs: dict[str, Any], ctx: Any, region: str | None,
                   endpoint_url: str | None) -> dict[str, Any]:
    """Per bound table, the context with its live ``LatestStreamArn`` (DescribeTable; a table that cannot be
    described keeps ``ctx``, so its stream ARN is left out rather than guessed)."""
    import dataclasses

    import boto3
    from botocore.config import Config

    kwargs: dict[str, Any] = {"region_name": region or (None if ctx.has_placeholders else ctx.region),
                              "config": Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1})}
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
    client = boto3.client("dynamodb", **kwargs)
    out: dict[str, Any] = {}
    for bind in loaded.component(component).binds:
        cfg = effs.get(bind.to)
        if cfg is None:
            continue
        try:
            arn = client.describe_table(TableName=cfg.table_name)["Table"].get("LatestStreamArn")
        except Exception as err:  # noqa: BLE001 - report and leave the ARN out
            click.secho(f"bind: could not describe {cfg.table_name}: {err}", fg="yellow", err=True)
            continue
        if arn:
            out[bind.to] = dataclasses.replace(ctx, stream_arn=str(arn))
    return out


def _quick_sts(region: str | None, endpoint_url: str | None) -> Any:
    """An STS client that gives up fast (no retries, short timeouts): bind must work offline."""
    import boto3
    from botocore.config import Config

    kwargs: dict[str, Any] = {"region_name": region or "us-east-1",
                              "config": Config(connect_timeout=2, read_timeout=2, retries={"max_attempts": 1})}
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
    try:
        return boto3.client("sts", **kwargs)
    except Exception:  # noqa: BLE001 - no region/credentials: placeholders
        return None


@click.command()
@click.argument("file", type=click.Path(dir_okay=False), required=False)
@_component
@click.option("--table", help="Audit this live table by name (no FILE needed).")
@click.option("--tier", type=click.Choice(TIERS),
              help="Tier to check against (default: the config's, else the table's compliance-framework tag).")
@_region
@_endpoint
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def audit(file: str | None, component: str | None, table: str | None, tier: str | None, region: str | None,
          endpoint_url: str | None, as_json: bool) -> None:
    """Check live tables against their compliance tier; exit 1 if any control fails."""
    from ddbkit_infra.audit import audit_table

    if not file and not table:
        fail("give a component FILE or --table NAME")
    reports = []
    with _errors():
        clients = make_clients(region, endpoint_url)
        if file:
            loaded = load_or_exit(file)
            for eff in _effective(loaded, component, tier).values():
                if table and eff.config.table_name != table:
                    continue
                reports.append(audit_table(clients, eff.config.table_name, tier or eff.framework, eff.config))
        else:
            assert table is not None
            reports.append(audit_table(clients, table, tier))
    if not reports:
        fail(f"no table {table!r} in {file}")
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in reports], indent=2))
    else:
        for r in reports:
            click.echo(r.render())
    if not all(r.passed for r in reports):
        sys.exit(1)
