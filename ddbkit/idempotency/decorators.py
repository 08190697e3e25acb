"""``@idempotent`` (Lambda handlers) and ``@idempotent_function`` (any function), sync and async.

Both run :meth:`IdempotencyStore.plan`: the sync wrappers on the store's :class:`~ddbkit.Table`, the
``async def`` ones on its :class:`~ddbkit.aio.AsyncTable`.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

from ddbkit.idempotency.core import IdempotencyConfig, IdempotencyStore, Plan, Selector, function_prefix

__all__ = ["idempotent", "idempotent_function", "run_plan", "arun_plan"]

F = TypeVar("F", bound=Callable[..., Any])

_DISABLED_ENV = "DDBKIT_IDEMPOTENCY_DISABLED"


def _disabled() -> bool:
    return os.environ.get(_DISABLED_ENV, "").strip().lower() in ("1", "true", "yes")


def run_plan(store: IdempotencyStore, plan: Plan, call: Callable[[], Any]) -> Any:
    """Drive an invocation plan synchronously: store operations on the store's Table, ``call`` for the function."""
    sent: Any = None
    error: BaseException | None = None
    while True:
        try:
            kind, arg = plan.throw(error) if error is not None else plan.send(sent)
        except StopIteration as stop:
            return stop.value
        sent, error = None, None
        try:
            sent = call() if kind == "call" else store.table.run_op("idempotency", arg)
        except BaseException as exc:  # noqa: BLE001 - thrown into the plan, which re-raises it
            error = exc


async def arun_plan(store: IdempotencyStore, plan: Plan, call: Callable[[], Any]) -> Any:
    """Drive an invocation plan on asyncio: store operations on the store's AsyncTable, ``await call()``."""
    sent: Any = None
    error: BaseException | None = None
    while True:
        try:
            kind, arg = plan.throw(error) if error is not None else plan.send(sent)
        except StopIteration as stop:
            return stop.value
        sent, error = None, None
        try:
            sent = await call() if kind == "call" else await store.table.run_op("idempotency", arg)
        except BaseException as exc:  # noqa: BLE001
            error = exc


def _config(config: IdempotencyConfig | None, kwargs: dict[str, Any]) -> IdempotencyConfig:
    if config is not None and kwargs:
        raise TypeError("give either config= or keyword options, not both")
    return config or IdempotencyConfig(**kwargs)


def _check_kind(store: IdempotencyStore, fn: Callable[..., Any]) -> bool:
    is_async = inspect.iscoroutinefunction(fn)
    if is_async != store.is_async:
        want = "an AsyncTable (ddbkit.aio)" if is_async else "a Table"
        raise TypeError(f"{fn.__qualname__} is {'async' if is_async else 'sync'}: its IdempotencyStore needs {want}")
    return is_async


def idempotent(store: IdempotencyStore, *, config: IdempotencyConfig | None = None,
               event_key: Selector = None, **options: Any) -> Callable[[F], F]:
    """Make a Lambda handler ``handler(event, context)`` idempotent on ``event_key`` of the event.

    The first invocation runs and its (JSON) result is stored; a repeat within ``expires_after`` returns the
    stored result without running; a concurrent duplicate raises :class:`IdempotencyInProgress` (or waits,
    ``in_progress="wait"``). The in-progress lock expires when the Lambda would time out (from
    ``context.get_remaining_time_in_millis()``). Options: see :class:`IdempotencyConfig`.
    ``DDBKIT_IDEMPOTENCY_DISABLED=1`` turns it off (local tests).
    """
    if event_key is not None:
        options["event_key"] = event_key
    cfg = _config(config, options)

    def decorate(fn: F) -> F:
        is_async = _check_kind(store, fn)
        prefix = cfg.key_prefix or function_prefix(fn)

        if is_async:
            @functools.wraps(fn)
            async def awrapper(event: Any, context: Any = None, *args: Any, **kwargs: Any) -> Any:
                if _disabled():
                    return await fn(event, context, *args, **kwargs)
                store.register_lambda_context(context)
                return await arun_plan(store, store.plan(event, cfg, prefix),
                                       lambda: fn(event, context, *args, **kwargs))

            return cast(F, awrapper)

        @functools.wraps(fn)
        def wrapper(event: Any, context: Any = None, *args: Any, **kwargs: Any) -> Any:
            if _disabled():
                return fn(event, context, *args, **kwargs)
            store.register_lambda_context(context)
            return run_plan(store, store.plan(event, cfg, prefix), lambda: fn(event, context, *args, **kwargs))

        return cast(F, wrapper)

    return decorate


def idempotent_function(store: IdempotencyStore, *, data: str | None = None,
                        config: IdempotencyConfig | None = None, event_key: Selector = None,
                        **options: Any) -> Callable[[F], F]:
    """Make any function idempotent on its argument ``data`` (a parameter name; default: the first
    argument), selected by ``event_key``. Same behaviour and options as :func:`idempotent`; the lock lasts
    ``lock_timeout`` seconds unless :meth:`IdempotencyStore.register_lambda_context` was called."""
    if event_key is not None:
        options["event_key"] = event_key
    cfg = _config(config, options)

    def decorate(fn: F) -> F:
        is_async = _check_kind(store, fn)
        prefix = cfg.key_prefix or function_prefix(fn)
        sig = inspect.signature(fn)
        name = data or next(iter(sig.parameters), None)
        if name is None or name not in sig.parameters:
            raise TypeError(f"{fn.__qualname__} has no parameter {data!r} to take the idempotency key from")

        def payload(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            bound = sig.bind_partial(*args, **kwargs)
            if name not in bound.arguments:
                raise TypeError(f"{fn.__qualname__}() must be called with {name!r} (the idempotency payload)")
            return bound.arguments[name]

        if is_async:
            @functools.wraps(fn)
            async def awrapper(*args: Any, **kwargs: Any) -> Any:
                if _disabled():
                    return await fn(*args, **kwargs)
                return await arun_plan(store, store.plan(payload(args, kwargs), cfg, prefix),
                                       lambda: fn(*args, **kwargs))

            return cast(F, awrapper)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if _disabled():
                return fn(*args, **kwargs)
            return run_plan(store, store.plan(payload(args, kwargs), cfg, prefix), lambda: fn(*args, **kwargs))

        return cast(F, wrapper)

    return decorate
