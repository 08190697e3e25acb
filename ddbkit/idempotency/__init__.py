"""Exactly-once effects for Lambda handlers, functions and stream processors (docs/idempotency.md).

>>> from ddbkit import Table                                                       # doctest: +SKIP
>>> from ddbkit.idempotency import IdempotencyStore, idempotent                   # doctest: +SKIP
>>> store = IdempotencyStore(Table("Idempotency", key="id"))                       # doctest: +SKIP
>>> @idempotent(store, event_key="body.orderId")                                   # doctest: +SKIP
... def handler(event, context): ...

A lazy subpackage: ``import ddbkit`` does not import it, and importing it imports neither boto3 nor
jmespath (loaded on the first JMESPath selector).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "IdempotencyStore": "ddbkit.idempotency.core",
    "IdempotencyConfig": "ddbkit.idempotency.core",
    "Record": "ddbkit.idempotency.core",
    "INPROGRESS": "ddbkit.idempotency.core",
    "COMPLETED": "ddbkit.idempotency.core",
    "EXPIRED": "ddbkit.idempotency.core",
    "idempotent": "ddbkit.idempotency.decorators",
    "idempotent_function": "ddbkit.idempotency.decorators",
    "RecordIdempotency": "ddbkit.idempotency.streams",
    "IdempotencyError": "ddbkit.idempotency.errors",
    "IdempotencyInProgress": "ddbkit.idempotency.errors",
    "IdempotencyValidationError": "ddbkit.idempotency.errors",
    "IdempotencyKeyError": "ddbkit.idempotency.errors",
    "IdempotencyPersistenceError": "ddbkit.idempotency.errors",
    "component_path": "ddbkit.idempotency.component",
    "load_component": "ddbkit.idempotency.component",
    "Outbox": "ddbkit.idempotency.outbox",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ddbkit.idempotency' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if TYPE_CHECKING:  # pragma: no cover
    from ddbkit.idempotency.component import component_path as component_path
    from ddbkit.idempotency.component import load_component as load_component
    from ddbkit.idempotency.core import COMPLETED as COMPLETED
    from ddbkit.idempotency.core import EXPIRED as EXPIRED
    from ddbkit.idempotency.core import INPROGRESS as INPROGRESS
    from ddbkit.idempotency.core import IdempotencyConfig as IdempotencyConfig
    from ddbkit.idempotency.core import IdempotencyStore as IdempotencyStore
    from ddbkit.idempotency.core import Record as Record
    from ddbkit.idempotency.decorators import idempotent as idempotent
    from ddbkit.idempotency.decorators import idempotent_function as idempotent_function
    from ddbkit.idempotency.errors import IdempotencyError as IdempotencyError
    from ddbkit.idempotency.errors import IdempotencyInProgress as IdempotencyInProgress
    from ddbkit.idempotency.errors import IdempotencyKeyError as IdempotencyKeyError
    from ddbkit.idempotency.errors import IdempotencyPersistenceError as IdempotencyPersistenceError
    from ddbkit.idempotency.errors import IdempotencyValidationError as IdempotencyValidationError
    from ddbkit.idempotency.outbox import Outbox as Outbox
    from ddbkit.idempotency.streams import RecordIdempotency as RecordIdempotency
