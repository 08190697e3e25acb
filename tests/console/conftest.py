"""Fixtures of the console tests: a console served by uvicorn in a thread, and headless Debian chromium.

The browser is the machine's chromium (``/usr/bin/chromium``, Debian's package; ``make setup`` installs
it), driven by Playwright, which never downloads a browser of its own here. Missing chromium or
Playwright makes the browser tests FAIL with the reason, unless ``DDBKIT_SKIP_BROWSER=1`` turns that
into a skip (as ``DDBKIT_SKIP_DYNAMODB_LOCAL`` does for DynamoDB Local).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

CHROMIUM = os.environ.get("DDBKIT_CHROMIUM", "/usr/bin/chromium")
SKIP_BROWSER_ENV = "DDBKIT_SKIP_BROWSER"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def _unavailable(reason: str) -> None:
    if os.environ.get(SKIP_BROWSER_ENV) == "1":
        pytest.skip(f"browser unavailable ({SKIP_BROWSER_ENV}=1): {reason}")
    pytest.fail(f"browser unavailable: {reason} (or set {SKIP_BROWSER_ENV}=1 to skip the browser tests)",
                pytrace=False)


@pytest.fixture(scope="module")
def browser_context() -> Iterator[Any]:
    """One headless chromium per module (a fresh profile directory), closed at the end."""
    os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"{CHROMIUM} not found: install Debian's chromium (`sudo apt-get install -y chromium`, "
                     "or `make setup` as root)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is missing: make setup (it is in the dev extra)")
    profile = tempfile.mkdtemp(prefix="ddbkit-chromium-")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True,
                                                        args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 860})
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


@dataclass
class RunningConsole:
    """A console serving on ``url`` (its :class:`ConsoleState` as ``state``)."""

    url: str
    state: Any
    server: Any
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_console(settings: Any) -> RunningConsole:
    """uvicorn in a daemon thread on a free loopback port, started and answering before this returns."""
    import uvicorn

    from ddbkit_infra.console import ConsoleState, create_app
    from ddbkit_infra.local import free_port

    settings.port = settings.port or free_port()
    state = ConsoleState(settings)
    config = uvicorn.Config(create_app(state), host=settings.host, port=settings.port, access_log=False,
                            log_level="warning", timeout_graceful_shutdown=1, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="ddbkit-console", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the console did not start")
        time.sleep(0.02)
    return RunningConsole(f"http://{settings.host}:{settings.port}", state, server, thread)
