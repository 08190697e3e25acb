"""Every ```python block of docs/models.md runs, in order, on moto (as tests/test_docs.py does for the
capability pages); ```python no-run blocks are only parsed."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path
from typing import Any

from moto import mock_aws

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"```python( no-run)?\n(.*?)```", re.S)


def test_models_page_runs(monkeypatch: Any) -> None:
    import boto3
    from backends import create_example_table

    monkeypatch.chdir(ROOT)
    blocks = BLOCK.findall((ROOT / "docs" / "models.md").read_text())
    assert len(blocks) >= 8
    namespace: dict[str, Any] = {}
    with mock_aws():
        client = boto3.client("dynamodb", region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
        create_example_table(client, "session-store")
        client.create_table(
            TableName="UserManagement", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("PK", "SK", "GSI1PK", "GSI1SK")],
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[{"IndexName": "GSI1", "Projection": {"ProjectionType": "ALL"},
                                     "KeySchema": [{"AttributeName": "GSI1PK", "KeyType": "HASH"},
                                                   {"AttributeName": "GSI1SK", "KeyType": "RANGE"}]}])
        for no_run, code in blocks:
            ast.parse(code)
            if not no_run:
                exec(compile(code, "docs/models.md", "exec", dont_inherit=True), namespace)  # noqa: S102 - our docs
