"""A missing optional dependency of the async transports names the extra that brings it (issue #23: aioboto3
left the ``async`` extra for its own ``aioboto3`` extra; ``async`` is aiohttp only)."""

from __future__ import annotations

import asyncio
import sys

import pytest

from ddbkit.aio import AsyncTable


def _get(transport: str) -> None:
    async def go() -> None:
        async with AsyncTable("Orders", key="pk", endpoint_url="http://127.0.0.1:9", region_name="us-east-1",
                              transport=transport) as table:
            await table.get({"pk": "a"})

    asyncio.run(go())


def test_botocore_async_transport_without_aioboto3_names_the_aioboto3_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aioboto3", None)  # `import aioboto3` raises ImportError
    with pytest.raises(ImportError) as err:
        _get("botocore")
    message = str(err.value)
    assert "pip install 'ddbkit[aioboto3]'" in message and "\n" not in message
    assert "transport='fast'" in message and "ddbkit[async]" in message


def test_fast_async_transport_without_aiohttp_names_the_async_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aiohttp", None)
    with pytest.raises(ImportError) as err:
        _get("fast")
    assert str(err.value) == "the fast async transport needs aiohttp: pip install 'ddbkit[async]'"
