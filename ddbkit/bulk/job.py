"""A bulk job and the one function every runner calls per segment: :func:`run_segment`.

A job is (source segments) -> (per-item function) -> (sink). A runner hands segments to workers;
each worker claims its segment's lease in the checkpoint store, reads it page by page from where the
checkpoint says, lets the sink apply the function to the page, and checkpoints (position, counts,
errors, a renewed lease) after every page. Runners differ only in where ``run_segment`` runs.

What a fault does: a page whose writes did not all succeed is not checkpointed, so the segment is
marked FAILED at the page before it and a resume reads that page again; a worker that dies keeps its
lease until it expires (``lease_seconds``), then any run of the same job id takes the segment over
from its last checkpoint. Re-reading a page is safe with the conditional :class:`UpdateSink` (items
changed since read are read again; with ``marker`` an item already done by this job is skipped).
"""

from __future__ import annotations

import copy
import importlib.util
import json
import logging
import math
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ddbkit.bulk.checkpoints import CheckpointStore, LeaseLost, MemoryCheckpoints
from ddbkit.bulk.sinks import ItemFunction, Sink, UpdateSink
from ddbkit.bulk.sources import ScanSource, Source
from ddbkit.bulk.spec import Counts, SegmentResult, TableSpec
from ddbkit.errors import ClientValidationError

__all__ = ["Job", "RateLimiter", "run_segment", "FileFunction", "new_owner"]

log = logging.getLogger("ddbkit.bulk")
_LOAD_LOCK = threading.Lock()   # a job file is executed once per process, even when 16 sink threads call it at once


