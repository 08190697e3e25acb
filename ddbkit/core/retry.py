"""Retry decisions, shared by the sync and async clients (pure: no sleeping, no I/O here).

A :class:`RetryPolicy` says *whether* an error may be retried and *how long* to wait: exponential
backoff with full jitter (AWS's recommendation), bounded attempts. The drivers in ``ddbkit.core.engine`` and
``ddbkit.aio`` feed it to tenacity's ``Retrying``/``AsyncRetrying`` for single calls; the batch engine
uses :meth:`RetryPolicy.backoff` between rounds of unprocessed items.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from ddbkit.errors import DynamoDBError

__all__ = ["RetryPolicy", "DEFAULT_POLICY"]


@dataclass(frozen=True)
class RetryPolicy:
    """How ddbkit retries.

    ``max_attempts`` counts the first try: 8 means up to 7 retries. The wait before retry *n* (1-based)
    is uniform in ``[0, min(max_delay, base_delay * 2**(n-1))]`` (full jitter). ``retry_codes`` adds
    DynamoDB error codes to the retryable ones (throttling, 5xx, connection failures, transaction
    conflicts). ``seed`` makes the jitter reproducible in tests.
    """

    max_attempts: int = 8
    base_delay: float = 0.025
    max_delay: float = 5.0
    retry_codes: frozenset[str] = frozenset()
    seed: int | None = None
    _rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays must be >= 0")
        if self.seed is not None:
            self._rng.seed(self.seed)

    def is_retryable(self, error: BaseException) -> bool:
        """True for throttling, 5xx, connection failures and transaction conflicts (and ``retry_codes``)."""
        if isinstance(error, DynamoDBError):
            return error.retryable or error.code in self.retry_codes
        return False

    def should_retry(self, allowed: bool, error: BaseException) -> bool:
        """Whether a failed call may be sent again: allowed for it, retries left, and a retryable error."""
        return allowed and self.max_attempts > 1 and self.is_retryable(error)

    def backoff(self, retry_number: int) -> float:
        """Seconds to wait before retry ``retry_number`` (1 for the first retry)."""
        cap = min(self.max_delay, self.base_delay * (2 ** max(0, retry_number - 1)))
        return self._rng.uniform(0, cap)

    def tenacity_kwargs(self) -> dict[str, Any]:
        """Arguments for ``tenacity.Retrying``/``AsyncRetrying`` implementing this policy.

        The drivers try once without tenacity (the fast path), sleep ``backoff(1)`` and only then hand
        the call to tenacity, which so gets ``max_attempts - 1`` attempts and waits ``backoff(n + 1)``
        after its n-th.
        """
        from tenacity import retry_if_exception, stop_after_attempt

        def wait(state: Any) -> float:
            return self.backoff(state.attempt_number + 1)

        return {
            "stop": stop_after_attempt(max(1, self.max_attempts - 1)),
            "wait": wait,
            "retry": retry_if_exception(self.is_retryable),
            "reraise": True,
        }


DEFAULT_POLICY = RetryPolicy()
