"""``ddbkit monitor`` and ``ddbkit backup create|list|prune|restore|export|import|copy``: operating a live table.

Every command takes the table as a component FILE (its table name) or ``--table NAME``, and
``--endpoint-url`` / ``--region`` / ``--profile`` for the clients (a local moto server, another region or
account). Waiting commands show progress on stderr (a spinner on a terminal, periodic lines otherwise),
so ``--json`` output on stdout stays clean. Errors are ``error: table NAME: <why>``, exit 1.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, TypeVar

import click

from ddbkit_infra.cli.common import (
    EXIT_USAGE,
    PROFILE_HELP,
    REGION_HELP,
    client,
    consent,
    errors,
    fail,
    interrupts,
    resolve_region,
)

F = TypeVar("F", bound=Callable[..., Any])


def register(group: click.Group) -> None:
    group.add_command(monitor)
    group.add_command(backup)


# --------------------------------------------------------------------------------------------------
# Shared options
# --------------------------------------------------------------------------------------------------


def _table_target(func: F) -> F:
    """FILE | --table, --component, --endpoint-url, --region, --profile."""
    for deco in reversed([
        click.argument("file", required=False, type=click.Path(dir_okay=False, exists=True)),
        click.option("--table", "-t", "table_name", help="Table name (instead of a component FILE)."),
        click.option("--component", "-c", help="The table component of FILE (when it has several)."),
        click.option("--endpoint-url", envvar="DDBKIT_ENDPOINT_URL",
                     help="Endpoint for every AWS client (e.g. a local moto server)."),
        click.option("--region", help=REGION_HELP),
        click.option("--profile", help=PROFILE_HELP),
    ]):
        func = deco(func)
    return func


def _wait_options(func: F) -> F:
    for deco in reversed([
        click.option("--poll-interval", default=10.0, show_default=True, type=float,
                     help="Seconds between status checks while waiting."),
        click.option("--timeout", default=3600.0, show_default=True, type=float, help="Give up waiting after this."),
    ]):
        func = deco(func)
    return func


def _table_names(file: str | None, table: str | None, component: str | None) -> list[str]:
    """Every table the command works on: --table, the --component of FILE, else every table of FILE."""
    if file and table:
        fail("give a component FILE or --table, not both", EXIT_USAGE)
    if table:
        return [table]
    if not file:
        fail("give a component FILE or --table NAME", EXIT_USAGE)
    from ddbkit.config import ConfigError

    from ddbkit_infra.cli.common import load_or_exit

    loaded = load_or_exit(file)
    try:
        if component:
            return [loaded.table(component).table_name]
    except ConfigError as err:
        fail(str(err))
    if not loaded.tables:
        fail(f"{file}: no dynamodb-table component found")
    return [cfg.table_name for cfg in loaded.tables.values()]


def _table_name(file: str | None, table: str | None, component: str | None) -> str:
    """The one table of the command (FILE with several tables needs --component)."""
    names = _table_names(file, table, component)
    if len(names) > 1:
        fail(f"{file}: has {len(names)} tables ({', '.join(names)}): choose one with --component", EXIT_USAGE)
    return names[0]


def _client(service: str, region: str | None, endpoint_url: str | None, profile: str | None = None) -> Any:
    return client(service, resolve_region(region, profile), profile, endpoint_url)


@contextmanager
def _waiting(poll_interval: float, timeout: float, command: str, request: str) -> Iterator[Any]:
    """:class:`ddbkit.ops.backup.WaitOptions` whose progress shows on stderr (spinner, or periodic lines).

    Ctrl-C: one ``error:`` line (exit 130) saying whether ``request`` was made (AWS carries a made request
    on by itself) and that the wait was not finished."""
    from ddbkit.ops.backup import WaitOptions
    from ddbkit_infra.cli.progress import reporting

    polled: list[bool] = []

    def report() -> tuple[list[str], list[str]]:
        if polled:
            return [f"{request} (AWS carries it on)"], ["waiting for it to finish"]
        return [], [f"{request} (it may have been sent just before: check before running it again)"]

    with interrupts(command, report), reporting() as reporter:
        def on_poll(what: str, status: str, elapsed: float) -> None:
            polled.append(True)
            reporter.report(what, status, elapsed)

        yield WaitOptions(interval=poll_interval, timeout=timeout, on_poll=on_poll)


def _parse_time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        ts = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        fail(f"{option}: {value!r} is not an ISO 8601 time (e.g. 2025-01-01T02:00:00Z)", 2)
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


# --------------------------------------------------------------------------------------------------
# monitor
# --------------------------------------------------------------------------------------------------


@click.command()
@_table_target
@click.option("--minutes", default=15, show_default=True, type=click.IntRange(1), help="Window length.")
@click.option("--period", default=300, show_default=True, type=click.IntRange(60), help="Period in seconds (x60).")
@click.option("--end", help="ISO time the window ends at (default: now, rounded down to the period).")
@click.option("--target", default=80.0, show_default=True, type=float, help="Target utilisation, percent.")
@click.option("--sustained", default=2, show_default=True, type=click.IntRange(1),
              help="Periods above target, in a row, before recommending a scale-up.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--plot", type=click.Path(dir_okay=False), help="Draw consumed vs capacity per period to this PNG.")
def monitor(file: str | None, table_name: str | None, component: str | None, endpoint_url: str | None,
            region: str | None, profile: str | None, minutes: int, period: int, end: str | None, target: float, sustained: int,
            as_json: bool, plot: str | None) -> None:
    """Consumed vs provisioned capacity, throttles and recommendations for a table and its GSIs.

    Reads CloudWatch's AWS/DynamoDB metrics with one GetMetricData request per table. An idle window is
    reported as "no traffic". FILE without --component: every table in it (--json: one report per line).
    """
    from ddbkit.ops.capacity import CapacityMonitor, RuleSettings, plot_report

    names = _table_names(file, table_name, component)
    if plot and len(names) > 1:
        fail(f"{file}: --plot draws one table; choose one of {', '.join(names)} with --component", EXIT_USAGE)
    region = resolve_region(region, profile)
    cloudwatch = _client("cloudwatch", region, endpoint_url, profile)
    dynamodb = _client("dynamodb", region, endpoint_url, profile)
    reports = []
    for name in names:
        with errors(f"table {name}", region, endpoint_url):
            mon = CapacityMonitor(name, cloudwatch, dynamodb=dynamodb, window=minutes * 60, period=period,
                                  settings=RuleSettings(target_utilisation=target, sustained_periods=sustained))
            report = mon.report(end=_parse_time(end, "--end"))
            if plot:
                plot_report(report, plot)
        reports.append(report)
    if as_json:
        # one table: its report; several (FILE with every table): one report per line
        click.echo("\n".join(r.to_json(indent=2 if len(reports) == 1 else None) for r in reports))
    else:
        click.echo("\n\n".join(r.render_text() for r in reports))
    if plot:
        click.secho(f"plot written to {plot}", fg="green", err=True)


# --------------------------------------------------------------------------------------------------
# backup
# --------------------------------------------------------------------------------------------------


@click.group()
def backup() -> None:
    """On-demand backups, retention, restores and exports of a table."""


@backup.command("create")
@_table_target
@click.option("--name", help="Backup name (default: <table>-<UTC timestamp>).")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait until the backup is AVAILABLE.")
@_wait_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def create_cmd(file: str | None, table_name: str | None, component: str | None, endpoint_url: str | None,
               region: str | None, profile: str | None, name: str | None, wait: bool, poll_interval: float, timeout: float,
               as_json: bool) -> None:
    """CreateBackup of the table."""
    from ddbkit.ops.backup import create_backup

    table = _table_name(file, table_name, component)
    region = resolve_region(region, profile)
    with errors(f"table {table}", region, endpoint_url), _waiting(poll_interval, timeout, f"backup create {table}",
                                                          "the backup") as opts:
        info = create_backup(_client("dynamodb", region, endpoint_url, profile), table, name=name,
                             wait=opts if wait else None)
    if as_json:
        _echo_json(info.to_dict())
    else:
        click.echo(f"backup {info.name} of {table}: {info.status}\n  {info.arn}")


@backup.command("list")
@_table_target
@click.option("--type", "backup_type", default="USER", show_default=True,
              type=click.Choice(["USER", "SYSTEM", "AWS_BACKUP", "ALL"]), help="Which backups to list.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def list_cmd(file: str | None, table_name: str | None, component: str | None, endpoint_url: str | None,
             region: str | None, profile: str | None, backup_type: str, as_json: bool) -> None:
    """The table's backups, oldest first."""
    from ddbkit.ops.backup import list_backups

    table = _table_name(file, table_name, component)
    region = resolve_region(region, profile)
    dynamodb = _client("dynamodb", region, endpoint_url, profile)
    with errors(f"table {table}", region, endpoint_url):
        backups = list_backups(dynamodb, table, backup_type=backup_type)
        if not backups:
            # ListBackups answers "none" for a table that never existed: a missing table is an error.
            # (A deleted table's backups are still listed above: they outlive it.)
            dynamodb.describe_table(TableName=table)
    if as_json:
        _echo_json([b.to_dict() for b in backups])
        return
    if not backups:
        click.echo(f"no {backup_type} backups of {table}")
        return
    click.echo(f"{'created (UTC)':<20} {'status':<10} {'type':<10} name / arn")
    for b in backups:
        click.echo(f"{b.created:%Y-%m-%d %H:%M:%S}  {b.status:<10} {b.type:<10} {b.name}\n{'':43}{b.arn}")


