"""mypy --strict, with no plugin, accepts user code using every typed operation and rejects wrong uses."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent / "typing_models"


def _mypy(path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--config-file", "/dev/null",
                           "--follow-imports=silent", str(path)], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=600)


@pytest.mark.slow
def test_every_typed_operation_type_checks() -> None:
    out = _mypy(HERE / "uses_every_operation.py")
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.slow
def test_wrong_uses_fail_type_checking() -> None:
    out = _mypy(HERE / "wrong.py")
    assert out.returncode == 1, out.stdout + out.stderr
    lines = (HERE / "wrong.py").read_text().splitlines()
    expected = {i + 1 for i, line in enumerate(lines) if re.search(r"# E\d", line)}
    reported = {int(m.group(1)) for m in re.finditer(r"wrong\.py:(\d+): error", out.stdout)}
    assert expected <= reported, (sorted(expected - reported), out.stdout)
