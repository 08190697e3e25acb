"""Backup and recovery: on-demand backups and their retention, restores, S3 export/import, cross-region
copies, and the ready backup Lambda entrypoint (:func:`lambda_handler`).

Everything here is control-plane code on boto3 clients passed in by the caller (DynamoDB, and AWS Backup
for copy jobs), so it runs the same against AWS, moto's server or ``moto.mock_aws``.

What it does differently from the spec's "Cross-Region Backup" example:

* ExportTableToPointInTime gets the **table** ARN (the example passes ``BackupArn``, which the API
  rejects); :func:`export_request` refuses a backup ARN before sending anything;
* PITR is checked first (:func:`require_pitr`): an export on a table without it fails with
  :class:`PitrNotEnabled` saying how to turn it on, not with the service's terse error;
* backup names are ``<table>-<UTC timestamp in ISO 8601 basic format>`` (``Orders-20250101T020000Z``):
  the example's ``toISOString()`` puts ``:`` in the name, which BackupName's ``[a-zA-Z0-9_.-]`` forbids;
* the Lambda waits for its backup to be AVAILABLE, names the step that failed, and never prunes a backup
  unless a newer one of the same table is confirmed AVAILABLE.

Waiting uses boto3's ``table_exists`` waiter for tables and polls (DescribeBackup, DescribeExport,
DescribeImport, DescribeCopyJob) otherwise, with :class:`WaitOptions` (interval, timeout, injectable sleep
and clock, progress callback).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar, cast

from ddbkit.ops.capacity import billing_mode_of
from ddbkit.errors import ClientValidationError, DdbkitError

__all__ = [
    "EXPORT_FORMATS",
    "IMPORT_FORMATS",
    "BackupError",
    "BackupInfo",
    "BackupJobSettings",
    "BackupStepError",
    "CopyJobResult",
    "ExportResult",
    "ImportResult",
    "JobFailed",
    "PitrNotEnabled",
    "PitrWindow",
    "PrunePlan",
    "PruneResult",
    "RestoreResult",
    "WaitOptions",
    "WaitTimeout",
    "backup_name",
    "backup_vault_arn",
    "compare_tables",
    "create_backup",
    "export_cross_region",
    "export_request",
    "export_table",
    "import_from_s3",
    "import_table_parameters",
    "lambda_handler",
    "latest_recovery_point",
    "list_backups",
    "pitr_status",
    "plan_prune",
    "prune_backups",
    "require_pitr",
    "restore_from_backup",
    "restore_overrides",
    "restore_to_point_in_time",
    "run_backup_job",
    "start_copy_job",
    "wait_for_copy_job",
    "wait_for_export",
    "wait_for_import",
    "wait_for_table",
]

log = logging.getLogger("ddbkit.backup")
T = TypeVar("T")

EXPORT_FORMATS = ("DYNAMODB_JSON", "ION")
IMPORT_FORMATS = ("DYNAMODB_JSON", "ION", "CSV")
EXPORT_TYPES = ("FULL_EXPORT", "INCREMENTAL_EXPORT")
EXPORT_VIEW_TYPES = ("NEW_AND_OLD_IMAGES", "NEW_IMAGE")
S3_SSE_ALGORITHMS = ("AES256", "KMS")
_BACKUP_NAME_RE = re.compile(r"^[a-zA-Z0-9_.\-]{3,255}$")
_TABLE_ARN_RE = re.compile(r"^arn:aws[a-z\-]*:dynamodb:[a-z0-9\-]+:\d{12}:table/[a-zA-Z0-9_.\-]{3,255}$")
_BACKUP_ARN_PART = re.compile(r"/backup/")
#: Incremental exports cover at least 15 minutes and at most 24 hours.
INCREMENTAL_MIN = timedelta(minutes=15)
INCREMENTAL_MAX = timedelta(hours=24)


# --------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------


class BackupError(DdbkitError):
    """A backup, restore, export, import or copy could not be done (the message says which and why)."""


class PitrNotEnabled(BackupError):
    """The table has no point-in-time recovery, which the operation needs (export, PITR restore)."""

    def __init__(self, table: str, operation: str) -> None:
        self.table = table
        self.operation = operation
        super().__init__(
            f"point-in-time recovery is not enabled on table {table!r}; {operation} needs it. Turn it on with "
            f"UpdateContinuousBackups (PointInTimeRecoveryEnabled=true), e.g. `aws dynamodb "
            f"update-continuous-backups --table-name {table} --point-in-time-recovery-specification "
            f"PointInTimeRecoveryEnabled=true`, or set pointInTimeRecoveryEnabled: true in the component config.")


class JobFailed(BackupError):
    """An export, import, copy job or backup ended in a failed state."""

    def __init__(self, kind: str, job_id: str, status: str, code: str | None = None,
                 message: str | None = None) -> None:
        self.kind, self.job_id, self.status, self.code, self.failure = kind, job_id, status, code, message
        why = f": {code or ''}{': ' if code and message else ''}{message or ''}" if code or message else ""
        super().__init__(f"{kind} {job_id} ended {status}{why}")


class WaitTimeout(BackupError):
    """Waiting for a table, backup or job took longer than the timeout."""

    def __init__(self, what: str, timeout: float, last_status: str | None) -> None:
        self.what, self.timeout, self.last_status = what, timeout, last_status
        super().__init__(f"gave up waiting for {what} after {timeout:.0f} s (last status: {last_status or 'unknown'})")


class BackupStepError(BackupError):
    """A step of the backup job (:func:`run_backup_job`) failed; later steps did not run.

    ``step`` is ``config``, ``backup``, ``export``, ``copy`` or ``prune``; ``cause`` the original error;
    ``summary`` what the job had done before (JSON-serialisable).
    """

    def __init__(self, step: str, cause: BaseException, summary: Mapping[str, Any]) -> None:
        self.step = step
        self.cause = cause
        self.summary = dict(summary)
        super().__init__(f"backup job for table {summary.get('table')!r} failed at step {step!r}: "
                         f"{type(cause).__name__}: {cause}")


# --------------------------------------------------------------------------------------------------
# Waiting
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaitOptions:
    """How to wait: poll every ``interval`` seconds for at most ``timeout`` seconds.

    ``sleep`` and ``clock`` are injectable (tests pass ``interval=0`` or a fake clock); ``on_poll`` is
    called after every poll with (what, status, elapsed seconds) -- the CLI draws progress with it.
    """

    interval: float = 10.0
    timeout: float = 3600.0
    sleep: Callable[[float], Any] = time.sleep
    clock: Callable[[], float] = time.monotonic
    on_poll: Callable[[str, str, float], Any] | None = None


def _poll(describe: Callable[[], T], status_of: Callable[[T], str], *, what: str, done: Collection[str],
          failed: Collection[str], wait: WaitOptions, on_failed: Callable[[T, str], Exception]) -> T:
    start = wait.clock()
    while True:
        value = describe()
        status = status_of(value)
        elapsed = wait.clock() - start
        if wait.on_poll is not None:
            wait.on_poll(what, status, elapsed)
        if status in done:
            return value
        if status in failed:
            raise on_failed(value, status)
        if elapsed + wait.interval > wait.timeout:
            raise WaitTimeout(what, wait.timeout, status)
        wait.sleep(wait.interval)


def wait_for_table(dynamodb: Any, table: str, wait: WaitOptions | None = None) -> dict[str, Any]:
    """Wait (boto3's ``table_exists`` waiter) until ``table`` is ACTIVE; return its description."""
    from botocore.exceptions import WaiterError

    wait = wait or WaitOptions()
    what = f"table {table}"
    start = wait.clock()
    if wait.on_poll is not None:
        wait.on_poll(what, "waiting", 0.0)
    # the waiter counts attempts, not seconds; an interval under 1 s (tests) counts as 1 s for the budget
    attempts = max(1, math.ceil(wait.timeout / max(wait.interval, 1.0)))
    try:
        dynamodb.get_waiter("table_exists").wait(
            TableName=table, WaiterConfig={"Delay": wait.interval, "MaxAttempts": attempts})
    except WaiterError as err:
        response: dict[str, Any] = dict(err.last_response or {})
        last = response.get("Table", {}).get("TableStatus")
        if "Max attempts exceeded" in str(err):
            raise WaitTimeout(what, wait.timeout, last) from err
        raise BackupError(f"waiting for {what} failed: {err}") from err
    desc: dict[str, Any] = dynamodb.describe_table(TableName=table)["Table"]
    if wait.on_poll is not None:
        wait.on_poll(what, str(desc.get("TableStatus")), wait.clock() - start)
    return desc


# --------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


def _iso(ts: datetime | None) -> str | None:
    return _utc(ts).isoformat().replace("+00:00", "Z") if ts is not None else None


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _describe(dynamodb: Any, table: str) -> dict[str, Any]:
    return dict(dynamodb.describe_table(TableName=table)["Table"])


def _jsonable(value: Any) -> Any:
    """``value`` with datetimes as ISO strings (for summaries and ``--json``)."""
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


# --------------------------------------------------------------------------------------------------
# On-demand backups, listing and pruning
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupInfo:
    """One on-demand backup of a table."""

    arn: str
    name: str
    table: str
    status: str
    created: datetime
    type: str = "USER"
    size_bytes: int | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any], table: str | None = None) -> BackupInfo:
        """From a BackupSummary (ListBackups) or BackupDetails (CreateBackup / DescribeBackup)."""
        return cls(arn=str(data["BackupArn"]), name=str(data.get("BackupName", "")),
                   table=str(data.get("TableName") or table or ""), status=str(data.get("BackupStatus", "")),
                   created=_utc(data["BackupCreationDateTime"]), type=str(data.get("BackupType", "USER")),
                   size_bytes=data.get("BackupSizeBytes"))

    def to_dict(self) -> dict[str, Any]:
        return {"arn": self.arn, "name": self.name, "table": self.table, "status": self.status,
                "created": _iso(self.created), "type": self.type, "size_bytes": self.size_bytes}


