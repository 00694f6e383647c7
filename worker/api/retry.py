"""Bounded retries: which errors, how long to wait, when to give up (tenacity underneath).

Only ``TransientApiError`` is retried. Waits are capped exponential backoff with full jitter,
except after a 429 (``RateLimited``): ``Pace``'s shared pause already holds every task until
the server's Retry-After, so waiting here too would only add to it. A call stops after
``RetryPolicy.attempts`` and then raises its last error itself, not tenacity's ``RetryError``.

Every retry but a 429's is paid from the run's ``RetryQuota``, botocore's standard retry
mode quota (botocore/retries/quota.py ``RetryQuota`` and standard.py ``RetryQuotaChecker``):
it starts full at ``capacity`` (500), a retry costs ``RETRY_COST`` (5), or
``NO_RESPONSE_RETRY_COST`` (10) after a reset or a timeout, and a call that ends with an
answer refunds what its last retry cost, or ``NO_RETRY_REFUND`` (1) when it needed none;
the quota never holds more than its capacity. "Answered" is a call that returned: a 400 or
404 a caller acts on is the server working, though botocore refunds on 2xx alone. (These
are the standard mode's costs; botocore's newer retry mode charges 14 per retry.) While
most requests are answered the quota stays near full, however long the run. Retries after
a 429 cost nothing: the shared pause meters them, and a storm of them must not use up the
retries that 5xx and resets need.

When a retry finds the quota dry, the call does not give up: the whole run backs off (a
shared pause in ``Pace`` before any new request, growing from ``RetryPolicy.initial`` to
``RetryPolicy.maximum`` while the quota stays dry, each followed by as long without one),
then the call asks again. Each time it was refused uses up one of its attempts, so it
still gives up after ``attempts``.

The bound: no retry is sent unpaid, every retry costs at least ``RETRY_COST``, and only
answered calls refund. So a run sends at most its first attempts (one per call: a page, a
GET, a cancel in each pass) plus ``(capacity + answered calls) / RETRY_COST`` retries;
against a server that answers nothing (every request a 5xx or a reset) that is
``capacity / RETRY_COST`` retries, 100 by default.

``with_retries`` makes a call's first attempt itself and builds the tenacity loop only once
that attempt failed with a ``TransientApiError``: nearly every call succeeds at once, and
an ``AsyncRetrying`` per call (a ``Future`` with its lock, ``inspect`` checks of each
callback) was the largest part of the worker's CPU per cancel (benchmark scenario 4). The
loop is then given that failure as its attempt 1, so that it counts, waits, pays and logs
exactly as if it had made the attempt itself.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio
import structlog
import tenacity

from worker.errors import ApiError, NoResponse, RateLimited, TransientApiError

T = TypeVar("T")

__all__ = [
    "DEFAULT_QUOTA",
    "NO_RESPONSE_RETRY_COST",
    "NO_RETRY_REFUND",
    "RETRY_COST",
    "RetryPolicy",
    "RetryQuota",
    "with_retries",
]

DEFAULT_QUOTA = 500  # botocore's RetryQuota.INITIAL_CAPACITY
RETRY_COST = 5  # botocore's RetryQuotaChecker._RETRY_COST
NO_RESPONSE_RETRY_COST = 10  # _TIMEOUT_RETRY_REQUEST: a request that got no answer at all
NO_RETRY_REFUND = 1  # _NO_RETRY_INCREMENT: a call answered at its first attempt
_MAX_DOUBLINGS = 32  # the dry pause stops growing long before; keeps 2**n a small number

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


class RetryQuota:
    """The run's retries: a quota that retries draw from and answered calls refill.

    ``hold(seconds)`` is told when a dry quota starts a pause (``Pace.hold``, so that every
    request of the run waits it out); ``pause_initial`` and ``pause_maximum`` bound that
    pause, which doubles while the quota stays dry and starts over after a refund.
    """

    def __init__(
        self,
        capacity: int = DEFAULT_QUOTA,
        *,
        pause_initial: float = 0.2,
        pause_maximum: float = 10.0,
        hold: Callable[[float], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 0:
            raise ValueError(f"capacity must not be negative, got {capacity}")
        if not 0 < pause_initial <= pause_maximum:
            raise ValueError("need 0 < pause_initial <= pause_maximum")
        self.capacity = capacity
        self._available = capacity
        self._pause_initial = pause_initial
        self._pause_maximum = pause_maximum
        self._hold = hold
        self._clock = clock
        self._dry_streak = 0
        self._dry_until = -float("inf")
        self._last_pause = 0.0
        self._retries = 0
        self._dry_pauses = 0

    @property
    def available(self) -> int:
        """What is left to pay retries with."""
        return self._available

    @property
    def retries(self) -> int:
        """Retries paid so far (those after a 429 are free and not counted)."""
        return self._retries

    @property
    def dry_pauses(self) -> int:
        """Pauses the run took because a retry found the quota dry."""
        return self._dry_pauses

    def try_acquire(self, cost: int) -> bool:
        """True, paying ``cost``, when the quota holds that much; else False, unchanged."""
        if cost > self._available:
            return False
        self._available -= cost
        self._retries += 1
        return True

    def release(self, amount: int) -> None:
        """Refund ``amount`` after an answered call, never above the capacity."""
        self._dry_streak = 0
        if self._available < self.capacity:
            self._available = min(self.capacity, self._available + amount)

    def back_off(self) -> float:
        """Seconds to wait before asking again: the run's dry pause, started or joined.

        A pause is followed by a run of as long in which no new pause starts: the requests
        the pause held go out then (first attempts, paid retries), and a retry refused
        meanwhile waits alone for that run's end. Without it, each request released by a
        pause could fail and start the next one, and the run would creep one request per
        pause.
        """
        now = self._clock()
        if now < self._dry_until + self._last_pause:
            if now < self._dry_until:
                return self._dry_until - now  # join the pause
            return self._dry_until + self._last_pause - now  # wait out the run that follows
        seconds = min(
            self._pause_maximum,
            self._pause_initial * 2.0 ** min(self._dry_streak, _MAX_DOUBLINGS),
        )
        self._dry_streak += 1
        self._dry_pauses += 1
        self._dry_until = now + seconds
        self._last_pause = seconds
        _log.warning(
            "retry.quota_exhausted", available=self._available, retries=self._retries, pause=seconds
        )
        if self._hold is not None:
            self._hold(seconds)
        return seconds


async def with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    quota: RetryQuota,
    *,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> T:
    """``await call()`` until it succeeds or the attempts run out, re-raising the last error.

    Each ``await call()`` is one attempt, so a caller that must see its attempts (a cancel
    counts them) counts inside ``call``; an attempt the dry quota refused is not a call.
    """
    try:
        result = await call()
    except TransientApiError as exc:
        first_failure: TransientApiError = exc
    else:
        quota.release(NO_RETRY_REFUND)
        return result
    # Only now the tenacity loop (see the module docstring). Its attempt 1 re-raises the
    # failure above instead of calling again: tenacity then decides, waits and logs as if
    # it had made that attempt, and the attempt cap still counts it. So does an attempt
    # the dry quota refused: it re-raises the last failure, and tenacity asks again.
    ticket = _Ticket(last_failure=first_failure, replay=True)
    async for attempt in _retrying(policy, quota, ticket, sleep=sleep):
        with attempt:
            if ticket.replay:
                raise ticket.last_failure
            try:
                result = await call()
            except TransientApiError as exc:
                ticket.last_failure = exc
                raise
            quota.release(ticket.paid or NO_RETRY_REFUND)
            return result
    raise AssertionError("unreachable: _retrying() re-raises the last error")  # pragma: no cover


@dataclass(slots=True)
class _Ticket:
    """One call's dealings with the quota: its last failure, what it paid, whether refused."""

    last_failure: TransientApiError
    replay: bool  # the next attempt re-raises last_failure instead of calling
    paid: int = 0  # what its last paid retry cost: the refund when the call is answered


