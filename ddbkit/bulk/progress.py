"""Progress of a running job, read from its checkpoints: items/s, segments done, ETA, throttles.

:class:`ProgressMonitor` polls the checkpoint store (so it sees every worker, on any runner) and
hands a :class:`ProgressReport` to a callback: :func:`log_progress` writes one structured log line
(for CI and log collectors), :class:`RichProgress` a live bar on a terminal (``rich``, imported only
when one is made).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from ddbkit.bulk.checkpoints import CheckpointStore
from ddbkit.bulk.spec import Counts

__all__ = ["ProgressReport", "ProgressMonitor", "RichProgress", "log_progress", "report"]

log = logging.getLogger("ddbkit.bulk")


@dataclass
class ProgressReport:
    job_id: str
    segments_total: int
    segments_done: int
    segments_failed: int
    segments_running: int
    items: int
    changed: int
    items_per_second: float
    throttles: int
    eta_seconds: float | None
    errors: list[str]

    def line(self) -> str:
        eta = "?" if self.eta_seconds is None else f"{self.eta_seconds:,.0f}s"
        return (f"job {self.job_id}: {self.segments_done}/{self.segments_total} segments "
                f"({self.segments_running} running, {self.segments_failed} failed), {self.items:,} items "
                f"({self.changed:,} changed), {self.items_per_second:,.0f} items/s, {self.throttles} throttles, "
                f"ETA {eta}")


def report(store: CheckpointStore, job_id: str, segments_total: int, elapsed: float,
           items_at_start: int = 0) -> ProgressReport:
    """A report from the checkpoints now; ``elapsed`` seconds since this run started."""
    states = store.status(job_id)
    total = Counts()
    errors: list[str] = []
    for s in states:
        total.add(s.counts)
        if s.status == "FAILED":
            errors.extend(s.errors[-1:])
    done = sum(s.status == "DONE" for s in states)
    running = sum(s.status == "RUNNING" for s in states)
    failed = sum(s.status == "FAILED" for s in states)
    rate = (total.read - items_at_start) / elapsed if elapsed > 0 else 0.0
    eta: float | None = None
    if done and done < segments_total and elapsed > 0:
        eta = elapsed / done * (segments_total - done)
    elif done >= segments_total:
        eta = 0.0
    return ProgressReport(job_id, segments_total, done, failed, running, total.read, total.changed, rate,
                          total.throttles, eta, errors)


def log_progress(r: ProgressReport) -> None:
    """One structured line a report (``ddbkit.bulk`` logger, INFO): the message and a JSON payload."""
    log.info("%s %s", r.line(), json.dumps(asdict(r), default=str))


class ProgressMonitor:
    """Polls ``store`` every ``interval`` seconds in a thread and calls ``emit`` with a report."""

    def __init__(self, store: CheckpointStore, job_id: str, segments_total: int,
                 emit: Callable[[ProgressReport], Any] = log_progress, interval: float = 2.0) -> None:
        self.store, self.job_id, self.total = store, job_id, segments_total
        self.emit, self.interval = emit, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = time.monotonic()
        self._base = 0

    def __enter__(self) -> ProgressMonitor:
        self._start = time.monotonic()
        try:
            self._base = report(self.store, self.job_id, self.total, 1.0).items
        except Exception:  # noqa: BLE001 - progress must never break a job
            self._base = 0
        self._thread = threading.Thread(target=self._loop, daemon=True, name="ddbkit-bulk-progress")
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()

    def tick(self) -> ProgressReport | None:
        try:
            r = report(self.store, self.job_id, self.total, time.monotonic() - self._start, self._base)
        except Exception:  # noqa: BLE001
            return None
        self.emit(r)
        return r

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.tick()


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class RichProgress:
    """A live ``rich`` bar of segments done with items, items/s, ETA, throttles and failures; a
    :class:`ProgressMonitor` callback. Use as a context manager (it starts and stops the live display).

    ``console`` is a ``rich.console.Console`` (default: one on stderr); rich comes with the ``cli`` extra.
    """

    def __init__(self, console: Any = None) -> None:
        try:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
        except ImportError:  # pragma: no cover - depends on the extra
            from ddbkit.errors import ClientValidationError

            raise ClientValidationError("RichProgress needs rich: pip install 'ddbkit[cli]'", "progress",
                                        "bulk.extra") from None
        self.progress = Progress(
            TextColumn("job {task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("segments"),
            TextColumn("{task.fields[items]:,} items ({task.fields[changed]:,} changed)"),
            TextColumn("{task.fields[rate]:,.0f} items/s"), TextColumn("ETA {task.fields[eta]}"),
            TextColumn("{task.fields[throttles]} throttles"), TextColumn("{task.fields[failed]}"),
            console=console or Console(stderr=True), refresh_per_second=4)
        self._task: Any = None

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, r: ProgressReport) -> None:
        fields: dict[str, Any] = {
            "items": r.items, "changed": r.changed, "rate": r.items_per_second, "eta": _eta(r.eta_seconds),
            "throttles": r.throttles, "failed": f"{r.segments_failed} failed" if r.segments_failed else ""}
        if self._task is None:
            self._task = self.progress.add_task(r.job_id, total=r.segments_total, completed=r.segments_done,
                                                **fields)
        else:
            self.progress.update(self._task, total=r.segments_total, completed=r.segments_done, **fields)