def backup_name(table: str, when: datetime | None = None) -> str:
    """``<table>-<UTC ISO 8601 basic timestamp>``, e.g. ``Orders-20250101T020000Z`` (valid BackupName:
    no ``:``), the table part shortened so the name stays within 255 characters."""
    stamp = _utc(when or _now()).strftime("%Y%m%dT%H%M%SZ")
    return f"{table[:255 - len(stamp) - 1]}-{stamp}"


def create_backup(dynamodb: Any, table: str, *, name: str | None = None, now: datetime | None = None,
                  wait: WaitOptions | None = None) -> BackupInfo:
    """CreateBackup named :func:`backup_name` (or ``name``); with ``wait``, poll until it is AVAILABLE."""
    name = name or backup_name(table, now)
    if not _BACKUP_NAME_RE.match(name):
        raise ClientValidationError(f"backup name {name!r} must be 3-255 characters of [a-zA-Z0-9_.-]", "name",
                                    "backup.name")
    details = dynamodb.create_backup(TableName=table, BackupName=name)["BackupDetails"]
    info = BackupInfo.from_api(details, table)
    if wait is None or info.status == "AVAILABLE":
        return info

    def describe() -> Mapping[str, Any]:
        return cast("Mapping[str, Any]", dynamodb.describe_backup(BackupArn=info.arn)["BackupDescription"]["BackupDetails"])

    final = _poll(describe, lambda d: str(d.get("BackupStatus")), what=f"backup {name}", done={"AVAILABLE"},
                  failed={"DELETED"}, wait=wait,
                  on_failed=lambda d, s: JobFailed("backup", info.arn, s))
    return BackupInfo.from_api(final, table)


def list_backups(dynamodb: Any, table: str, *, backup_type: str = "USER") -> list[BackupInfo]:
    """Every backup of ``table`` of ``backup_type`` (USER, SYSTEM, AWS_BACKUP or ALL), oldest first."""
    out: list[BackupInfo] = []
    for page in dynamodb.get_paginator("list_backups").paginate(TableName=table, BackupType=backup_type):
        out += [BackupInfo.from_api(s, table) for s in page.get("BackupSummaries", [])]
    return sorted(out, key=lambda b: (b.created, b.arn))


@dataclass(frozen=True)
class PrunePlan:
    """Which backups a prune deletes and why each other one stays (``reasons`` by ARN).

    ``anchor`` is the newest AVAILABLE backup: every deleted backup is older than it, and it must be
    confirmed AVAILABLE again right before anything is deleted."""

    delete: tuple[BackupInfo, ...]
    keep: tuple[BackupInfo, ...]
    anchor: BackupInfo | None
    reasons: dict[str, str] = field(default_factory=dict)


def plan_prune(backups: Sequence[BackupInfo], *, retention_days: int, now: datetime, keep_min: int = 1) -> PrunePlan:
    """Decide (pure) which backups to delete: AVAILABLE ones older than ``retention_days``, except the
    ``keep_min`` newest AVAILABLE ones, and only when a NEWER backup of the table is AVAILABLE."""
    if retention_days < 1:
        raise ClientValidationError(f"retention_days must be >= 1, got {retention_days}", "retention_days",
                                    "backup.retention")
    if keep_min < 0:
        raise ClientValidationError(f"keep_min must be >= 0, got {keep_min}", "keep_min", "backup.keep_min")
    cutoff = _utc(now) - timedelta(days=retention_days)
    ordered = sorted(backups, key=lambda b: (b.created, b.arn))
    available = [b for b in ordered if b.status == "AVAILABLE"]
    protected = {b.arn for b in available[len(available) - keep_min:]} if keep_min else set()
    anchor = available[-1] if available else None
    delete: list[BackupInfo] = []
    keep: list[BackupInfo] = []
    reasons: dict[str, str] = {}
    for b in ordered:
        if b.status != "AVAILABLE":
            reasons[b.arn] = f"status {b.status}"
        elif b.created >= cutoff:
            reasons[b.arn] = f"within {retention_days} days"
        elif b.arn in protected:
            reasons[b.arn] = f"one of the {keep_min} newest available"
        elif anchor is None or anchor.created <= b.created:
            reasons[b.arn] = "no newer available backup"
        else:
            delete.append(b)
            continue
        keep.append(b)
    return PrunePlan(tuple(delete), tuple(keep), anchor, reasons)


