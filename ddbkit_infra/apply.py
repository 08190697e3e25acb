"""``ddbkit apply`` / ``ddbkit destroy``: execute a :class:`~ddbkit_infra.plan.Plan`, and delete a table.

:func:`apply_plan` runs the plan's calls in order, filling :class:`~ddbkit_infra.plan.Ref` placeholders
with outputs of earlier calls and waiting after each call that needs it (table and indexes ACTIVE, replica
ACTIVE, DAX cluster available). It refuses a plan holding a ``refuse`` change before making any call.
Idempotent by construction: the plan was computed from the live state, so after an apply a new plan is
all no-op.

Progress: a rich progress bar when stdout is a terminal, one plain line per call otherwise (CI logs).

:func:`destroy` is the only way ddbkit deletes a table: it refuses while deletion protection is on (on
the table or any replica), removes replicas, then the table, its alarms and scalable targets. The KMS
key, backup vault and recovery points and DAX cluster are kept and listed.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ddbkit.config import TableConfig

from ddbkit_infra.plan import (
    Action,
    ApiCall,
    AwsClients,
    Plan,
    ProvisioningError,
    Ref,
    UnsupportedOperationError,
    Wait,
    error_code,
    pages,
    stream_policy_gap,
    unsupported,
)
from ddbkit_infra.resources import alarm_prefix, dax_enabled

__all__ = ["ApplyResult", "OnWait", "apply_plan", "destroy", "wait_for"]

Echo = Callable[[str], None]


@dataclass
class ApplyResult:
    """What apply did: the calls made (``service.operation [region]``) and the outputs collected."""

    calls: list[str] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    dry_run: bool = False
    skipped: list[str] = field(default_factory=list)  # calls the endpoint lacks (skip_unsupported)

    @property
    def changed(self) -> bool:
        return bool(self.calls)


def _stream_policy_gap(call: ApiCall, params: dict[str, Any], err: BaseException) -> bool:
    """moto 5.2 reads a stream ARN's last segment as a table name and answers ResourceNotFound to a stream
    resource policy; AWS itself never does for a stream it just described."""
    return call.operation == "put_resource_policy" and stream_policy_gap(str(params.get("ResourceArn", "")), err)


class ReplicasNotEmulatedError(UnsupportedOperationError):
    """The endpoint accepted a replica create but made no replica: it has no global tables (moto, DynamoDB
    Local). With ``skip_unsupported`` apply skips every replica and replica-region setting after it."""


#: Changes that exist only in a replica's region (skipped with the replicas on a backend without them).
_REPLICA_RESOURCES = ("dynamodb:replica", "dynamodb:replica-settings", "application-autoscaling:target")


def _check_replicas_created(clients: AwsClients, call: ApiCall, params: dict[str, Any]) -> None:
    """After a replica create and its wait (AWS lists the replica at once, CREATING then ACTIVE), raise
    :class:`ReplicasNotEmulatedError` when DescribeTable lists no replica in the region asked for."""
    if call.service != "dynamodb" or call.operation != "update_table":
        return
    regions = [u["Create"]["RegionName"] for u in params.get("ReplicaUpdates", []) if "Create" in u]
    if not regions:
        return
    table = clients.client("dynamodb", call.region).describe_table(TableName=params["TableName"])["Table"]
    listed = {r.get("RegionName") for r in table.get("Replicas", []) or []}
    missing = [r for r in regions if r not in listed]
    if missing:
        raise ReplicasNotEmulatedError(
            call.describe(), f"the endpoint accepted the replica in {', '.join(missing)} but created none: it does "
            "not emulate global tables (a local backend); nothing was done in the replica regions (pass "
            "--skip-unsupported to skip replicas on a local backend)")


def _resolve(value: Any, outputs: dict[str, Any]) -> Any:
    if isinstance(value, Ref):
        if value.name not in outputs:
            raise ProvisioningError("apply", f"value {value.name!r} was not produced by an earlier call")
        return outputs[value.name]
    if isinstance(value, dict):
        return {k: _resolve(v, outputs) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, outputs) for v in value]
    return value


def _dig(data: Any, path: str) -> Any:
    for part in path.split("."):
        data = data[part]
    return data


#: ``on_wait(what, status, elapsed seconds)``: called after every status poll while apply waits.
OnWait = Callable[[str, str, float], None]


def wait_for(clients: AwsClients, wait: Wait, *, poll: float = 5.0, timeout: float = 3600.0,
             on_wait: OnWait | None = None) -> None:
    """Poll until ``wait`` holds: table ACTIVE with every index and replica ACTIVE; table gone; DAX available.

    ``on_wait`` sees each poll's status (e.g. ``UPDATING; index ByG CREATING (backfilling)``) for progress.
    """
    start = time.monotonic()
    deadline = start + timeout
    what = f"{'DAX cluster' if wait.kind == 'dax' else 'table'} {wait.name}" + (
        f" [{wait.region}]" if wait.region else "")
    while True:
        done, status = _status(clients, wait)
        if on_wait is not None:
            on_wait(what, status, time.monotonic() - start)
        if done:
            return
        if time.monotonic() > deadline:
            raise ProvisioningError(f"{wait.kind} {wait.name}",
                                    f"still not ready after {timeout:.0f} s (last status: {status})")
        time.sleep(poll)


def _done(clients: AwsClients, wait: Wait) -> bool:
    return _status(clients, wait)[0]


def _status(clients: AwsClients, wait: Wait) -> tuple[bool, str]:
    """Whether ``wait`` holds, and the status in words (table, then every index/replica not ACTIVE)."""
    if wait.kind == "dax":
        clusters = clients.client("dax", wait.region).describe_clusters(ClusterNames=[wait.name])["Clusters"]
        state = str(clusters[0].get("Status")) if clusters else "not found"
        return state == "available", state
    ddb = clients.client("dynamodb", wait.region)
    try:
        t = ddb.describe_table(TableName=wait.name)["Table"]
    except Exception as err:  # noqa: BLE001
        if error_code(err) == "ResourceNotFoundException":
            return wait.kind == "table-deleted", "deleted"
        raise
    if wait.kind == "table-deleted":
        return False, str(t.get("TableStatus"))
    parts = [str(t.get("TableStatus"))]
    for g in t.get("GlobalSecondaryIndexes", []) or []:
        if g.get("IndexStatus", "ACTIVE") != "ACTIVE":
            parts.append(f"index {g.get('IndexName')} {g.get('IndexStatus')}"
                         + (" (backfilling)" if g.get("Backfilling") else ""))
    for r in t.get("Replicas", []) or []:
        if r.get("ReplicaStatus", "ACTIVE") != "ACTIVE":
            pct = r.get("ReplicaStatusPercentProgress")
            parts.append(f"replica {r.get('RegionName')} {r.get('ReplicaStatus')}" + (f" {pct}%" if pct else ""))
    return parts[0] == "ACTIVE" and len(parts) == 1, "; ".join(parts)


class _Progress:
    """Rich progress bar on a terminal, plain lines otherwise."""

    def __init__(self, total: int, echo: Echo | None, rich: bool) -> None:
        self.echo = echo
        self._bar: Any = None
        self._task: Any = None
        if rich and total:
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn())
            self._task = self._bar.add_task("apply", total=total)
            self._bar.start()

    def step(self, text: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, description=text)
        elif self.echo is not None:
            self.echo(text)

    def waiting(self, what: str, status: str, elapsed: float, on_wait: OnWait | None) -> None:
        """A wait's status: into the bar on a terminal, else to ``on_wait`` (periodic lines)."""
        if self._bar is not None:
            self._bar.update(self._task, description=f"waiting: {what}: {status} ({elapsed:.0f} s)")
        elif on_wait is not None:
            on_wait(what, status, elapsed)

    def advance(self) -> None:
        if self._bar is not None:
            self._bar.advance(self._task)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def apply_plan(plan: Plan, clients: AwsClients, *, dry_run: bool = False, echo: Echo | None = None,
               rich: bool | None = None, poll: float = 5.0, timeout: float = 3600.0,
               skip_unsupported: bool = False, on_wait: OnWait | None = None,
               result: ApplyResult | None = None) -> ApplyResult:
    """Execute ``plan``'s pending changes in order; ``dry_run`` only lists the calls.

    Raises :class:`ProvisioningError` before any call when the plan refuses a change, and on a wait
    timeout. ``rich`` defaults to "stdout is a terminal". ``skip_unsupported`` (for local emulators
    such as moto, which lack e.g. CreateBackupSelection) records a call the endpoint does not implement
    in ``ApplyResult.skipped`` and goes on, instead of stopping; never use it against AWS itself.
    While a call waits (table, index, replica status), the status shows in the bar on a terminal, and
    goes to ``on_wait(what, status, elapsed)`` otherwise (the CLI prints periodic lines with it).
    ``result`` (filled in as calls complete) lets a caller say what was done when the run is cut short
    (Ctrl-C, an error).
    """
    plan.check()
    result = result if result is not None else ApplyResult()
    result.dry_run = dry_run
    pending = plan.pending
    if dry_run:
        for change in pending:
            for call in change.calls:
                result.calls.append(call.describe())
                if echo:
                    echo(f"(dry run) {change.action.value} {change.label}: {call.describe()}")
        return result
    total = sum(len(c.calls) for c in pending)
    progress = _Progress(total, echo, sys.stdout.isatty() if rich is None else rich)
    replica_regions = [c.region for c in pending if c.resource == "dynamodb:replica" and c.region]
    no_replicas = False  # the endpoint has no global tables: every replica-region change is skipped
    try:
        for change in pending:
            if no_replicas and change.resource in _REPLICA_RESOURCES and change.region in replica_regions:
                for call in change.calls:
                    result.skipped.append(call.describe())
                    progress.advance()
                continue
            for call in change.calls:
                progress.step(f"{_verb(change.action)} {change.label}: {call.describe()}")
                try:
                    _execute(clients, call, result, poll, timeout,
                             functools.partial(progress.waiting, on_wait=on_wait))
                except ReplicasNotEmulatedError:
                    if not skip_unsupported:
                        raise
                    no_replicas = True  # reported once, below
                    result.skipped.append(call.describe())
                except UnsupportedOperationError:
                    if not skip_unsupported:
                        raise
                    result.skipped.append(call.describe())
                    if echo:
                        echo(f"skipped {call.describe()}: this endpoint does not implement it")
                progress.advance()
    finally:
        progress.close()
    if no_replicas and echo:
        echo(f"skipped global table replicas in {', '.join(dict.fromkeys(replica_regions))} and their settings: "
             "this endpoint does not emulate global tables (a local backend)")
    return result