@backup.command("prune")
@_table_target
@click.option("--retention-days", required=True, type=click.IntRange(1), help="Delete backups older than this.")
@click.option("--keep", default=1, show_default=True, type=click.IntRange(0),
              help="Always keep this many of the newest available backups.")
@click.option("--dry-run", is_flag=True, help="Only show what would be deleted.")
@click.option("--yes", "-y", is_flag=True,
              help="Do not ask for confirmation (without a terminal, prune refuses unless given).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def prune_cmd(file: str | None, table_name: str | None, component: str | None, endpoint_url: str | None,
              region: str | None, profile: str | None, retention_days: int, keep: int, dry_run: bool, yes: bool, as_json: bool) -> None:
    """Delete backups older than --retention-days; never one without a newer AVAILABLE backup.

    Lists them and asks on a terminal (--yes skips); without one it refuses (exit 2) unless --yes."""
    from ddbkit.ops.backup import list_backups, prune_backups

    table = _table_name(file, table_name, component)
    region = resolve_region(region, profile)
    dynamodb = _client("dynamodb", region, endpoint_url, profile)
    now = datetime.now(timezone.utc)  # the same cutoff for the preview and the deletion
    with errors(f"table {table}", region, endpoint_url):
        plan = prune_backups(dynamodb, table, retention_days=retention_days, keep_min=keep, dry_run=True, now=now)
        if not dry_run and plan.deleted:
            for b in plan.deleted:
                click.echo(f"  would delete {b.name} ({b.created:%Y-%m-%d})", err=True)
            consent(f"delete {len(plan.deleted)} backup(s) of {table}", f"backup prune {table}", yes)

        def report() -> tuple[list[str], list[str]]:
            left = {b.arn for b in list_backups(dynamodb, table)}
            return ([f"deleted {b.name}" for b in plan.deleted if b.arn not in left],
                    [f"delete {b.name}" for b in plan.deleted if b.arn in left])

        with interrupts(f"backup prune {table}", report):
            result = plan if dry_run or not plan.deleted else prune_backups(
                dynamodb, table, retention_days=retention_days, keep_min=keep, now=now)
    if as_json:
        _echo_json(result.to_dict())
        return
    verb = "would delete" if result.dry_run else "deleted"
    click.echo(f"{verb} {len(result.deleted)} backup(s) of {table}, kept {len(result.kept)}")
    for b in result.deleted:
        click.echo(f"  - {b.name} ({b.created:%Y-%m-%d %H:%M})")
    for b in result.kept:
        click.echo(f"  = {b.name} ({result.reasons.get(b.arn, '')})")


