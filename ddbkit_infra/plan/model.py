"""What a plan is: changes, field changes, API calls, refs and waits, and how a plan prints.

Every other plan module builds on these names: :mod:`~ddbkit_infra.plan.read` fills a live state,
:mod:`~ddbkit_infra.plan.diff` turns config and state into a :class:`Plan`, :mod:`~ddbkit_infra.plan.security`
plans the security surroundings, :mod:`ddbkit_infra.apply` runs the calls.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

DEFAULT_REGION = "us-east-1"
UNKNOWN = "<unknown>"


class ProvisioningError(Exception):
    """A change ddbkit refuses to make (or cannot), with the resource and the reason."""

    def __init__(self, resource: str, reason: str) -> None:
        self.resource = resource
        self.reason = reason
        super().__init__(f"{resource}: {reason}")


class UnsupportedOperationError(ProvisioningError):
    """The endpoint does not implement an operation the plan needs (a local emulator such as moto)."""


class Action(str, Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    NOOP = "no-op"
    REFUSE = "refuse"
    #: the backend (a local emulator) cannot answer the read this resource needs: not checked, not pending
    UNCHECKED = "not checked locally"


@dataclass(frozen=True)
class FieldChange:
    """One field that differs: ``path`` (e.g. ``ProvisionedThroughput.ReadCapacityUnits``), old and new."""

    path: str
    old: Any
    new: Any

    def __str__(self) -> str:
        return f"{self.path}: {_show(self.old)} -> {_show(self.new)}"


@dataclass(frozen=True)
class Ref:
    """A value known only at apply time: output ``name`` of an earlier call."""

    name: str


@dataclass(frozen=True)
class Wait:
    """What to wait for after a call: the table (and its indexes/replicas) ACTIVE, the table gone, DAX up."""

    kind: Literal["table", "table-deleted", "dax"]
    name: str
    region: str | None = None


@dataclass
class ApiCall:
    """One boto3 call: ``clients.client(service, region).<operation>(**params)``.

    ``outputs`` maps :class:`Ref` names to dotted paths in the response; ``json_params`` are params to
    JSON-encode after refs are filled (IAM policy documents); ``wait`` runs after the call.
    """

    service: str
    operation: str
    params: dict[str, Any]
    region: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    json_params: tuple[str, ...] = ()
    wait: Wait | None = None

    def describe(self) -> str:
        where = f" [{self.region}]" if self.region else ""
        return f"{self.service}.{self.operation}{where}"


@dataclass
class Change:
    """What one resource needs: the action, field by field, and the calls that make it."""

    resource: str
    name: str
    action: Action
    fields: list[FieldChange] = field(default_factory=list)
    calls: list[ApiCall] = field(default_factory=list)
    reason: str = ""
    region: str | None = None

    @property
    def label(self) -> str:
        where = f" [{self.region}]" if self.region else ""
        return f"{self.resource} {self.name}{where}"


_SYMBOL = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-", Action.NOOP: "=", Action.REFUSE: "!",
           Action.UNCHECKED: "?"}


@dataclass
class Plan:
    """Every change for one table, in the order apply runs them (dependencies first)."""

    table: str
    region: str
    changes: list[Change] = field(default_factory=list)
    account: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def refused(self) -> list[Change]:
        return [c for c in self.changes if c.action is Action.REFUSE]

    @property
    def pending(self) -> list[Change]:
        """Changes apply would run (create/update/delete)."""
        return [c for c in self.changes if c.action in (Action.CREATE, Action.UPDATE, Action.DELETE)]

    @property
    def has_changes(self) -> bool:
        return bool(self.pending or self.refused)

    def counts(self) -> dict[str, int]:
        return {a.value: sum(1 for c in self.changes if c.action is a) for a in Action}

    def check(self) -> None:
        """Raise :class:`ProvisioningError` for the first refused change (apply calls this first)."""
        for c in self.refused:
            raise ProvisioningError(c.label, c.reason)

    def render(self, *, show_noop: bool = False, show_calls: bool = False) -> str:
        """Terraform-like text: one block per change, one line per field."""
        lines = [f"Plan for table {self.table} in {self.region}:"]
        for c in self.changes:
            if c.action is Action.NOOP and not show_noop:
                continue
            lines.append(f"  {_SYMBOL[c.action]} {c.action.value} {c.label}")
            if c.reason:
                lines.append(f"      reason: {c.reason}")
            lines += [f"      {f}" for f in c.fields]
            if show_calls:
                lines += [f"      call {call.describe()}" for call in c.calls]
        for note in self.notes:
            lines.append(f"  note: {note}")
        n = self.counts()
        unchecked = f", {n['not checked locally']} not checked locally" if n["not checked locally"] else ""
        lines.append(f"Plan: {n['create']} to create, {n['update']} to update, {n['delete']} to delete, "
                     f"{n['no-op']} unchanged, {n['refuse']} refused{unchecked}.")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "region": self.region, "counts": self.counts(), "changes": [
            {"resource": c.resource, "name": c.name, "region": c.region, "action": c.action.value,
             "reason": c.reason or None,
             "fields": [{"path": f.path, "old": _plain(f.old), "new": _plain(f.new)} for f in c.fields],
             "calls": [{"service": a.service, "operation": a.operation, "region": a.region} for a in c.calls]}
            for c in self.changes]}


def _plain(v: Any) -> Any:
    if isinstance(v, Ref):
        return "(known after apply)"
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    return v


def _show(v: Any) -> str:
    if v is None:
        return "(none)"
    if isinstance(v, Ref):
        return "(known after apply)"
    if isinstance(v, dict | list | tuple):
        return json.dumps(_plain(v), sort_keys=True, default=str)
    return json.dumps(v) if isinstance(v, str | bool) else str(v)


# ==================================================================================================
# Clients
# ==================================================================================================


def error_code(err: BaseException) -> str:
    resp = getattr(err, "response", None)
    if isinstance(resp, dict):
        return str(resp.get("Error", {}).get("Code", ""))
    return ""


def unsupported(err: BaseException) -> bool:
    """The endpoint does not implement the operation.

    moto in-process raises NotImplementedError; moto's server answers an HTML 500 (or 404), which botocore
    reports with the bare status as the error code. A service's own 5xx has a named code and is not this.
    """
    if isinstance(err, NotImplementedError):
        return True
    return error_code(err) in ("NotImplemented", "UnknownOperationException", "404", "500", "501")


#: What DynamoDB Local (and the like) answers for a service or operation it does not serve: a JSON-protocol
#: service's ``InvalidAction``, a REST service's ``InternalFailure``; a query/XML service's answer does not parse.
_EMULATOR_GAP_CODES = ("InvalidAction", "InternalFailure")


def emulator_gap(err: BaseException, *, local: bool) -> bool:
    """The endpoint cannot serve this read: :func:`unsupported`, or, on an emulator's endpoint (``local``:
    ``AwsClients.emulator_endpoint``), the answers DynamoDB Local gives for every service other than
    DynamoDB (from AWS these would mean a malformed request or an outage, so they count only there)."""
    if unsupported(err):
        return True
    if not local:
        return False
    if error_code(err) in _EMULATOR_GAP_CODES:
        return True
    from botocore.parsers import ResponseParserError

    return isinstance(err, ResponseParserError)


def stream_policy_gap(arn: str, err: BaseException) -> bool:
    """The endpoint does not serve resource policies on streams: moto 5.2 reads a stream ARN's last segment
    as a table name and answers ResourceNotFound naming a table; AWS itself answers PolicyNotFound (or names
    the stream) for a stream that exists."""
    return ("/stream/" in arn and error_code(err) == "ResourceNotFoundException" and "Table: " in str(err)
            and "/stream/" not in str(err))


def not_checked(what: str) -> str:
    """The reason of an :attr:`Action.UNCHECKED` change: the backend cannot read ``what``."""
    return f"the backend does not implement {what} (a local emulator): not checked, not applied"


# ==================================================================================================
# Live state
# ==================================================================================================