def _verb(action: Action) -> str:
    return {"create": "creating", "update": "updating", "delete": "deleting"}.get(action.value, action.value)


def _execute(clients: AwsClients, call: ApiCall, result: ApplyResult, poll: float, timeout: float,
             on_wait: OnWait | None = None) -> None:
    params = _resolve(call.params, result.outputs)
    for name in call.json_params:
        params[name] = json.dumps(params[name])
    client = clients.client(call.service, call.region)
    try:
        response = getattr(client, call.operation)(**params)
    except Exception as err:
        if unsupported(err) or _stream_policy_gap(call, params, err):
            raise UnsupportedOperationError(call.describe(), "the endpoint does not implement this operation (a local "
                                    "emulator such as moto lacks it); the calls before it were applied") from err
        raise
    result.calls.append(call.describe())
    for ref, path in call.outputs.items():
        try:
            result.outputs[ref] = _dig(response, path)
        except (KeyError, TypeError):  # an optional output (e.g. LatestStreamArn without a stream)
            continue
    if call.wait is not None:
        wait_for(clients, call.wait, poll=poll, timeout=timeout, on_wait=on_wait)
    _check_replicas_created(clients, call, params)


# ==================================================================================================
# destroy
# ==================================================================================================


def destroy(cfg: TableConfig, clients: AwsClients, *, dry_run: bool = False, echo: Echo | None = None,
            poll: float = 5.0, timeout: float = 3600.0, on_wait: OnWait | None = None,
            done: list[str] | None = None) -> list[str]:
    """Delete the table (replicas first), its ddbkit alarms and scalable targets; return what was done
    (also appended to ``done`` step by step, so a caller knows it when the run is cut short).

    Refuses (:class:`ProvisioningError`) while deletion protection is on for the table or a replica.
    Keeps the KMS key, the backup vault and plan (recovery points outlive the table) and a DAX cluster.
    """
    name = cfg.table_name
    ddb = clients.client("dynamodb")
    say = echo or (lambda _s: None)
    try:
        table = ddb.describe_table(TableName=name)["Table"]
    except Exception as err:  # noqa: BLE001
        if error_code(err) == "ResourceNotFoundException":
            say(f"table {name} does not exist in {clients.region}: nothing to destroy")
            return []
        raise
    if table.get("DeletionProtectionEnabled"):
        raise ProvisioningError(f"dynamodb:table {name}",
                                "deletion protection is on; set deletionProtectionEnabled: false, run ddbkit apply, "
                                "then destroy")
    replicas = [r["RegionName"] for r in table.get("Replicas", []) or [] if r["RegionName"] != clients.region]
    for region in replicas:
        try:
            rt = clients.client("dynamodb", region).describe_table(TableName=name)["Table"]
        except Exception as err:  # noqa: BLE001
            if error_code(err) == "ResourceNotFoundException":
                continue
            raise
        if rt.get("DeletionProtectionEnabled"):
            raise ProvisioningError(f"dynamodb:replica {name} [{region}]",
                                    "deletion protection is on for this replica; turn it off first")

    steps: list[tuple[str, Callable[[], None]]] = []

    def delete_replica(region: str) -> None:
        ddb.update_table(TableName=name, ReplicaUpdates=[{"Delete": {"RegionName": region}}])
        wait_for(clients, Wait("table", name), poll=poll, timeout=timeout, on_wait=on_wait)

    for region in replicas:
        steps.append((f"delete replica {name} [{region}]", functools.partial(delete_replica, region)))
    cw = clients.client("cloudwatch")
    alarms = [a["AlarmName"] for a in pages(cw.describe_alarms, "MetricAlarms", AlarmNamePrefix=alarm_prefix(name))]

    def delete_alarms() -> None:
        for i in range(0, len(alarms), 100):
            cw.delete_alarms(AlarmNames=alarms[i:i + 100])

    if alarms:
        steps.append((f"delete {len(alarms)} alarm(s) {alarm_prefix(name)}*", delete_alarms))
    aas = clients.client("application-autoscaling")
    rids = [f"table/{name}"] + [f"table/{name}/index/{g['IndexName']}"
                                for g in table.get("GlobalSecondaryIndexes", []) or []]

    def deregister(target: dict[str, Any]) -> None:
        aas.deregister_scalable_target(ServiceNamespace="dynamodb", ResourceId=target["ResourceId"],
                                       ScalableDimension=target["ScalableDimension"])

    for t in aas.describe_scalable_targets(ServiceNamespace="dynamodb", ResourceIds=rids).get("ScalableTargets", []):
        steps.append((f"deregister scalable target {t['ResourceId']} {t['ScalableDimension']}",
                      functools.partial(deregister, t)))

    def delete_table() -> None:
        ddb.delete_table(TableName=name)
        wait_for(clients, Wait("table-deleted", name), poll=poll, timeout=timeout, on_wait=on_wait)

    steps.append((f"delete table {name} [{clients.region}]", delete_table))

    done = done if done is not None else []
    for text, run in steps:
        say(("(dry run) " if dry_run else "") + text)
        if not dry_run:
            run()
        done.append(text)
    kept = ["KMS key (if ddbkit created one)", "backup vault, plan and recovery points"]
    if dax_enabled(cfg):
        kept.append(f"DAX cluster {cfg.dax_cluster.cluster_name if cfg.dax_cluster else ''}")
    say("kept: " + ", ".join(kept))
    return done
