"""Compatibility matrix: the runtime package installed alone, beside different boto3 versions.

For each boto3 in the matrix, a throwaway venv gets the built wheel (runtime dependencies only, no
constraints file) and that boto3, then runs, from a directory outside the repository so the installed
package is what is imported:

* the core unit tests: codec, expressions, engine (``-m "not integration"``: no emulator in that venv);
* a smoke test against the fault-injecting stub server (tests/support/fault_server.py over bench/stub_server.py):
  put, GetItem, Query and a batch write through throttles, on the fast and the botocore transports;
* ``import ddbkit`` + ``Table(...)`` in a fresh interpreter imports none of pydantic, yaml, click, rich;
* the ``ddbkit`` console script, whose ``cli`` extra is absent there, names the extra (exit 2, one line).

Then every extra, ``all`` included, installed into a venv that already holds the newest boto3: boto3 and
botocore must stay as they were (the ``aioboto3`` extra, whose botocore window cannot, is opt-in and out of
``all``) and the install is timed (printed with ``-s``); pip's own resolver resolves ``all`` there too.

The matrix: the newest boto3 on the index, the boto3 AWS Lambda's Python 3.12 runtime ships (number and
source in docs/installation.md), and the declared floor (boto3 1.34). pip runs from the dev venv
(``pip --python``) with the shared pip cache: venvs are created without pip, so each costs only the install.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.compat

ROOT = Path(__file__).resolve().parents[2]

#: boto3/botocore of AWS Lambda's python3.12 runtime (docs/installation.md, "Which boto3 Lambda ships").
LAMBDA_PY312_BOTO3 = "1.38.36"
#: The lower bound pyproject.toml declares.
FLOOR_BOTO3 = "1.34.0"
MATRIX = {"newest": None, "lambda-python3.12": LAMBDA_PY312_BOTO3, "floor": FLOOR_BOTO3}

CORE_TESTS = ("test_codec.py", "test_expressions.py", "test_engine.py")
HELPERS = ("conftest.py", "backends.py", "fakes.py", "fault_server.py")
HEAVY = ("pydantic", "yaml", "click", "rich")

SMOKE = '''
"""Runs inside the throwaway venv (written by tests/install/test_install.py)."""
import subprocess, sys

HEAVY = ("pydantic", "yaml", "click", "rich")

import boto3
import botocore
import pytest
from fault_server import FaultPlan, start_faulty_server

import ddbkit
from ddbkit import Key, RetryPolicy, Table


def test_installed_package_is_the_one_under_test():
    assert "site-packages" in ddbkit.__file__, ddbkit.__file__
    print("boto3", boto3.__version__, "botocore", botocore.__version__)


def test_import_and_table_need_no_config_stack():
    code = ("import sys, ddbkit; ddbkit.Table('Orders', key=('pk', 'sk'), region_name='us-east-1'); "
            "print(','.join(m for m in %r if m in sys.modules))" % (HEAVY,))  # noqa: UP031
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("transport", ["fast", "botocore"])
def test_get_query_batch_against_the_fault_server(transport):
    server, store = start_faulty_server({"Orders": ("pk", "sk")}, FaultPlan(seed=7, throttle=0.3))
    try:
        table = Table("Orders", key=("pk", "sk"), endpoint_url=server.endpoint_url, region_name="us-east-1",
                      transport=transport, retry=RetryPolicy(max_attempts=20, base_delay=0.001, max_delay=0.01))
        table.put({"pk": "a", "sk": "0", "n": 1})
        assert table.get({"pk": "a", "sk": "0"})["n"] == 1
        result = table.batch_write([{"pk": "b", "sk": str(i), "v": i} for i in range(60)])
        assert result.written == 60
        page = table.query(Key("pk").eq("b"))
        assert sorted(int(i["sk"]) for i in page.items) == list(range(60))
        assert sum(table.usage.throttles.values()) > 0  # the retry path ran
    finally:
        server.stop()
'''


def _run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)  # type: ignore[call-overload]
    assert res.returncode == 0, f"{' '.join(cmd)}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res  # type: ignore[no-any-return]


def _pip(python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Install into ``python``'s environment as a user would (no constraints file).

    uv (a dev dependency) when present: it links files from its cache instead of unpacking botocore's
    ~1,000 files per venv, 2.4 s against pip's 17 s for one venv here. Else the dev venv's pip.
    """
    if importlib.util.find_spec("uv") is not None:
        cmd = [sys.executable, "-m", "uv", "pip", args[0], "--python", str(python), *args[1:]]
    else:
        cmd = [sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check", *args]
    return _run(cmd, env=_clean_env())


def _clean_env() -> dict[str, str]:
    """No PYTHONPATH (it would show pip and the interpreter this checkout's ddbkit), no pip constraints."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith("PYTHON") and k not in ("PIP_CONSTRAINT", "PIP_REQUIRE_VIRTUALENV")}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    had_build = (ROOT / "build").exists()
    res = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(out), str(ROOT)], env=_clean_env())
    # project.license is the SPDX string: setuptools >= 77 warns on the old {text = ...} table form
    assert "project.license` as a TOML table is deprecated" not in res.stdout + res.stderr
    if not had_build:  # setuptools builds in the source tree; leave the checkout as it was
        shutil.rmtree(ROOT / "build", ignore_errors=True)
    [whl] = out.glob("ddbkit-*.whl")
    return whl


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The core tests and their helpers, copied outside the repo (so ``ddbkit`` resolves to site-packages)."""
    d = tmp_path_factory.mktemp("compat-tests")
    for name in CORE_TESTS + HELPERS:  # tests mirror the packages: find each in its folder
        top = ROOT / "tests" / name
        shutil.copy(top if top.exists() else next((ROOT / "tests").rglob(name)), d / name)
    (d / "bench").mkdir()
    (d / "bench" / "__init__.py").write_text("")
    shutil.copy(ROOT / "bench" / "stub_server.py", d / "bench" / "stub_server.py")
    (d / "test_runtime_smoke.py").write_text(SMOKE)
    (d / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\nmarkers =\n    integration\n    slow\n")
    yield d


@pytest.mark.parametrize("boto3_version", list(MATRIX.values()), ids=list(MATRIX))
def test_runtime_with_boto3(boto3_version: str | None, wheel: Path, workdir: Path,
                            tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    boto3_req = "boto3" if boto3_version is None else f"boto3=={boto3_version}"
    # the runtime exactly as `pip install ddbkit` gets it, then the test runner
    _pip(python, "install", "-q", str(wheel), boto3_req)
    _pip(python, "install", "-q", "pytest", "hypothesis")
    listed = _pip(python, "list", "--format=freeze").stdout.lower()
    versions = dict(line.split("==", 1) for line in listed.split() if "==" in line)
    for dist in ("pydantic", "pyyaml", "click", "rich", "aioboto3", "moto"):
        assert dist not in versions, f"{dist} came with the runtime: {sorted(versions)}"
    if boto3_version is None:  # newest: beyond the old <1.40.62 pin that blocked current boto3
        assert tuple(int(p) for p in versions["boto3"].split(".")[:2]) >= (1, 41), versions["boto3"]
    else:
        assert versions["boto3"] == boto3_version

    env = _clean_env()
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, DDBKIT_TRANSPORT="")
    # the floor runs the codec and the smoke test; the two boto3 users meet run the whole core set
    tests = CORE_TESTS if boto3_version != FLOOR_BOTO3 else ("test_codec.py",)
    res = _run([str(python), "-m", "pytest", "-q", "-x", "-m", "not integration", "-s", *tests,
                "test_runtime_smoke.py"], cwd=workdir, env=env)
    assert " passed" in res.stdout and "failed" not in res.stdout

    # the console script without its extra: one line naming the extra, exit 2 (a usage error)
    cli = subprocess.run([str(env_dir / "bin" / "ddbkit"), "--help"], capture_output=True, text=True, timeout=60)
    assert cli.returncode == 2, cli.stderr
    assert cli.stderr.count("\n") == 1 and "pip install 'ddbkit[cli]'" in cli.stderr, cli.stderr


def test_aioboto3_extra_resolves_without_constraints(wheel: Path, tmp_path: Path) -> None:
    """pip (the user's resolver, not uv) resolves ``ddbkit[aioboto3]`` in an empty venv with no constraints
    file: aioboto3 brings its own botocore window and pip lands inside it without backtracking through years
    of boto3. The resolution time is printed, not asserted (docs/installation.md quotes it)."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    t0 = time.perf_counter()
    res = _run([sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python"), "install", "--dry-run",
                f"ddbkit[aioboto3] @ {wheel.as_uri()}"], env=_clean_env())
    print(f"\npip resolution of ddbkit[aioboto3] in an empty venv: {time.perf_counter() - t0:.1f} s")
    got = _would_install(res.stdout)
    assert int(got["aioboto3"].split(".")[0]) >= 15
    assert got["boto3"] == got["botocore"]  # aiobotocore's window picked one boto3/botocore pair
    assert "moto" not in got and "pydantic" not in got


# --- every extra beside the newest boto3 ---------------------------------------------------------------

#: The newest boto3 on PyPI when this was written (``pip index versions boto3``); the rows below install the
#: index's newest, which must be at least this.
NEWEST_KNOWN_BOTO3 = "1.44.8"
#: Each extra and a module it must make importable (the extra really installed, not just resolved).
EXTRAS = {
    "config": "yaml", "cli": "click", "async": "aiohttp", "dax": "amazondax", "xray": "aws_xray_sdk",
    "otel": "opentelemetry.trace", "local": "moto", "crypto": "cryptography", "models": "pydantic",
    "bulk": "distributed", "console": "starlette", "all": "moto",
}
#: Resolution is quick when nothing backtracks (uv: 0.3-3 s per extra here); a minute means it went wrong.
RESOLVE_LIMIT_S = 60.0


def _versions(python: Path) -> dict[str, str]:
    listed = _pip(python, "list", "--format=freeze").stdout.lower()
    return dict(line.split("==", 1) for line in listed.split() if "==" in line)


def _would_install(stdout: str) -> dict[str, str]:
    lines = [ln for ln in stdout.splitlines() if ln.startswith("Would install")]
    return dict(p.rsplit("-", 1) for p in lines[0].split()[2:]) if lines else {}


def _version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split(".")[:3])


def _venv_with_newest_boto3(where: Path) -> tuple[Path, dict[str, str]]:
    """A fresh venv holding the index's newest boto3 (and its botocore), as a current project has."""
    if importlib.util.find_spec("uv") is not None:
        _run([sys.executable, "-m", "uv", "venv", "-q", str(where)], env=_clean_env())
    else:
        venv.EnvBuilder(with_pip=False).create(where)
    python = where / "bin" / "python"
    _pip(python, "install", "-q", "boto3")
    before = _versions(python)
    assert _version_tuple(before["boto3"]) >= _version_tuple(NEWEST_KNOWN_BOTO3), before["boto3"]
    return python, before


@pytest.mark.parametrize("extra", list(EXTRAS))
def test_extra_installs_beside_newest_boto3(extra: str, wheel: Path, tmp_path: Path) -> None:
    """``pip install 'ddbkit[<extra>]'`` into a venv that already holds the newest boto3 leaves boto3 and
    botocore as they were, brings no aioboto3 (its botocore window is the opt-in ``aioboto3`` extra, which
    ``all`` leaves out) and resolves in well under a minute."""
    python, before = _venv_with_newest_boto3(tmp_path / "venv")
    t0 = time.perf_counter()
    _pip(python, "install", "-q", f"ddbkit[{extra}] @ {wheel.as_uri()}")
    elapsed = time.perf_counter() - t0
    after = _versions(python)
    print(f"\nddbkit[{extra}] beside boto3 {before['boto3']}: installed in {elapsed:.1f} s")
    assert (after["boto3"], after["botocore"]) == (before["boto3"], before["botocore"]), (extra, after["boto3"])
    assert "aioboto3" not in after and "aiobotocore" not in after, extra
    assert elapsed < RESOLVE_LIMIT_S, f"ddbkit[{extra}] took {elapsed:.0f} s to resolve and install"
    _run([str(python), "-c", f"import ddbkit, {EXTRAS[extra]}"], env=_clean_env(), cwd=tmp_path)
    if extra == "async":  # AsyncTable's default (fast) transport works on aiohttp alone
        from bench.stub_server import StubProcess

        env = {**_clean_env(), "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
        with StubProcess(table="Orders", key_names=("pk",)) as stub:
            out = _run([str(python), "-c", ASYNC_GET, stub.endpoint_url], env=env, cwd=tmp_path)
        assert out.stdout.split() == ["a", "False"], out.stdout
    if extra == "console":
        _console_serves_from_the_wheel(python, tmp_path)


def _console_serves_from_the_wheel(python: Path, where: Path) -> None:
    """``ddbkit console`` of the installed wheel serves its page and its own assets (no CDN: the templates
    and static files ship in the wheel); its endpoint is down, which the page says in one line."""
    import urllib.request

    from ddbkit_infra.local import free_port

    port = free_port()
    env = {**_clean_env(), "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    proc = subprocess.Popen([str(python.parent / "ddbkit"), "console", "--port", str(port), "--region", "us-east-1",
                             "--endpoint-url", "http://127.0.0.1:9"], env=env, cwd=where,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/", timeout=5) as page:
                    html = page.read().decode()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    out = proc.stdout.read() if proc.stdout and proc.poll() is not None else ""
                    pytest.fail(f"the installed ddbkit console did not serve {url}: {out[-2000:]}")
                time.sleep(0.2)
        print(f"installed ddbkit console served {url}/ and its assets")
        assert "/static/console.css" in html and 'id="error"' in html and "127.0.0.1:9" in html, html[-2000:]
        for asset in ("console.css", "explore.js", "live.js"):
            with urllib.request.urlopen(f"{url}/static/{asset}", timeout=5) as got:
                assert got.status == 200 and got.read(), asset
    finally:
        proc.terminate()
        proc.wait(timeout=10)


ASYNC_GET = """import asyncio, sys
from ddbkit.aio import AsyncTable

async def main():
    async with AsyncTable("Orders", key="pk", endpoint_url=sys.argv[1], region_name="us-east-1") as table:
        print((await table.get({"pk": "a"}))["pk"], "aioboto3" in sys.modules)

asyncio.run(main())
"""


def test_pip_resolves_all_beside_newest_boto3(wheel: Path, tmp_path: Path) -> None:
    """The issue's own case with pip's resolver (the one users have): ``pip install 'ddbkit[all]'`` beside the
    newest boto3 resolves without backtracking (it used to walk boto3 back release by release for 9+ minutes
    towards aioboto3's botocore window) and would install neither boto3 nor botocore."""
    python, before = _venv_with_newest_boto3(tmp_path / "venv")
    t0 = time.perf_counter()
    try:
        res = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--dry-run",
                              f"ddbkit[all] @ {wheel.as_uri()}"], capture_output=True, text=True,
                             timeout=2 * RESOLVE_LIMIT_S, env=_clean_env())
    except subprocess.TimeoutExpired:
        pytest.fail(f"pip was still resolving ddbkit[all] beside boto3 {before['boto3']} after "
                    f"{2 * RESOLVE_LIMIT_S:.0f} s (backtracking)")
    elapsed = time.perf_counter() - t0
    assert res.returncode == 0, res.stderr[-3000:]
    print(f"\npip resolution of ddbkit[all] beside boto3 {before['boto3']}: {elapsed:.1f} s")
    got = _would_install(res.stdout)
    assert "moto" in got and "aiohttp" in got, sorted(got)
    assert "boto3" not in got and "botocore" not in got and "aioboto3" not in got, sorted(got)
    assert elapsed < RESOLVE_LIMIT_S


# --- the Lambda function package -----------------------------------------------------------------------

#: docs/installation.md's goal for what a function adds on top of Lambda's own boto3.
LAMBDA_BUDGET = 3 * 1024 * 1024

HANDLER = '''
import os

from ddbkit import Table

table = Table.from_env("USER_SESSIONS", endpoint_url=os.environ["STUB_ENDPOINT"], region_name="us-east-1")


def handler(event, context):
    return table.get({"sessionId": event["sessionId"]})
'''

PROBE = '''
import importlib.util, json, sys
import handler
import ddbkit
item = handler.handler({"sessionId": "s1"}, None)
print(json.dumps({"session": item["sessionId"], "attributes": len(item), "ddbkit": ddbkit.__file__,
                  "infra": importlib.util.find_spec("ddbkit_infra") is not None,
                  "heavy": sorted(m for m in ("pydantic", "yaml", "click", "rich") if m in sys.modules)}))
'''


def _lambda_package(dest: Path, wheel: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """The documented build: ``python -m ddbkit_infra.lambda_package DIR`` (here from the built wheel)."""
    return subprocess.run([sys.executable, "-m", "ddbkit_infra.lambda_package", str(dest), "--source", str(wheel),
                           *extra], capture_output=True, text=True, timeout=600,
                          env={**_clean_env(), "PYTHONPATH": str(ROOT)})


def test_lambda_package_fits_and_runs(wheel: Path, tmp_path: Path) -> None:
    """The function package for Lambda python3.12 is at most 3 MB unzipped, holds no ddbkit_infra, console
    script, boto3/botocore or bytecode, and a handler in it imports and answers a GetItem with only Lambda's
    own boto3 beside it."""
    fn = tmp_path / "fn"
    res = _lambda_package(fn, wheel, "--zip", str(tmp_path / "fn.zip"))
    assert res.returncode == 0, res.stderr
    print("\n" + res.stdout.strip())
    files = [p for p in fn.rglob("*") if p.is_file()]
    unzipped = sum(p.stat().st_size for p in files)
    assert unzipped <= LAMBDA_BUDGET, f"{unzipped / 1024 / 1024:.2f} MB unzipped"
    assert f"{unzipped / 1024 / 1024:.2f} MB unzipped" in res.stdout
    tops = {p.name for p in fn.iterdir()}
    assert {"ddbkit", "orjson", "tenacity"} <= tops, tops
    assert not tops & {"ddbkit_infra", "bin", "boto3", "botocore", "urllib3", "six.py", "__pycache__"}, tops
    assert not [p for p in fn.rglob("*") if p.name == "__pycache__" or p.suffix in (".pyc", ".pyo")]
    assert any(p.name.startswith("orjson") and "cpython-312-x86_64" in p.name and p.suffix == ".so" for p in files)
    with zipfile.ZipFile(tmp_path / "fn.zip") as zf:
        assert sorted(zf.namelist()) == sorted(p.relative_to(fn).as_posix() for p in files)

    # building again over it needs consent: one line naming the entries, exit 2, nothing changed
    again = _lambda_package(fn, wheel)
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "ddbkit" in again.stderr, again.stderr
    assert "--replace" in again.stderr and sum(p.stat().st_size for p in fn.rglob("*") if p.is_file()) == unzipped

    # the same build for this interpreter (orjson is compiled per Python version), run in a venv holding
    # only the Lambda runtime's boto3, as /var/task on sys.path: the handler imports and does a GetItem
    from bench.stub_server import StubProcess

    local = tmp_path / "fn-local"
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    res = _lambda_package(local, wheel, "--python-version", version)
    assert res.returncode == 0, res.stderr
    (local / "handler.py").write_text(HANDLER)
    runtime = tmp_path / "lambda-runtime"
    _run([sys.executable, "-m", "uv", "venv", "-q", str(runtime)], env=_clean_env())
    _pip(runtime / "bin" / "python", "install", "-q", f"boto3=={LAMBDA_PY312_BOTO3}")
    env = _clean_env()
    env.update(PYTHONPATH=str(local), PYTHONDONTWRITEBYTECODE="1", AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               USER_SESSIONS_TABLE="UserSessions", USER_SESSIONS_KEY="sessionId",
               USER_SESSIONS_KEY_TYPES="sessionId:S")
    with StubProcess(table="UserSessions", key_names=("sessionId",)) as stub:
        env["STUB_ENDPOINT"] = stub.endpoint_url
        out = _run([str(runtime / "bin" / "python"), "-c", PROBE], cwd=tmp_path, env=env)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["session"] == "s1" and got["attributes"] > 1, got
    assert got["ddbkit"].startswith(str(local)), got
    assert got["infra"] is False and got["heavy"] == [], got
