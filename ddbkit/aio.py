"""``ddbkit.aio.AsyncTable``: the asyncio twin of :class:`ddbkit.Table`, on aioboto3.

It runs the same operation generators as the sync client (``ddbkit.core.operations``, ``ddbkit.core.batch``): only
performing the effects differs: ``await`` for calls, ``asyncio.sleep`` for backoff, tasks bounded by a
semaphore for batch chunks. aioboto3 is imported when the first request is sent.

>>> async with AsyncTable("UserSessions", key="sessionId") as table:          # doctest: +SKIP
...     await table.put({"sessionId": "s1"})
...     async for item in table.query_iter({"userId": "u1"}, index="UserIdIndex"):
...         ...
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any, TYPE_CHECKING, TypeVar

from ddbkit.core.batch import BatchGetResult, BatchWriteResult, WritePipeline
from ddbkit.core.codec import NumberMode
from ddbkit.core.cursor import CursorCodec, CursorSecret
from ddbkit.core.engine import Op
from ddbkit.core.engine_async import AsyncDriver
from ddbkit.core.expressions import Condition, KeyCondition, Update
from ddbkit.core.keys import KeySchema
from ddbkit.core.operations import Page, TableCore
from ddbkit.core.retry import RetryPolicy
from ddbkit.tracing.api import traced
from ddbkit.transport import make_async_transport
from ddbkit.core.usage import Usage, UsageSnapshot

if TYPE_CHECKING:
    from ddbkit.core import transactions as tx
    from ddbkit.models import AsyncTypedTable, Model
    from ddbkit.transport.aio_botocore import AioBotocoreTransport as AioBotocoreTransport
    from ddbkit.transport.aio_botocore import AsyncTransport as AsyncTransport


def __getattr__(name: str) -> Any:
    # re-exported on first use (PEP 562): the aioboto3 transport module imports botocore's client machinery,
    # which an AsyncTable on the fast transport never needs (cold start, issue #26)
    if name in ("AioBotocoreTransport", "AsyncTransport"):
        from ddbkit.transport import aio_botocore

        value = getattr(aio_botocore, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ddbkit.aio' has no attribute {name!r}")

__all__ = ["AsyncTable", "AsyncBatchWriter", "AsyncDriver", "AsyncTransport", "AioBotocoreTransport", "make_async_transport"]

T = TypeVar("T")
M = TypeVar("M", bound="Model")
KeyCond = KeyCondition | Mapping[str, Any] | str
Filter = Condition | str | None


class AsyncTable(TableCore):
    """The asyncio twin of :class:`ddbkit.Table`: same arguments, same methods, awaited.

    ``transport`` may be an :class:`AsyncTransport`; by default aioboto3 with ``session``/``region_name``/
    ``endpoint_url``. Use ``async with`` (or ``await table.close()``) to release connections.
    """

    def __init__(self, name: str, *, key: KeySchema | tuple[str, str | None] | str | None = None,
                 session: Any = None, region_name: str | None = None, endpoint_url: str | None = None,
                 transport: AsyncTransport | str | None = None, retry: RetryPolicy | None = None,
                 cursor_secret: CursorSecret | CursorCodec = None, number: NumberMode | str = NumberMode.AUTO,
                 concurrency: int = 8, return_consumed_capacity: str = "TOTAL", usage: Usage | None = None,
                 tracing: Any = None, dax_endpoint: str | None = None, config: Any = None,
                 verify: bool | str | None = None, exactly_once: bool = False) -> None:
        super().__init__(name, key=key, retry=retry, cursor_secret=cursor_secret, number=number,
                         concurrency=concurrency, return_consumed_capacity=return_consumed_capacity,
                         tracing=tracing)
        self.exactly_once = exactly_once  # see TableCore.exactly_once and docs/idempotency.md
        if dax_endpoint:
            raise ValueError("amazon-dax-client is synchronous: use ddbkit.Table(dax_endpoint=...) for DAX")
        self.transport: AsyncTransport = make_async_transport(transport, session=session, region_name=region_name,
                                                              endpoint_url=endpoint_url, config=config,
                                                              verify=verify)
        self._usage = usage or Usage()
        self._driver = AsyncDriver(self.transport, self.retry, self._usage)
        self.encoded_writes = bool(getattr(self.transport, "accepts_encoded_writes", False))
        self.decoded_pages = bool(getattr(self.transport, "decodes_pages", False))

    @classmethod
    def from_config(cls, config: Any, **kwargs: Any) -> AsyncTable:
        """An AsyncTable for a :class:`ddbkit.config.TableConfig`."""
        return cls(config.table_name, key=KeySchema.from_config(config), **kwargs)

    @classmethod
    def from_env(cls, prefix: str, environ: Mapping[str, str] | None = None, **kwargs: Any) -> AsyncTable:
        """An AsyncTable from the ``PREFIX_*`` variables ``ddbkit bind`` emits (see :meth:`ddbkit.Table.from_env`;
        ``PREFIX_DAX_ENDPOINT`` is ignored here: DAX is synchronous)."""
        from ddbkit.core.envconfig import read_table_env

        env = read_table_env(prefix, environ)
        kwargs.setdefault("key", env.key)
        table = cls(env.table_name, **kwargs)
        table.ttl_attribute = env.ttl_attribute
        return table

    async def run_op(self, operation: str, op: Op[T], index: str | None = None) -> T:
        """Drive ``op`` (an operation generator of :class:`~ddbkit.core.operations.TableCore`, e.g.
        ``self.op_get(key)``) to its result, traced and counted as ``operation``. The seam typed models,
        idempotency and bulk jobs build on: the result type is the operation's own."""
        with traced(self.tracer, self.name, operation, self._usage, index) as span:
            result: T = await self._driver.run(op)
            span.result = result
        return result

    # Each method mirrors the Table method of the same name (see ddbkit.table for the documentation).
    async def get(self, key: Mapping[str, Any], *, consistent: bool = False,
                  attributes: Sequence[str] | None = None) -> dict[str, Any] | None:
        return await self.run_op("get", self.op_get(key, consistent, attributes))

    async def put(self, item: Mapping[str, Any], *, condition: Filter = None,
                  names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None,
                  return_values: str | None = None, return_on_failure: bool = False) -> dict[str, Any] | None:
        op = self.op_put(item, condition, names, values, return_values, return_on_failure)
        return await self.run_op("put", op)

    async def update(self, key: Mapping[str, Any], update: Update | str | None = None, *,
                     set: Mapping[str, Any] | None = None, remove: Iterable[str] | None = None,
                     add: Mapping[str, Any] | None = None, delete: Mapping[str, Any] | None = None,
                     condition: Filter = None, names: Mapping[str, str] | None = None,
                     values: Mapping[str, Any] | None = None, return_values: str | None = None,
                     return_on_failure: bool = False) -> dict[str, Any] | None:
        op = self.op_update(key, update, set=set, remove=remove, add=add, delete=delete, condition=condition,
                             names=names, values=values, return_values=return_values,
                             return_on_failure=return_on_failure)
        return await self.run_op("update", op)

    async def delete(self, key: Mapping[str, Any], *, condition: Filter = None,
                     names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None,
                     return_values: str | None = None, return_on_failure: bool = False) -> dict[str, Any] | None:
        op = self.op_delete(key, condition, names, values, return_values, return_on_failure)
        return await self.run_op("delete", op)

    async def exists(self, key: Mapping[str, Any], *, consistent: bool = False) -> bool:
        return await self.run_op("exists", self.op_exists(key, consistent))

    async def put_versioned(self, item: Mapping[str, Any], version_attr: str = "version") -> dict[str, Any]:
        return await self.run_op("put_versioned", self.op_put_versioned(item, version_attr))

    async def update_versioned(self, key: Mapping[str, Any], update: Update, expected: int,
                               version_attr: str = "version") -> dict[str, Any] | None:
        op = self.op_update_versioned(key, update, expected, version_attr)
        return await self.run_op("update_versioned", op)

    async def query(self, key_condition: KeyCond, *, index: str | None = None, filter: Filter = None,
                    limit: int | None = None, forward: bool = True, cursor: str | None = None,
                    attributes: Sequence[str] | None = None, consistent: bool = False,
                    names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None) -> Page:
        op = self.op_query(key_condition, index=index, filter=filter, limit=limit, forward=forward, cursor=cursor,
                            attributes=attributes, consistent=consistent, names=names, values=values)
        return await self.run_op("query", op, index)

    @staticmethod
    async def _pages(fetch: Any, cursor: str | None) -> AsyncIterator[Page]:
        while True:
            page: Page = await fetch(cursor)
            yield page
            cursor = page.cursor
            if cursor is None:
                return

    def query_pages(self, key_condition: KeyCond, *, index: str | None = None, filter: Filter = None,
                    limit: int | None = None, forward: bool = True, cursor: str | None = None,
                    attributes: Sequence[str] | None = None, consistent: bool = False,
                    names: Mapping[str, str] | None = None,
                    values: Mapping[str, Any] | None = None) -> AsyncIterator[Page]:
        return self._pages(lambda c: self.query(key_condition, index=index, filter=filter, limit=limit, forward=forward,
                                                cursor=c, attributes=attributes, consistent=consistent, names=names,
                                                values=values), cursor)

    async def query_iter(self, key_condition: KeyCond, *, index: str | None = None, filter: Filter = None,
                         limit: int | None = None, forward: bool = True, cursor: str | None = None,
                         attributes: Sequence[str] | None = None, consistent: bool = False,
                         names: Mapping[str, str] | None = None,
                         values: Mapping[str, Any] | None = None) -> AsyncIterator[dict[str, Any]]:
        async for page in self.query_pages(key_condition, index=index, filter=filter, limit=limit, forward=forward,
                                           cursor=cursor, attributes=attributes, consistent=consistent, names=names,
                                           values=values):
            for item in page.items:
                yield item

    async def scan(self, filter: Filter = None, *, index: str | None = None, limit: int | None = None,
                   cursor: str | None = None, attributes: Sequence[str] | None = None, consistent: bool = False,
                   segment: int | None = None, total_segments: int | None = None,
                   names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None) -> Page:
        op = self.op_scan(filter, index=index, limit=limit, cursor=cursor, attributes=attributes,
                           consistent=consistent, segment=segment, total_segments=total_segments, names=names,
                           values=values)
        return await self.run_op("scan", op, index)

    def scan_pages(self, filter: Filter = None, *, index: str | None = None, limit: int | None = None,
                   cursor: str | None = None, attributes: Sequence[str] | None = None, consistent: bool = False,
                   segment: int | None = None, total_segments: int | None = None,
                   names: Mapping[str, str] | None = None,
                   values: Mapping[str, Any] | None = None) -> AsyncIterator[Page]:
        return self._pages(lambda c: self.scan(filter, index=index, limit=limit, cursor=c, attributes=attributes,
                                               consistent=consistent, segment=segment, total_segments=total_segments,
                                               names=names, values=values), cursor)

    async def scan_iter(self, filter: Filter = None, *, index: str | None = None, limit: int | None = None,
                        cursor: str | None = None, attributes: Sequence[str] | None = None, consistent: bool = False,
                        segment: int | None = None, total_segments: int | None = None,
                        names: Mapping[str, str] | None = None,
                        values: Mapping[str, Any] | None = None) -> AsyncIterator[dict[str, Any]]:
        async for page in self.scan_pages(filter, index=index, limit=limit, cursor=cursor, attributes=attributes,
                                          consistent=consistent, segment=segment, total_segments=total_segments,
                                          names=names, values=values):
            for item in page.items:
                yield item

    async def parallel_scan(self, total_segments: int = 4, filter: Filter = None, *, index: str | None = None,
                            limit: int | None = None, attributes: Sequence[str] | None = None,
                            consistent: bool = False, names: Mapping[str, str] | None = None,
                            values: Mapping[str, Any] | None = None) -> AsyncIterator[dict[str, Any]]:
        """Scan ``total_segments`` segments as tasks, merged into one async iterator (order not defined)."""
        results: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(maxsize=total_segments * 2)

        async def worker(segment: int) -> None:
            try:
                async for page in self.scan_pages(filter, index=index, limit=limit, attributes=attributes,
                                                  consistent=consistent, segment=segment,
                                                  total_segments=total_segments, names=names, values=values):
                    await results.put(("items", page.items))
            except Exception as err:  # noqa: BLE001 - re-raised in the consumer
                await results.put(("error", err))
            finally:
                await results.put(("done", None))

        tasks = [asyncio.create_task(worker(s)) for s in range(total_segments)]
        try:
            done = 0
            while done < total_segments:
                kind, value = await results.get()
                if kind == "items":
                    for item in value:
                        yield item
                elif kind == "error":
                    raise value
                else:
                    done += 1
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def count(self, key_condition: KeyCond | None = None, *, index: str | None = None, filter: Filter = None,
                    names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None) -> int:
        op = self.op_count(key_condition, index=index, filter=filter, names=names, values=values)
        return await self.run_op("count", op, index)

    async def batch_write(self, puts: Iterable[Mapping[str, Any]] = (), deletes: Iterable[Mapping[str, Any]] = (), *,
                          requests: Iterable[tuple[str, Mapping[str, Any]]] = (),
                          concurrency: int | None = None, validate_first: bool = False) -> BatchWriteResult:
        op = self.op_batch_write(puts, deletes, requests, concurrency, validate_first)
        return await self.run_op("batch_write", op)

    def batch_writer(self, flush_every: int | None = None, *, concurrency: int | None = None) -> AsyncBatchWriter:
        """``async with table.batch_writer() as w: await w.put(item)``: the async twin of
        :meth:`ddbkit.Table.batch_writer` (as aioboto3's ``batch_writer``), on the streaming pipeline.
        ``flush_every`` is accepted for the same signature as the sync client; the pipeline sends every 25."""
        return AsyncBatchWriter(self, concurrency=concurrency)

    async def batch_get(self, keys: Iterable[Mapping[str, Any]], *, consistent: bool = False,
                        attributes: Sequence[str] | None = None, concurrency: int | None = None,
                        validate_first: bool = False) -> BatchGetResult:
        op = self.op_batch_get(keys, consistent, attributes, concurrency, validate_first)
        return await self.run_op("batch_get", op)

    async def transact_write(self, actions: Sequence[tx.WriteAction], *, token: str | None = None) -> str:
        return await self.run_op("transact_write", self.op_transact_write(actions, token))

    async def transact_get(self, gets: Sequence[tx.Get | Mapping[str, Any]]) -> list[dict[str, Any] | None]:
        return await self.run_op("transact_get", self.op_transact_get(gets))

    def typed(self, model: type[M]) -> AsyncTypedTable[M]:
        """Typed operations for a :class:`ddbkit.Model` on this table (awaited; ``models`` extra)."""
        from ddbkit.models import AsyncTypedTable

        return AsyncTypedTable(self, model)

    async def describe(self) -> dict[str, Any]:
        return await self.run_op("describe", self.op_describe())

    async def key_schema(self) -> KeySchema:
        return await self.run_op("describe", self.op_keys())

    async def resend(self, error: Any) -> str:
        """Resend the write of a :class:`~ddbkit.core.transactions.WriteOutcomeUnknown` with its token: applied at
        most once in total if done before ``error.resend_before``. Returns the token."""
        return await self.run_op("resend", self.op_resend(error.request))

    @property
    def usage(self) -> UsageSnapshot:
        return self._usage.snapshot()

    async def close(self) -> None:
        await self.transport.close()

    async def __aenter__(self) -> AsyncTable:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncTable({self.name!r})"


