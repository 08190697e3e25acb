"""Per-segment progress with leases: where each segment stopped, what it did, who holds it.

A segment is claimed with a lease (an owner and an expiry). While it runs, every checkpoint extends
the lease and is written only if the lease is still the caller's, so two runs of the same job id
never run one segment at once: the second run's claim fails until the first one's lease expires (a
killed worker), and a worker whose lease was taken over stops at its next checkpoint
(:class:`LeaseLost`). A segment marked DONE is never claimed again.

:class:`TableCheckpoints` keeps this in a DynamoDB table (``jobId`` HASH, ``segment`` RANGE; the
component file ``ddbkit/bulk/checkpoints.component.yaml``), so a job resumes from any machine;
:class:`MemoryCheckpoints` keeps it in one process (a laptop job that needs no resume).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from ddbkit.bulk.spec import Counts, TableSpec
from ddbkit.errors import ConditionalCheckFailed, DdbkitError

__all__ = ["SegmentState", "CheckpointStore", "MemoryCheckpoints", "TableCheckpoints", "LeaseLost",
           "JOB_SEGMENT", "CHECKPOINT_KEY"]

JOB_SEGMENT = -1
"""The segment number of a job's header item (its description, for ``ddbkit bulk resume``)."""
CHECKPOINT_KEY = ("jobId", "segment")
_MAX_ERRORS = 20


class LeaseLost(DdbkitError):
    """Another worker holds this segment now (our lease expired); this worker must stop it."""


@dataclass
class SegmentState:
    """One segment's checkpoint. ``position`` is where to resume (a JSON string; None = the start)."""

    job_id: str
    segment: int
    status: str = "PENDING"          # PENDING | RUNNING | DONE | FAILED
    position: str | None = None
    counts: Counts = field(default_factory=Counts)
    errors: list[str] = field(default_factory=list)
    owner: str = ""
    lease_expires: float = 0.0
    updated_at: float = 0.0

    def add_error(self, message: str) -> None:
        self.errors = (self.errors + [message])[-_MAX_ERRORS:]


class CheckpointStore(Protocol):
    """Where segment checkpoints and job headers live."""

    def acquire(self, job_id: str, segment: int, owner: str, lease_seconds: float) -> SegmentState | None: ...

    def save(self, state: SegmentState, lease_seconds: float) -> None: ...

    def finish(self, state: SegmentState, status: str) -> None: ...

    def status(self, job_id: str) -> list[SegmentState]: ...

    def put_job(self, job_id: str, header: Mapping[str, Any]) -> None: ...

    def get_job(self, job_id: str) -> dict[str, Any] | None: ...


