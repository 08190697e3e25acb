"""Progress while a command waits on AWS (table, index, replica status; backup, restore, export, import, copy).

One reporter for every long wait: on a terminal a rich spinner on stderr whose text is the latest status;
otherwise (CI logs, pipes) a plain line on stderr when the status changes and at least every
``every`` seconds while it does not, so a log shows the wait is alive. stdout stays clean for ``--json``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

__all__ = ["WaitReporter", "reporting", "stderr_is_terminal"]


def stderr_is_terminal() -> bool:
    """Whether progress goes to a person (a spinner) or a log (lines). Tests replace this."""
    return sys.stderr.isatty()


class WaitReporter:
    """``report(what, status, elapsed)``: the callback every waiting function takes (``on_poll``)."""

    def __init__(self, *, terminal: bool, every: float = 30.0, echo: Callable[[str], Any] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.terminal = terminal
        self.every = every
        self.echo = echo or (lambda text: click.echo(text, err=True))
        self.clock = clock
        self._status: Any = None
        self._last: tuple[str, str] | None = None
        self._last_at = 0.0
        self.lines: int = 0

    def start(self) -> None:
        if self.terminal:
            from rich.console import Console

            self._status = Console(stderr=True).status("starting...")
            self._status.start()

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def report(self, what: str, status: str, elapsed: float) -> None:
        text = f"waiting: {what}: {status} ({elapsed:.0f} s)"
        if self._status is not None:
            self._status.update(text)
            return
        now = self.clock()
        if (what, status) != self._last or now - self._last_at >= self.every:
            self.echo(text)
            self.lines += 1
            self._last, self._last_at = (what, status), now


@contextmanager
def reporting(*, terminal: bool | None = None, every: float = 30.0) -> Iterator[WaitReporter]:
    """A started :class:`WaitReporter` (spinner on a terminal, periodic lines otherwise), stopped after."""
    reporter = WaitReporter(terminal=stderr_is_terminal() if terminal is None else terminal, every=every)
    reporter.start()
    try:
        yield reporter
    finally:
        reporter.stop()
