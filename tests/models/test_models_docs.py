"""docs/models.md shows every typed operation, and its Async block (which tests/docs/test_docs.py only parses: moto's
in-process mock does not patch AsyncTable's aioboto3 control transport) runs on moto's server.

tests/docs/test_docs.py runs each of the page's other blocks on its own."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from backends import create_example_table

from ddbkit.models.typed import AsyncTypedTable, TypedTable
from ddbkit_infra.local import MotoServer

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "models.md"
FENCE = re.compile(r"^```python[^\S\n]*\n(.*?)^```[^\S\n]*$", re.S | re.M)


def _public_methods(cls: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls, inspect.isfunction) if not name.startswith(("_", "op_"))}


def test_every_typed_operation_is_shown() -> None:
    text = PAGE.read_text()
    code = "\n".join(FENCE.findall(text))
    methods = _public_methods(TypedTable)
    assert {"get", "put", "update", "delete", "query", "query_iter", "scan", "scan_iter", "batch_get", "batch_write",
            "transact_get", "transact_write", "tx_put", "tx_update", "tx_delete", "tx_check"} <= methods
    missing = sorted(m for m in methods if f".{m}(" not in code)
    assert not missing, f"docs/models.md shows no call of TypedTable.{missing}"
    assert "await sessions." in code and "async for" in code  # the AsyncTypedTable form too
    assert _public_methods(AsyncTypedTable) <= methods  # same names, awaited


def test_async_block_runs_on_moto_server(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    text = PAGE.read_text()
    section = text.split("### Async\n", 1)[1]
    match = FENCE.search(section)
    assert match is not None
    code = match.group(1)
    assert "AsyncTable" in code and "asyncio.run(main())" in code
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto_server.endpoint_url)  # AsyncTable.from_config(config)
    try:
        create_example_table(boto3.client("dynamodb", endpoint_url=moto_server.endpoint_url), "session-store")
        namespace: dict[str, Any] = {"__name__": "__docs__"}
        exec(compile(code, f"{PAGE.relative_to(ROOT)}:async", "exec", dont_inherit=True), namespace)  # noqa: S102
    finally:
        moto_server.reset()
