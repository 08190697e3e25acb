"""Build the ddbkit runtime for an AWS Lambda function: ``python -m ddbkit_infra.lambda_package DIR``.

What a function imports and nothing more, on top of what Lambda's Python runtime already provides:

* ddbkit (the runtime package, its data files and dist-info) and the runtime dependencies Lambda does not
  ship (orjson, tenacity), built for Lambda's platform and Python version (``--arch``, ``--python-version``;
  orjson is a compiled wheel);
* left out: boto3, botocore, s3transfer, jmespath, python-dateutil, urllib3 and six (the runtime has them),
  ``ddbkit_infra`` and the ``ddbkit`` command (provisioning: a function never imports them), console
  scripts (``bin/``) and bytecode caches (``__pycache__``/``*.pyc``: compiled by the build machine's
  Python, which Lambda's interpreter would not use).

``DIR`` is a function directory (your handler beside the packages) or, with ``--layer``, a layer's root
(the packages go to ``DIR/python``). An entry the build would write that already exists in ``DIR`` stops
it (exit 2, naming the entry) unless ``--replace`` is given: nothing else in ``DIR`` is touched.
``--zip FILE`` also writes the deployment zip. The last line printed is the size (docs/installation.md).
"""

from __future__ import annotations

import argparse
import email.parser
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: Top-level names (packages, modules, dist-info prefixes, normalised) Lambda's Python runtime provides.
LAMBDA_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "python_dateutil",
                             "urllib3", "six"})
#: Never part of a function package.
EXCLUDED_TOPS = frozenset({"ddbkit_infra", "bin", "__pycache__"})
PLATFORMS = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
DEFAULT_PYTHON = "3.12"


class PackageError(Exception):
    """A build that cannot go on; the message is one line."""


@dataclass(frozen=True)
class PackageSize:
    files: int
    unzipped: int
    zipped: int
    per_top: dict[str, int]

    def summary(self) -> str:
        mb = 1024 * 1024
        tops = ", ".join(f"{k} {v / mb:.2f}" for k, v in sorted(self.per_top.items(), key=lambda kv: -kv[1])[:5])
        return (f"{self.files} files, {self.unzipped / mb:.2f} MB unzipped, {self.zipped / mb:.2f} MB zipped "
                f"(largest, MB: {tops})")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _top_key(entry: str) -> str:
    """``botocore`` / ``six.py`` / ``python_dateutil-2.9.dist-info`` -> the normalised distribution name."""
    if entry.endswith((".dist-info", ".egg-info")):
        entry = entry.split("-")[0]
    return _norm(entry.removesuffix(".py"))


def _skipped(rel: Path) -> bool:
    top = rel.parts[0]
    return (top in EXCLUDED_TOPS or _top_key(top) in LAMBDA_PROVIDED or "__pycache__" in rel.parts
            or rel.suffix in (".pyc", ".pyo"))


def _pip(args: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_CONSTRAINT", "PIP_REQUIRE_VIRTUALENV")}
    res = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args], capture_output=True,
                         text=True, env=env)
    if res.returncode != 0:
        last = (res.stderr.strip().splitlines() or res.stdout.strip().splitlines() or ["(no output)"])[-1]
        raise PackageError(f"pip {args[0]} failed: {last}")


def runtime_requirements(dist_info: Path, extras: Iterable[str] = ()) -> list[str]:
    """The ``Requires-Dist`` lines of ddbkit's metadata for the runtime and ``extras`` (an extra naming
    ``ddbkit[other]`` brings ``other``'s too), minus what Lambda provides; markers other than ``extra`` kept."""
    meta = email.parser.Parser().parsestr((dist_info / "METADATA").read_text(encoding="utf-8"))
    parsed = []
    for req in meta.get_all("Requires-Dist") or []:
        spec, _, marker = req.partition(";")
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
        rest = re.sub(r"(\s*and\s*)?extra\s*==\s*['\"][^'\"]+['\"](\s*and\s*)?", "", marker).strip()
        name = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[([^\]]*)\])?", spec)
        if name:
            inner = [e.strip() for e in (name.group(3) or "").split(",") if e.strip()]
            parsed.append((_norm(name.group(1)), inner, extra.group(1) if extra else None,
                           spec.strip() + (f"; {rest}" if rest else "")))
    wanted: set[str | None] = {None}
    todo = [_norm(e) for e in extras]
    while todo:
        e = todo.pop()
        if e in wanted:
            continue
        if not any(x == e for _, _, x, _ in parsed):
            raise PackageError(f"--extra: ddbkit has no extra {e!r}")
        wanted.add(e)
        todo += [_norm(i) for n, inner, x, _ in parsed if x == e and n == "ddbkit" for i in inner]
    return [line for n, _, x, line in parsed if x in wanted and n != "ddbkit" and n not in LAMBDA_PROVIDED]


