"""Issue 24 (reliability): what ``BatchWriteError`` says, on every transport. A chunk whose reply was lost
after DynamoDB applied it is "not known to be written; safe to resend" - never "not applied" - and no
private class name (``_ResponseError``) reaches a message."""

from __future__ import annotations

import asyncio
import re

import pytest
from fault_server import FaultPlan, start_faulty_server

from ddbkit import Table
from ddbkit.aio import AsyncTable
from ddbkit.errors import BatchWriteError
from ddbkit.core.retry import RetryPolicy

ONCE = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0, seed=1)
_PRIVATE = re.compile(r"(?<![\w.])_[A-Za-z]\w*(Error|Exception)\b")


def _batch_write_error(transport: str, endpoint: str, items: list[dict[str, object]]) -> BatchWriteError:
    kwargs = {"endpoint_url": endpoint, "region_name": "us-east-1", "retry": ONCE}
    if transport in ("fast", "botocore"):
        with Table("Things", key="pk", transport=transport, **kwargs) as t, \
                pytest.raises(BatchWriteError) as exc:
            t.batch_write(items)
        return exc.value
    if transport == "aioboto3":
        pytest.importorskip("aioboto3")

    async def main() -> BatchWriteError:
        async with AsyncTable("Things", key="pk", transport="fast" if transport == "fast-async" else "botocore",
                              **kwargs) as at:
            with pytest.raises(BatchWriteError) as exc:
                await at.batch_write(items)
            return exc.value

    return asyncio.run(main())


def test_lost_reply_of_an_applied_chunk_is_reported_as_not_known_written(transport: str) -> None:
    server, store = start_faulty_server({"Things": ("pk",)}, FaultPlan(
        reset_after_apply=1.0, operations=frozenset({"BatchWriteItem"})))
    try:
        items = [{"pk": f"k{i:02d}", "v": i} for i in range(25)]
        err = _batch_write_error(transport, server.endpoint_url, items)
    finally:
        server.stop()
    assert len(store.items["Things"]) == 25  # all written, though no reply said so
    assert len(err.unprocessed) == 25 and err.written == 0
    text = str(err)
    assert "25 write(s) not known to be written (safe to resend), 0 written" in text, text
    assert "not applied" not in text and not _PRIVATE.search(text), text
    assert not _PRIVATE.search(f"{err.cause!s} {err.cause!r}"), err.cause
