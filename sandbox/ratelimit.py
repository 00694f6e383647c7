"""Per-key sliding-window rate limiting, and the peak request count any window saw.

Hand-written rather than aiolimiter: aiolimiter is a client-side leaky bucket that makes
callers wait, while a gateway must *refuse* at once and say when the next slot frees, which
needs the log of admitted arrivals a sliding window keeps.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import time
from collections.abc import Callable


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    """The limiter's answer for one arrival."""

    allowed: bool
    limit: int
    remaining: int
    reset_s: float  # until the oldest admitted request leaves the window (0 when none)

    @property
    def retry_after(self) -> int:
        """`Retry-After` in whole seconds, rounded up and never 0 (0 would invite a spin)."""
        return max(1, math.ceil(self.reset_s))


class SlidingWindowLimiter:
    """At most `limit` admitted requests per key in any `window_s` span (a sliding log).

    Refused arrivals are not logged, so a client that backs off gets through as soon as the
    oldest admitted request leaves the window.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._admitted: dict[str, collections.deque[float]] = {}

    def check(self, key: str, limit: int, window_s: float) -> Verdict:
        """Admit or refuse one arrival of `key` now."""
        now = self._clock()
        log = self._admitted.setdefault(key, collections.deque())
        _expire(log, now - window_s)
        allowed = len(log) < limit
        if allowed:
            log.append(now)
        reset_s = log[0] + window_s - now if log else 0.0
        return Verdict(allowed, limit, max(0, limit - len(log)), max(0.0, reset_s))

    def clear(self) -> None:
        """Forget every key's history."""
        self._admitted.clear()


class WindowPeaks:
    """The most arrivals per key inside any `window_s` span, counted whether admitted or not."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._arrivals: dict[str, collections.deque[float]] = {}
        self._peaks: dict[str, int] = {}
        self._first: dict[str, float] = {}
        self._peak_at: dict[str, float] = {}

    def arrive(self, key: str, window_s: float) -> None:
        """Record one arrival of `key` now."""
        now = self._clock()
        log = self._arrivals.setdefault(key, collections.deque())
        first = self._first.setdefault(key, now)
        _expire(log, now - window_s)
        log.append(now)
        if len(log) > self._peaks.get(key, 0):
            self._peaks[key] = len(log)
            self._peak_at[key] = now - first

    def peaks(self) -> dict[str, int]:
        """Peak per key since the last `clear`."""
        return dict(self._peaks)

    def peak_times(self) -> dict[str, float]:
        """Per key, when its peak window (first reached) ended: seconds after its first arrival
        since the last `clear`."""
        return dict(self._peak_at)

    def clear(self) -> None:
        """Forget every key's history and peak."""
        self._arrivals.clear()
        self._peaks.clear()
        self._first.clear()
        self._peak_at.clear()


def _expire(log: collections.deque[float], horizon: float) -> None:
    # An arrival exactly one window old no longer counts: windows are half-open (t-w, t].
    while log and log[0] <= horizon:
        log.popleft()
