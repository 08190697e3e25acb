"""Every ```python block of the capability pages runs (in order, one namespace per page) on moto.

Blocks marked ```python no-run need a real service (DAX, an async server) and are only parsed.
The streams, backup and capacity pages are executed by their own test modules.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from backends import create_example_table
from moto import mock_aws

from ddbkit_infra.reference import config_reference_markdown, rules_reference_markdown

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["table.md", "patterns.md", "tracing.md", "async.md", "dax.md", "getting-started.md"]
BLOCK = re.compile(r"```python( no-run)?\n(.*?)```", re.S)


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


@pytest.mark.parametrize("page", PAGES)
def test_page_snippets_run(page: str) -> None:
    text = (ROOT / "docs" / page).read_text()
    blocks = BLOCK.findall(text)
    assert blocks, f"{page} has no python snippet"
    namespace: dict[str, Any] = {}
    with mock_aws():
        _tables()
        for no_run, code in blocks:
            ast.parse(code)  # every snippet is at least valid Python
            if not no_run:
                exec(compile(code, f"docs/{page}", "exec"), namespace)  # noqa: S102 - our own docs


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
