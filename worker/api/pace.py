"""One pace per run and API key: every request (list pages, GETs, cancels) goes through it.

The server counts all of a key's requests together, so one ``Pace`` holds, for all of them:
- a burst-free limiter (aiolimiter) running at the target rate less ``HEADROOM``;
- one shared pause: a 429 sets a deadline from Retry-After that ``acquire()`` waits out for
  everybody, later 429s extend it and never shorten it;
- the target rate (``worker.api._aimd.RateController``): fixed, or ``AUTO`` (``--rate
  auto``, a ``worker.rate.Rate`` like every rate setting), found by AIMD and RateLimit-* headers;
- the concurrency that rate needs, by Little's law.

Use: ``await pace.acquire()`` right before sending, ``pace.observe(...)`` once the attempt
has finished, whatever its end (an answer, a reset, a timeout).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import anyio
import structlog
from aiolimiter import AsyncLimiter

from worker.api._aimd import RateController
from worker.api._rate_headers import RateLimitHint, parse_rate_limit, retry_after_seconds
from worker.rate import AUTO, Rate

__all__ = [
    "DEFAULT_AUTO_START_RATE",
    "DEFAULT_PAUSE",
    "HEADROOM",
    "MAX_PAUSE",
    "Pace",
    "PaceStats",
    "littles_law_concurrency",
]

DEFAULT_AUTO_START_RATE = 5.0  # req/s: Compago documents no limit, so start where any would do
# The limiter runs at (1 - HEADROOM) x the target. The server counts arrivals, not our evenly
# spaced sends: at exactly N/s a request held up a few ms by scheduling lands next to its
# successor, and about every other arrival would find N already in its window. Here any
# window of length 1 + J (J: the spread of send-to-arrival delays) holds at most
# 1 + (1 - HEADROOM) N (1 + SLACK + J) sends, which stays within N for every N while
# SLACK + J < HEADROOM / (1 - HEADROOM) = 25.6 ms, so J may reach ~20 ms: ample on loopback
# and within a region. 0.025 keeps 0.975 of the limit, above the 0.97 asked, with a margin
# for the event loop's own lateness; 0.03 would leave none. Measured on loopback against a
# sliding window of 200/s with --rate 200: 194-195 req/s sent, no 429, busiest window 197.
HEADROOM = 0.025
# A bucket of exactly 1 (max_rate=1) is burst-free but never catches up: every wake-up that
# comes late (the selector rounds timeouts up to the millisecond, other tasks run first)
# stretches that interval for good, and at 200 req/s 1 ms late is 17 % lost. A capacity of
# 1 + rate x SLACK lets a send that was up to SLACK late be followed on schedule; it is no
# burst beyond SLACK's worth of requests, which the bound above already counts.
SLACK = 0.005  # seconds
DEFAULT_PAUSE = 1.0  # seconds, for a 429 without Retry-After: a per-second window empties
# A Retry-After of an hour would silently stall a cron job; waking after a minute costs at
# most one more 429, which pauses again.
MAX_PAUSE = 60.0
CONCURRENCY_HEADROOM = 2.0  # x rate x mean latency: the tail of the latency needs workers too
INITIAL_LATENCY = 0.2  # seconds, until the first answer is timed
LATENCY_WEIGHT = 0.2  # EWMA weight of the newest latency sample
_RETUNE_STEP = 0.005  # raise the limiter's rate in steps of 0.5 %; cuts apply at once

_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class PaceStats:
    """A snapshot of a ``Pace`` for the summary and logs."""

    auto: bool
    rate: float  # target, req/s
    effective_rate: float  # what the limiter runs at: rate less the headroom
    concurrency: int
    latency: float  # EWMA of answered requests, seconds
    requests: int  # slots handed out by acquire()
    rate_limited: int  # 429 answers
    pauses: int  # shared pauses started (extensions not counted)
    paused_seconds: float  # total length of the shared pauses
    cuts: int  # multiplicative rate cuts
    trip: float | None  # the rate that last drew a 429, while remembered
    quota: float | None  # RateLimit-Limit as req/s, when the server sends it


class Pace:
    """The shared limiter, 429 pause, target rate and concurrency of one run and API key."""

    def __init__(
        self,
        *,
        rate: Rate,
        ceiling: float | None = None,
        start_rate: float = DEFAULT_AUTO_START_RATE,
        max_concurrency: int = 256,
        concurrency: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``rate``: ``AUTO`` (found at run time from ``start_rate``) or a fixed req/s."""
        if rate != AUTO and (isinstance(rate, bool) or not isinstance(rate, int | float)):
            raise ValueError(f"rate must be a positive number or {AUTO!r}, got {rate!r}")
        fixed = None if rate == AUTO else rate
        for name, value in (("rate", fixed), ("ceiling", ceiling), ("start_rate", start_rate)):
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if max_concurrency < 1 or (concurrency is not None and concurrency < 1):
            raise ValueError("concurrency must be at least 1")
        cap = min(fixed or math.inf, ceiling or math.inf)
        self._auto = fixed is None
        self._controller = RateController(
            start=start_rate if fixed is None else cap, cap=cap, clock=clock, fixed=not self._auto
        )
        self._clock = clock
        self._max_concurrency = max_concurrency
        self._fixed_concurrency = concurrency
        self._latency = INITIAL_LATENCY
        self._pause_until = -math.inf
        self._requests = self._rate_limited = self._pauses = 0
        self._paused_seconds = 0.0
        self._quota: float | None = None
        self._limiter_rate = self.effective_rate
        self._limiter = AsyncLimiter(*_bucket(self._limiter_rate))

    @property
    def auto(self) -> bool:
        """Whether the rate is found at run time (``--rate auto``)."""
        return self._auto

    @property
    def rate(self) -> float:
        """The current target rate, req/s."""
        return self._controller.rate

    @property
    def effective_rate(self) -> float:
        """The rate the limiter runs at: the target less ``HEADROOM``."""
        return self._controller.rate * (1 - HEADROOM)

    @property
    def concurrency(self) -> int:
        """Requests to keep in flight: the fixed value, else Little's law, 1..max_concurrency."""
        if self._fixed_concurrency is not None:
            return self._fixed_concurrency
        return littles_law_concurrency(self.rate, self._latency, self._max_concurrency)

    @property
    def max_concurrency(self) -> int:
        """The cap of ``concurrency`` (the fixed value when one was given)."""
        return self._fixed_concurrency or self._max_concurrency

    @property
    def paused_until(self) -> float | None:
        """The clock value the shared pause lasts until, or None when not paused."""
        until = self._pause_until
        if until == -math.inf:  # never paused: no clock to read (twice per request)
            return None
        return until if until > self._clock() else None

    async def acquire(self) -> None:
        """Wait out any shared pause, then take one slot of the burst-free limiter."""
        while True:
            # A deadline, not an event: a later 429 may move it while we sleep, so look again.
            if (until := self.paused_until) is not None:
                await anyio.sleep(until - self._clock())
                continue
            await self._limiter.acquire()
            if self.paused_until is None:
                self._requests += 1
                return
            # A 429 landed while this task queued: sending now would go into the pause,
            # and the slots handed out during it would all go at once when it ends.

    def observe(
        self, *, status: int | None, headers: Mapping[str, str] | None, latency: float
    ) -> None:
        """Feed one finished attempt; status None means no answer (reset, timeout).

        A 429 sets the shared pause from Retry-After (seconds or HTTP date; DEFAULT_PAUSE
        when absent) and cuts the rate; RateLimit-* headers cap it; clean answers raise an
        auto rate, and their latency feeds Little's law.
        """
        now = self._clock()
        if status is not None:
            # A timeout's latency is the timeout: it would inflate concurrency for nothing.
            self._latency += LATENCY_WEIGHT * (max(latency, 0.0) - self._latency)
        hint = parse_rate_limit(headers) if headers else None
        if hint is not None:
            self._follow(hint, now)
        if status == 429:
            self._rate_limited += 1
            seconds = retry_after_seconds(headers)
            self._pause(now, DEFAULT_PAUSE if seconds is None else seconds, cause="429")
            previous = self._controller.rate
            if self._controller.on_rate_limited(latency=max(latency, 0.0)):
                _log.warning(
                    "pace.rate_changed", rate=self._controller.rate, previous=previous, cause="429"
                )
        clean = status is not None and status != 429 and status < 500
        self._controller.on_answer(clean=clean, now=now)
        self._sync_limiter()

    def hold(self, seconds: float, *, cause: str) -> None:
        """Hold every request for ``seconds`` (at most ``MAX_PAUSE``) in the shared pause.

        For a run-wide back-off that is not a 429 (the retry quota ran dry): one deadline,
        extended by a longer hold and never shortened, as after a 429.
        """
        self._pause(self._clock(), seconds, cause=cause)

    def snapshot(self) -> PaceStats:
        """The current numbers, for the run's summary."""
        return PaceStats(
            auto=self._auto,
            rate=self.rate,
            effective_rate=self.effective_rate,
            concurrency=self.concurrency,
            latency=self._latency,
            requests=self._requests,
            rate_limited=self._rate_limited,
            pauses=self._pauses,
            paused_seconds=self._paused_seconds,
            cuts=self._controller.cuts,
            trip=self._controller.trip,
            quota=self._quota,
        )

    def _follow(self, hint: RateLimitHint, now: float) -> None:
        quota = hint.limit_per_second
        if quota is not None:
            self._quota = quota
            previous = self._controller.rate
            self._controller.on_quota(quota)
            if self._controller.rate != previous:
                _log.info(
                    "pace.rate_changed",
                    rate=self._controller.rate,
                    previous=previous,
                    cause="ratelimit_limit",
                )
        if hint.remaining is not None and hint.remaining < 1:
            # Nothing left in the window: wait together, without 429s. Reset is whole
            # seconds (the draft's delta-seconds) and, for a sliding window, the time until
            # the *oldest* request leaves it; at a steady pace one slot frees every
            # 1/quota, so waiting a whole second would throw away up to a second of quota.
            # A fixed window that really is empty for longer answers the next request
            # with a 429, whose Retry-After then pauses for the rest of it.
            reset = DEFAULT_PAUSE if hint.reset is None else hint.reset
            if quota is not None:
                reset = min(reset, 1 / quota)
            self._pause(now, reset, cause="quota_used")

    def _pause(self, now: float, seconds: float, *, cause: str) -> None:
        until = now + min(seconds, MAX_PAUSE)
        if until <= self._pause_until:
            return  # one deadline for everybody, and it never moves earlier
        if self._pause_until <= now:
            self._pauses += 1
            # Waiting for a slot the RateLimit headers announce is the pace working, not a
            # problem: info. A 429 or a dry retry quota is a person's business: warning.
            level = logging.INFO if cause == "quota_used" else logging.WARNING
            _log.log(level, "pace.paused", seconds=round(until - now, 3), cause=cause)
        self._paused_seconds += until - max(self._pause_until, now)
        self._pause_until = until

    def _sync_limiter(self) -> None:
        rate, current = self.effective_rate, self._limiter_rate
        if rate < current or rate > current * (1 + _RETUNE_STEP):
            _retune(self._limiter, rate)
            self._limiter_rate = rate