def _retrying(
    policy: RetryPolicy,
    quota: RetryQuota,
    ticket: _Ticket,
    *,
    sleep: Callable[[float], Awaitable[None]],
) -> tenacity.AsyncRetrying:
    return tenacity.AsyncRetrying(
        sleep=sleep,
        retry=tenacity.retry_if_exception_type(TransientApiError),
        wait=_PaidBackoff(policy, quota, ticket),
        stop=tenacity.stop_after_attempt(policy.attempts),
        before_sleep=_log_retry(ticket),
        reraise=True,
    )


class _PaidBackoff(tenacity.wait.wait_base):
    """Pays the next attempt from the quota, and says how long to wait before it.

    Full jitter in [0, min(maximum, initial * 2**(n-1))] after attempt n; 0 after a 429,
    which is free; when the quota refuses, the rest of the run's dry pause, and the next
    attempt is a replay. tenacity (8.3 to 9.2) asks ``wait`` before ``stop``, so the cap is
    checked here too: nothing is paid for an attempt that will not be made.
    """

    def __init__(self, policy: RetryPolicy, quota: RetryQuota, ticket: _Ticket) -> None:
        self._attempts = policy.attempts
        self._quota = quota
        self._ticket = ticket
        self._jitter = tenacity.wait_random_exponential(
            multiplier=policy.initial, max=policy.maximum
        )

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        ticket = self._ticket
        if retry_state.attempt_number >= self._attempts:
            return 0.0  # the stop ends the call
        error = ticket.last_failure
        if isinstance(error, RateLimited):
            ticket.replay = False
            return 0.0
        cost = NO_RESPONSE_RETRY_COST if isinstance(error, NoResponse) else RETRY_COST
        if not self._quota.try_acquire(cost):
            ticket.replay = True
            return self._quota.back_off()
        ticket.replay, ticket.paid = False, cost
        return float(self._jitter(retry_state))


def _log_retry(ticket: _Ticket) -> Callable[[tenacity.RetryCallState], None]:
    def log_retry(retry_state: tenacity.RetryCallState) -> None:
        if ticket.replay:
            return  # nothing is sent: RetryQuota.back_off logged the run's pause
        error = ticket.last_failure
        _log.info(
            "retry.scheduled",
            attempt=retry_state.attempt_number + 1,
            wait=retry_state.upcoming_sleep,
            error=type(error).__name__,
            status=error.status if isinstance(error, ApiError) else None,
        )

    return log_retry
