"""constraints/dev.txt pins one consistent development resolution, and pyproject keeps the runtime loose.

The install itself is exercised by `make setup` (pip install -c constraints/dev.txt -e '.[dev]' followed by
pip check) and by tests/install/test_install.py; these checks catch an edit that would bring the trap back.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11 (the dev venv's)

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._\-]*)==([^\s;]+)$")


def pins() -> dict[str, str]:
    out: dict[str, str] = {}
    for line in (ROOT / "constraints/dev.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = PIN.match(line.strip())
        assert m, f"constraints/dev.txt: {line!r} is not an exact 'name==version' pin"
        out[m.group(1).lower().replace("_", "-")] = m.group(2)
    return out


def test_constraints_pin_the_packages_that_trap_the_resolver() -> None:
    p = pins()
    assert "ddbkit" not in p  # ddbkit itself is the editable install, never pinned
    for name in ("boto3", "botocore", "aioboto3", "aiobotocore", "moto", "amazon-dax-client", "aws-xray-sdk",
                 "pydantic", "orjson", "tenacity"):
        assert name in p, f"{name} is not pinned"
    assert p["boto3"].split(".")[:2] == p["botocore"].split(".")[:2]
    assert p["aioboto3"].split(".")[0] == "15" and p["aiobotocore"].startswith("2.25.")
    # aiobotocore 2.25.x needs botocore < 1.40.62: the pinned pair sits inside that window
    assert tuple(map(int, p["botocore"].split("."))) < (1, 40, 62)


def test_runtime_dependencies_have_no_upper_bounds() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"]
    assert {re.split(r"[<>=!~ \[]", d)[0].lower() for d in deps} == {"boto3", "botocore", "orjson", "tenacity",
                                                                     "urllib3"}
    assert not [d for d in deps if "<" in d or "==" in d], deps
    assert project["license"] == "MIT"
    extras = project["optional-dependencies"]
    for name in ("config", "cli", "async", "dax", "xray", "otel", "local", "crypto", "models", "all", "dev"):
        assert name in extras, name
    # the narrow botocore window comes only through aioboto3's own requirement
    assert not [d for ds in extras.values() for d in ds if re.match(r"(boto3|botocore)\s*[<>=!~]", d)]
    assert project["scripts"]["ddbkit"] == "ddbkit_infra.launcher:main"