@dataclass(frozen=True)
class PruneResult:
    """What a prune deleted (or would delete, with ``dry_run``) and kept."""

    deleted: tuple[BackupInfo, ...]
    kept: tuple[BackupInfo, ...]
    anchor: BackupInfo | None
    dry_run: bool
    reasons: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"deleted": [b.to_dict() for b in self.deleted], "kept": [b.to_dict() for b in self.kept],
                "anchor": self.anchor.arn if self.anchor else None, "dry_run": self.dry_run,
                "reasons": dict(self.reasons)}


def prune_backups(dynamodb: Any, table: str, *, retention_days: int, keep_min: int = 1, now: datetime | None = None,
                  dry_run: bool = False, backup_type: str = "USER") -> PruneResult:
    """Delete ``table``'s backups older than ``retention_days`` (see :func:`plan_prune`).

    Before deleting anything the plan's anchor -- the newest AVAILABLE backup, newer than all the ones
    to delete -- is described again; unless it is still AVAILABLE and of this table, nothing is deleted
    and :class:`BackupError` is raised.
    """
    plan = plan_prune(list_backups(dynamodb, table, backup_type=backup_type), retention_days=retention_days,
                      now=now or _now(), keep_min=keep_min)
    if plan.delete and not dry_run:
        assert plan.anchor is not None  # plan_prune deletes nothing without one
        desc = dynamodb.describe_backup(BackupArn=plan.anchor.arn)["BackupDescription"]
        status = desc.get("BackupDetails", {}).get("BackupStatus")
        owner = desc.get("SourceTableDetails", {}).get("TableName")
        if status != "AVAILABLE" or owner not in (None, table):
            raise BackupError(f"not pruning {table}: the newest backup {plan.anchor.arn} could not be confirmed "
                              f"AVAILABLE (status {status}, table {owner}); no backup was deleted")
        for b in plan.delete:
            log.info("deleting backup %s (%s, created %s)", b.name, b.arn, _iso(b.created))
            dynamodb.delete_backup(BackupArn=b.arn)
    return PruneResult(plan.delete, plan.keep, plan.anchor, dry_run, plan.reasons)


# --------------------------------------------------------------------------------------------------
# Point-in-time recovery
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PitrWindow:
    """PITR status of a table and the times it can restore or export."""

    enabled: bool
    earliest: datetime | None = None
    latest: datetime | None = None
    recovery_period_days: int | None = None


def pitr_status(dynamodb: Any, table: str) -> PitrWindow:
    """DescribeContinuousBackups as a :class:`PitrWindow`."""
    desc = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    pitr = desc.get("PointInTimeRecoveryDescription") or {}
    earliest, latest = pitr.get("EarliestRestorableDateTime"), pitr.get("LatestRestorableDateTime")
    return PitrWindow(pitr.get("PointInTimeRecoveryStatus") == "ENABLED", _utc(earliest) if earliest else None,
                      _utc(latest) if latest else None, pitr.get("RecoveryPeriodInDays"))


def require_pitr(dynamodb: Any, table: str, operation: str) -> PitrWindow:
    """The table's PITR window; raises :class:`PitrNotEnabled` (with how to enable it) when it is off."""
    window = pitr_status(dynamodb, table)
    if not window.enabled:
        raise PitrNotEnabled(table, operation)
    return window


def _check_in_window(when: datetime, window: PitrWindow, what: str, now: datetime) -> None:
    if window.earliest is not None and _utc(when) < window.earliest:
        raise ClientValidationError(f"{what} {_iso(when)} is before the earliest restorable time "
                                    f"{_iso(window.earliest)}", what.replace(" ", "_"), "pitr.window")
    if _utc(when) > now:
        raise ClientValidationError(f"{what} {_iso(when)} is in the future", what.replace(" ", "_"), "pitr.window")


# --------------------------------------------------------------------------------------------------
# Restore
# --------------------------------------------------------------------------------------------------


def _throughput(pt: Mapping[str, Any] | None) -> dict[str, int] | None:
    if not pt or not pt.get("ReadCapacityUnits"):
        return None
    return {"ReadCapacityUnits": int(pt["ReadCapacityUnits"]), "WriteCapacityUnits": int(pt["WriteCapacityUnits"])}


def _on_demand(od: Mapping[str, Any] | None) -> dict[str, int] | None:
    if not od:
        return None
    out = {k: int(od[k]) for k in ("MaxReadRequestUnits", "MaxWriteRequestUnits") if od.get(k) and od[k] > 0}
    return out or None


def _projection(p: Mapping[str, Any] | None) -> dict[str, Any]:
    p = p or {"ProjectionType": "ALL"}
    out: dict[str, Any] = {"ProjectionType": p.get("ProjectionType", "ALL")}
    if p.get("NonKeyAttributes"):
        out["NonKeyAttributes"] = list(p["NonKeyAttributes"])
    return out


def _sse_spec(desc: Mapping[str, Any]) -> dict[str, Any]:
    """The SSESpecification that reproduces a table's encryption (``Enabled: False`` = AWS-owned key)."""
    sse = desc.get("SSEDescription") or {}
    if sse.get("Status") in ("ENABLED", "ENABLING", "UPDATING") and sse.get("SSEType", "KMS") == "KMS":
        spec: dict[str, Any] = {"Enabled": True, "SSEType": "KMS"}
        if sse.get("KMSMasterKeyArn"):
            spec["KMSMasterKeyId"] = sse["KMSMasterKeyArn"]
        return spec
    return {"Enabled": False}


def restore_overrides(source: Mapping[str, Any]) -> dict[str, Any]:
    """Restore parameters that give the new table the source's billing mode and capacity, GSIs, LSIs and
    encryption, explicitly rather than trusting the restore's defaults."""
    billing = billing_mode_of(source)
    out: dict[str, Any] = {"BillingModeOverride": billing}
    if billing == "PROVISIONED" and (pt := _throughput(source.get("ProvisionedThroughput"))):
        out["ProvisionedThroughputOverride"] = pt
    if billing == "PAY_PER_REQUEST" and (od := _on_demand(source.get("OnDemandThroughput"))):
        out["OnDemandThroughputOverride"] = od
    gsis = []
    for g in source.get("GlobalSecondaryIndexes") or []:
        item: dict[str, Any] = {"IndexName": g["IndexName"], "KeySchema": list(g["KeySchema"]),
                                "Projection": _projection(g.get("Projection"))}
        if billing == "PROVISIONED" and (pt := _throughput(g.get("ProvisionedThroughput"))):
            item["ProvisionedThroughput"] = pt
        if billing == "PAY_PER_REQUEST" and (od := _on_demand(g.get("OnDemandThroughput"))):
            item["OnDemandThroughput"] = od
        gsis.append(item)
    if gsis:
        out["GlobalSecondaryIndexOverride"] = gsis
    lsis = [{"IndexName": li["IndexName"], "KeySchema": list(li["KeySchema"]),
             "Projection": _projection(li.get("Projection"))} for li in source.get("LocalSecondaryIndexes") or []]
    if lsis:
        out["LocalSecondaryIndexOverride"] = lsis
    out["SSESpecificationOverride"] = _sse_spec(source)
    return out