class AsyncBatchWriter:
    """Writes puts/deletes 25 per BatchWriteItem call as they are added, ``concurrency`` calls in flight
    as tasks: the asyncio twin of :class:`ddbkit.table.BatchWriter` (same pipeline, same guarantees).

    ``await put(item)`` / ``await delete(key)`` validate at once (a bad request raises there and is not
    kept) and wait only while ``concurrency`` calls are in flight. ``await flush()`` and leaving the
    ``async with`` block (even on error) wait for everything: buffered writes are never dropped. Once a
    call is left with writes not applied, the next put/delete/flush raises
    :class:`~ddbkit.errors.BatchWriteError` listing every request not known to be written.
    ``put_item(Item=...)``/``delete_item(Key=...)`` are aliases for code moving from aioboto3.
    """

    def __init__(self, table: AsyncTable, *, concurrency: int | None = None) -> None:
        self.table = table
        self.concurrency = max(1, concurrency or table.concurrency)
        self.written = 0
        self._p: WritePipeline | None = None
        self._running: set[asyncio.Future[Any]] = set()

    async def _pipeline(self) -> WritePipeline:
        if self._p is None:
            t = self.table
            keys = await t._driver.run(t.op_keys())
            self._p = WritePipeline(t.name, keys.names, t._batch_marshal(keys), t.retry, t.rcc)
        return self._p

    async def _settle(self, everything: bool) -> None:
        p = await self._pipeline()
        done, _ = await asyncio.wait(list(self._running),
                                     return_when=asyncio.ALL_COMPLETED if everything else asyncio.FIRST_COMPLETED)
        for task in done:
            self._running.discard(task)
            p.done(task.result())

    async def _add(self, kind: str, value: Mapping[str, Any]) -> None:
        p = await self._pipeline()
        if p.stopped:
            await self._fail([(kind, value)])
        p.add(kind, value)
        if not p.full():
            return
        if p.must_drain and self._running:
            await self._settle(True)
        while len(self._running) >= self.concurrency:
            await self._settle(False)
        if p.stopped:
            await self._fail()
        self._running.add(self.table._driver.submit(p.take()))
        await asyncio.sleep(0)  # the call leaves now, not at the caller's next await

    async def _fail(self, extra: list[tuple[str, Any]] | None = None) -> None:
        p = await self._pipeline()
        if self._running:
            await self._settle(True)
        self._p = None
        written = p.result.written
        try:
            p.finish(None, extra or [])
        finally:
            self.written += written

    async def put(self, item: Mapping[str, Any]) -> None:
        await self._add("put", item)

    async def delete(self, key: Mapping[str, Any]) -> None:
        await self._add("delete", key)

    async def put_item(self, Item: Mapping[str, Any]) -> None:  # noqa: N803 - aioboto3's spelling
        await self._add("put", Item)

    async def delete_item(self, Key: Mapping[str, Any]) -> None:  # noqa: N803 - aioboto3's spelling
        await self._add("delete", Key)

    async def flush(self) -> BatchWriteResult | None:
        """Send what is buffered and wait for every call in flight; the result since the last flush."""
        p = self._p
        if p is None:
            return None
        if p.buffer and not p.stopped:
            if p.must_drain and self._running:
                await self._settle(True)
            if not p.stopped:
                self._running.add(self.table._driver.submit(p.take()))
        if self._running:
            await self._settle(True)
        self._p = None
        self.written += p.result.written
        return p.finish()

    async def __aenter__(self) -> AsyncBatchWriter:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.flush()
