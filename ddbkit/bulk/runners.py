"""Runners: where segments run. One interface, three places.

- ``local``: threads in this process (``workers`` segments at a time).
- ``processes``: a process pool on this machine (spawned interpreters; the job must be picklable:
  module-level functions, or :class:`~ddbkit.bulk.FileFunction` for a job file). A worker that dies
  breaks the pool: the segments that had not reported are returned STOPPED, to resume after their leases.
- ``dask``: a Dask distributed cluster (``address`` of a scheduler, or a local cluster of
  ``workers`` processes); each segment is one task. No cluster code of ddbkit's own: Dask schedules,
  retries lost workers' tasks elsewhere, and the checkpoint leases keep a segment from running twice.

Every runner records the job's description in the checkpoint store (``ddbkit bulk resume`` reads it),
runs every segment not yet DONE, and returns a :class:`JobResult`; running it again with the same job
id resumes it. When every segment is DONE, ``run()`` calls the sink's ``finish(job, result)`` if it has
one (:class:`~ddbkit.bulk.ImportSink`: the ImportTable) and keeps what it returns in ``result.finished``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from ddbkit.bulk.job import Job, new_owner, run_segment, run_segment_task
from ddbkit.bulk.spec import Counts, SegmentResult
from ddbkit.errors import ClientValidationError

__all__ = ["JobResult", "run", "RUNNERS"]

RUNNERS = ("local", "processes", "dask")


@dataclass
class JobResult:
    """What a run did: per-segment results and the totals of this run."""

    job_id: str
    segments: list[SegmentResult] = field(default_factory=list)
    seconds: float = 0.0
    finished: Any = None     # what the sink's finish step returned (ImportSink: the ImportTableDescription)

    @property
    def counts(self) -> Counts:
        total = Counts()
        for s in self.segments:
            total.add(s.counts)
        return total

    @property
    def ok(self) -> bool:
        """True when every segment is DONE (now or by an earlier run)."""
        return all(s.status in ("DONE", "SKIPPED") for s in self.segments)

    def failed(self) -> list[SegmentResult]:
        return [s for s in self.segments if s.status in ("FAILED", "STOPPED")]


def run(job: Job, runner: str = "local", *, workers: int = 4, address: str | None = None,
        segments: Iterable[int] | None = None,
        on_result: Callable[[SegmentResult], None] | None = None) -> JobResult:
    """Run ``job`` on ``runner`` with ``workers`` workers; see the module docs. ``segments`` limits the
    run to some segments (default all)."""
    if runner not in RUNNERS:
        raise ClientValidationError(f"runner must be one of {', '.join(RUNNERS)}, got {runner!r}", "runner",
                                    "bulk.runner")
    if workers < 1:
        raise ClientValidationError(f"workers must be >= 1, got {workers}", "workers", "bulk.workers")
    assert job.checkpoints is not None
    job.checkpoints.put_job(job.job_id, job.describe())
    todo = list(segments) if segments is not None else list(range(job.source.segment_count()))
    share = max(1, min(workers, len(todo)))
    start = time.monotonic()
    result = JobResult(job.job_id)
    notify = on_result or (lambda r: None)
    if runner == "local":
        with ThreadPoolExecutor(workers, thread_name_prefix="ddbkit-bulk") as pool:
            futures: list[Future[SegmentResult]] = [pool.submit(run_segment, job, s, new_owner(f"s{s}-"), share)
                                                    for s in todo]
            for fut in as_completed(futures):
                result.segments.append(fut.result())
                notify(result.segments[-1])
    elif runner == "processes":
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as ppool:
            pfutures = {ppool.submit(run_segment_task, job, s, share): s for s in todo}
            for fut in as_completed(pfutures):
                try:
                    result.segments.append(fut.result())
                except BrokenProcessPool as err:  # a worker died (killed, OOM): the pool ends every segment
                    result.segments.append(SegmentResult(pfutures[fut], "STOPPED",
                                                         errors=[f"worker process died: {err}"]))
                notify(result.segments[-1])
    else:
        _run_dask(job, todo, share, workers, address, result, notify)
    result.segments.sort(key=lambda s: s.segment)
    finish = getattr(job.sink, "finish", None)   # a job-level step once every segment is DONE (ImportSink)
    if result.ok and finish is not None:
        result.finished = finish(job, result)
    result.seconds = time.monotonic() - start
    return result


def _run_dask(job: Job, todo: list[int], share: int, workers: int, address: str | None, result: JobResult,
              notify: Callable[[SegmentResult], None]) -> None:
    try:
        from distributed import Client, LocalCluster, as_completed as dask_completed
    except ImportError:  # pragma: no cover - depends on the extra
        raise ClientValidationError("the dask runner needs the 'bulk' extra: pip install 'ddbkit[bulk]'",
                                    "runner", "bulk.extra") from None
    cluster: Any = None
    if address is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None)  # type: ignore[no-untyped-call]  # dask.distributed ships no type hints for these
        client = Client(cluster)  # type: ignore[no-untyped-call]  # dask.distributed ships no type hints for these
    else:
        client = Client(address)  # type: ignore[no-untyped-call]  # dask.distributed ships no type hints for these
    try:
        futures = [client.submit(run_segment_task, job, s, share, pure=False, key=f"ddbkit-bulk-{job.job_id}-{s}")
                   for s in todo]
        for fut in dask_completed(futures):  # type: ignore[no-untyped-call]  # dask.distributed ships no type hints for these
            result.segments.append(fut.result())
            notify(result.segments[-1])
    finally:
        client.close()  # type: ignore[no-untyped-call]  # dask.distributed ships no type hints for these
        if cluster is not None:
            cluster.close()
