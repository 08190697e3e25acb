"""Run moto's own DynamoDB tests (``tests/test_dynamodb`` of the moto sdist) against ddbkit (issue #27).

Nobody on this project wrote that suite: it is the independent proof that ``ddbkit.accelerate()`` keeps
boto3 code's behaviour. This module fetches the sdist of the moto version pinned in ``constraints/dev.txt``
(``pip download --no-binary :all: --no-deps``, cached in ``.local/moto-sdist/``), extracts the DynamoDB
tests and the helpers they import from moto's ``tests`` package into a scratch directory (moto's test code
is never copied into this repository), and runs them in a subprocess pytest in one of four runs:

=====================  ==========================================================================
``server``             TEST_SERVER_MODE=true against a moto server on a free loopback port
``server-accelerated`` the same, with ``moto_suite_plugin`` calling ``ddbkit.accelerate()``
``decorator``          moto's default in-process ``mock_aws``, every outgoing connection refused
``decorator-accelerated`` the same, with ``ddbkit.accelerate()``
=====================  ==========================================================================

Each run yields the sets of passed / failed / skipped test ids (recorded by the plugin) and the plugin's report
(accelerated calls, clients, refused connections). ``test_moto_suite.py`` compares the accelerated runs
with the plain pass lists stored next to this file; regenerate those with::

    PYTHONPATH=$PWD .venv/bin/python tests/accelerate/moto_suite.py regenerate

Or run any one run and print its summary::

    PYTHONPATH=$PWD .venv/bin/python tests/accelerate/moto_suite.py run server-accelerated
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CONSTRAINTS = REPO / "constraints" / "dev.txt"
SDIST_CACHE = REPO / ".local" / "moto-sdist"

MODES = ("server", "server-accelerated", "decorator", "decorator-accelerated")
PLAIN_LISTS = {"server": HERE / "moto_suite_server_passed.txt", "decorator": HERE / "moto_suite_decorator_passed.txt"}

# What the DynamoDB tests import from moto's own ``tests`` package (checked for 5.2.5: tests/__init__.py's
# aws_verified and allow_aws_request, tests/conftest.py's fixtures, tests/markers.py, and
# tests/test_s3/__init__.py's s3_aws_verified for the export-table tests), plus the pytest configuration
# that declares moto's markers.
_MEMBERS = ("tests/__init__.py", "tests/conftest.py", "tests/markers.py", "tests/test_s3/__init__.py", "pyproject.toml")
_SUITE_DIR = "tests/test_dynamodb/"
_REGENERATE = "PYTHONPATH=$PWD .venv/bin/python tests/accelerate/moto_suite.py regenerate"


class SuiteUnavailable(RuntimeError):
    """The moto sdist cannot be had (no cache and no package index): the message says why and what to run."""


def pinned_moto_version() -> str:
    """The moto version ``constraints/dev.txt`` pins (the one the venv runs: the suite must match it)."""
    match = re.search(r"^moto==(\S+)\s*$", CONSTRAINTS.read_text(), re.MULTILINE)
    if match is None:
        raise SuiteUnavailable(f"no 'moto==' pin in {CONSTRAINTS}")
    return match.group(1)


def installed_moto_version() -> str:
    """The moto version importable here (the server and ``mock_aws`` the suite runs against)."""
    from importlib.metadata import version

    return version("moto")


def fetch_sdist(version: str | None = None, cache: Path = SDIST_CACHE) -> Path:
    """The path of moto's sdist for ``version`` (default: the pinned one), downloaded once into ``cache``.

    Raises :class:`SuiteUnavailable` with pip's last line when it is not cached and cannot be downloaded.
    """
    version = version or pinned_moto_version()
    target = cache / f"moto-{version}.tar.gz"
    if target.is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
             f"moto=={version}", "-d", tmp],
            capture_output=True, text=True, timeout=600, check=False,
        )
        got = Path(tmp) / target.name
        if proc.returncode != 0 or not got.is_file():
            lines = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()
            last = next((ln for ln in lines if ln.startswith("ERROR")), lines[-1])
            raise SuiteUnavailable(
                f"moto {version} sdist not in {cache} and pip download failed ({last}); "
                f"with network, run: {sys.executable} -m pip download --no-binary :all: --no-deps "
                f"moto=={version} -d {cache}"
            )
        os.replace(got, target)
    return target


def extract_suite(sdist: Path, dest: Path) -> Path:
    """Extract moto's DynamoDB tests and the helpers they import from ``sdist`` into ``dest``.

    Returns the scratch root (the directory to run pytest in: it holds moto's ``tests`` package).
    """
    with tarfile.open(sdist) as tar:
        top = tar.getnames()[0].split("/")[0]
        wanted = [
            m for m in tar.getmembers()
            if m.isfile() and (m.name.startswith(f"{top}/{_SUITE_DIR}") or m.name[len(top) + 1:] in _MEMBERS)
        ]
        if not any(m.name.startswith(f"{top}/{_SUITE_DIR}") for m in wanted):
            raise SuiteUnavailable(f"{sdist.name} holds no {_SUITE_DIR}")
        for member in wanted:
            member.name = member.name[len(top) + 1:]
            tar.extract(member, dest, filter="data")
    return dest


@dataclass
class SuiteRun:
    """The outcome of one run: test ids by outcome, the plugin's report, the wall time and pytest's tail."""

    mode: str
    passed: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)  # id -> first line of the failure message
    skipped: set[str] = field(default_factory=set)
    plugin: dict[str, object] = field(default_factory=dict)
    seconds: float = 0.0
    returncode: int = 0
    tail: str = ""

    def summary(self) -> str:
        """One line: counts and wall time."""
        return (f"{self.mode}: {len(self.passed)} passed, {len(self.failed)} failed, {len(self.skipped)} skipped "
                f"in {self.seconds:.0f} s (pytest exit {self.returncode})")


def run_suite(mode: str, root: Path, timeout: float = 3600, extra_args: tuple[str, ...] = ()) -> SuiteRun:
    """Run the extracted suite at ``root`` in ``mode`` (one of :data:`MODES`) in a subprocess pytest.

    Server modes start a moto server (``ddbkit_infra.local.MotoServer``, this moto) on a free loopback port
    in a child process and point moto's TEST_SERVER_MODE_ENDPOINT at it.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    server_mode = mode.startswith("server")
    accelerated = mode.endswith("accelerated")
    work = Path(tempfile.mkdtemp(prefix=f"moto-{mode}-", dir=root))
    report = work / "plugin.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TEST_SERVER_MODE", "MOTO_"))}
    env.update({
        "PYTHONPATH": os.pathsep.join([str(root), str(HERE), str(REPO)]),
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "DDBKIT_MOTO_SUITE_REPORT": str(report),
        "DDBKIT_MOTO_SUITE_ACCELERATE": "1" if accelerated else "0",
        "DDBKIT_MOTO_SUITE_MODE": "server" if server_mode else "decorator",
    })
    server: subprocess.Popen[str] | None = None
    try:
        if server_mode:
            server, endpoint = _start_server(work)
            env.update({"TEST_SERVER_MODE": "true", "TEST_SERVER_MODE_ENDPOINT": endpoint})
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "moto_suite_plugin",
               "-c", str(root / "pyproject.toml"), "--rootdir", str(root), "-o", "addopts=", "-o", "timeout=300",
               "-W", "ignore::DeprecationWarning", *extra_args]
        if not any(arg.startswith(_SUITE_DIR) for arg in extra_args):
            cmd.append(_SUITE_DIR)
        start = time.monotonic()
        proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=timeout, check=False)
        run = SuiteRun(mode=mode, seconds=time.monotonic() - start, returncode=proc.returncode)
        run.tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-40:])
        if report.is_file():
            run.plugin = json.loads(report.read_text())
            outcomes = run.plugin.pop("outcomes", {})
            assert isinstance(outcomes, dict)
            for node, (outcome, first_line) in outcomes.items():
                if outcome == "passed":
                    run.passed.add(node)
                elif outcome == "skipped":
                    run.skipped.add(node)
                else:
                    run.failed[node] = first_line
        return run
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def _start_server(work: Path) -> tuple[subprocess.Popen[str], str]:
    """A moto server in its own process (the suite's process stays a plain client), and its endpoint."""
    port_file = work / "port"
    code = (
        "import sys, time, pathlib\n"
        "from ddbkit_infra.local import MotoServer\n"
        "s = MotoServer().start()\n"
        f"pathlib.Path({str(port_file)!r}).write_text(s.endpoint_url)\n"
        "sys.stdin.read()\n"
    )
    # moto rebuilds every IAM backend on each per-test reset; with AWS's managed policies loaded (which
    # ddbkit_infra.local.MotoServer turns on for AWS Backup plans) that costs 0.7-1.5 s per test and made the
    # suite take 13-16 minutes. moto's DynamoDB tests use no managed policy.
    env = dict(os.environ, PYTHONPATH=str(REPO), MOTO_IAM_LOAD_MANAGED_POLICIES="false")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, env=env, text=True)
    deadline = time.monotonic() + 60
    while not port_file.is_file() or not port_file.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SuiteUnavailable("the moto server did not start")
        time.sleep(0.1)
    return proc, port_file.read_text()