@backup.command("restore")
@_table_target
@click.option("--target", required=True, help="Name of the NEW table to restore into.")
@click.option("--backup-arn", help="Restore this backup.")
@click.option("--latest-backup", is_flag=True, help="Restore the table's newest AVAILABLE backup.")
@click.option("--point-in-time", "pitr", is_flag=True, help="Restore from PITR (latest restorable time or --time).")
@click.option("--time", "restore_time", help="ISO time for --point-in-time.")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait until the new table is ACTIVE.")
@click.option("--reconcile/--no-reconcile", default=True, show_default=True,
              help="After waiting, UpdateTable billing/encryption the restore did not carry over.")
@_wait_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def restore_cmd(file: str | None, table_name: str | None, component: str | None, endpoint_url: str | None,
                region: str | None, profile: str | None, target: str, backup_arn: str | None, latest_backup: bool, pitr: bool,
                restore_time: str | None, wait: bool, reconcile: bool, poll_interval: float, timeout: float,
                as_json: bool) -> None:
    """Restore into a new table with the source's GSIs, LSIs, encryption and billing."""
    from ddbkit.ops.backup import BackupError, list_backups, restore_from_backup, restore_to_point_in_time

    table = _table_name(file, table_name, component)
    if sum([bool(backup_arn), latest_backup, pitr]) != 1:
        fail("choose one of --backup-arn, --latest-backup, --point-in-time", 2)
    if restore_time and not pitr:
        fail("--time goes with --point-in-time", 2)
    when = _parse_time(restore_time, "--time")
    region = resolve_region(region, profile)
    dynamodb = _client("dynamodb", region, endpoint_url, profile)
    with errors(f"table {table}", region, endpoint_url), _waiting(poll_interval, timeout, f"backup restore {table}",
                                                          f"the restore into {target}") as opts:
        if pitr:
            result = restore_to_point_in_time(dynamodb, table, target, restore_time=when,
                                              wait=opts if wait else None, reconcile=reconcile)
        else:
            if latest_backup:
                available = [b for b in list_backups(dynamodb, table) if b.status == "AVAILABLE"]
                if not available:
                    raise BackupError(f"table {table} has no AVAILABLE backup to restore")
                backup_arn = available[-1].arn
            result = restore_from_backup(dynamodb, str(backup_arn), target, wait=opts if wait else None,
                                         reconcile=reconcile)
    if as_json:
        _echo_json(result.to_dict())
        return
    click.echo(f"restored {result.source} into {result.table}: {result.status}")
    for r in result.reconciled:
        click.echo(f"  fixed after restore: {r}")
    for d in result.differences:
        click.secho(f"  differs from source: {d}", fg="yellow")


