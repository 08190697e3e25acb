"""``ddbkit.Table``: the synchronous document client (plain Python in, plain Python out).

Every method builds its operation in :class:`~ddbkit.operations.TableCore` (shared with the async
client) and runs it on a :class:`~ddbkit.engine.SyncDriver`: retries through the
:class:`~ddbkit.retry.RetryPolicy`, batches on a bounded thread pool.

>>> table = Table("UserSessions", key="sessionId", endpoint_url="http://127.0.0.1:8000")  # doctest: +SKIP
>>> table.put({"sessionId": "s1", "userId": "u1", "status": "ACTIVE"})                    # doctest: +SKIP
>>> page = table.query(Key("userId").eq("u1"), index="UserIdIndex", limit=20)             # doctest: +SKIP
>>> page.items, page.cursor                                                               # doctest: +SKIP
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ddbkit.batch import BatchGetResult, BatchWriteResult
from ddbkit.codec import NumberMode
from ddbkit.engine import Op, SyncDriver, Transport
from ddbkit.expressions import Condition, KeyCondition, Update
from ddbkit.keys import KeySchema
from ddbkit.operations import Page, TableCore
from ddbkit.retry import RetryPolicy
from ddbkit.tracing import traced
from ddbkit.transport import DEFAULT_TRANSPORT, make_transport
from ddbkit.usage import Usage, UsageSnapshot

if TYPE_CHECKING:
    from ddbkit import transactions as tx

__all__ = ["Table", "BatchWriter", "make_transport", "DEFAULT_TRANSPORT"]

KeyCond = KeyCondition | Mapping[str, Any] | str
Filter = Condition | str | None


class Table(TableCore):
    """A DynamoDB table as a document client.

    ``key`` is the key schema (``"pk"``, ``("pk", "sk")`` or a :class:`KeySchema`); when omitted it is
    read once with DescribeTable. ``cursor_secret`` signs pagination cursors. ``number`` chooses how
    numbers come back (int/Decimal, Decimal, float). ``concurrency`` bounds batch chunks in flight.
    ``transport`` picks the wire path (``"botocore"`` or ``"fast"``) or takes any Transport object;
    ``client`` reuses an existing boto3 DynamoDB client. ``dax_endpoint`` (``dax://...``) sends reads and
    writes through DAX (``dax`` extra). ``tracing=True`` traces every operation with X-Ray (``xray``
    extra; also ``DDBKIT_TRACING=xray``), or pass any :class:`ddbkit.tracing.Tracer`. ``config`` is a
    :class:`botocore.config.Config`: timeouts, pool size, proxies, app id (docs/table.md#transports);
    ``verify`` False or a CA bundle path (as ``boto3.client(verify=...)``).
    """

    def __init__(self, name: str, *, key: KeySchema | tuple[str, str | None] | str | None = None,
                 session: Any = None, region_name: str | None = None, endpoint_url: str | None = None,
                 client: Any = None, transport: Transport | str | None = None, retry: RetryPolicy | None = None,
                 cursor_secret: str | bytes | None = None, number: NumberMode | str = NumberMode.AUTO,
                 concurrency: int = 8, return_consumed_capacity: str = "TOTAL", usage: Usage | None = None,
                 tracing: Any = None, dax_endpoint: str | None = None, config: Any = None,
                 verify: bool | str | None = None) -> None:
        super().__init__(name, key=key, retry=retry, cursor_secret=cursor_secret, number=number,
                         concurrency=concurrency, return_consumed_capacity=return_consumed_capacity,
                         tracing=tracing)
        self.transport = make_transport(transport, session=session, region_name=region_name,
                                        endpoint_url=endpoint_url, client=client, config=config,
                                        verify=verify)
        if dax_endpoint:
            from ddbkit.transport.dax import DaxTransport

            self.transport = DaxTransport(dax_endpoint, region_name=region_name, session=session,
                                          fallback=self.transport)
        self._usage = usage or Usage()
        self._driver = SyncDriver(self.transport, self.retry, self._usage)

    @classmethod
    def from_config(cls, config: Any, **kwargs: Any) -> Table:
        """A Table for a :class:`ddbkit.config.TableConfig` (name and key schema from the config).

        With ``daxCluster.enabled`` and its ``endpoint`` set, reads and writes go through DAX."""
        dax = getattr(config, "dax_cluster", None)
        if dax is not None and dax.enabled and dax.endpoint and "dax_endpoint" not in kwargs:
            kwargs["dax_endpoint"] = dax.endpoint
        return cls(config.table_name, key=KeySchema.from_config(config), **kwargs)

    def _run(self, operation: str, op: Op[Any], index: str | None = None) -> Any:
        with traced(self.tracer, self.name, operation, self._usage, index) as span:
            span.result = self._driver.run(op)
        return span.result

    # -- single items ---------------------------------------------------------------------------
    def get(self, key: Mapping[str, Any], *, consistent: bool = False,
            attributes: Sequence[str] | None = None) -> dict[str, Any] | None:
        """The item with ``key``, or None. ``attributes`` limits what is returned (a projection)."""
        return self._run("get", self._op_get(key, consistent, attributes))  # type: ignore[no-any-return]

    def put(self, item: Mapping[str, Any], *, condition: Filter = None, names: Mapping[str, str] | None = None,
            values: Mapping[str, Any] | None = None, return_values: str | None = None,
            return_on_failure: bool = False) -> dict[str, Any] | None:
        """Write ``item`` (replacing any item with its key); ``condition`` must hold. Returns the old item
        when ``return_values="ALL_OLD"``. ``ConditionalCheckFailed.item`` has the current item when
        ``return_on_failure``."""
        return self._run("put", self._op_put(item, condition, names, values, return_values,  # type: ignore[no-any-return]
                                      return_on_failure))

    def update(self, key: Mapping[str, Any], update: Update | str | None = None, *,
               set: Mapping[str, Any] | None = None, remove: Iterable[str] | None = None,
               add: Mapping[str, Any] | None = None, delete: Mapping[str, Any] | None = None,
               condition: Filter = None, names: Mapping[str, str] | None = None,
               values: Mapping[str, Any] | None = None, return_values: str | None = None,
               return_on_failure: bool = False) -> dict[str, Any] | None:
        """Update the item with ``key`` by an :class:`Update`, an expression string, or ``set=``/``remove=``/
        ``add=``/``delete=`` mappings (paths like ``"address.city"`` allowed)."""
        return self._run("update", self._op_update(key, update, set=set, remove=remove, add=add,  # type: ignore[no-any-return]
                                         delete=delete, condition=condition, names=names, values=values,
                                         return_values=return_values, return_on_failure=return_on_failure))

    def delete(self, key: Mapping[str, Any], *, condition: Filter = None, names: Mapping[str, str] | None = None,
               values: Mapping[str, Any] | None = None, return_values: str | None = None,
               return_on_failure: bool = False) -> dict[str, Any] | None:
        """Delete the item with ``key`` (``condition`` must hold); the old item with ``return_values="ALL_OLD"``."""
        return self._run("delete", self._op_delete(key, condition, names, values, return_values,  # type: ignore[no-any-return]
                                         return_on_failure))

    def exists(self, key: Mapping[str, Any], *, consistent: bool = False) -> bool:
        """True when an item with ``key`` exists (reads only the partition key)."""
        return self._run("exists", self._op_exists(key, consistent))  # type: ignore[no-any-return]

    def put_versioned(self, item: Mapping[str, Any], version_attr: str = "version") -> dict[str, Any]:
        """Optimistic locking: write ``item`` only if the stored ``version_attr`` equals the item's (or the
        item is new when it has none), incrementing it. Raises :class:`VersionConflict` otherwise."""
        return self._run("put_versioned", self._op_put_versioned(item, version_attr))  # type: ignore[no-any-return]

    def update_versioned(self, key: Mapping[str, Any], update: Update, expected: int,
                         version_attr: str = "version") -> dict[str, Any] | None:
        """Apply ``update`` only if the stored version is ``expected``; bumps it; returns the new item."""
        return self._run("update_versioned", self._op_update_versioned(key, update, expected, version_attr))  # type: ignore[no-any-return]

    # -- query / scan ---------------------------------------------------------------------------
    def query(self, key_condition: KeyCond, *, index: str | None = None, filter: Filter = None,
              limit: int | None = None, forward: bool = True, cursor: str | None = None,
              attributes: Sequence[str] | None = None, consistent: bool = False,
              names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None) -> Page:
        """One page of items matching ``key_condition`` (``Key("pk").eq(v) & Key("sk").gt(x)`` or
        ``{"pk": v}``). Pass ``page.cursor`` back as ``cursor`` for the next page."""
        return self._run("query", self._op_query(key_condition, index=index, filter=filter, limit=limit,  # type: ignore[no-any-return]
                                        forward=forward, cursor=cursor, attributes=attributes,
                                        consistent=consistent, names=names, values=values), index)

    @staticmethod
    def _pages(fetch: Any, cursor: str | None) -> Iterator[Page]:
        while True:
            page: Page = fetch(cursor)
            yield page
            cursor = page.cursor
            if cursor is None:
                return

    def query_pages(self, key_condition: KeyCond, *, index: str | None = None, filter: Filter = None,
                    limit: int | None = None, forward: bool = True, cursor: str | None = None,
                    attributes: Sequence[str] | None = None, consistent: bool = False,
                    names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None) -> Iterator[Page]:
        """Every page of a query, from ``cursor`` (if given) to the end (``limit`` is per page)."""
        return self._pages(lambda c: self.query(key_condition, index=index, filter=filter, limit=limit, forward=forward,
                                                cursor=c, attributes=attributes, consistent=consistent, names=names,
                                                values=values), cursor)

    def query_iter(self, key_condition: KeyCond, *, index: str | None = None, filter: Filter = None,
                   limit: int | None = None, forward: bool = True, cursor: str | None = None,
                   attributes: Sequence[str] | None = None, consistent: bool = False,
                   names: Mapping[str, str] | None = None,
                   values: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a query, page after page."""
        for page in self.query_pages(key_condition, index=index, filter=filter, limit=limit, forward=forward,
                                     cursor=cursor, attributes=attributes, consistent=consistent, names=names,
                                     values=values):
            yield from page.items

    def scan(self, filter: Filter = None, *, index: str | None = None, limit: int | None = None,
             cursor: str | None = None, attributes: Sequence[str] | None = None, consistent: bool = False,
             segment: int | None = None, total_segments: int | None = None,
             names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None) -> Page:
        """One page of a scan (optionally one ``segment`` of ``total_segments``)."""
        return self._run("scan", self._op_scan(filter, index=index, limit=limit, cursor=cursor,  # type: ignore[no-any-return]
                                       attributes=attributes, consistent=consistent, segment=segment,
                                       total_segments=total_segments, names=names, values=values), index)

    def scan_pages(self, filter: Filter = None, *, index: str | None = None, limit: int | None = None,
                   cursor: str | None = None, attributes: Sequence[str] | None = None, consistent: bool = False,
                   segment: int | None = None, total_segments: int | None = None,
                   names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None) -> Iterator[Page]:
        """Every page of a scan, from ``cursor`` (if given) to the end."""
        return self._pages(lambda c: self.scan(filter, index=index, limit=limit, cursor=c, attributes=attributes,
                                               consistent=consistent, segment=segment, total_segments=total_segments,
                                               names=names, values=values), cursor)

    def scan_iter(self, filter: Filter = None, *, index: str | None = None, limit: int | None = None,
                  cursor: str | None = None, attributes: Sequence[str] | None = None, consistent: bool = False,
                  segment: int | None = None, total_segments: int | None = None,
                  names: Mapping[str, str] | None = None,
                  values: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a scan, page after page."""
        for page in self.scan_pages(filter, index=index, limit=limit, cursor=cursor, attributes=attributes,
                                    consistent=consistent, segment=segment, total_segments=total_segments,
                                    names=names, values=values):
            yield from page.items

    def parallel_scan(self, total_segments: int = 4, filter: Filter = None, *, index: str | None = None,
                      limit: int | None = None, attributes: Sequence[str] | None = None, consistent: bool = False,
                      names: Mapping[str, str] | None = None,
                      values: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Scan ``total_segments`` segments on threads, merged into one iterator (order not defined).

        Stopping early (break) stops the workers after their current page.
        """
        results: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=total_segments * 2)
        stop = threading.Event()

        def offer(entry: tuple[str, Any]) -> bool:
            while not stop.is_set():
                try:
                    results.put(entry, timeout=0.05)
                    return True
                except queue.Full:
                    continue
            return False

        def worker(segment: int) -> None:
            try:
                for page in self.scan_pages(filter, index=index, limit=limit, attributes=attributes,
                                            consistent=consistent, segment=segment, total_segments=total_segments,
                                            names=names, values=values):
                    if not offer(("items", page.items)):
                        return
            except BaseException as err:  # noqa: BLE001 - re-raised in the consumer
                offer(("error", err))
            finally:
                offer(("done", None))

        threads = [threading.Thread(target=worker, args=(s,), daemon=True, name=f"ddbkit-scan-{s}")
                   for s in range(total_segments)]
        for t in threads:
            t.start()
        try:
            done = 0
            while done < total_segments:
                kind, value = results.get()
                if kind == "items":
                    yield from value
                elif kind == "error":
                    raise value
                else:
                    done += 1
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=5)

    def count(self, key_condition: KeyCond | None = None, *, index: str | None = None, filter: Filter = None,
              names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None) -> int:
        """Number of matching items (Select=COUNT over every page; a scan when no key condition)."""
        return self._run("count", self._op_count(key_condition, index=index, filter=filter,  # type: ignore[no-any-return]
                                        names=names, values=values), index)

    # -- batches --------------------------------------------------------------------------------
    def batch_write(self, puts: Iterable[Mapping[str, Any]] = (), deletes: Iterable[Mapping[str, Any]] = (), *,
                    requests: Iterable[tuple[str, Mapping[str, Any]]] = (),
                    concurrency: int | None = None) -> BatchWriteResult:
        """Write any number of items and delete any number of keys, 25 per call, ``concurrency`` in flight.

        Requests for the same key collapse to the last one. Unprocessed items are resent with backoff;
        when the retry policy gives up, :class:`BatchWriteError` carries every request *not known to be
        written* (some may have been applied by an attempt whose reply was lost): safe to resend.
        """
        return self._run("batch_write", self._op_batch_write(puts, deletes, requests, concurrency))  # type: ignore[no-any-return]

    def batch_writer(self, flush_every: int | None = None) -> BatchWriter:
        """A buffer that writes in batches as you add to it (and at the end of a ``with`` block)."""
        return BatchWriter(self, flush_every or 25 * self.concurrency)

    def batch_get(self, keys: Iterable[Mapping[str, Any]], *, consistent: bool = False,
                  attributes: Sequence[str] | None = None, concurrency: int | None = None) -> BatchGetResult:
        """Read any number of keys, 100 per call; items in request order, ``missing`` keys listed.
        Raises :class:`BatchGetError` (with the items read) if keys stay unprocessed."""
        return self._run("batch_get", self._op_batch_get(keys, consistent, attributes, concurrency))  # type: ignore[no-any-return]

    # -- transactions ---------------------------------------------------------------------------
    def transact_write(self, actions: Sequence[tx.WriteAction], *, token: str | None = None) -> str:
        """All-or-nothing writes (``transactions.Put/Update/Delete/ConditionCheck``); returns the request
        token, which retries reuse so the transaction applies at most once. A failure carries it as
        ``error.token``: pass it back as ``token=`` to retry safely within 10 minutes."""
        return self._run("transact_write", self._op_transact_write(actions, token))  # type: ignore[no-any-return]

    def transact_get(self, gets: Sequence[tx.Get | Mapping[str, Any]]) -> list[dict[str, Any] | None]:
        """A consistent snapshot of up to 100 items (keys or ``transactions.Get``), in order."""
        return self._run("transact_get", self._op_transact_get(gets))  # type: ignore[no-any-return]

    # -- misc -----------------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """DescribeTable's ``Table`` (also refreshes the key schema)."""
        return self._run("describe", self._op_describe())  # type: ignore[no-any-return]

    @property
    def key_schema(self) -> KeySchema:
        return self._run("describe", self._op_keys())  # type: ignore[no-any-return]

    @property
    def usage(self) -> UsageSnapshot:
        """Consumed capacity and call/retry/throttle counts so far."""
        return self._usage.snapshot()

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Table({self.name!r})"


class BatchWriter:
    """Buffers puts/deletes and writes them with :meth:`Table.batch_write` every ``flush_every`` requests.

    Leaving the ``with`` block flushes what is left, even when the block raised: buffered writes are never
    dropped. ``written`` counts what was applied; a failed flush raises :class:`BatchWriteError`.
    """

    def __init__(self, table: Table, flush_every: int) -> None:
        self.table = table
        self.flush_every = max(1, flush_every)
        self._buffer: list[tuple[str, Mapping[str, Any]]] = []
        self.written = 0

    def put(self, item: Mapping[str, Any]) -> None:
        self._buffer.append(("put", item))
        if len(self._buffer) >= self.flush_every:
            self.flush()

    def delete(self, key: Mapping[str, Any]) -> None:
        self._buffer.append(("delete", key))
        if len(self._buffer) >= self.flush_every:
            self.flush()

    def flush(self) -> BatchWriteResult | None:
        if not self._buffer:
            return None
        pending, self._buffer = self._buffer, []
        result = self.table.batch_write(requests=pending)
        self.written += result.written
        return result

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()