def compare_tables(source: Mapping[str, Any], restored: Mapping[str, Any]) -> list[str]:
    """How ``restored`` differs from ``source`` in billing, capacity, GSIs, LSIs and encryption (empty = same)."""
    out = []
    sb, rb = billing_mode_of(source), billing_mode_of(restored)
    if sb != rb:
        out.append(f"billing mode {rb} (source {sb})")
    elif sb == "PROVISIONED" and _throughput(source.get("ProvisionedThroughput")) != _throughput(
            restored.get("ProvisionedThroughput")):
        out.append(f"provisioned throughput {_throughput(restored.get('ProvisionedThroughput'))} "
                   f"(source {_throughput(source.get('ProvisionedThroughput'))})")
    for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        s = sorted(i["IndexName"] for i in source.get(kind) or [])
        r = sorted(i["IndexName"] for i in restored.get(kind) or [])
        if s != r:
            out.append(f"{kind} {r} (source {s})")
    if _sse_spec(source) != _sse_spec(restored):
        out.append(f"encryption {_sse_spec(restored)} (source {_sse_spec(source)})")
    return out


def _reconcile(dynamodb: Any, target: str, source: Mapping[str, Any], restored: Mapping[str, Any],
               wait: WaitOptions | None) -> tuple[list[str], dict[str, Any]]:
    """UpdateTable what a restore left different and UpdateTable can fix (billing, capacity, encryption)."""
    update: dict[str, Any] = {}
    applied: list[str] = []
    sb = billing_mode_of(source)
    billing_differs = sb != billing_mode_of(restored)
    throughput_differs = sb == "PROVISIONED" and _throughput(source.get("ProvisionedThroughput")) != _throughput(
        restored.get("ProvisionedThroughput"))
    if billing_differs or throughput_differs:
        update["BillingMode"] = sb
        if sb == "PROVISIONED" and (pt := _throughput(source.get("ProvisionedThroughput"))):
            update["ProvisionedThroughput"] = pt
            restored_gsis = {g["IndexName"] for g in restored.get("GlobalSecondaryIndexes") or []}
            gsi_updates = [{"Update": {"IndexName": g["IndexName"], "ProvisionedThroughput": gpt}}
                           for g in source.get("GlobalSecondaryIndexes") or []
                           if g["IndexName"] in restored_gsis and (gpt := _throughput(g.get("ProvisionedThroughput")))]
            if gsi_updates:
                update["GlobalSecondaryIndexUpdates"] = gsi_updates
        applied.append(f"billing mode {sb}" + (f" {update.get('ProvisionedThroughput')}" if sb == "PROVISIONED" else ""))
    if _sse_spec(source) != _sse_spec(restored):
        update["SSESpecification"] = _sse_spec(source)
        applied.append(f"encryption {_sse_spec(source)}")
    if not update:
        return [], dict(restored)
    dynamodb.update_table(TableName=target, **update)
    desc = wait_for_table(dynamodb, target, wait) if wait is not None else _describe(dynamodb, target)
    return applied, desc


@dataclass(frozen=True)
class RestoreResult:
    """A restored table: what it was restored from, the overrides sent, and how it compares to the source.

    ``reconciled`` lists settings fixed with UpdateTable after the restore because the new table did not
    have them; ``differences`` what still differs (GSIs/LSIs cannot be added to a restored table)."""

    table: str
    source: str
    kind: str
    status: str
    overrides: dict[str, Any]
    description: dict[str, Any]
    reconciled: tuple[str, ...] = ()
    differences: tuple[str, ...] = ()
    restore_time: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "source": self.source, "kind": self.kind, "status": self.status,
                "restore_time": _iso(self.restore_time), "overrides": self.overrides,
                "reconciled": list(self.reconciled), "differences": list(self.differences),
                "table_arn": self.description.get("TableArn")}


def _finish_restore(dynamodb: Any, target: str, source_desc: Mapping[str, Any], started: Mapping[str, Any],
                    *, source: str, kind: str, overrides: dict[str, Any], wait: WaitOptions | None,
                    reconcile: bool, restore_time: datetime | None, source_known: bool = True) -> RestoreResult:
    desc = wait_for_table(dynamodb, target, wait) if wait is not None else dict(started)
    applied: list[str] = []
    if wait is not None and reconcile and source_known:
        applied, desc = _reconcile(dynamodb, target, source_desc, desc, wait)
    diffs = compare_tables(source_desc, desc) if wait is not None and source_known else []
    for d in diffs:
        log.warning("restored table %s differs from its source: %s", target, d)
    return RestoreResult(target, source, kind, str(desc.get("TableStatus", "")), overrides, dict(desc),
                         tuple(applied), tuple(diffs), restore_time)


def _backup_source_description(backup_description: Mapping[str, Any]) -> dict[str, Any]:
    """A DescribeTable-shaped view of the table a backup was taken of (its details plus its features)."""
    details = dict(backup_description.get("SourceTableDetails") or {})
    features = backup_description.get("SourceTableFeatureDetails") or {}
    if details.get("BillingMode") and not details.get("BillingModeSummary"):
        details["BillingModeSummary"] = {"BillingMode": details["BillingMode"]}
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "SSEDescription"):
        if features.get(key):
            details[key] = features[key]
    return details


def restore_from_backup(dynamodb: Any, backup_arn: str, target: str, *, overrides: Mapping[str, Any] | None = None,
                        wait: WaitOptions | None = None, reconcile: bool = True) -> RestoreResult:
    """Restore ``backup_arn`` into the new table ``target`` with the source's GSIs, LSIs, encryption and
    billing (:func:`restore_overrides` of the backed-up table, updated by ``overrides``).

    With ``wait``, waits until the table is ACTIVE, fixes with UpdateTable what the restore did not carry
    over (``reconcile``) and reports what still differs.
    """
    bd = dynamodb.describe_backup(BackupArn=backup_arn)["BackupDescription"]
    status = bd.get("BackupDetails", {}).get("BackupStatus")
    if status != "AVAILABLE":
        raise BackupError(f"backup {backup_arn} is {status}, not AVAILABLE: it cannot be restored yet")
    source_desc = _backup_source_description(bd)
    if not bd.get("SourceTableDetails", {}).get("BillingMode") and not bd.get("SourceTableFeatureDetails"):
        # AWS always reports the backed-up table's BillingMode; an endpoint that does not (moto) reports no
        # features either: take them from the source table itself while it still exists.
        try:
            source_desc = _describe(dynamodb, str(source_desc.get("TableName")))
        except Exception as err:  # noqa: BLE001 - the table may be gone: no overrides, the service's defaults
            log.warning("backup %s describes neither billing nor features and its table cannot be described "
                        "(%s): restoring without overrides", backup_arn, err)
            started = dynamodb.restore_table_from_backup(TargetTableName=target, BackupArn=backup_arn,
                                                         **(overrides or {}))
            return _finish_restore(dynamodb, target, source_desc, started.get("TableDescription", {}),
                                   source=backup_arn, kind="backup", overrides=dict(overrides or {}), wait=wait,
                                   reconcile=False, restore_time=None, source_known=False)
    params = {**restore_overrides(source_desc), **(overrides or {})}
    started = dynamodb.restore_table_from_backup(TargetTableName=target, BackupArn=backup_arn, **params)
    return _finish_restore(dynamodb, target, source_desc, started.get("TableDescription", {}), source=backup_arn,
                           kind="backup", overrides=params, wait=wait, reconcile=reconcile, restore_time=None)


