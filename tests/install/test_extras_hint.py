"""A missing optional dependency of the async transports names the extra that brings it (issue #23: aioboto3
left the ``async`` extra for its own ``aioboto3`` extra; ``async`` is aiohttp only, which the fast async transport
needs behind a proxy alone)."""

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


def test_fast_async_transport_needs_aiohttp_only_behind_a_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Direct connections go over ddbkit's own HTTP/1.1 client (ddbkit.transport.h1): no aiohttp needed, the
    unreachable endpoint is the error. Behind a proxy aiohttp does the proxy protocol: its absence names the
    extra."""
    from ddbkit.errors import ConnectionFailed

    monkeypatch.setitem(sys.modules, "aiohttp", None)
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ConnectionFailed):
        _get("fast")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    with pytest.raises(ImportError) as err:
        _get("fast")
    assert str(err.value) == "the fast async transport needs aiohttp behind a proxy: pip install 'ddbkit[async]'"
