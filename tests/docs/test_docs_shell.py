"""README.md and docs/getting-started.md run as written, in order, as a newcomer runs them (issue #23).

For each page, every ```bash block and every ```python block, in document order, becomes ONE script run
with ``bash -e``: a bash block as it is, a python block as ``python - <<'PY' ... PY`` (so README's taste
and getting-started's Python step run against the local endpoint the page itself started). A block whose
fence has ``<!-- not-run: reason -->`` on the line just before it is left out (``make demo``/``make test``,
installing with make/pip: the test already has the checkout installed).

The script runs in a scratch directory holding a copy of ``examples/`` and a ``.venv`` symlink, with
``.venv/bin`` first on PATH and PYTHONPATH the checkout (``ddbkit`` and ``python`` are this checkout's),
with no ``AWS_*`` variable from the test session (the page's own export lines must be enough) and AWS
config files pointing at /dev/null. Port 8000 is replaced with a free port (other suites may run at once).
The script runs in its own process group, killed afterwards, so the ``ddbkit local`` the page starts in
the background never outlives the test, whether the page stops it or a step failed first.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["README.md", "docs/getting-started.md"]
FENCE = re.compile(r"^```(bash|python)[^\S\n]*\n(.*?)^```[^\S\n]*$", re.S | re.M)
NOT_RUN = re.compile(r"<!--\s*not-run:\s*(.*?)\s*-->\s*$")


def script(page: str) -> tuple[str, list[str]]:
    """The page's runnable blocks as one bash script, and the reasons of the blocks left out."""
    text = (ROOT / page).read_text(encoding="utf-8")
    parts, skipped = ["set -e"], []
    for m in FENCE.finditer(text):
        before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        mark = NOT_RUN.search(before)
        if mark:
            skipped.append(mark.group(1))
            continue
        lang, code = m.group(1), m.group(2)
        parts.append(code if lang == "bash" else f"python - <<'PY'\n{code}PY\n")
    return "\n".join(parts), skipped


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int, seconds: float) -> bool:
    """Whether something still listens on ``port`` after up to ``seconds`` (a stopping server is given time)."""
    deadline = time.monotonic() + seconds
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return False
        if time.monotonic() > deadline:
            return True
        time.sleep(0.2)


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_as_one_script(page: str, tmp_path: Path) -> None:
    code, skipped = script(page)
    assert all(len(reason) > 10 for reason in skipped), f"{page}: say why a block is not run"
    for step in ("ddbkit local", "export AWS_REGION", "AWS_ACCESS_KEY_ID", "ddbkit validate", "ddbkit plan",
                 "ddbkit apply", "ddbkit bind", "python - <<'PY'", "ddbkit destroy", "kill %1"):
        assert step in code, f"{page}: the walk-through lost its step {step!r}"
    assert code.index("ddbkit local") < code.index("ddbkit plan") < code.index("ddbkit apply") \
        < code.index("python - <<'PY'") < code.index("ddbkit destroy")
    port = _free_port()
    code = code.replace("8000", str(port))
    shutil.copytree(ROOT / "examples", tmp_path / "examples",
                    ignore=shutil.ignore_patterns("__pycache__", ".ddbkit-demo"))
    (tmp_path / ".venv").symlink_to((ROOT / ".venv").resolve())
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "MOTO_IAM_LOAD_MANAGED_POLICIES"}
    env.update(PATH=f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}", PYTHONPATH=str(ROOT),
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, NO_COLOR="1")
    proc = subprocess.Popen(["bash", "-e", "-c", code], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=300)
        left_running = _listening(port, seconds=10.0)  # before the kill below: did the page stop it itself?
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever the page left running (it should have stopped it)
        except ProcessLookupError:
            pass
        proc.wait()
    log = (tmp_path / "local.log").read_text() if (tmp_path / "local.log").exists() else ""
    assert proc.returncode == 0, f"{page} failed as a script:\n{out[-6000:]}\n--- local.log ---\n{log[-2000:]}"
    assert "error:" not in out, out[-6000:]
    assert not left_running, f"{page} left ddbkit local running"