def prepare(root: Path | None = None) -> Path:
    """Fetch (cached) and extract the pinned suite into ``root`` (default: a new scratch dir); return it."""
    pinned, installed = pinned_moto_version(), installed_moto_version()
    if pinned != installed:
        raise SuiteUnavailable(f"moto {installed} installed but constraints pin {pinned}: run make setup")
    root = root or Path(tempfile.mkdtemp(prefix="moto-suite-"))
    return extract_suite(fetch_sdist(pinned), root)


def read_plain_list(mode: str) -> set[str]:
    """The stored plain-run pass list of ``mode`` ('server' or 'decorator'), header lines dropped."""
    return {line for line in PLAIN_LISTS[mode].read_text().splitlines() if line and not line.startswith("#")}


def write_plain_list(run: SuiteRun) -> Path:
    """Store ``run``'s pass list (a plain run) with the command that regenerates it and moto's version."""
    path = PLAIN_LISTS[run.mode]
    header = [
        f"# Generated: the tests of moto {installed_moto_version()}'s tests/test_dynamodb that pass in moto's",
        f"# {run.mode} mode WITHOUT ddbkit.accelerate() (issue #27). test_moto_suite.py compares the accelerated run",
        f"# with this list. Regenerate (after moving the moto pin): {_REGENERATE}",
        f"# {len(run.passed)} passed, {len(run.failed)} failed, {len(run.skipped)} skipped",
    ]
    path.write_text("\n".join(header + sorted(run.passed)) + "\n")
    return path


