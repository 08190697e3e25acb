"""Every ```python block of README.md and docs/**/*.md runs as written, each on its own, on a local backend.

Pages are found by glob, so a new page is tested without editing this file. Each block runs in a fresh
namespace under moto's in-process mock (a local backend with no network), in which the tables the docs use
(the session-store and iot-time-series examples, UserManagement) exist, and in a scratch working directory
holding a copy of ``examples/``. A block that cannot run there says why in an HTML comment on the line just
before its fence::

    <!-- not-runnable: needs a DAX cluster endpoint -->
    ```python

Such blocks are still parsed, and their number is kept small (:data:`MAX_NOT_RUNNABLE`).
"""

from __future__ import annotations

import ast
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from backends import create_example_table

from ddbkit_infra.reference import config_reference_markdown, rules_reference_markdown

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
FENCE = re.compile(r"^```python[^\S\n]*\n(.*?)^```[^\S\n]*$", re.S | re.M)
NOT_RUNNABLE = re.compile(r"<!--\s*not-runnable:\s*(.*?)\s*-->\s*$", re.S)
# 3: dax.md and bulk.md need services moto lacks (a DAX cluster, a Dask cluster or AWS); async.md's blocks
# are fragments of one coroutine
MAX_NOT_RUNNABLE = 3


@dataclass(frozen=True)
class Block:
    page: str
    index: int
    line: int
    code: str
    not_runnable: str | None  # the reason, when marked

    @property
    def id(self) -> str:
        return f"{self.page}[{self.index}]"


def blocks() -> list[Block]:
    out: list[Block] = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for i, m in enumerate(FENCE.finditer(text)):
            before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
            mark = NOT_RUNNABLE.search(before)
            out.append(Block(str(page.relative_to(ROOT)), i, text.count("\n", 0, m.start()) + 1, m.group(1),
                             mark.group(1) if mark else None))
    return out


BLOCKS = blocks()


def _tables() -> None:
    import boto3

    client = boto3.client("dynamodb", region_name="us-east-1")
    for example in ("session-store", "iot-time-series"):
        create_example_table(client, example, keep_tags=True)
    client.create_table(
        TableName="UserManagement", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("PK", "SK", "GSI1PK", "GSI1SK")],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{"IndexName": "GSI1", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": "GSI1PK", "KeyType": "HASH"},
                                               {"AttributeName": "GSI1SK", "KeyType": "RANGE"}]}])
    # tables the idempotency page's snippets use (an account running them has them, like the examples')
    for name, key in (("Idempotency", "id"), ("Counters", "pk"), ("Events", "pk"), ("Purchases", "pk")):
        client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}])


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_snippet_runs_on_its_own(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ast.parse(block.code, f"{block.page}:{block.line}")  # every snippet is at least valid Python
    if block.not_runnable is not None:
        assert len(block.not_runnable) > 10, f"{block.id}: say why it cannot run"
        pytest.skip(f"not runnable: {block.not_runnable}")
    from moto import mock_aws

    if "apply_plan" in block.code or "ddbkit_infra.apply" in block.code or ".apply(" in block.code:
        # moto knows AWS-managed IAM policies (AWS Backup's role attaches them) only when asked
        monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    shutil.copytree(ROOT / "examples", tmp_path / "examples",
                    ignore=shutil.ignore_patterns("__pycache__", ".ddbkit-demo"))
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    with mock_aws():
        _tables()
        # dont_inherit: a block runs as written, not under this module's `from __future__ import annotations`
        # (string annotations in a namespace outside sys.modules leave a pydantic model unresolvable)
        exec(compile(block.code, f"{block.page}:{block.line}", "exec", dont_inherit=True), namespace)  # noqa: S102


def test_few_snippets_are_not_runnable() -> None:
    marked = {b.id: b.not_runnable for b in BLOCKS if b.not_runnable is not None}
    assert len(marked) <= MAX_NOT_RUNNABLE, marked
    assert len(BLOCKS) >= 20  # the glob finds the pages


def test_only_the_html_comment_marks_a_block() -> None:
    for page in PAGES:
        assert "```python no-run" not in page.read_text(encoding="utf-8"), page


def test_configuration_reference_is_current() -> None:
    committed = (ROOT / "docs" / "configuration.md").read_text()
    assert committed == config_reference_markdown(), "run: ddbkit schema --markdown -o docs/configuration.md"


def test_rules_page_is_current() -> None:
    committed = (ROOT / "docs" / "rules.md").read_text()
    assert committed == rules_reference_markdown(), "run: ddbkit rules --markdown -o docs/rules.md"


def test_reference_lists_every_enum_value_and_the_component_level() -> None:
    from ddbkit.config import ComplianceFramework, MonitoringLevel

    page = (ROOT / "docs" / "configuration.md").read_text()
    for enum in (ComplianceFramework, MonitoringLevel):
        section = page.split(f"## {enum.__name__}\n", 1)[1].split("\n## ", 1)[0]
        for value in enum:
            assert f"| `{value.value}` |" in section, (enum.__name__, value)
    for heading in ("## The component file", "## Component", "## Bind"):
        assert heading in page
    for field in ("`name`", "`type`", "`binds`", "`complianceFramework`"):
        assert field in page.split("## TableConfig", 1)[0]


def test_env_is_local() -> None:
    """The snippets run with the test session's fake credentials, never a real account."""
    assert os.environ.get("AWS_ACCESS_KEY_ID") == "testing"
