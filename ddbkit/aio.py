"""``ddbkit.aio.AsyncTable``: the asyncio twin of :class:`ddbkit.Table`, on aioboto3.

It runs the same operation generators as the sync client (``ddbkit.operations``, ``ddbkit.batch``): only
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
from typing import TYPE_CHECKING, Any, TypeVar

from ddbkit.batch import BatchGetResult, BatchWriteResult
from ddbkit.codec import NumberMode
from ddbkit.engine import Call, Gather, Op, Sleep, Stepper
from ddbkit.errors import DdbkitError, DynamoDBError, name_resource
from ddbkit.expressions import Condition, KeyCondition, Update
from ddbkit.keys import KeySchema
from ddbkit.operations import Page, TableCore
from ddbkit.retry import RetryPolicy
from ddbkit.tracing import traced
from ddbkit.transport import AioBotocoreTransport, AsyncTransport, make_async_transport
from ddbkit.usage import Usage, UsageSnapshot

if TYPE_CHECKING:
    from ddbkit import transactions as tx

__all__ = ["AsyncTable", "AsyncDriver", "AsyncTransport", "AioBotocoreTransport", "make_async_transport"]

T = TypeVar("T")
KeyCond = KeyCondition | Mapping[str, Any] | str
Filter = Condition | str | None


class AsyncDriver:
    """Performs effects with an async transport: awaits, asyncio sleeps, semaphore-bounded tasks."""

    def __init__(self, transport: AsyncTransport, policy: RetryPolicy, usage: Usage) -> None:
        self.transport = transport
        self.policy = policy
        self.usage = usage

    async def call(self, effect: Call) -> dict[str, Any]:
        try:
            response = await self.transport.send(effect.operation, effect.request)
        except DynamoDBError as err:
            if not self.policy.should_retry(effect.retry, err):
                name_resource(err, effect.request)
                self.usage.record_error(effect.operation, err, effect.request)
                raise
            self.usage.record_retry(effect.operation, err)
            response = await self._retry(effect)
        self.usage.record(effect.operation, response)
        return response

    async def _retry(self, effect: Call) -> dict[str, Any]:
        from tenacity import AsyncRetrying

        await asyncio.sleep(self.policy.backoff(1))

        async def attempt() -> dict[str, Any]:
            try:
                return await self.transport.send(effect.operation, effect.request)
            except DynamoDBError as err:
                self.usage.record_retry(effect.operation, err)
                raise

        try:
            result: dict[str, Any] = await AsyncRetrying(sleep=asyncio.sleep, **self.policy.tenacity_kwargs())(attempt)
            return result
        except DynamoDBError as err:
            err.retried = True  # sent more than once: an earlier attempt may have been applied
            name_resource(err, effect.request)
            self.usage.record_error(effect.operation, err, effect.request)
            raise

    async def run(self, op: Op[T]) -> T:
        step = Stepper(op)
        while (effect := step.next()) is not None:
            try:
                if type(effect) is Call:
                    step.resolve(await self.call(effect))
                elif type(effect) is Sleep:
                    await asyncio.sleep(effect.seconds)
                elif type(effect) is Gather:
                    step.resolve(await self.gather(effect))
                else:  # pragma: no cover
                    raise TypeError(f"unknown effect {effect!r}")
            except DdbkitError as err:
                step.fail(err)
        return step.value  # type: ignore[no-any-return]

    async def gather(self, effect: Gather) -> list[Any]:
        limit = asyncio.Semaphore(max(1, effect.limit))

        async def bounded(o: Op[Any]) -> Any:
            async with limit:
                return await self.run(o)

        results = await asyncio.gather(*(bounded(o) for o in effect.ops), return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException):
                raise r
        return list(results)


class AsyncTable(TableCore):
    """The asyncio twin of :class:`ddbkit.Table`: same arguments, same methods, awaited.

    ``transport`` may be an :class:`AsyncTransport`; by default aioboto3 with ``session``/``region_name``/
    ``endpoint_url``. Use ``async with`` (or ``await table.close()``) to release connections.
    """

    def __init__(self, name: str, *, key: KeySchema | tuple[str, str | None] | str | None = None,
                 session: Any = None, region_name: str | None = None, endpoint_url: str | None = None,
                 transport: AsyncTransport | str | None = None, retry: RetryPolicy | None = None,
                 cursor_secret: str | bytes | None = None, number: NumberMode | str = NumberMode.AUTO,
                 concurrency: int = 8, return_consumed_capacity: str = "TOTAL", usage: Usage | None = None,
                 tracing: Any = None, dax_endpoint: str | None = None, config: Any = None,
                 verify: bool | str | None = None) -> None:
        super().__init__(name, key=key, retry=retry, cursor_secret=cursor_secret, number=number,
                         concurrency=concurrency, return_consumed_capacity=return_consumed_capacity,
                         tracing=tracing)
        if dax_endpoint:
            raise ValueError("amazon-dax-client is synchronous: use ddbkit.Table(dax_endpoint=...) for DAX")
        self.transport: AsyncTransport = make_async_transport(transport, session=session, region_name=region_name,
                                                              endpoint_url=endpoint_url, config=config,
                                                              verify=verify)
        self._usage = usage or Usage()
        self._driver = AsyncDriver(self.transport, self.retry, self._usage)

    @classmethod
    def from_config(cls, config: Any, **kwargs: Any) -> AsyncTable:
        """An AsyncTable for a :class:`ddbkit.config.TableConfig`."""
        return cls(config.table_name, key=KeySchema.from_config(config), **kwargs)

    async def _run(self, operation: str, op: Op[Any], index: str | None = None) -> Any:
        with traced(self.tracer, self.name, operation, self._usage, index) as span:
            span.result = await self._driver.run(op)
        return span.result

    # Each method mirrors the Table method of the same name (see ddbkit.table for the documentation).
    async def get(self, key: Mapping[str, Any], *, consistent: bool = False,
                  attributes: Sequence[str] | None = None) -> dict[str, Any] | None:
        return await self._run("get", self._op_get(key, consistent, attributes))  # type: ignore[no-any-return]

    async def put(self, item: Mapping[str, Any], *, condition: Filter = None,
                  names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None,
                  return_values: str | None = None, return_on_failure: bool = False) -> dict[str, Any] | None:
        op = self._op_put(item, condition, names, values, return_values, return_on_failure)
        return await self._run("put", op)  # type: ignore[no-any-return]

    async def update(self, key: Mapping[str, Any], update: Update | str | None = None, *,
                     set: Mapping[str, Any] | None = None, remove: Iterable[str] | None = None,
                     add: Mapping[str, Any] | None = None, delete: Mapping[str, Any] | None = None,
                     condition: Filter = None, names: Mapping[str, str] | None = None,
                     values: Mapping[str, Any] | None = None, return_values: str | None = None,
                     return_on_failure: bool = False) -> dict[str, Any] | None:
        op = self._op_update(key, update, set=set, remove=remove, add=add, delete=delete, condition=condition,
                             names=names, values=values, return_values=return_values,
                             return_on_failure=return_on_failure)
        return await self._run("update", op)  # type: ignore[no-any-return]

    async def delete(self, key: Mapping[str, Any], *, condition: Filter = None,
                     names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None,
                     return_values: str | None = None, return_on_failure: bool = False) -> dict[str, Any] | None:
        op = self._op_delete(key, condition, names, values, return_values, return_on_failure)
        return await self._run("delete", op)  # type: ignore[no-any-return]

    async def exists(self, key: Mapping[str, Any], *, consistent: bool = False) -> bool:
        return await self._run("exists", self._op_exists(key, consistent))  # type: ignore[no-any-return]

    async def put_versioned(self, item: Mapping[str, Any], version_attr: str = "version") -> dict[str, Any]:
        return await self._run("put_versioned", self._op_put_versioned(item, version_attr))  # type: ignore[no-any-return]

    async def update_versioned(self, key: Mapping[str, Any], update: Update, expected: int,
                               version_attr: str = "version") -> dict[str, Any] | None:
        op = self._op_update_versioned(key, update, expected, version_attr)
        return await self._run("update_versioned", op)  # type: ignore[no-any-return]

    async def query(self, key_condition: KeyCond, *, index: str | None = None, filter: Filter = None,
                    limit: int | None = None, forward: bool = True, cursor: str | None = None,
                    attributes: Sequence[str] | None = None, consistent: bool = False,
                    names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None) -> Page:
        op = self._op_query(key_condition, index=index, filter=filter, limit=limit, forward=forward, cursor=cursor,
                            attributes=attributes, consistent=consistent, names=names, values=values)
        return await self._run("query", op, index)  # type: ignore[no-any-return]

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
        op = self._op_scan(filter, index=index, limit=limit, cursor=cursor, attributes=attributes,
                           consistent=consistent, segment=segment, total_segments=total_segments, names=names,
                           values=values)
        return await self._run("scan", op, index)  # type: ignore[no-any-return]

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
        op = self._op_count(key_condition, index=index, filter=filter, names=names, values=values)
        return await self._run("count", op, index)  # type: ignore[no-any-return]

    async def batch_write(self, puts: Iterable[Mapping[str, Any]] = (), deletes: Iterable[Mapping[str, Any]] = (), *,
                          requests: Iterable[tuple[str, Mapping[str, Any]]] = (),
                          concurrency: int | None = None) -> BatchWriteResult:
        op = self._op_batch_write(puts, deletes, requests, concurrency)
        return await self._run("batch_write", op)  # type: ignore[no-any-return]

    async def batch_get(self, keys: Iterable[Mapping[str, Any]], *, consistent: bool = False,
                        attributes: Sequence[str] | None = None, concurrency: int | None = None) -> BatchGetResult:
        op = self._op_batch_get(keys, consistent, attributes, concurrency)
        return await self._run("batch_get", op)  # type: ignore[no-any-return]

    async def transact_write(self, actions: Sequence[tx.WriteAction], *, token: str | None = None) -> str:
        return await self._run("transact_write", self._op_transact_write(actions, token))  # type: ignore[no-any-return]

    async def transact_get(self, gets: Sequence[tx.Get | Mapping[str, Any]]) -> list[dict[str, Any] | None]:
        return await self._run("transact_get", self._op_transact_get(gets))  # type: ignore[no-any-return]

    async def describe(self) -> dict[str, Any]:
        return await self._run("describe", self._op_describe())  # type: ignore[no-any-return]

    async def key_schema(self) -> KeySchema:
        return await self._run("describe", self._op_keys())  # type: ignore[no-any-return]

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