def restore_to_point_in_time(dynamodb: Any, source_table: str, target: str, *, restore_time: datetime | None = None,
                             overrides: Mapping[str, Any] | None = None, wait: WaitOptions | None = None,
                             reconcile: bool = True, now: datetime | None = None) -> RestoreResult:
    """Restore ``source_table`` as it was at ``restore_time`` (default: the latest restorable time) into
    the new table ``target``, keeping its GSIs, LSIs, encryption and billing; PITR is checked first."""
    window = require_pitr(dynamodb, source_table, "restore to a point in time")
    if restore_time is not None:
        _check_in_window(restore_time, window, "restore time", now or _now())
    source_desc = _describe(dynamodb, source_table)
    params = {**restore_overrides(source_desc), **(overrides or {})}
    when: dict[str, Any] = ({"RestoreDateTime": _utc(restore_time)} if restore_time is not None
                            else {"UseLatestRestorableTime": True})
    started = dynamodb.restore_table_to_point_in_time(SourceTableName=source_table, TargetTableName=target,
                                                      **when, **params)
    return _finish_restore(dynamodb, target, source_desc, started.get("TableDescription", {}), source=source_table,
                           kind="point-in-time", overrides=params, wait=wait, reconcile=reconcile,
                           restore_time=restore_time)


# --------------------------------------------------------------------------------------------------
# Export to S3
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportResult:
    """An export: its ARN and status, where it went, how many items, and its manifest (when known).

    AWS writes ``<prefix>/AWSDynamoDB/<export id>/manifest-summary.json`` and the data under ``.../data/``;
    moto writes only the data (``manifest`` is None there)."""

    export_arn: str
    status: str
    table_arn: str
    bucket: str
    prefix: str
    export_format: str
    export_type: str
    item_count: int | None = None
    manifest: str | None = None
    bucket_owner: str | None = None
    billed_size_bytes: int | None = None
    export_time: datetime | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    bucket_region: str | None = None

    @classmethod
    def from_description(cls, d: Mapping[str, Any]) -> ExportResult:
        prefix = str(d.get("S3Prefix") or "")
        manifest = d.get("ExportManifest")
        arn = str(d["ExportArn"])
        if not manifest and "/export/" in arn:
            base = f"{prefix}/AWSDynamoDB" if prefix else "AWSDynamoDB"
            manifest = f"{base}/{arn.rsplit('/export/', 1)[1]}/manifest-summary.json"
        et = d.get("ExportTime")
        return cls(export_arn=arn, status=str(d.get("ExportStatus", "")), table_arn=str(d.get("TableArn", "")),
                   bucket=str(d.get("S3Bucket", "")), prefix=prefix,
                   export_format=str(d.get("ExportFormat", "DYNAMODB_JSON")),
                   export_type=str(d.get("ExportType", "FULL_EXPORT")), item_count=d.get("ItemCount"),
                   manifest=manifest, bucket_owner=d.get("S3BucketOwner"), billed_size_bytes=d.get("BilledSizeBytes"),
                   export_time=_utc(et) if et else None, failure_code=d.get("FailureCode"),
                   failure_message=d.get("FailureMessage"))

    @property
    def manifest_url(self) -> str | None:
        return f"s3://{self.bucket}/{self.manifest}" if self.manifest else None

    @property
    def data_prefix(self) -> str:
        """The S3 key prefix of the exported data files, for :func:`import_from_s3`."""
        if self.manifest:
            return self.manifest.rsplit("/", 1)[0] + "/data/"
        return self.prefix

    def to_dict(self) -> dict[str, Any]:
        return {"export_arn": self.export_arn, "status": self.status, "table_arn": self.table_arn,
                "bucket": self.bucket, "bucket_region": self.bucket_region, "prefix": self.prefix,
                "format": self.export_format, "type": self.export_type, "item_count": self.item_count,
                "manifest": self.manifest_url, "data_prefix": self.data_prefix,
                "export_time": _iso(self.export_time), "failure_code": self.failure_code,
                "failure_message": self.failure_message}


def export_request(table_arn: str, bucket: str, *, prefix: str, export_format: str = "DYNAMODB_JSON",
                   export_type: str = "FULL_EXPORT", export_time: datetime | None = None,
                   incremental_from: datetime | None = None, incremental_to: datetime | None = None,
                   view_type: str = "NEW_AND_OLD_IMAGES", bucket_owner: str | None = None,
                   sse_algorithm: str | None = None, kms_key_id: str | None = None,
                   client_token: str | None = None) -> dict[str, Any]:
    """ExportTableToPointInTime's parameters, checked before sending (pure).

    ``table_arn`` must be a TABLE ARN: a backup ARN (what the spec's example passes) is refused here.
    """
    if _BACKUP_ARN_PART.search(table_arn):
        raise ClientValidationError(
            f"{table_arn} is a backup ARN; ExportTableToPointInTime exports a table at a point in time and needs "
            f"the TABLE ARN (arn:...:table/NAME)", "TableArn", "export.table_arn")
    if not _TABLE_ARN_RE.match(table_arn):
        raise ClientValidationError(f"{table_arn!r} is not a DynamoDB table ARN", "TableArn", "export.table_arn")
    if export_format not in EXPORT_FORMATS:
        raise ClientValidationError(f"export format must be one of {EXPORT_FORMATS}, got {export_format!r}",
                                    "ExportFormat", "export.format")
    if export_type not in EXPORT_TYPES:
        raise ClientValidationError(f"export type must be one of {EXPORT_TYPES}, got {export_type!r}",
                                    "ExportType", "export.type")
    if not bucket:
        raise ClientValidationError("an S3 bucket is required", "S3Bucket", "export.bucket")
    req: dict[str, Any] = {"TableArn": table_arn, "S3Bucket": bucket, "S3Prefix": prefix.strip("/"),
                           "ExportFormat": export_format, "ExportType": export_type}
    if export_type == "INCREMENTAL_EXPORT":
        if export_time is not None:
            raise ClientValidationError("export_time is for full exports; an incremental export takes "
                                        "incremental_from/incremental_to", "ExportTime", "export.incremental")
        if incremental_from is None or incremental_to is None:
            raise ClientValidationError("an incremental export needs incremental_from and incremental_to",
                                        "IncrementalExportSpecification", "export.incremental")
        span = _utc(incremental_to) - _utc(incremental_from)
        if not INCREMENTAL_MIN <= span <= INCREMENTAL_MAX:
            raise ClientValidationError(f"an incremental export covers 15 minutes to 24 hours, got {span}",
                                        "IncrementalExportSpecification", "export.incremental")
        if view_type not in EXPORT_VIEW_TYPES:
            raise ClientValidationError(f"view type must be one of {EXPORT_VIEW_TYPES}", "ExportViewType",
                                        "export.incremental")
        req["IncrementalExportSpecification"] = {"ExportFromTime": _utc(incremental_from),
                                                 "ExportToTime": _utc(incremental_to), "ExportViewType": view_type}
    elif incremental_from is not None or incremental_to is not None:
        raise ClientValidationError("incremental_from/incremental_to need export_type='INCREMENTAL_EXPORT'",
                                    "IncrementalExportSpecification", "export.incremental")
    elif export_time is not None:
        req["ExportTime"] = _utc(export_time)
    if sse_algorithm is not None:
        if sse_algorithm not in S3_SSE_ALGORITHMS:
            raise ClientValidationError(f"S3 SSE algorithm must be one of {S3_SSE_ALGORITHMS}", "S3SseAlgorithm",
                                        "export.sse")
        req["S3SseAlgorithm"] = sse_algorithm
    if kms_key_id is not None:
        if sse_algorithm != "KMS":
            raise ClientValidationError("a KMS key needs sse_algorithm='KMS'", "S3SseKmsKeyId", "export.sse")
        req["S3SseKmsKeyId"] = kms_key_id
    if bucket_owner is not None:
        req["S3BucketOwner"] = bucket_owner
    if client_token is not None:
        req["ClientToken"] = client_token
    return req


