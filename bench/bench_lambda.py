"""Lambda fit: the runtime package's size on top of Lambda's boto3, and cold start vs boto3.

Three measurements, printed one per line (``make bench`` copies them into docs/performance.md):

* **size** - the function package built the documented way (``python -m ddbkit_infra.lambda_package DIR``,
  ``make lambda-package``) from the built wheel, for Lambda's python3.12 on x86_64: ddbkit and what the
  Lambda Python runtime does not already provide (orjson, tenacity), without ``ddbkit_infra``, the CLI,
  console scripts or bytecode caches; unzipped and zipped (deflate, level 6 like ``zip``). The same with
  ``--extra config`` (pydantic + PyYAML) shows what the config stack would add.
* **cold start** - a fresh interpreter per run, timing ``import`` through the first GetItem's result
  against the loopback stub (bench/stub_server.py, in its own process): ``import ddbkit`` +
  ``Table(...)`` + ``get`` vs ``import boto3`` + ``client`` + ``get_item``. Median of N runs.
* **config vs env** - the same cold start building the Table with
  ``Table.from_config(load_component_file(...).tables[...])`` (pydantic + PyYAML) vs ``Table.from_env(...)``
  on the variables ``ddbkit bind`` emits.

Bytecode: deployed code runs from .pyc (pip and Lambda packaging compile it), so ddbkit is compiled first
(this machine sets PYTHONDONTWRITEBYTECODE). Run: ``.venv/bin/python -m bench.bench_lambda [--runs N]``.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.stub_server import StubProcess, fake_aws_env
from ddbkit_infra.lambda_package import PackageSize
from ddbkit_infra.lambda_package import build as build_lambda_package

ROOT = Path(__file__).resolve().parents[1]
COMPONENT = ROOT / "examples" / "session-store" / "component.yaml"

TIMED = """import time, sys
t0 = time.perf_counter()
{code}
print((time.perf_counter() - t0) * 1000)
"""

SNIPPETS = {
    "boto3: import + client + get_item": (
        "import boto3\n"
        "c = boto3.client('dynamodb', endpoint_url=sys.argv[1], region_name='us-east-1')\n"
        "c.get_item(TableName='UserSessions', Key={'sessionId': {'S': 's1'}})"),
    "ddbkit: import + Table + get": (
        "import ddbkit\n"
        "t = ddbkit.Table('UserSessions', key='sessionId', endpoint_url=sys.argv[1], region_name='us-east-1')\n"
        "t.get({'sessionId': 's1'})"),
    "ddbkit: Table.from_env + get": (
        "from ddbkit import Table\n"
        "t = Table.from_env('USER_SESSIONS', endpoint_url=sys.argv[1], region_name='us-east-1')\n"
        "t.get({'sessionId': 's1'})"),
    "ddbkit: Table.from_config(load_component_file) + get": (
        "from ddbkit import Table\n"
        "from ddbkit.config import load_component_file\n"
        f"cfg = load_component_file({str(COMPONENT)!r}).tables['user-sessions']\n"
        "t = Table.from_config(cfg, endpoint_url=sys.argv[1], region_name='us-east-1')\n"
        "t.get({'sessionId': 's1'})"),
}


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTHON") and k != "PIP_CONSTRAINT"}


def build_wheel(out: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)],
                   check=True, capture_output=True, env=_clean_env())
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    return next(out.glob("ddbkit-*.whl"))


def package_size(wheel: Path, extras: tuple[str, ...], work: Path) -> PackageSize:
    """The function package as ``python -m ddbkit_infra.lambda_package`` builds it (docs/installation.md)."""
    return build_lambda_package(work / f"fn-{'-'.join(extras) or 'runtime'}", source=str(wheel), extras=extras)


def cold(snippets: dict[str, str], endpoint: str, env: dict[str, str], runs: int) -> dict[str, float]:
    """Median ms per snippet; the runs are interleaved (one of each, ``runs`` times) so that a busy moment
    of a shared machine weighs on every snippet alike."""
    times: dict[str, list[float]] = {name: [] for name in snippets}
    for _ in range(runs):
        for name, code in snippets.items():
            out = subprocess.run([sys.executable, "-c", TIMED.format(code=code), endpoint], capture_output=True,
                                 text=True, check=True, env=env)
            times[name].append(float(out.stdout.strip().splitlines()[-1]))
    return {name: statistics.median(ts) for name, ts in times.items()}


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per cold-start figure")
    args = parser.parse_args(argv)
    lines: list[str] = []

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    mb = 1024 * 1024
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        wheel = build_wheel(work / "wheel")
        for extras, label in (((), "runtime (python -m ddbkit_infra.lambda_package)"),
                              (("config",), "with --extra config")):
            size = package_size(wheel, extras, work)
            top = ", ".join(f"{k} {v / mb:.2f}" for k, v in sorted(size.per_top.items(), key=lambda kv: -kv[1])[:6])
            say(f"lambda package {label} on top of Lambda's boto3: {size.unzipped / mb:.2f} MB unzipped, "
                f"{size.zipped / mb:.2f} MB zipped, {size.files} files (largest, MB: {top})")

    import ddbkit
    from ddbkit.core.envconfig import table_env_vars

    compileall.compile_dir(str(Path(ddbkit.__file__).parent), quiet=1)
    fake_aws_env()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    # what `ddbkit bind` emits for examples/session-store (ddbkit_infra.iam.binds.table_env): the schema part
    env.update(table_env_vars("user-sessions", "UserSessions", "sessionId", None,
                              types={"sessionId": "S", "userId": "S", "createdAt": "N", "expiresAt": "N",
                                     "sessionType": "S"},
                              indexes={"UserIdIndex": ("userId", "createdAt"), "ExpirationIndex": ("expiresAt", None),
                                       "SessionTypeIndex": ("userId", "sessionType")},
                              ttl_attribute="expiresAt"))
    with StubProcess(table="UserSessions", key_names=("sessionId",)) as stub:
        results = cold(SNIPPETS, stub.endpoint_url, env, args.runs)
    base = results["boto3: import + client + get_item"]
    for name, ms in results.items():
        ratio = "" if name.startswith("boto3") else f" | boto3 {base:.0f} ms | ratio {base / ms:.2f}x"
        say(f"cold start {name}: {ms:.0f} ms (median of {args.runs} fresh interpreters, interleaved){ratio}")
    env_ms = results["ddbkit: Table.from_env + get"]
    cfg_ms = results["ddbkit: Table.from_config(load_component_file) + get"]
    say(f"cold start from_env vs from_config(load_component_file): {env_ms:.0f} ms vs {cfg_ms:.0f} ms "
        f"({cfg_ms - env_ms:+.0f} ms for the config stack)")
    return lines


if __name__ == "__main__":
    main()