class RateLimiter:
    """Token buckets for read and write capacity units per second (None: no limit), with adaptive backoff.

    ``charge`` takes the units a page consumed and sleeps until the bucket is back at zero. A throttle
    (:meth:`throttled`) halves the rate (down to 1/16 of it); every page without one wins back 10%.
    """

    def __init__(self, rcu: float | None = None, wcu: float | None = None, *,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        for name, value in (("rate_rcu", rcu), ("rate_wcu", wcu)):
            if value is not None and value <= 0:
                raise ClientValidationError(f"{name} must be positive, got {value}", name, "bulk.rate")
        self.rcu, self.wcu = rcu, wcu
        self.factor = 1.0
        self._clock, self._sleep = clock, sleep
        self._last = clock()
        self._debt = {"r": 0.0, "w": 0.0}

    def throttled(self) -> None:
        self.factor = max(1 / 16, self.factor / 2)

    def charge(self, read_units: float, write_units: float) -> float:
        """Account for a page; returns the seconds slept."""
        now = self._clock()
        elapsed, self._last = now - self._last, now
        wait = 0.0
        for dim, rate, used in (("r", self.rcu, read_units), ("w", self.wcu, write_units)):
            if rate is None:
                continue
            allowed = rate * self.factor
            self._debt[dim] = max(0.0, self._debt[dim] - elapsed * allowed) + used
            wait = max(wait, self._debt[dim] / allowed)
        if wait > 0:
            self._sleep(wait)
            self._last = self._clock()
            for dim, rate in (("r", self.rcu), ("w", self.wcu)):
                if rate is not None:
                    self._debt[dim] = max(0.0, self._debt[dim] - wait * rate * self.factor)
        self.factor = min(1.0, self.factor * 1.1)
        return wait


class FileFunction:
    """The function ``name`` of the Python file ``path``, loaded on first call in each process (picklable)."""

    def __init__(self, path: str, name: str = "transform") -> None:
        self.path, self.name = os.path.abspath(path), name
        self._fn: Callable[[dict[str, Any]], Any] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "name": self.name}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path, self.name, self._fn = state["path"], state["name"], None

    def load_module(self) -> Any:
        modname = "ddbkit_bulk_job_" + uuid.uuid5(uuid.NAMESPACE_URL, self.path).hex[:12]
        with _LOAD_LOCK:
            return sys.modules.get(modname) or self._exec(modname)

    def _exec(self, modname: str) -> Any:
        spec = importlib.util.spec_from_file_location(modname, self.path)
        if spec is None or spec.loader is None:
            raise ClientValidationError(f"cannot load job file {self.path}", "job", "bulk.job-file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[modname] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(modname, None)   # a half-run file is not a loaded one
            raise
        return module

    def __call__(self, item: dict[str, Any]) -> Any:
        if self._fn is None:
            fn = getattr(self.load_module(), self.name, None)
            if not callable(fn):
                raise ClientValidationError(f"{self.path} defines no function {self.name!r}", "job", "bulk.job-file")
            self._fn = fn
        return self._fn(item)


@dataclass
class Job:
    """A bulk job. ``sink`` defaults to a conditional :class:`UpdateSink` on the scanned table;
    ``checkpoints`` to in-process :class:`MemoryCheckpoints` (use :class:`TableCheckpoints` to resume
    across processes and machines). ``rate_rcu``/``rate_wcu`` cap the whole job's capacity per second
    (each of N workers gets 1/N). ``lease_seconds`` is how long a silent worker keeps its segment."""

    source: Source
    fn: ItemFunction
    sink: Sink | None = None
    job_id: str = ""
    checkpoints: CheckpointStore | None = None
    rate_rcu: float | None = None
    rate_wcu: float | None = None
    lease_seconds: float = 60.0
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.job_id:
            self.job_id = uuid.uuid4().hex[:12]
        if self.sink is None:
            if not isinstance(self.source, ScanSource):
                raise ClientValidationError("a job reading files or exports needs a sink (BatchSink, FileSink)",
                                            "sink", "bulk.sink")
            self.sink = UpdateSink()
        bind = getattr(self.sink, "bind", None)
        if bind is not None:
            table = getattr(self.source, "table", None)
            bind(table if isinstance(table, TableSpec) else None)
        if self.checkpoints is None:
            self.checkpoints = MemoryCheckpoints()

    def describe(self) -> dict[str, Any]:
        assert self.sink is not None
        return {"job_id": self.job_id, "source": self.source.describe(), "sink": self.sink.describe(),
                "segments": self.source.segment_count(), "rate_rcu": self.rate_rcu, "rate_wcu": self.rate_wcu,
                **self.meta}


def new_owner(tag: str = "") -> str:
    """A worker identity unique to this process and call (host, pid, a random part)."""
    return f"{socket.gethostname()}:{os.getpid()}:{tag}{uuid.uuid4().hex[:8]}"


def _throttles(spec: Any) -> int:
    if not isinstance(spec, TableSpec):
        return 0
    snap = spec.open().usage
    return sum(snap.throttles.values())


def _write_units(items: list[dict[str, Any]], writes: int) -> float:
    if not writes or not items:
        return 0.0
    from ddbkit.core.codec import item_size, marshal_item

    sample = items[:10]
    mean = sum(item_size(marshal_item(i)) for i in sample) / len(sample)
    return writes * max(1, math.ceil(mean / 1024))


def run_segment(job: Job, segment: int, owner: str | None = None, share: int = 1) -> SegmentResult:
    """Claim and run one segment of ``job`` to its end (or until its lease is lost); see the module docs.

    ``share`` is how many workers split the job's rate limits. Never raises for a failed page: the
    segment is checkpointed FAILED with the error text (no item values), and a resume retries it.
    """
    assert job.sink is not None and job.checkpoints is not None
    owner = owner or new_owner()
    # each segment gets its own sink (threads of the local runner share the job): open file, pool, job id
    store, sink = job.checkpoints, copy.copy(job.sink)
    state = store.acquire(job.job_id, segment, owner, job.lease_seconds)
    if state is None:
        return SegmentResult(segment, "SKIPPED", owner=owner)
    limiter = RateLimiter(job.rate_rcu / share if job.rate_rcu else None,
                          job.rate_wcu / share if job.rate_wcu else None)
    where = json.loads(state.position) if state.position else {}
    sink.open_segment(job.job_id, segment, where.get("out"))
    table = getattr(sink, "table", None)
    try:
        for page in job.source.pages(segment, where.get("src")):
            page_counts = Counts(read=len(page.items), read_units=page.read_units)
            before = _throttles(table)
            sink.process(job.fn, page.items, page_counts)
            page_counts.throttles = _throttles(table) - before
            if page_counts.throttles:
                limiter.throttled()
            writes = page_counts.changed + page_counts.dropped + page_counts.emitted
            page_counts.write_units = _write_units(page.items, writes) if job.rate_wcu else float(writes)
            limiter.charge(page_counts.read_units, page_counts.write_units)
            state.counts.add(page_counts)
            state.position = json.dumps({"src": page.position, "out": sink.checkpoint()})
            if page.position is not None:
                store.save(state, job.lease_seconds)
        store.finish(state, "DONE")
        return SegmentResult(segment, "DONE", state.counts, state.errors, owner)
    except LeaseLost:
        log.warning("bulk job %s segment %d: lease taken over by another worker; stopping", job.job_id, segment)
        return SegmentResult(segment, "STOPPED", state.counts, state.errors, owner)
    except Exception as err:  # noqa: BLE001 - recorded on the checkpoint, the job goes on
        message = f"{type(err).__name__}: {_safe(err)}"
        state.add_error(message)
        log.error("bulk job %s segment %d failed: %s", job.job_id, segment, message)
        try:
            store.finish(state, "FAILED")
        except LeaseLost:
            pass
        return SegmentResult(segment, "FAILED", state.counts, state.errors, owner)
    finally:
        sink.close_segment()


def _safe(err: BaseException) -> str:
    """An error's text for a checkpoint or log: ddbkit errors carry no item values; others are cut short."""
    text = str(err)
    return text if len(text) <= 300 else text[:300] + "..."


def run_segment_task(job: Job, segment: int, share: int) -> SegmentResult:
    """The picklable entry point that process and Dask workers call."""
    return run_segment(job, segment, new_owner(f"s{segment}-"), share)