def export_table(dynamodb: Any, table: str, bucket: str, *, prefix: str | None = None,
                 export_format: str = "DYNAMODB_JSON", export_type: str = "FULL_EXPORT",
                 export_time: datetime | None = None, incremental_from: datetime | None = None,
                 incremental_to: datetime | None = None, view_type: str = "NEW_AND_OLD_IMAGES",
                 bucket_owner: str | None = None, sse_algorithm: str | None = None, kms_key_id: str | None = None,
                 client_token: str | None = None, wait: WaitOptions | None = None,
                 now: datetime | None = None) -> ExportResult:
    """Export ``table`` to ``s3://bucket/prefix`` (default prefix ``exports/<table>``) at a point in time.

    Checks PITR first (:class:`PitrNotEnabled`), the times against its window, then calls
    ExportTableToPointInTime with the table's ARN. With ``wait``, polls until COMPLETED and reports the
    item count and manifest (:class:`JobFailed` if it fails).
    """
    window = require_pitr(dynamodb, table, "export to S3")
    current = now or _now()
    for what, when in (("export time", export_time), ("incremental from", incremental_from),
                       ("incremental to", incremental_to)):
        if when is not None:
            _check_in_window(when, window, what, current)
    table_arn = str(_describe(dynamodb, table)["TableArn"])
    req = export_request(table_arn, bucket, prefix=prefix if prefix is not None else f"exports/{table}",
                         export_format=export_format, export_type=export_type, export_time=export_time,
                         incremental_from=incremental_from, incremental_to=incremental_to, view_type=view_type,
                         bucket_owner=bucket_owner, sse_algorithm=sse_algorithm, kms_key_id=kms_key_id,
                         client_token=client_token)
    result = ExportResult.from_description(dynamodb.export_table_to_point_in_time(**req)["ExportDescription"])
    if wait is not None:
        result = wait_for_export(dynamodb, result.export_arn, wait)
    return result


def wait_for_export(dynamodb: Any, export_arn: str, wait: WaitOptions | None = None) -> ExportResult:
    """Poll DescribeExport until COMPLETED; :class:`JobFailed` with the failure code when it FAILED."""
    return _poll(lambda: ExportResult.from_description(dynamodb.describe_export(ExportArn=export_arn)["ExportDescription"]),
                 lambda r: r.status, what=f"export {export_arn}", done={"COMPLETED"}, failed={"FAILED"},
                 wait=wait or WaitOptions(),
                 on_failed=lambda r, s: JobFailed("export", export_arn, s, r.failure_code, r.failure_message))


def export_cross_region(dynamodb: Any, table: str, bucket: str, *, bucket_region: str, s3: Any = None,
                        **kwargs: Any) -> ExportResult:
    """:func:`export_table` to a bucket in another region: a copy of the data that survives the loss of
    the table's region. With an ``s3`` client, the bucket's region is checked first (GetBucketLocation)."""
    table_region = dynamodb.meta.region_name
    if bucket_region == table_region:
        raise ClientValidationError(f"bucket region {bucket_region} is the table's own region; a cross-region "
                                    f"export needs a bucket elsewhere", "bucket_region", "export.cross_region")
    if s3 is not None:
        actual = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint") or "us-east-1"
        if actual != bucket_region:
            raise BackupError(f"bucket {bucket} is in {actual}, not {bucket_region}")
    return replace(export_table(dynamodb, table, bucket, **kwargs), bucket_region=bucket_region)