RUNS_CACHE = REPO / ".local" / "moto-suite-runs"


def save_run(run: SuiteRun, directory: Path = RUNS_CACHE) -> Path:
    """Keep ``run`` as JSON (outside the repo's tracked files) so a long run's result is never lost."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{run.mode}.json"
    path.write_text(json.dumps({
        "mode": run.mode, "passed": sorted(run.passed), "failed": run.failed, "skipped": sorted(run.skipped),
        "plugin": run.plugin, "seconds": run.seconds, "returncode": run.returncode, "tail": run.tail,
    }, indent=1))
    return path


def load_run(mode: str, directory: Path = RUNS_CACHE) -> SuiteRun:
    """A run saved by :func:`save_run`."""
    data = json.loads((directory / f"{mode}.json").read_text())
    return SuiteRun(mode=data["mode"], passed=set(data["passed"]), failed=data["failed"],
                    skipped=set(data["skipped"]), plugin=data["plugin"], seconds=data["seconds"],
                    returncode=data["returncode"], tail=data["tail"])


def main(argv: list[str]) -> int:
    """``regenerate`` the plain lists, or ``run MODE [pytest args]`` and print the summary and differences."""
    if not argv or argv[0] not in ("regenerate", "run", "store"):
        print(__doc__)
        return 2
    if argv[0] == "store":  # write a plain list from a saved full run: `store server`
        run = load_run(argv[1])
        print(run.summary())
        print(f"wrote {write_plain_list(run)}")
        return 0
    root = prepare()
    try:
        if argv[0] == "regenerate":
            for mode in ("server", "decorator"):
                run = run_suite(mode, root)
                save_run(run)
                print(run.summary())
                print(f"wrote {write_plain_list(run)}")
            return 0
        run = run_suite(argv[1], root, extra_args=tuple(argv[2:]))
        print(run.summary())
        if not argv[2:]:
            print(f"saved {save_run(run)}")
        print(json.dumps(run.plugin, indent=1, sort_keys=True))
        if run.returncode not in (0, 1):
            print(run.tail)
        for node, msg in sorted(run.failed.items()):
            print(f"FAILED {node}: {msg}")
        base = argv[1].split("-")[0]
        if PLAIN_LISTS[base].is_file():
            lost = read_plain_list(base) - run.passed
            print(f"passing plain and not in this run: {len(lost)}")
            for node in sorted(lost):
                print(f"  {node}: {run.failed.get(node, 'skipped' if node in run.skipped else 'not run')}")
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
