"""``ddbkit plan | apply | destroy | synth | bind | audit``: provisioning from the component file.

Every command resolves each table against its compliance tier first
(:func:`ddbkit_infra.compliance.resolve`) and works from the effective config. Refusals and AWS errors
print ``error: <what>: <why>`` and exit 1. ``apply`` shows the plan, says what is destructive or
disruptive, asks on a terminal (``--yes`` skips) and shows progress while it waits.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from ddbkit_infra.cli.common import (
    EXIT_USAGE,
    PROFILE_HELP,
    REGION_HELP,
    consent,
    dump,
    explain,
    fail,
    interrupts,
    known_region,
    load_or_exit,
    resolve_region,
    session,
)

if TYPE_CHECKING:
    from ddbkit.config import ComponentFile

    from ddbkit_infra.component import DynamoDBTableComponent
    from ddbkit_infra.plan import AwsClients

TIERS = ["commercial", "fedramp-moderate", "fedramp-high"]


def register(group: click.Group) -> None:
    for cmd in (plan, apply, destroy, synth, bind, audit):
        group.add_command(cmd)


def make_clients(region: str | None, endpoint_url: str | None, *, profile: str | None = None) -> AwsClients:
    """The clients every command uses (tests replace this to attach emulators or stubs)."""
    from ddbkit_infra.component import aws_clients

    return aws_clients(region, endpoint_url, session(region, profile) if profile else None)


def _clients(region: str | None, profile: str | None, endpoint_url: str | None) -> AwsClients:
    """The region rule, then :func:`make_clients` (called with two arguments unless --profile is given)."""
    resolved = resolve_region(region, profile)
    if profile:
        return make_clients(resolved, endpoint_url, profile=profile)
    return make_clients(resolved, endpoint_url)


def interactive() -> bool:
    """Whether apply/destroy can ask a person (stdin and stdout are terminals). Tests replace this."""
    from ddbkit_infra.cli.common import interactive as terminal

    return terminal()


@contextmanager
def _errors(what: str, region: str | None = None, endpoint: str | None = None) -> Iterator[None]:
    """Turn provisioning, config and AWS errors into ``error: <what>: <why>`` and exit code 1."""
    from botocore.exceptions import BotoCoreError, ClientError

    from ddbkit.config import ConfigError
    from ddbkit.errors import DdbkitError
    from ddbkit_infra.iam.binds import BindError
    from ddbkit_infra.plan import ProvisioningError, UnsupportedOperationError

    try:
        yield
    except UnsupportedOperationError as err:
        fail(f"{err.resource}: {err.reason}")
    except ProvisioningError as err:
        fail(f"{err.resource}: refused: {err.reason}")
    except (ConfigError, BindError) as err:
        fail(str(err))
    except (ClientError, BotoCoreError, DdbkitError) as err:
        fail(f"{what}: {explain(err, region, endpoint)}")


def _components(loaded: ComponentFile, component: str | None, tier: str | None = None,
                clients: AwsClients | None = None, **options: Any) -> list[DynamoDBTableComponent]:
    """The file's table components (or ``component`` alone), each resolved against its tier: the objects every
    command here is a shell over (:class:`ddbkit_infra.component.DynamoDBTableComponent`)."""
    from ddbkit_infra.component import DynamoDBTableComponent

    if component:
        loaded.table(component)
    names = [component] if component else list(loaded.tables)
    if not names:
        fail(f"{loaded.source}: no dynamodb-table component found")
    return [DynamoDBTableComponent(loaded, n, tier=tier, clients=clients, **options) for n in names]


def echo_styled(text: str, style: str | None = None) -> None:
    """A line from :meth:`DynamoDBTableComponent.apply`, coloured on a terminal by what it says."""
    colours = {"replace": ("red", True), "destructive": ("red", False), "disruptive": ("yellow", False),
               "dry-run": ("yellow", False), "done": ("green", False)}
    if style in colours:
        fg, bold = colours[style]
        click.secho(text, fg=fg, bold=bold)
    else:
        click.echo(text)


_file = click.argument("file", type=click.Path(dir_okay=False))
_component = click.option("--component", "-c", help="Only this table component (default: every table).")
_region = click.option("--region", help=REGION_HELP)
_profile = click.option("--profile", help=PROFILE_HELP)
_endpoint = click.option("--endpoint-url", help="Send every AWS call here (moto server, local emulator).")


@click.command()
@_file
@_component
@_region
@_profile
@_endpoint
@click.option("--show-unchanged", is_flag=True, help="List no-op resources too.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes (0: none).")
def plan(file: str, component: str | None, region: str | None, profile: str | None, endpoint_url: str | None,
         show_unchanged: bool, as_json: bool, detailed_exitcode: bool) -> None:
    """Show what apply would change, field by field (create / update / delete / no-op / refuse).

    Destructive and disruptive changes are named. Exit 1 when a change is refused (key schema, LSIs, ...).
    """
    from ddbkit_infra.plan.risk import assess

    loaded = load_or_exit(file)
    clients = _clients(region, profile, endpoint_url)
    with _errors(file, clients.region, endpoint_url):
        plans = [comp.plan() for comp in _components(loaded, component, clients=clients)]
    if as_json:
        click.echo(json.dumps([{**p.to_dict(), "risks": [str(r) for r in assess(p)]} for p in plans], indent=2,
                              default=str))
    else:
        for p in plans:
            click.echo(p.render(show_noop=show_unchanged))
            for risk in assess(p):
                click.secho(f"  {risk}", fg="yellow")
    refused = [c for p in plans for c in p.refused]
    if refused:
        fail("\n".join(f"error: {c.label}: refused: {c.reason}" for c in refused))
    if detailed_exitcode and any(p.pending for p in plans):
        sys.exit(2)


@click.command()
@_file
@_component
@_region
@_profile
@_endpoint
@click.option("--dry-run", is_flag=True, help="Plan and list the calls; change nothing.")
@click.option("--yes", "-y", is_flag=True,
              help="Do not ask for confirmation. Without a terminal (CI, a pipe) a destructive or disruptive "
                   "change is refused unless given.")
@click.option("--replace-table", is_flag=True,
              help="Allow a change DynamoDB cannot make in place (key schema, key types, LSIs) by deleting and "
                   "re-creating the table: EVERY ITEM IS LOST. Refused without this flag.")
@click.option("--poll", type=float, default=5.0, show_default=True, help="Seconds between waiter polls.")
@click.option("--timeout", type=float, default=3600.0, show_default=True, help="Seconds to wait per resource.")
@click.option("--skip-unsupported", is_flag=True,
              help="Local emulators only: skip calls the endpoint does not implement (reported), don't stop.")
def apply(file: str, component: str | None, region: str | None, profile: str | None, endpoint_url: str | None,
          dry_run: bool, yes: bool, replace_table: bool, poll: float, timeout: float,
          skip_unsupported: bool) -> None:
    """Make the live resources match FILE (idempotent: a second apply changes nothing).

    Shows the plan and what in it is destructive or disruptive, then asks on a terminal (--yes skips).
    Without a terminal (stdin or stdout not one: CI, a pipe), a plan with nothing destructive or disruptive
    goes on, and one with such a change is refused (exit 2) unless --yes. While it waits for tables, indexes
    and replicas it shows their status: a progress bar on a terminal, a line at least every 30 s otherwise.
    Ctrl-C prints what was done and what was not (exit 130); running apply again finishes the job.
    """
    from ddbkit_infra.cli.progress import WaitReporter
    from ddbkit_infra.component import ApplyProgress, ChangeRefused, ConsentRequest

    loaded = load_or_exit(file)
    clients = _clients(region, profile, endpoint_url)
    lines = WaitReporter(terminal=False, echo=click.echo)
    components = _components(loaded, component, clients=clients)
    finished: list[str] = []  # tables done, for the line Ctrl-C prints
    current: dict[str, Any] = {}  # the table under way: its name and its ApplyProgress

    def report() -> tuple[list[str], list[str]]:
        done, todo = [f"table {t}" for t in finished], []
        if current:
            progress: ApplyProgress = current["progress"]
            made = progress.result.calls + progress.result.skipped if progress.result else []
            done += [f"{current['table']}: {c}" for c in made]
            todo += [f"{current['table']}: {c}" for c in progress.calls[len(made):]] or [f"table {current['table']}"]
        todo += [f"table {c.table_name}" for c in components[len(finished) + bool(current):]]
        return done, todo

    def ask(request: ConsentRequest) -> bool:
        _confirm(request.question, yes, dry_run, request.replace_table, risks=list(request.risks))
        return True  # a refusal or a no has exited already

    with interrupts(f"apply {file}", report):
        for comp in components:
            table = comp.table_name
            current.clear()
            current.update(table=table, progress=ApplyProgress())
            with _errors(f"table {table}", clients.region, endpoint_url):
                try:
                    comp.apply(consent=ask, dry_run=dry_run, replace_table=replace_table, poll=poll,
                               timeout=timeout, skip_unsupported=skip_unsupported, echo=echo_styled,
                               on_wait=lines.report, progress=current["progress"])
                except ChangeRefused as err:
                    fail(str(err))
            finished.append(table)
            current.clear()


def _confirm(question: str, yes: bool, dry_run: bool, type_name: str | None = None,
             risks: list[str] | None = None) -> None:
    """Consent before changing anything (``--yes`` and ``--dry-run`` go on).

    On a terminal the person answers y (or, with ``type_name``, replacing a table, types its name); a no
    exits 1 with nothing changed. Without a terminal, a change with ``risks`` (destructive or disruptive)
    or a replacement is refused with exit 2 naming --yes; a harmless one goes on.
    """
    if yes or dry_run:
        return
    if not interactive():
        if type_name is not None:  # deleting every item needs a person or an explicit --yes
            fail(f"table {type_name}: replacing it deletes every item: confirm on a terminal or pass --yes",
                 EXIT_USAGE)
        if risks:
            fail(f"{question}: refused: {risks[0]}{f' (and {len(risks) - 1} more)' if len(risks) > 1 else ''}; "
                 "no terminal to ask on (stdin or stdout is not one): pass --yes to proceed", EXIT_USAGE)
        return
    if type_name is not None:
        answer = click.prompt(f"{question}? type the table name to confirm", default="", show_default=False)
        if answer != type_name:
            fail(f"table {type_name}: not replaced (confirmation did not match)")
        return
    consent(question, question, yes, ask=True)


@click.command()
@_file
@_component
@_region
@_profile
@_endpoint
@click.option("--dry-run", is_flag=True, help="List what would be deleted; delete nothing.")
@click.option("--yes", "-y", is_flag=True,
              help="Do not ask for confirmation. Without a terminal (CI, a pipe) destroy refuses unless given.")
@click.option("--poll", type=float, default=5.0, show_default=True, help="Seconds between waiter polls.")
def destroy(file: str, component: str | None, region: str | None, profile: str | None, endpoint_url: str | None,
            dry_run: bool, yes: bool, poll: float) -> None:
    """Delete the table (replicas first), its alarms and scalable targets.

    Refuses while deletion protection is on. The KMS key, backup vault, recovery points and DAX
    cluster are kept. Asks on a terminal (--yes skips); without one (stdin or stdout not a terminal) it
    refuses with exit 2 unless --yes. Ctrl-C prints what was deleted and what was not (exit 130).
    """
    from ddbkit_infra.apply import destroy as run_destroy
    from ddbkit_infra.cli.progress import WaitReporter

    loaded = load_or_exit(file)
    clients = _clients(region, profile, endpoint_url)
    lines = WaitReporter(terminal=False, echo=click.echo)
    effective = [comp.effective for comp in _components(loaded, component, clients=clients)]
    if not dry_run:
        names = ", ".join(e.config.table_name for e in effective)
        consent(f"delete table(s) {names} in {clients.region} with every item", f"destroy {names}", yes,
                ask=interactive())
    steps: list[str] = []
    started: list[str] = []

    def report() -> tuple[list[str], list[str]]:
        todo = [f"the rest of table {started[-1]}"] if started else []
        todo += [f"table {e.config.table_name}" for e in effective[len(started):]]
        return list(steps), todo

    with interrupts(f"destroy {file}", report):
        for eff in effective:
            table = eff.config.table_name
            started.append(table)
            with _errors(f"table {table}", clients.region, endpoint_url):
                run_destroy(eff.config, clients, dry_run=dry_run, echo=click.echo, poll=poll, on_wait=lines.report,
                            done=steps)


@click.command()
@_file
@click.option("--component", "-c",
              help="The table component to synthesise (required when FILE has several: one template per table).")
@click.option("--region", help="The stack's region (default: the first globalTables region, if any).")
@click.option("--tier", type=click.Choice(TIERS), help="Synthesise for this tier instead of the config's.")
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True,
              help="Template format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write here instead of stdout.")
def synth(file: str, component: str | None, region: str | None, tier: str | None, fmt: str,
          output: str | None) -> None:
    """Print a CloudFormation template for one table component (one stack per table).

    A FILE with several tables needs --component; run synth once per table.
    """
    loaded = load_or_exit(file)
    with _errors(file):
        comps = _components(loaded, component, tier)
        if len(comps) > 1:
            fail(f"{file}: has {len(comps)} tables ({', '.join(c.name for c in comps)}) and synth writes one "
                 "template per table: choose one with --component", EXIT_USAGE)
        text = str(comps[0].synth("json" if fmt == "json" else "yaml", region=region))
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        click.echo(text, nl=False)


@click.command()
@_file
@click.option("--component", "-c", required=True, help="The consuming component (the one with binds:).")
@click.option("--account-id", help="Account for ARNs (default: STS GetCallerIdentity with your credentials; "
                                   "bind works offline with --account-id and a region).")
@click.option("--region", help="Region for ARNs (default: AWS_REGION / AWS_DEFAULT_REGION, else the profile's).")
@_profile
@click.option("--endpoint-url", help="Ask STS (and DynamoDB with --describe) here (local emulator).")
@click.option("--describe", is_flag=True,
              help="Describe the bound tables for their live stream ARNs (else *_STREAM_ARN is left out) and "
                   "look up the KMS keys ddbkit created (granted by key ARN).")
@click.option("--format", "fmt", type=click.Choice(["json", "yaml", "cloudformation"]), default="json",
              show_default=True, help="cloudformation: a template (YAML) with the policies; ARNs as Fn::Sub.")
def bind(file: str, component: str, account_id: str | None, region: str | None, profile: str | None,
         endpoint_url: str | None, describe: bool, fmt: str) -> None:
    """Print each bind's least-privilege IAM policy and the component's environment variables.

    ARNs are real: the region is --region, AWS_REGION / AWS_DEFAULT_REGION or the profile's, the account
    --account-id or STS GetCallerIdentity; when either is unknown bind says how to give it. Environment
    values are real or left out (no /stream/* wildcard). Only --format cloudformation keeps ${AWS::...}
    placeholders, as Fn::Sub in a template CloudFormation fills."""
    from ddbkit_infra.component import BindContextMissing

    loaded = load_or_exit(file)
    if fmt == "cloudformation":
        from ddbkit_infra.synth.cloudformation import render

        with _errors(f"{file}: component {component}"):
            click.echo(render(_bound_table(loaded, component).bind_template(component)), nl=False)
        return
    region = known_region(region, profile)
    if region is None:
        fail("bind: no AWS region for the ARNs: pass --region REGION or set AWS_REGION (or a region in your AWS "
             "profile), or use --format cloudformation (a template CloudFormation fills in)", EXIT_USAGE)
    with _errors(f"{file}: component {component}"):
        sts: Any = None
        if account_id is None:
            sts = _quick_sts(region, endpoint_url, profile) if profile else _quick_sts(region, endpoint_url)
        comp = _bound_table(loaded, component, region=region, endpoint_url=endpoint_url, profile=profile)
        try:
            report = comp.bind(component, account_id=account_id, region=region, describe=describe, sts=sts,
                               warn=lambda text: click.secho(text, fg="yellow", err=True))
        except BindContextMissing as err:
            fail(str(err), EXIT_USAGE)
    click.echo(dump(report.to_dict(), fmt))


def _bound_table(loaded: ComponentFile, consumer: str, **options: Any) -> DynamoDBTableComponent:
    """The table component ``bind`` speaks through: the first table ``consumer`` binds to (else the file's
    first table); its :meth:`~DynamoDBTableComponent.bind` reports every bind of the consumer."""
    targets = [b.to for b in loaded.component(consumer).binds if b.to in loaded.tables]
    comps = _components(loaded, targets[0] if targets else None, **options)
    return comps[0]


def _quick_sts(region: str | None, endpoint_url: str | None, profile: str | None = None) -> Any:
    """An STS client that gives up fast (no retries, short timeouts): bind must work offline."""
    from ddbkit_infra.component import quick_client

    return quick_client(session(None, profile), "sts", region or "us-east-1", endpoint_url)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False), required=False)
@_component
@click.option("--table", help="Audit this live table by name (no FILE needed).")
@click.option("--tier", type=click.Choice(TIERS),
              help="Tier to check against (default: the config's, else the table's compliance-framework tag).")
@_region
@_profile
@_endpoint
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def audit(file: str | None, component: str | None, table: str | None, tier: str | None, region: str | None,
          profile: str | None, endpoint_url: str | None, as_json: bool) -> None:
    """Check live tables against their compliance tier; exit 1 if any control fails."""
    from ddbkit_infra.audit import audit_table

    if not file and not table:
        fail("give a component FILE or --table NAME", EXIT_USAGE)
    reports = []
    clients = _clients(region, profile, endpoint_url)
    with _errors(f"table {table}" if table else str(file), clients.region, endpoint_url):
        if file:
            loaded = load_or_exit(file)
            for comp in _components(loaded, component, tier, clients=clients):
                if table and comp.table_name != table:
                    continue
                reports.append(comp.audit(tier))
        else:
            assert table is not None
            reports.append(audit_table(clients, table, tier))
    if not reports:
        fail(f"{file}: no table {table!r} in it")
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in reports], indent=2))
    else:
        for r in reports:
            click.echo(r.render())
    if not all(r.passed for r in reports):
        sys.exit(1)
