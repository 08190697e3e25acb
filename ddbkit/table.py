"""``ddbkit.Table``: the synchronous document client (plain Python in, plain Python out).

Every method builds its operation in :class:`~ddbkit.core.operations.TableCore` (shared with the async
client) and runs it on a :class:`~ddbkit.core.engine.SyncDriver`: retries through the
:class:`~ddbkit.core.retry.RetryPolicy`, batches on a bounded thread pool.

>>> table = Table("UserSessions", key="sessionId", endpoint_url="http://127.0.0.1:8000")  # doctest: +SKIP
>>> table.put({"sessionId": "s1", "userId": "u1", "status": "ACTIVE"})                    # doctest: +SKIP
>>> page = table.query(Key("userId").eq("u1"), index="UserIdIndex", limit=20)             # doctest: +SKIP
>>> page.items, page.cursor                                                               # doctest: +SKIP
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, wait
from typing import TYPE_CHECKING, Any, TypeVar

from ddbkit.core.batch import BatchGetResult, BatchWriteResult, WritePipeline
from ddbkit.core.codec import NumberMode
from ddbkit.core.cursor import CursorCodec, CursorSecret
from ddbkit.core.engine import Op, SyncDriver, Transport
from ddbkit.core.expressions import Condition, KeyCondition, Update
from ddbkit.core.keys import KeySchema
from ddbkit.core.operations import Page, TableCore
from ddbkit.core.retry import RetryPolicy
from ddbkit.tracing.api import traced
from ddbkit.transport import DEFAULT_TRANSPORT, make_transport
from ddbkit.core.usage import Usage, UsageSnapshot

if TYPE_CHECKING:
    from ddbkit.core import transactions as tx
    from ddbkit.models import Model, TypedTable

T = TypeVar("T")
M = TypeVar("M", bound="Model")

__all__ = ["Table", "BatchWriter", "make_transport", "DEFAULT_TRANSPORT"]

KeyCond = KeyCondition | Mapping[str, Any] | str
Filter = Condition | str | None


class Table(TableCore):
    """A DynamoDB table as a document client.

    ``key`` is the key schema (``"pk"``, ``("pk", "sk")`` or a :class:`KeySchema`); when omitted it is
    read once with DescribeTable. ``cursor_secret`` encrypts pagination cursors (see :mod:`ddbkit.core.cursor`). ``number`` chooses how
    numbers come back (int/Decimal, Decimal, float). ``concurrency`` bounds batch chunks in flight.
    ``transport`` picks the wire path (``"botocore"`` or ``"fast"``) or takes any Transport object;
    ``client`` reuses an existing boto3 DynamoDB client. ``dax_endpoint`` (``dax://...``) sends reads and
    writes through DAX (``dax`` extra). ``tracing=True`` traces every operation with X-Ray (``xray``
    extra; also ``DDBKIT_TRACING=xray``), or pass any :class:`ddbkit.tracing.api.Tracer`. ``config`` is a
    :class:`botocore.config.Config`: timeouts, pool size, proxies, app id (docs/table.md#transports);
    ``verify`` False or a CA bundle path (as ``boto3.client(verify=...)``).
    """

    def __init__(self, name: str, *, key: KeySchema | tuple[str, str | None] | str | None = None,
                 session: Any = None, region_name: str | None = None, endpoint_url: str | None = None,
                 client: Any = None, transport: Transport | str | None = None, retry: RetryPolicy | None = None,
                 cursor_secret: CursorSecret | CursorCodec = None, number: NumberMode | str = NumberMode.AUTO,
                 concurrency: int = 8, return_consumed_capacity: str = "TOTAL", usage: Usage | None = None,
                 tracing: Any = None, dax_endpoint: str | None = None, config: Any = None,
                 verify: bool | str | None = None, exactly_once: bool = False) -> None:
        super().__init__(name, key=key, retry=retry, cursor_secret=cursor_secret, number=number,
                         concurrency=concurrency, return_consumed_capacity=return_consumed_capacity,
                         tracing=tracing)
        self.exactly_once = exactly_once  # see TableCore.exactly_once and docs/idempotency.md
        self.transport = make_transport(transport, session=session, region_name=region_name,
                                        endpoint_url=endpoint_url, client=client, config=config,
                                        verify=verify)
        if dax_endpoint:
            from ddbkit.transport.dax import DaxTransport

            self.transport = DaxTransport(dax_endpoint, region_name=region_name, session=session,
                                          fallback=self.transport)
        self._usage = usage or Usage()
        self._driver = SyncDriver(self.transport, self.retry, self._usage, gatherer=_loop_gatherer(self.transport))
        self.encoded_writes = bool(getattr(self.transport, "accepts_encoded_writes", False))
        self.decoded_pages = bool(getattr(self.transport, "decodes_pages", False))

    @classmethod
    def from_config(cls, config: Any, **kwargs: Any) -> Table:
        """A Table for a :class:`ddbkit.config.TableConfig` (name and key schema from the config).

        With ``daxCluster.enabled`` and its ``endpoint`` set, reads and writes go through DAX."""
        dax = getattr(config, "dax_cluster", None)
        if dax is not None and dax.enabled and dax.endpoint and "dax_endpoint" not in kwargs:
            kwargs["dax_endpoint"] = dax.endpoint
        return cls(config.table_name, key=KeySchema.from_config(config), **kwargs)

    @classmethod
    def from_env(cls, prefix: str, environ: Mapping[str, str] | None = None, **kwargs: Any) -> Table:
        """A Table from the ``PREFIX_*`` variables ``ddbkit bind`` emits (no YAML, no pydantic).

        ``prefix`` is ``"USER_SESSIONS"`` or the component name ``"user-sessions"``; the table name, key
        schema, indexes and TTL attribute come from the environment (:mod:`ddbkit.core.envconfig`), and
        ``PREFIX_DAX_ENDPOINT`` turns DAX on. ``kwargs`` are the constructor's (``endpoint_url=``...) and win.
        Raises :class:`ddbkit.core.envconfig.EnvConfigError` naming a missing or malformed variable."""
        from ddbkit.core.envconfig import read_table_env

        env = read_table_env(prefix, environ)
        if env.dax_endpoint and "dax_endpoint" not in kwargs:
            kwargs["dax_endpoint"] = env.dax_endpoint
        kwargs.setdefault("key", env.key)
        table = cls(env.table_name, **kwargs)
        table.ttl_attribute = env.ttl_attribute
        return table

    def run_op(self, operation: str, op: Op[T], index: str | None = None) -> T:
        """Drive ``op`` (an operation generator of :class:`~ddbkit.core.operations.TableCore`, e.g.
        ``self.op_get(key)``) to its result, traced and counted as ``operation``. The seam typed models,
        idempotency and bulk jobs build on: the result type is the operation's own."""
        with traced(self.tracer, self.name, operation, self._usage, index) as span:
            result: T = self._driver.run(op)
            span.result = result
        return result

    # -- single items ---------------------------------------------------------------------------
    def get(self, key: Mapping[str, Any], *, consistent: bool = False,
            attributes: Sequence[str] | None = None) -> dict[str, Any] | None:
        """The item with ``key``, or None. ``attributes`` limits what is returned (a projection)."""
        return self.run_op("get", self.op_get(key, consistent, attributes))

    def put(self, item: Mapping[str, Any], *, condition: Filter = None, names: Mapping[str, str] | None = None,
            values: Mapping[str, Any] | None = None, return_values: str | None = None,
            return_on_failure: bool = False) -> dict[str, Any] | None:
        """Write ``item`` (replacing any item with its key); ``condition`` must hold. Returns the old item
        when ``return_values="ALL_OLD"``. ``ConditionalCheckFailed.item`` has the current item when
        ``return_on_failure``."""
        return self.run_op("put", self.op_put(item, condition, names, values, return_values,
                                      return_on_failure))

    def update(self, key: Mapping[str, Any], update: Update | str | None = None, *,
               set: Mapping[str, Any] | None = None, remove: Iterable[str] | None = None,
               add: Mapping[str, Any] | None = None, delete: Mapping[str, Any] | None = None,
               condition: Filter = None, names: Mapping[str, str] | None = None,
               values: Mapping[str, Any] | None = None, return_values: str | None = None,
               return_on_failure: bool = False) -> dict[str, Any] | None:
        """Update the item with ``key`` by an :class:`Update`, an expression string, or ``set=``/``remove=``/
        ``add=``/``delete=`` mappings (paths like ``"address.city"`` allowed)."""
        return self.run_op("update", self.op_update(key, update, set=set, remove=remove, add=add,
                                         delete=delete, condition=condition, names=names, values=values,
                                         return_values=return_values, return_on_failure=return_on_failure))

    def delete(self, key: Mapping[str, Any], *, condition: Filter = None, names: Mapping[str, str] | None = None,
               values: Mapping[str, Any] | None = None, return_values: str | None = None,
               return_on_failure: bool = False) -> dict[str, Any] | None:
        """Delete the item with ``key`` (``condition`` must hold); the old item with ``return_values="ALL_OLD"``."""
        return self.run_op("delete", self.op_delete(key, condition, names, values, return_values,
                                         return_on_failure))

    def exists(self, key: Mapping[str, Any], *, consistent: bool = False) -> bool:
        """True when an item with ``key`` exists (reads only the partition key)."""
        return self.run_op("exists", self.op_exists(key, consistent))

    def put_versioned(self, item: Mapping[str, Any], version_attr: str = "version") -> dict[str, Any]:
        """Optimistic locking: write ``item`` only if the stored ``version_attr`` equals the item's (or the
        item is new when it has none), incrementing it. Raises :class:`VersionConflict` otherwise."""
        return self.run_op("put_versioned", self.op_put_versioned(item, version_attr))

    def update_versioned(self, key: Mapping[str, Any], update: Update, expected: int,
                         version_attr: str = "version") -> dict[str, Any] | None:
        """Apply ``update`` only if the stored version is ``expected``; bumps it; returns the new item."""
        return self.run_op("update_versioned", self.op_update_versioned(key, update, expected, version_attr))

    # -- query / scan ---------------------------------------------------------------------------
    def query(self, key_condition: KeyCond, *, index: str | None = None, filter: Filter = None,
              limit: int | None = None, forward: bool = True, cursor: str | None = None,
              attributes: Sequence[str] | None = None, consistent: bool = False,
              names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None) -> Page:
        """One page of items matching ``key_condition`` (``Key("pk").eq(v) & Key("sk").gt(x)`` or
        ``{"pk": v}``). Pass ``page.cursor`` back as ``cursor`` for the next page."""
        return self.run_op("query", self.op_query(key_condition, index=index, filter=filter, limit=limit,
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
        return self.run_op("scan", self.op_scan(filter, index=index, limit=limit, cursor=cursor,
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
        return self.run_op("count", self.op_count(key_condition, index=index, filter=filter,
                                        names=names, values=values), index)

    # -- batches --------------------------------------------------------------------------------
    def batch_write(self, puts: Iterable[Mapping[str, Any]] = (), deletes: Iterable[Mapping[str, Any]] = (), *,
                    requests: Iterable[tuple[str, Mapping[str, Any]]] = (),
                    concurrency: int | None = None, validate_first: bool = False) -> BatchWriteResult:
        """Write any number of items and delete any number of keys, 25 per call, ``concurrency`` in flight.

        Inputs are read lazily (any iterable, a generator of millions is fine): each request is validated
        and marshalled as it is read and the first call leaves once 25 are ready, so memory stays
        O(concurrency x 25). Unprocessed items are resent with backoff; what is not known to be written
        when the retry policy gives up raises :class:`BatchWriteError` carrying exactly those requests
        (safe to resend). A bad request stops the reading: raised as is if nothing was sent yet, else as
        the ``cause`` of a BatchWriteError listing what was read and not written. ``validate_first=True``
        validates (and de-duplicates) the whole input before sending anything, at O(input) memory. See
        ``ddbkit.core.batch.write_op`` and docs/performance.md for the exact de-dup window.
        """
        op = self.op_batch_write(puts, deletes, requests, concurrency, validate_first)
        return self.run_op("batch_write", op)

    def batch_writer(self, flush_every: int | None = None, *, concurrency: int | None = None) -> BatchWriter:
        """A writer that sends 25 requests per call as you add them, ``concurrency`` calls in flight, and
        waits for everything at :meth:`BatchWriter.flush` and at the end of a ``with`` block."""
        return BatchWriter(self, flush_every or 25 * self.concurrency, concurrency=concurrency)

    def batch_get(self, keys: Iterable[Mapping[str, Any]], *, consistent: bool = False,
                  attributes: Sequence[str] | None = None, concurrency: int | None = None,
                  validate_first: bool = False) -> BatchGetResult:
        """Read any number of keys, 100 per call, read and sent lazily; items in request order, ``missing``
        keys listed. Raises :class:`BatchGetError` (with the items read) if keys stay unprocessed."""
        op = self.op_batch_get(keys, consistent, attributes, concurrency, validate_first)
        return self.run_op("batch_get", op)

    # -- transactions ---------------------------------------------------------------------------
    def transact_write(self, actions: Sequence[tx.WriteAction], *, token: str | None = None) -> str:
        """All-or-nothing writes (``transactions.Put/Update/Delete/ConditionCheck``); returns the request
        token, which retries reuse so the transaction applies at most once. A failure carries it as
        ``error.token``: pass it back as ``token=`` to retry safely within 10 minutes."""
        return self.run_op("transact_write", self.op_transact_write(actions, token))

    def transact_get(self, gets: Sequence[tx.Get | Mapping[str, Any]]) -> list[dict[str, Any] | None]:
        """A consistent snapshot of up to 100 items (keys or ``transactions.Get``), in order."""
        return self.run_op("transact_get", self.op_transact_get(gets))

    # -- typed models ---------------------------------------------------------------------------
    def typed(self, model: type[M]) -> TypedTable[M]:
        """Typed operations for a :class:`ddbkit.Model` on this table (``models`` extra: pydantic)."""
        from ddbkit.models import TypedTable

        return TypedTable(self, model)

    # -- misc -----------------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """DescribeTable's ``Table`` (also refreshes the key schema)."""
        return self.run_op("describe", self.op_describe())

    @property
    def key_schema(self) -> KeySchema:
        return self.run_op("describe", self.op_keys())

    def resend(self, error: Any) -> str:
        """Resend the write of a :class:`~ddbkit.core.transactions.WriteOutcomeUnknown` with its token: applied at
        most once in total if done before ``error.resend_before``. Returns the token."""
        return self.run_op("resend", self.op_resend(error.request))

    @property
    def usage(self) -> UsageSnapshot:
        """Consumed capacity and call/retry/throttle counts so far."""
        return self._usage.snapshot()

    def close(self) -> None:
        self._driver.close()
        self.transport.close()

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Table({self.name!r})"


class BatchWriter:
    """Writes puts/deletes 25 per BatchWriteItem call as they are added, ``concurrency`` calls in flight,
    on the table's worker pool (the streaming pipeline of :meth:`Table.batch_write`, pushed).

    :meth:`put`/:meth:`delete` validate the request at once (a bad one raises there and is not kept;
    the others are unaffected) and block only while ``concurrency`` calls are in flight. Requests for a
    key still buffered collapse to the last one. :meth:`flush` (and leaving the ``with`` block, even
    when it raised) waits for everything: buffered writes are never dropped. Once a call is left with
    writes not applied, the next ``put``/``delete``/``flush`` raises :class:`BatchWriteError` listing
    every request not known to be written (the one being added included). ``written`` counts what was
    applied. Not thread-safe: one writer per thread. ``flush_every`` is accepted for compatibility and no
    longer used (requests leave 25 at a time); memory is O(concurrency x 25).
    """

    def __init__(self, table: Table, flush_every: int = 0, *, concurrency: int | None = None) -> None:
        self.table = table
        self.flush_every = max(1, flush_every)
        self.concurrency = max(1, concurrency or table.concurrency)
        self.written = 0
        self._p: WritePipeline | None = None
        self._running: set[Future[Any]] = set()

    def _pipeline(self) -> WritePipeline:
        if self._p is None:
            t = self.table
            keys = t._driver.run(t.op_keys())
            self._p = WritePipeline(t.name, keys.names, t._batch_marshal(keys), t.retry, t.rcc)
        return self._p

    def _settle(self, everything: bool) -> None:
        p = self._pipeline()
        done, _ = wait(list(self._running), return_when=ALL_COMPLETED if everything else FIRST_COMPLETED)
        for f in done:
            self._running.discard(f)
            p.done(f.result())

    def _add(self, kind: str, value: Mapping[str, Any]) -> None:
        p = self._pipeline()
        if p.stopped:
            self._fail([(kind, value)])
        p.add(kind, value)
        if not p.full():
            return
        if p.must_drain and self._running:
            self._settle(True)
        while len(self._running) >= self.concurrency:
            self._settle(False)
        if p.stopped:
            self._fail()
        self._running.add(self.table._driver.submit(p.take(), self.concurrency))

    def _fail(self, extra: list[tuple[str, Any]] | None = None) -> None:
        p = self._pipeline()
        if self._running:
            self._settle(True)
        self._p = None
        written = p.result.written
        try:
            p.finish(None, extra or [])
        finally:
            self.written += written

    def put(self, item: Mapping[str, Any]) -> None:
        self._add("put", item)

    def delete(self, key: Mapping[str, Any]) -> None:
        self._add("delete", key)

    def flush(self) -> BatchWriteResult | None:
        """Send what is buffered and wait for every call in flight; the result since the last flush."""
        p = self._p
        if p is None:
            return None
        if p.buffer and not p.stopped:
            if p.must_drain and self._running:
                self._settle(True)
            if not p.stopped:
                self._running.add(self.table._driver.submit(p.take(), self.concurrency))
        if self._running:
            self._settle(True)
        self._p = None
        self.written += p.result.written
        return p.finish()

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()


def _loop_gatherer(transport: Any) -> Any:
    """A :class:`~ddbkit.core.multiplex.LoopGather` when ``transport`` has an asyncio twin (the fast one), so
    batch gathers run on an event loop in the calling thread instead of a thread pool; else None."""
    if (not hasattr(transport, "async_twin") or not hasattr(transport, "multiplexable")
            or os.environ.get("DDBKIT_SYNC_GATHER") == "threads"):
        return None
    from ddbkit.core.multiplex import LoopGather

    return LoopGather(transport)