# --------------------------------------------------------------------------------------------------
# Import from S3
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    """An ImportTable job and the table it creates."""

    import_arn: str
    status: str
    table_arn: str
    imported_count: int | None = None
    processed_count: int | None = None
    error_count: int | None = None
    failure_code: str | None = None
    failure_message: str | None = None

    @classmethod
    def from_description(cls, d: Mapping[str, Any]) -> ImportResult:
        return cls(str(d["ImportArn"]), str(d.get("ImportStatus", "")), str(d.get("TableArn", "")),
                   d.get("ImportedItemCount"), d.get("ProcessedItemCount"), d.get("ErrorCount"),
                   d.get("FailureCode"), d.get("FailureMessage"))

    @property
    def table_name(self) -> str:
        return self.table_arn.rsplit("table/", 1)[-1].split("/", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        return {"import_arn": self.import_arn, "status": self.status, "table_arn": self.table_arn,
                "imported_count": self.imported_count, "processed_count": self.processed_count,
                "error_count": self.error_count, "failure_code": self.failure_code,
                "failure_message": self.failure_message}


def import_table_parameters(source: Mapping[str, Any], target: str) -> dict[str, Any]:
    """ImportTable's TableCreationParameters reproducing ``source`` (a DescribeTable ``Table``) as ``target``:
    key schema, billing and capacity, GSIs and encryption. ImportTable cannot create LSIs; their key
    attributes are left out of AttributeDefinitions (which must list key attributes only)."""
    billing = billing_mode_of(source)
    params: dict[str, Any] = {"TableName": target, "KeySchema": list(source["KeySchema"]), "BillingMode": billing}
    used = {k["AttributeName"] for k in source["KeySchema"]}
    gsis = []
    for g in source.get("GlobalSecondaryIndexes") or []:
        used |= {k["AttributeName"] for k in g["KeySchema"]}
        item: dict[str, Any] = {"IndexName": g["IndexName"], "KeySchema": list(g["KeySchema"]),
                                "Projection": _projection(g.get("Projection"))}
        if billing == "PROVISIONED" and (pt := _throughput(g.get("ProvisionedThroughput"))):
            item["ProvisionedThroughput"] = pt
        gsis.append(item)
    if gsis:
        params["GlobalSecondaryIndexes"] = gsis
    params["AttributeDefinitions"] = [a for a in source["AttributeDefinitions"] if a["AttributeName"] in used]
    if billing == "PROVISIONED" and (pt := _throughput(source.get("ProvisionedThroughput"))):
        params["ProvisionedThroughput"] = pt
    sse = _sse_spec(source)
    if sse.get("Enabled"):
        params["SSESpecification"] = sse
    return params


def import_from_s3(dynamodb: Any, bucket: str, prefix: str, table_parameters: Mapping[str, Any], *,
                   input_format: str = "DYNAMODB_JSON", compression: str = "GZIP", bucket_owner: str | None = None,
                   client_token: str | None = None, wait: WaitOptions | None = None) -> ImportResult:
    """ImportTable from ``s3://bucket/prefix`` into a NEW table (``table_parameters``, e.g. from
    :func:`import_table_parameters`). An export's data is at :attr:`ExportResult.data_prefix`, gzipped.
    With ``wait``, polls until COMPLETED and waits for the table to be ACTIVE."""
    if input_format not in IMPORT_FORMATS:
        raise ClientValidationError(f"input format must be one of {IMPORT_FORMATS}", "InputFormat", "import.format")
    if compression not in ("GZIP", "ZSTD", "NONE"):
        raise ClientValidationError("compression must be GZIP, ZSTD or NONE", "InputCompressionType",
                                    "import.compression")
    source: dict[str, Any] = {"S3Bucket": bucket, "S3KeyPrefix": prefix}
    if bucket_owner:
        source["S3BucketOwner"] = bucket_owner
    kwargs: dict[str, Any] = {"S3BucketSource": source, "InputFormat": input_format,
                              "InputCompressionType": compression, "TableCreationParameters": dict(table_parameters)}
    if client_token:
        kwargs["ClientToken"] = client_token
    result = ImportResult.from_description(dynamodb.import_table(**kwargs)["ImportTableDescription"])
    if wait is not None:
        result = wait_for_import(dynamodb, result.import_arn, wait)
        wait_for_table(dynamodb, str(table_parameters["TableName"]), wait)
    return result


def wait_for_import(dynamodb: Any, import_arn: str, wait: WaitOptions | None = None) -> ImportResult:
    """Poll DescribeImport until COMPLETED; :class:`JobFailed` when it FAILED or was CANCELLED."""
    return _poll(lambda: ImportResult.from_description(dynamodb.describe_import(ImportArn=import_arn)["ImportTableDescription"]),
                 lambda r: r.status, what=f"import {import_arn}", done={"COMPLETED"},
                 failed={"FAILED", "CANCELLED", "CANCELLING"}, wait=wait or WaitOptions(),
                 on_failed=lambda r, s: JobFailed("import", import_arn, s, r.failure_code, r.failure_message))


# --------------------------------------------------------------------------------------------------
# Cross-region copy (AWS Backup)
# --------------------------------------------------------------------------------------------------


def backup_vault_arn(region: str, account: str, name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:backup:{region}:{account}:backup-vault:{name}"


def latest_recovery_point(backup: Any, resource_arn: str) -> dict[str, Any]:
    """The newest COMPLETED AWS Backup recovery point of ``resource_arn`` (a table ARN), in any vault."""
    points: list[dict[str, Any]] = []
    for page in backup.get_paginator("list_recovery_points_by_resource").paginate(ResourceArn=resource_arn):
        points += [p for p in page.get("RecoveryPoints", []) if p.get("Status") == "COMPLETED"]
    if not points:
        raise BackupError(f"AWS Backup has no COMPLETED recovery point of {resource_arn}: is the table in a "
                          f"backup plan, and has the plan run?")
    return max(points, key=lambda p: _utc(p["CreationDate"]))


@dataclass(frozen=True)
class CopyJobResult:
    """An AWS Backup copy job of a recovery point into another vault (usually another region)."""

    copy_job_id: str
    state: str
    source_recovery_point_arn: str
    source_vault: str | None
    destination_vault_arn: str
    destination_recovery_point_arn: str | None = None
    status_message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"copy_job_id": self.copy_job_id, "state": self.state,
                "source_recovery_point_arn": self.source_recovery_point_arn, "source_vault": self.source_vault,
                "destination_vault_arn": self.destination_vault_arn,
                "destination_recovery_point_arn": self.destination_recovery_point_arn,
                "status_message": self.status_message}


def start_copy_job(backup: Any, *, table_arn: str, destination_region: str, destination_vault: str,
                   iam_role_arn: str, recovery_point_arn: str | None = None, source_vault: str | None = None,
                   delete_after_days: int | None = None, idempotency_token: str | None = None,
                   wait: WaitOptions | None = None) -> CopyJobResult:
    """StartCopyJob of the table's recovery point (the newest COMPLETED one unless ``recovery_point_arn``)
    into ``destination_vault`` (a name in ``destination_region``, or a vault ARN). ``backup`` is an AWS
    Backup client in the TABLE's region. With ``wait``, polls DescribeCopyJob until COMPLETED."""
    if not _TABLE_ARN_RE.match(table_arn):
        raise ClientValidationError(f"{table_arn!r} is not a DynamoDB table ARN", "table_arn", "copy.table_arn")
    if recovery_point_arn is None or source_vault is None:
        point = latest_recovery_point(backup, table_arn)
        recovery_point_arn = recovery_point_arn or str(point["RecoveryPointArn"])
        source_vault = source_vault or str(point["BackupVaultName"])
    if destination_vault.startswith("arn:"):
        dest_arn = destination_vault
    else:
        partition, account = table_arn.split(":")[1], table_arn.split(":")[4]
        dest_arn = backup_vault_arn(destination_region, account, destination_vault, partition)
    kwargs: dict[str, Any] = {"RecoveryPointArn": recovery_point_arn, "SourceBackupVaultName": source_vault,
                              "DestinationBackupVaultArn": dest_arn, "IamRoleArn": iam_role_arn}
    if delete_after_days is not None:
        kwargs["Lifecycle"] = {"DeleteAfterDays": delete_after_days}
    if idempotency_token:
        kwargs["IdempotencyToken"] = idempotency_token
    job_id = str(backup.start_copy_job(**kwargs)["CopyJobId"])
    result = CopyJobResult(job_id, "CREATED", recovery_point_arn, source_vault, dest_arn)
    if wait is not None:
        result = wait_for_copy_job(backup, job_id, wait)
    return result


def wait_for_copy_job(backup: Any, copy_job_id: str, wait: WaitOptions | None = None) -> CopyJobResult:
    """Poll DescribeCopyJob until COMPLETED; :class:`JobFailed` on FAILED, ABORTED or PARTIAL."""

    def describe() -> CopyJobResult:
        job = backup.describe_copy_job(CopyJobId=copy_job_id)["CopyJob"]
        source_vault = str(job.get("SourceBackupVaultArn", "")).rsplit(":", 1)[-1] or None
        return CopyJobResult(copy_job_id, str(job.get("State", "")), str(job.get("SourceRecoveryPointArn", "")),
                             source_vault, str(job.get("DestinationBackupVaultArn", "")),
                             job.get("DestinationRecoveryPointArn"), job.get("StatusMessage"))

    return _poll(describe, lambda r: r.state, what=f"copy job {copy_job_id}", done={"COMPLETED"},
                 failed={"FAILED", "ABORTED", "PARTIAL"}, wait=wait or WaitOptions(),
                 on_failed=lambda r, s: JobFailed("copy job", copy_job_id, s, None, r.status_message))


# --------------------------------------------------------------------------------------------------
# The backup Lambda
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupJobSettings:
    """What the backup job does, from the Lambda's environment (:meth:`from_env`):

    ``TABLE_NAME`` (required); ``BACKUP_BUCKET`` (export to S3 when set; may be in another region),
    ``EXPORT_FORMAT`` (DYNAMODB_JSON or ION), ``EXPORT_PREFIX`` (default ``exports/<table>``),
    ``EXPORT_WAIT_SECONDS`` (wait that long for the export, default 0: start it and report IN_PROGRESS);
    ``COPY_TO_REGION`` + ``COPY_TO_VAULT`` + ``COPY_ROLE_ARN`` (AWS Backup copy of the newest recovery
    point); ``RETENTION_DAYS`` (prune on-demand backups older than that), ``KEEP_MIN_BACKUPS`` (default 1).
    """

    table_name: str
    backup_bucket: str | None = None
    export_format: str = "DYNAMODB_JSON"
    export_prefix: str | None = None
    export_wait_seconds: float = 0.0
    copy_to_region: str | None = None
    copy_to_vault: str | None = None
    copy_role_arn: str | None = None
    retention_days: int | None = None
    keep_min: int = 1

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> BackupJobSettings:
        """Read and check the settings; :class:`ClientValidationError` names the bad variable."""

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def number(name: str, kind: Callable[[str], Any], minimum: float) -> Any:
            raw = get(name)
            if raw is None:
                return None
            try:
                value = kind(raw)
            except ValueError:
                raise ClientValidationError(f"{name}={raw!r} is not a number", name, "env.number") from None
            if value < minimum:
                raise ClientValidationError(f"{name} must be >= {minimum}, got {raw}", name, "env.number")
            return value

        table = get("TABLE_NAME")
        if not table:
            raise ClientValidationError("TABLE_NAME is required", "TABLE_NAME", "env.required")
        fmt = (get("EXPORT_FORMAT") or "DYNAMODB_JSON").upper()
        if fmt not in EXPORT_FORMATS:
            raise ClientValidationError(f"EXPORT_FORMAT must be one of {EXPORT_FORMATS}, got {fmt!r}",
                                        "EXPORT_FORMAT", "env.choice")
        copy = {n: get(n) for n in ("COPY_TO_REGION", "COPY_TO_VAULT", "COPY_ROLE_ARN")}
        if any(copy.values()) and not all(copy.values()):
            missing = [n for n, v in copy.items() if not v]
            raise ClientValidationError(f"a cross-region copy needs COPY_TO_REGION, COPY_TO_VAULT and COPY_ROLE_ARN; "
                                        f"missing {missing}", missing[0], "env.copy")
        keep = number("KEEP_MIN_BACKUPS", int, 1)
        return cls(table_name=table, backup_bucket=get("BACKUP_BUCKET"), export_format=fmt,
                   export_prefix=get("EXPORT_PREFIX"), export_wait_seconds=number("EXPORT_WAIT_SECONDS", float, 0) or 0.0,
                   copy_to_region=copy["COPY_TO_REGION"], copy_to_vault=copy["COPY_TO_VAULT"],
                   copy_role_arn=copy["COPY_ROLE_ARN"], retention_days=number("RETENTION_DAYS", int, 1),
                   keep_min=keep if keep is not None else 1)


def run_backup_job(settings: BackupJobSettings, *, dynamodb: Any, backup: Any = None, now: datetime | None = None,
                   wait: WaitOptions | None = None) -> dict[str, Any]:
    """Backup, export, copy, prune -- in that order, each only after the previous one succeeded.

    * ``backup``: CreateBackup, then wait until it is AVAILABLE;
    * ``export``: (``backup_bucket``) ExportTableToPointInTime of the table ARN, PITR checked first; a
      FAILED export raises; one still running after ``export_wait_seconds`` is reported IN_PROGRESS;
    * ``copy``: (``copy_to_region``) StartCopyJob of the newest recovery point (``backup`` client);
    * ``prune``: (``retention_days``) :func:`prune_backups`, which deletes nothing unless a newer backup
      is confirmed AVAILABLE.

    Returns a JSON-serialisable summary. A failing step raises :class:`BackupStepError` naming it.
    """
    wait = wait or WaitOptions(interval=2.0, timeout=300.0)
    started = now or _now()
    table = settings.table_name
    summary: dict[str, Any] = {"table": table, "started": _iso(started), "steps": {}}

    def step(name: str, run: Callable[[], Any]) -> Any:
        try:
            result = run()
        except Exception as err:
            summary["failed_step"] = name
            raise BackupStepError(name, err, summary) from err
        summary["steps"][name] = _jsonable(result)
        return result

    step("backup", lambda: create_backup(dynamodb, table, now=started, wait=wait).to_dict())

    def export() -> dict[str, Any]:
        if not settings.backup_bucket:
            return {"skipped": "BACKUP_BUCKET not set"}
        result = export_table(dynamodb, table, settings.backup_bucket, prefix=settings.export_prefix,
                              export_format=settings.export_format)
        try:
            result = wait_for_export(dynamodb, result.export_arn,
                                     replace(wait, timeout=settings.export_wait_seconds, on_poll=None))
        except WaitTimeout:
            pass  # still running: reported as IN_PROGRESS, DescribeExport tells the rest later
        return result.to_dict()

    step("export", export)

    def copy() -> dict[str, Any]:
        if not settings.copy_to_region:
            return {"skipped": "COPY_TO_REGION not set"}
        if backup is None:
            raise BackupError("a copy needs an AWS Backup client")
        table_arn = str(_describe(dynamodb, table)["TableArn"])
        return start_copy_job(backup, table_arn=table_arn, destination_region=settings.copy_to_region,
                              destination_vault=str(settings.copy_to_vault), iam_role_arn=str(settings.copy_role_arn),
                              idempotency_token=f"{table}-{started:%Y%m%dT%H%M%SZ}"[:100]).to_dict()

    step("copy", copy)

    def prune() -> dict[str, Any]:
        if not settings.retention_days:
            return {"skipped": "RETENTION_DAYS not set"}
        return prune_backups(dynamodb, table, retention_days=settings.retention_days, keep_min=settings.keep_min,
                             now=started).to_dict()

    step("prune", prune)
    summary["finished"] = _iso(_now())
    return summary


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """The backup Lambda: settings from the environment (:class:`BackupJobSettings`), clients from the
    Lambda's role and region, then :func:`run_backup_job`. Logs and returns the JSON summary; raises
    :class:`BackupStepError` on any failure so Lambda retries and error alarms fire.

    Waits are bounded by the invocation's remaining time (less a 30 s margin).
    """
    summary_head = {"table": os.environ.get("TABLE_NAME")}
    try:
        settings = BackupJobSettings.from_env(os.environ)
    except Exception as err:
        raise BackupStepError("config", err, summary_head) from err
    import boto3

    remaining = None
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        remaining = context.get_remaining_time_in_millis() / 1000.0 - 30.0
    timeout = max(1.0, min(300.0, remaining)) if remaining is not None else 300.0
    wait = WaitOptions(interval=2.0, timeout=timeout)
    if remaining is not None:
        settings = replace(settings, export_wait_seconds=max(0.0, min(settings.export_wait_seconds, remaining - timeout)))
    from ddbkit.core.region import resolve_region

    region = resolve_region()  # AWS_REGION (set by Lambda) before AWS_DEFAULT_REGION, as the AWS CLI
    dynamodb = boto3.client("dynamodb", region_name=region)
    backup = boto3.client("backup", region_name=region) if settings.copy_to_region else None
    summary = run_backup_job(settings, dynamodb=dynamodb, backup=backup, wait=wait)
    print(json.dumps({"ddbkit_backup_job": summary}))  # one structured line in the function's log
    return summary