@backup.command("export")
@_table_target
@click.option("--bucket", required=True, help="S3 bucket (may be in another region).")
@click.option("--prefix", help="S3 key prefix (default exports/<table>).")
@click.option("--format", "export_format", default="DYNAMODB_JSON", show_default=True,
              type=click.Choice(["DYNAMODB_JSON", "ION"]), help="Format of the exported files.")
@click.option("--export-time", help="ISO time to export the table as of (full export; default now).")
@click.option("--incremental", is_flag=True, help="Incremental export of the changes between --from and --to.")
@click.option("--from", "from_time", help="ISO start of an incremental export.")
@click.option("--to", "to_time", help="ISO end of an incremental export.")
@click.option("--view", default="NEW_AND_OLD_IMAGES", show_default=True,
              type=click.Choice(["NEW_AND_OLD_IMAGES", "NEW_IMAGE"]),
              help="What an incremental export holds of each changed item.")
@click.option("--bucket-owner", help="Account id owning the bucket (cross-account).")
@click.option("--sse", type=click.Choice(["AES256", "KMS"]), help="S3 server-side encryption of the export.")
@click.option("--kms-key", help="KMS key for --sse KMS.")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait until the export completes.")
@_wait_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def export_cmd(file: str | None, table_name: str | None, component: str | None, endpoint_url: str | None,
               region: str | None, profile: str | None, bucket: str, prefix: str | None, export_format: str, export_time: str | None,
               incremental: bool, from_time: str | None, to_time: str | None, view: str, bucket_owner: str | None,
               sse: str | None, kms_key: str | None, wait: bool, poll_interval: float, timeout: float,
               as_json: bool) -> None:
    """ExportTableToPointInTime to S3 (needs PITR on the table)."""
    from ddbkit.ops.backup import export_table

    table = _table_name(file, table_name, component)
    region = resolve_region(region, profile)
    with errors(f"table {table}", region, endpoint_url), _waiting(poll_interval, timeout, f"backup export {table}",
                                                          "the export") as opts:
        result = export_table(
            _client("dynamodb", region, endpoint_url, profile), table, bucket, prefix=prefix, export_format=export_format,
            export_type="INCREMENTAL_EXPORT" if incremental else "FULL_EXPORT",
            export_time=_parse_time(export_time, "--export-time"),
            incremental_from=_parse_time(from_time, "--from"), incremental_to=_parse_time(to_time, "--to"),
            view_type=view, bucket_owner=bucket_owner, sse_algorithm=sse, kms_key_id=kms_key,
            wait=opts if wait else None)
    if as_json:
        _echo_json(result.to_dict())
        return
    click.echo(f"export of {table}: {result.status}\n  {result.export_arn}\n  s3://{result.bucket}/{result.prefix}")
    if result.item_count is not None and result.status == "COMPLETED":
        click.echo(f"  items: {result.item_count}")
    click.echo(f"  manifest: {result.manifest_url or 'not reported by this endpoint'}")