def littles_law_concurrency(rate: float, latency: float, max_concurrency: int) -> int:
    """Requests to keep in flight at target ``rate`` when an answer takes ``latency`` seconds.

    Little's law at the limiter's rate (the target less ``HEADROOM``), times
    ``CONCURRENCY_HEADROOM`` for the tail of the latency, within 1..``max_concurrency``.
    """
    wanted = math.ceil(rate * (1 - HEADROOM) * latency * CONCURRENCY_HEADROOM)
    return max(1, min(max_concurrency, wanted))


def _bucket(rate: float) -> tuple[float, float]:
    """AsyncLimiter's (max_rate, time_period) for ``rate`` req/s, burst-free but SLACK."""
    capacity = 1.0 + rate * SLACK
    return capacity, capacity / rate


def _retune(limiter: AsyncLimiter, rate: float) -> None:
    """Run a live limiter at ``rate`` from now on, keeping its queue of waiters."""
    # aiolimiter (1.2, 1.3) has no public way to change the rate: the leak uses
    # _rate_per_sec, fixed in __init__, and a new limiter would strand the tasks queued in
    # the old one. So, in the order the limiter itself works: drain the time elapsed so far
    # at the old rate (_leak), set capacity and rate, then let it re-plan its single timer
    # (_wake_next cancels the pending one, then wakes the head waiter if it now fits or
    # re-arms for the new rate). The waiter heap is not touched, so no waiter is lost, and
    # only _wake_next's own pop releases one, so none is released twice. Without a running
    # loop nothing can be queued yet and only the numbers change.
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        running = False
    else:
        running = True
    if running:
        limiter._leak()
    limiter.max_rate, limiter.time_period = _bucket(rate)
    limiter._rate_per_sec = rate
    if running:
        limiter._wake_next()
