"""Per-record idempotency for stream processors: a redelivered batch skips records already processed.

Set a processor's ``idempotency`` attribute (class attribute or instance)::

    class Orders(StreamProcessor):
        idempotency = RecordIdempotency(IdempotencyStore(Table("Idempotency", key="id")))

        def on_insert(self, record: StreamRecord) -> None:
            charge(record.new_image)          # runs once per record, even when Lambda redelivers the batch

The processor calls :meth:`RecordIdempotency.wrap` around each record's handler (and
:meth:`RecordIdempotency.wrap_batch` around ``on_batch``). A record whose handler completed is skipped
(counted as processed); a record in progress elsewhere fails with :class:`IdempotencyInProgress` (so
stop-at-first-failure stops there and Lambda retries it); a record whose handler raised has its
in-progress record deleted, so its retry - and the dead-letter hook after ``max_attempts`` - see it as new.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ddbkit.idempotency.core import COMPLETED, INPROGRESS, IdempotencyConfig, IdempotencyStore, Selector
from ddbkit.idempotency.decorators import arun_plan, run_plan

__all__ = ["RecordIdempotency"]


class RecordIdempotency:
    """Which records count as the same, and where their records live.

    ``key`` selects the identity of a record: None (default) its ``eventID`` (each stream record once),
    a JMESPath over the raw record (``"dynamodb.Keys"``, ``"dynamodb.NewImage.orderId.S"``: one run per
    order), or a callable of the :class:`~ddbkit.streams.processors.StreamRecord`. ``prefix`` namespaces the keys
    (default ``"stream"``: set one per processor sharing a store). Other options as
    :class:`IdempotencyConfig` (``expires_after``: keep it longer than the stream's 24-hour retention when
    keying by event ID, so a redelivery is always recognised).
    """

    def __init__(self, store: IdempotencyStore, *, key: Selector = None, prefix: str = "stream",
                 expires_after: float = 2 * 86400.0, **options: Any) -> None:
        self.store = store
        self.prefix = prefix
        self.config = IdempotencyConfig(event_key=None, expires_after=expires_after, **options)
        self._key = key

    def register_lambda_context(self, context: Any) -> None:
        """Tie the records' in-progress locks to the invocation's remaining time (the processors' ``handler``
        does this): a redelivery after a crash or timeout finds the locks expired. Without a context they
        last ``lock_timeout`` seconds."""
        if context is not None:
            self.store.register_lambda_context(context)

    def identity(self, record: Any) -> Any:
        """What makes two records the same for this processor."""
        if self._key is None:
            return record.event_id or record.sequence_number
        if callable(self._key):
            return self._key(record)
        from ddbkit.idempotency.core import select

        return select(self._key, dict(record.raw))

    def wrap(self, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """``fn(record)`` made idempotent per record (returns a coroutine function for an async store)."""
        store, cfg, prefix = self.store, self.config, self.prefix
        if store.is_async:
            async def arun(record: Any) -> Any:
                async def call() -> Any:
                    out = fn(record)
                    return await out if hasattr(out, "__await__") else out

                return await arun_plan(store, store.plan(self.identity(record), cfg, prefix), call)

            return arun

        def run(record: Any) -> Any:
            return run_plan(store, store.plan(self.identity(record), cfg, prefix), lambda: fn(record))

        return run

    def wrap_dead_letter(self, hook: Callable[[Any, BaseException], Any]) -> Callable[[Any, BaseException], Any]:
        """``hook(record, error)`` that, once it succeeded, marks the record completed: a redelivered batch
        skips a dead-lettered record instead of failing it again."""
        store, cfg, prefix = self.store, self.config, self.prefix

        def mark(record: Any) -> Any:
            from ddbkit.idempotency.core import canonical_json, hash_data

            key = f"{prefix}#{hash_data(self.identity(record), cfg.hash_function)}"
            return store.op_complete(key, canonical_json({"dead_lettered": True}), None, cfg.expires_after)

        if store.is_async:
            async def arun(record: Any, error: BaseException) -> Any:
                out = hook(record, error)
                if hasattr(out, "__await__"):
                    out = await out
                await store.table.run_op("idempotency", mark(record))
                return out

            return arun

        def run(record: Any, error: BaseException) -> Any:
            out = hook(record, error)
            store.table.run_op("idempotency", mark(record))
            return out

        return run

    # -- batch processors -------------------------------------------------------------------------
    def wrap_batch(self, fn: Callable[[list[Any]], Any]) -> Callable[[list[Any]], Any]:
        """``on_batch(records)`` given only the records not processed before; records in progress elsewhere
        are reported back as failed. Each record is locked (one conditional put), and marked completed
        after ``on_batch`` returns (a batch write); on an exception the locks are released."""
        store = self.store
        if store.is_async:
            async def arun(records: list[Any]) -> Any:
                box: list[list[Any]] = []

                async def call() -> Any:
                    out = fn(box[0])
                    return await out if hasattr(out, "__await__") else out

                return await arun_plan(store, self._batch_plan(records, box), call)

            return arun

        def run(records: list[Any]) -> Any:
            box: list[list[Any]] = []
            return run_plan(store, self._batch_plan(records, box), lambda: fn(box[0]))

        return run

    def _batch_plan(self, records: list[Any], box: list[list[Any]]) -> Any:
        import uuid

        from ddbkit.idempotency.core import hash_data

        store, cfg = self.store, self.config
        lock = uuid.uuid4().hex
        fresh: list[tuple[Any, str]] = []
        busy: list[Any] = []
        for rec in records:
            key = f"{self.prefix}#{hash_data(self.identity(rec), cfg.hash_function)}"
            held = yield ("op", store.op_acquire(key, None, cfg.expires_after, cfg.lock_timeout, lock))
            if held is None:
                fresh.append((rec, key))
            elif held.state(store.clock()) == COMPLETED:
                continue  # processed by an earlier delivery
            elif held.state(store.clock()) == INPROGRESS:
                busy.append(rec)
            else:  # expired between the put and now: take it next time
                busy.append(rec)
        outcome: Iterable[Any] | None = None
        if fresh:
            try:
                box.append([rec for rec, _ in fresh])
                outcome = yield ("call", None)
            except BaseException:
                for _, key in fresh:
                    yield ("op", store.op_release(key, lock))
                raise
        rejected = {id(r) for r in (outcome or ())}
        done = []
        for rec, key in fresh:
            if id(rec) in rejected:
                yield ("op", store.op_release(key, lock))
            else:
                done.append(key)
        if done:
            yield ("op", self.op_complete_all(done))
        failed = [rec for rec in records if id(rec) in rejected or any(rec is b for b in busy)]
        return failed or None

    def op_complete_all(self, keys: list[str]) -> Any:
        store, cfg = self.store, self.config
        now = store.clock()
        items = [{store.key_attr: k, store.status_attr: COMPLETED, store.expiry_attr: int(now + cfg.expires_after),
                  store.data_attr: "null"} for k in keys]
        result = yield from store.table.op_batch_write(items)
        return result
