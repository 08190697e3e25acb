"""Without chromium the browser tests fail with the reason and the fix, or skip only when asked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _run(extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DDBKIT_CHROMIUM": "/nonexistent/chromium", **extra_env}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
                           str(HERE / "test_browser.py") + "::test_tables_page_shows_the_component_and_the_live_table"],
                          capture_output=True, text=True, env=env, cwd=HERE.parents[1], timeout=120)


@pytest.mark.integration  # runs pytest in subprocesses (as tests/cli does)
def test_missing_chromium_fails_naming_the_package_and_the_skip_switch() -> None:
    failed = _run({})
    assert failed.returncode == 1
    assert "browser unavailable: /nonexistent/chromium not found" in failed.stdout
    assert "apt-get install -y chromium" in failed.stdout and "DDBKIT_SKIP_BROWSER=1" in failed.stdout
    skipped = _run({"DDBKIT_SKIP_BROWSER": "1"})
    assert skipped.returncode == 0 and "1 skipped" in skipped.stdout