@backup.command("import")
@_table_target
@click.option("--bucket", required=True, help="S3 bucket holding the data (e.g. an export's).")
@click.option("--prefix", required=True, help="S3 key prefix of the data files (an export's data/ prefix).")
@click.option("--target", required=True, help="Name of the NEW table to create (schema copied from the table).")
@click.option("--format", "input_format", default="DYNAMODB_JSON", show_default=True,
              type=click.Choice(["DYNAMODB_JSON", "ION", "CSV"]), help="Format of the data files.")
@click.option("--compression", default="GZIP", show_default=True, type=click.Choice(["GZIP", "ZSTD", "NONE"]),
              help="Compression of the data files.")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait until the import completes.")
@_wait_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def import_cmd(file: str | None, table_name: str | None, component: str | None, endpoint_url: str | None,
               region: str | None, profile: str | None, bucket: str, prefix: str, target: str,
               input_format: str, compression: str, wait: bool, poll_interval: float, timeout: float,
               as_json: bool) -> None:
    """ImportTable from S3 into a new table with the table's keys, GSIs, billing and encryption."""
    from ddbkit.ops.backup import import_from_s3, import_table_parameters

    table = _table_name(file, table_name, component)
    region = resolve_region(region, profile)
    dynamodb = _client("dynamodb", region, endpoint_url, profile)
    with errors(f"table {table}", region, endpoint_url), _waiting(poll_interval, timeout, f"backup import {table}",
                                                          f"the import into {target}") as opts:
        params = import_table_parameters(dynamodb.describe_table(TableName=table)["Table"], target)
        result = import_from_s3(dynamodb, bucket, prefix, params, input_format=input_format,
                                compression=compression, wait=opts if wait else None)
    if as_json:
        _echo_json(result.to_dict())
        return
    click.echo(f"import into {target}: {result.status}\n  {result.import_arn}")


@backup.command("copy")
@_table_target
@click.option("--destination-region", required=True, help="Region of the destination backup vault.")
@click.option("--vault", required=True, help="Destination backup vault name (or ARN).")
@click.option("--role-arn", required=True, help="IAM role AWS Backup assumes for the copy.")
@click.option("--recovery-point-arn", help="Copy this recovery point (default: the table's newest COMPLETED one).")
@click.option("--delete-after-days", type=click.IntRange(1), help="Retention of the copy.")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait until the copy job completes.")
@_wait_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def copy_cmd(file: str | None, table_name: str | None, component: str | None, endpoint_url: str | None,
             region: str | None, profile: str | None, destination_region: str, vault: str, role_arn: str,
             recovery_point_arn: str | None, delete_after_days: int | None, wait: bool, poll_interval: float,
             timeout: float, as_json: bool) -> None:
    """AWS Backup StartCopyJob of the table's recovery point into a vault in another region (DR)."""
    from ddbkit.ops.backup import start_copy_job

    table = _table_name(file, table_name, component)
    region = resolve_region(region, profile)
    with errors(f"table {table}", region, endpoint_url), _waiting(poll_interval, timeout, f"backup copy {table}",
                                                          "the copy job") as opts:
        arn = _client("dynamodb", region, endpoint_url, profile).describe_table(TableName=table)["Table"]["TableArn"]
        result = start_copy_job(_client("backup", region, endpoint_url, profile), table_arn=arn,
                                destination_region=destination_region, destination_vault=vault,
                                iam_role_arn=role_arn, recovery_point_arn=recovery_point_arn,
                                delete_after_days=delete_after_days, wait=opts if wait else None)
    if as_json:
        _echo_json(result.to_dict())
        return
    click.echo(f"copy job {result.copy_job_id} of {table}: {result.state}\n  -> {result.destination_vault_arn}")
