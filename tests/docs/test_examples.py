"""The three examples and `ddbkit demo` run end to end on the embedded local backend."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ["session-store", "iot-time-series", "global-leaderboard"]


@pytest.mark.integration
@pytest.mark.parametrize("name", EXAMPLES)
def test_example_runs(name: str, tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, str(ROOT / "examples" / name / "run.py")], capture_output=True,
                         text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert f"{name} example: all checks passed" in out.stdout
    assert "FAIL" not in out.stdout


@pytest.mark.integration
def test_demo_runs_every_step(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "ddbkit_infra.cli", "demo", "--sessions", "1500",
                          "--out-dir", str(tmp_path / "out")], capture_output=True, text=True, timeout=300,
                         cwd=ROOT, env={**__import__("os").environ, "COLUMNS": "200"})
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    text = out.stdout
    for step in ("plan and apply the session-store component", "write 1,500 sessions with batch_write",
                 "page through one user's sessions", "active sessions filter", "process the stream",
                 "on-demand backup and point-in-time export", "capacity report", "CloudFormation template"):
        assert step in text, step
    assert "1500" in text and "INSERTs from 200 users" in text
    assert (tmp_path / "out" / "user-sessions.template.yaml").read_text().startswith("AWSTemplateFormatVersion")
    assert '"dynamodb:GetItem"' in text