def default_source() -> str:
    """The installed ddbkit's version from the index (``ddbkit==X``)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"ddbkit=={version('ddbkit')}"
    except PackageNotFoundError:
        return "ddbkit"


def build(dest: Path, *, source: str | None = None, arch: str = "x86_64", python_version: str = DEFAULT_PYTHON,
          layer: bool = False, replace: bool = False, extras: Iterable[str] = ()) -> PackageSize:
    """Install the runtime into ``dest`` (``dest/python`` for a layer) as the module docstring says."""
    if arch not in PLATFORMS:
        raise PackageError(f"--arch: {arch!r} is not one of {', '.join(PLATFORMS)}")
    if not re.fullmatch(r"3\.\d+", python_version):
        raise PackageError(f"--python-version: {python_version!r} is not of the form 3.N")
    spec = source or default_source()
    if os.path.isdir(spec):  # a source tree: pip builds in it; leave it as it was
        spec = str(Path(spec).resolve())
    target = dest / "python" if layer else dest
    with tempfile.TemporaryDirectory(prefix="ddbkit-lambda-") as tmp:
        staged = Path(tmp) / "staged"
        built_in_tree = Path(spec) / "build"
        had_build = built_in_tree.exists()
        try:
            _pip(["install", "-q", "--no-deps", "--no-compile", "--target", str(staged), spec])
        finally:
            if os.path.isdir(spec) and not had_build:
                shutil.rmtree(built_in_tree, ignore_errors=True)
        dist_infos = sorted(staged.glob("ddbkit-*.dist-info"))
        if not dist_infos:
            raise PackageError(f"source {spec!r} did not install a ddbkit distribution")
        reqs = runtime_requirements(dist_infos[0], extras)
        if reqs:
            _pip(["install", "-q", "--no-compile", "--target", str(staged), "--only-binary=:all:",
                  "--platform", PLATFORMS[arch], "--python-version", python_version, "--implementation", "cp",
                  *reqs])
        files = sorted(p for p in staged.rglob("*") if p.is_file() and not _skipped(p.relative_to(staged)))
        tops = sorted({p.relative_to(staged).parts[0] for p in files})
        clashes = [t for t in tops if (target / t).exists()]
        if clashes and not replace:
            raise PackageError(f"{target}: {', '.join(clashes)} already there (pass --replace to overwrite "
                               "these entries)")
        target.mkdir(parents=True, exist_ok=True)
        for top in clashes:
            old = target / top
            shutil.rmtree(old) if old.is_dir() and not old.is_symlink() else old.unlink()
        for path in files:
            out = target / path.relative_to(staged)
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, out)
    return measure(target, tops)


def measure(root: Path, tops: Iterable[str] | None = None) -> PackageSize:
    """Files, bytes unzipped and zipped (deflate level 6, like ``zip``) of ``root``'s entries ``tops``
    (every entry when None)."""
    names = sorted(tops) if tops is not None else sorted(p.name for p in root.iterdir())
    per: dict[str, int] = {}
    count = 0
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for top in names:
            paths = [root / top] if (root / top).is_file() else sorted((root / top).rglob("*"))
            for path in paths:
                if path.is_file():
                    per[top] = per.get(top, 0) + path.stat().st_size
                    count += 1
                    zf.write(path, path.relative_to(root).as_posix())
    return PackageSize(count, sum(per.values()), len(buf.getvalue()), per)


def write_zip(root: Path, zip_path: Path) -> None:
    """The deployment zip of everything under ``root`` (a function directory or a layer's root)."""
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if path.is_file() and "__pycache__" not in rel.parts and path.suffix not in (".pyc", ".pyo"):
                zf.write(path, rel.as_posix())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ddbkit_infra.lambda_package",
                                     description="Build the ddbkit runtime for a Lambda function or layer.")
    parser.add_argument("dir", type=Path, help="the function directory (or the layer root with --layer)")
    parser.add_argument("--source", help="what to install: a requirement, a wheel or a source tree "
                        "(default: this ddbkit's version from the index)")
    parser.add_argument("--arch", default="x86_64", help="the function's architecture: x86_64 or arm64")
    parser.add_argument("--python-version", default=DEFAULT_PYTHON, help="the Lambda runtime's Python (3.12)")
    parser.add_argument("--extra", action="append", default=[], help="also an extra the function uses "
                        "(e.g. crypto); repeatable")
    parser.add_argument("--layer", action="store_true", help="install into DIR/python (a layer)")
    parser.add_argument("--replace", action="store_true", help="overwrite entries already in DIR")
    parser.add_argument("--zip", type=Path, help="also write the deployment zip of DIR here")
    args = parser.parse_args(argv)
    try:
        size = build(args.dir, source=args.source, arch=args.arch, python_version=args.python_version,
                     layer=args.layer, replace=args.replace, extras=args.extra)
        if args.zip:
            write_zip(args.dir, args.zip)
    except PackageError as err:
        print(f"ddbkit lambda package: {err}", file=sys.stderr)
        return 2
    print(f"{args.dir}: ddbkit runtime for Lambda python{args.python_version} {args.arch}: {size.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
