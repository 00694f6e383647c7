"""Bounded retries: which errors, how long to wait, when to give up (tenacity underneath).

Only ``TransientApiError`` is retried. Waits are capped exponential backoff with full jitter,
except after a 429 (``RateLimited``): ``Pace``'s shared pause already holds every task until
the server's Retry-After, so waiting here too would only add to it. A call stops after
``RetryPolicy.attempts`` or when the run's ``RetryBudget`` refuses, and then raises its last
error itself, not tenacity's ``RetryError``.

Retries after a 429 count towards the attempts but not the budget: the shared pause meters
them, and a storm of them must not use up the retries that 5xx and resets need.

``with_retries`` makes a call's first attempt itself and builds the tenacity loop only once
that attempt failed with a ``TransientApiError``: nearly every call succeeds at once, and
an ``AsyncRetrying`` per call (a ``Future`` with its lock, ``inspect`` checks of each
callback) was the largest part of the worker's CPU per cancel (benchmark scenario 4). The
loop is then given that failure as its attempt 1, so that it counts, waits, spends the
budget and logs exactly as if it had made the attempt itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio
import structlog
import tenacity

from worker.errors import ApiError, RateLimited, TransientApiError

T = TypeVar("T")

__all__ = ["RetryBudget", "RetryPolicy", "retrying", "with_retries"]

_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How one call retries: attempts (the first included) and the backoff's bounds."""

    attempts: int = 5
    initial: float = 0.2  # seconds: the first wait is drawn from [0, initial]
    maximum: float = 10.0  # seconds: no single wait is longer

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {self.attempts}")
        if not 0 < self.initial <= self.maximum:
            raise ValueError(
                f"need 0 < initial <= maximum, got initial={self.initial} maximum={self.maximum}"
            )


class RetryBudget:
    """Retries for the whole run: at most max(min_retries, ratio * first attempts).

    A server that fails everything then sees at most ``1 + ratio`` times the requests, not
    ``attempts`` times (the retry budget of Google's SRE book, "Handling Overload").
    """

    def __init__(self, *, ratio: float = 0.2, min_retries: int = 20) -> None:
        if ratio < 0 or min_retries < 0:
            raise ValueError("ratio and min_retries must not be negative")
        self._ratio = ratio
        self._min_retries = min_retries
        self._first_attempts = 0
        self._retries = 0

    @property
    def retries(self) -> int:
        """Retries spent so far."""
        return self._retries

    @property
    def first_attempts(self) -> int:
        """First attempts recorded so far."""
        return self._first_attempts

    @property
    def allowed(self) -> int:
        """Retries the run may spend in all, as of now."""
        return max(self._min_retries, int(self._ratio * self._first_attempts))

    @property
    def exhausted(self) -> bool:
        """True while no retry is left (more first attempts may refill it)."""
        return self._retries >= self.allowed

    def record_attempt(self) -> None:
        """Count a first attempt: once per call, whatever its retries."""
        self._first_attempts += 1

    def try_spend(self) -> bool:
        """True, spending one retry, if the budget allows another."""
        if self.exhausted:
            return False
        self._retries += 1
        return True


def retrying(
    policy: RetryPolicy,
    budget: RetryBudget,
    *,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> tenacity.AsyncRetrying:
    """The attempts of one call: ``async for attempt in retrying(...): with attempt: ...``.

    ``attempt.retry_state.attempt_number`` tells each attempt (1 for the first). The caller
    records the call's first attempt with ``budget.record_attempt()``. Use a new one per
    call: it holds the call's state.
    """
    return tenacity.AsyncRetrying(
        sleep=sleep,
        retry=tenacity.retry_if_exception_type(TransientApiError),
        wait=_Backoff(policy),
        # stop_any asks in order, so the budget is only spent when attempts remain.
        stop=tenacity.stop_after_attempt(policy.attempts) | _BudgetRefuses(budget),
        before_sleep=_log_retry,
        reraise=True,
    )


async def with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    budget: RetryBudget,
    *,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> T:
    """``await call()`` until it succeeds or ``retrying`` gives up, re-raising the last error.

    Counts the first attempt against ``budget``. Each ``await call()`` is one attempt, so a
    caller that must see its attempts (a cancel counts them) counts inside ``call``.
    """
    budget.record_attempt()
    try:
        return await call()
    except TransientApiError as exc:
        first_failure: TransientApiError | None = exc
    # Only now the tenacity loop (see the module docstring). Its attempt 1 re-raises the
    # failure above instead of calling again: tenacity then decides, waits and logs as if
    # it had made that attempt, and the attempt cap still counts it.
    async for attempt in retrying(policy, budget, sleep=sleep):
        with attempt:
            if first_failure is not None:
                failure, first_failure = first_failure, None
                raise failure
            return await call()
    raise AssertionError("unreachable: retrying() re-raises the last error")  # pragma: no cover


class _Backoff(tenacity.wait.wait_base):
    """Full jitter in [0, min(maximum, initial * 2**(n-1))] after attempt n; 0 after a 429."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._jitter = tenacity.wait_random_exponential(
            multiplier=policy.initial, max=policy.maximum
        )

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        if isinstance(_error(retry_state), RateLimited):
            return 0.0
        return self._jitter(retry_state)


class _BudgetRefuses(tenacity.stop.stop_base):
    """Stop when the run's budget has no retry left; 429 retries draw nothing from it."""

    def __init__(self, budget: RetryBudget) -> None:
        self._budget = budget

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        if isinstance(_error(retry_state), RateLimited):
            return False
        if self._budget.try_spend():
            return False
        _log.warning(
            "retry.budget_exhausted",
            retries=self._budget.retries,
            first_attempts=self._budget.first_attempts,
        )
        return True


def _log_retry(retry_state: tenacity.RetryCallState) -> None:
    error = _error(retry_state)
    _log.info(
        "retry.scheduled",
        attempt=retry_state.attempt_number + 1,
        wait=retry_state.upcoming_sleep,
        error=type(error).__name__,
        status=error.status if isinstance(error, ApiError) else None,
    )


def _error(retry_state: tenacity.RetryCallState) -> BaseException | None:
    outcome = retry_state.outcome
    return outcome.exception() if outcome is not None and outcome.failed else None