class MemoryCheckpoints:
    """Checkpoints in this process only: threads share it; a process or Dask runner gives each worker
    its own copy (no lease across processes); nothing survives the process, so no resume."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._states: dict[tuple[str, int], SegmentState] = {}
        self._jobs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def __getstate__(self) -> dict[str, Any]:
        # a copy travels to each process of a process/Dask runner: fine for a job that needs no resume
        with self._lock:
            return {"states": dict(self._states), "jobs": dict(self._jobs)}

    def __setstate__(self, data: dict[str, Any]) -> None:
        self._states, self._jobs = data["states"], data["jobs"]
        self._lock, self._clock = threading.Lock(), time.time

    def acquire(self, job_id: str, segment: int, owner: str, lease_seconds: float) -> SegmentState | None:
        now = self._clock()
        with self._lock:
            state = self._states.get((job_id, segment)) or SegmentState(job_id, segment)
            if state.status == "DONE" or (state.owner not in ("", owner) and state.lease_expires > now):
                return None
            state = replace(state, status="RUNNING", owner=owner, lease_expires=now + lease_seconds, updated_at=now)
            self._states[(job_id, segment)] = state
            return replace(state, counts=state.counts.copy(), errors=list(state.errors))

    def save(self, state: SegmentState, lease_seconds: float) -> None:
        now = self._clock()
        with self._lock:
            held = self._states.get((state.job_id, state.segment))
            if held is None or held.owner != state.owner or held.status != "RUNNING":
                raise LeaseLost(f"segment {state.segment} of job {state.job_id!r} is held by another worker")
            state.lease_expires, state.updated_at = now + lease_seconds, now
            self._states[(state.job_id, state.segment)] = replace(
                state, counts=state.counts.copy(), errors=list(state.errors))

    def finish(self, state: SegmentState, status: str) -> None:
        with self._lock:
            held = self._states.get((state.job_id, state.segment))
            if held is None or held.owner != state.owner:
                raise LeaseLost(f"segment {state.segment} of job {state.job_id!r} is held by another worker")
            self._states[(state.job_id, state.segment)] = replace(
                state, status=status, lease_expires=0.0, updated_at=self._clock(),
                counts=state.counts.copy(), errors=list(state.errors))

    def status(self, job_id: str) -> list[SegmentState]:
        with self._lock:
            return sorted((replace(s) for (j, _), s in self._states.items() if j == job_id),
                          key=lambda s: s.segment)

    def put_job(self, job_id: str, header: Mapping[str, Any]) -> None:
        with self._lock:
            self._jobs.setdefault(job_id, dict(header))

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return dict(job) if job is not None else None


class TableCheckpoints:
    """Checkpoints in a DynamoDB table (``jobId`` HASH S, ``segment`` RANGE N); picklable.

    Every write is conditional on the lease: a claim succeeds only on a new, released, expired or
    own segment that is not DONE; a checkpoint or finish only while ``owner`` is still the caller.
    """

    def __init__(self, table: Any, clock: Callable[[], float] = time.time) -> None:
        self.spec = TableSpec.of(table, key=CHECKPOINT_KEY) if not isinstance(table, TableSpec) else table
        self._clock = clock

    def __getstate__(self) -> dict[str, Any]:
        return {"spec": self.spec}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.spec = state["spec"]
        self._clock = time.time

    @property
    def table(self) -> Any:
        return self.spec.open()

    def acquire(self, job_id: str, segment: int, owner: str, lease_seconds: float) -> SegmentState | None:
        from ddbkit.core.expressions import Attr, Update

        now = self._clock()
        update = (Update().set("status", "RUNNING").set("owner", owner).set("leaseExpires", _num(now + lease_seconds))
                  .set("updatedAt", _num(now)))
        claimable = Attr("jobId").not_exists() | (
            (Attr("status") != "DONE") & ((Attr("leaseExpires") < _num(now)) | (Attr("owner") == owner)
                                          | (Attr("owner") == "")))
        try:
            item = self.table.update({"jobId": job_id, "segment": segment}, update, condition=claimable,
                                     return_values="ALL_NEW")
        except ConditionalCheckFailed:
            return None
        return _state(item or {"jobId": job_id, "segment": segment})

    def save(self, state: SegmentState, lease_seconds: float) -> None:
        from ddbkit.core.expressions import Attr, Update

        now = self._clock()
        update = (Update().set("counts", _counts(state.counts)).set("errors", list(state.errors))
                  .set("leaseExpires", _num(now + lease_seconds)).set("updatedAt", _num(now)))
        if state.position is not None:
            update.set("position", state.position)
        try:
            self.table.update({"jobId": state.job_id, "segment": state.segment}, update,
                              condition=(Attr("owner") == state.owner) & (Attr("status") == "RUNNING"))
        except ConditionalCheckFailed:
            raise LeaseLost(f"segment {state.segment} of job {state.job_id!r} is held by another worker") from None
        state.lease_expires, state.updated_at = now + lease_seconds, now

    def finish(self, state: SegmentState, status: str) -> None:
        from ddbkit.core.expressions import Attr, Update

        now = self._clock()
        update = (Update().set("status", status).set("counts", _counts(state.counts)).set("errors", list(state.errors))
                  .set("leaseExpires", 0).set("owner", "").set("updatedAt", _num(now)))
        if state.position is not None:
            update.set("position", state.position)
        try:
            self.table.update({"jobId": state.job_id, "segment": state.segment}, update,
                              condition=Attr("owner") == state.owner)
        except ConditionalCheckFailed:
            raise LeaseLost(f"segment {state.segment} of job {state.job_id!r} is held by another worker") from None

    def status(self, job_id: str) -> list[SegmentState]:
        from ddbkit.core.expressions import Key

        items = list(self.table.query_iter(Key("jobId").eq(job_id), consistent=True))
        return [_state(i) for i in items if int(i["segment"]) != JOB_SEGMENT]

    def put_job(self, job_id: str, header: Mapping[str, Any]) -> None:
        from ddbkit.core.expressions import Attr

        try:
            self.table.put({"jobId": job_id, "segment": JOB_SEGMENT, "header": json.dumps(dict(header))},
                           condition=Attr("jobId").not_exists())
        except ConditionalCheckFailed:
            pass  # the first run's description stands; resume reads it

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        item = self.table.get({"jobId": job_id, "segment": JOB_SEGMENT}, consistent=True)
        return json.loads(item["header"]) if item else None


def _num(value: float) -> Any:
    from decimal import Decimal

    return Decimal(str(round(value, 3)))


def _counts(counts: Counts) -> dict[str, Any]:
    return {k: _num(v) if isinstance(v, float) else v for k, v in counts.as_dict().items()}


def _state(item: Mapping[str, Any]) -> SegmentState:
    return SegmentState(
        job_id=str(item["jobId"]), segment=int(item["segment"]), status=str(item.get("status", "PENDING")),
        position=item.get("position"), counts=Counts.from_dict(item.get("counts") or {}),
        errors=[str(e) for e in item.get("errors") or ()], owner=str(item.get("owner", "")),
        lease_expires=float(item.get("leaseExpires", 0)), updated_at=float(item.get("updatedAt", 0)))
