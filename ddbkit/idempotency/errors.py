"""The idempotency errors (all :class:`~ddbkit.errors.DdbkitError`)."""

from __future__ import annotations

from typing import Any

from ddbkit.errors import DdbkitError

__all__ = ["IdempotencyError", "IdempotencyInProgress", "IdempotencyValidationError", "IdempotencyKeyError",
           "IdempotencyPersistenceError"]


class IdempotencyError(DdbkitError):
    """Base class of the idempotency errors."""


class IdempotencyInProgress(IdempotencyError):
    """Another invocation with the same idempotency key is running (its lock has not expired). Retry later:
    its result is returned once it completes. ``key`` is the idempotency key."""

    def __init__(self, key: str, message: str = "") -> None:
        self.key = key
        super().__init__(message or f"an invocation with idempotency key {key!r} is already in progress")


class IdempotencyValidationError(IdempotencyError, ValueError):
    """The same idempotency key came with a different payload (``payload_validation`` differs)."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"payload does not match the stored record for idempotency key {key!r}: the same key "
                         "was used for a different request")


class IdempotencyKeyError(IdempotencyError, ValueError):
    """The key selector found nothing in the payload and ``raise_on_no_key`` is set."""


class IdempotencyPersistenceError(IdempotencyError):
    """The store could not record the outcome (``cause`` is the underlying error; ``error`` the function's
    own error when it was releasing the lock after the function failed)."""

    def __init__(self, message: str, cause: BaseException | None = None, error: BaseException | None = None,
                 result: Any = None) -> None:
        self.cause, self.error, self.result = cause, error, result
        super().__init__(f"{message}: {cause!r}" if cause is not None else message)
