"""The target rate behind ``Pace``: additive increase, multiplicative cut, and a memory.

Pure arithmetic on an injected clock: ``Pace`` reports each finished attempt here and runs
its limiter at ``rate`` less a headroom. One controller serves both modes: ``--rate auto``
starts low and may climb to the ceiling; a fixed ``--rate`` starts at its value, which is
also its cap, so it only moves after a 429 cut and then climbs back.

The algorithm (Compago documents no limit, so it has to be found without hurting anyone):

1. Probe. Each clean answer (not 429, not 5xx, not a lost request) adds ``PROBE_GAIN``
   req/s. Answers arrive at about the rate, so the rate grows ~25 %/s while in use, the
   shape of TCP slow start: 5 req/s reaches 50 in ~10 s and 200 in ~15 s.
2. Cut. A 429 remembers the rate that tripped it (the "trip") and multiplies the rate by
   ``CUT``. A 429 to a request sent before that cut, or before anything has got through
   since, reports the same overload and cuts nothing more (it still extends Pace's shared
   pause): a storm of 429s across several pauses is one overload, not one per pause.
3. Approach. Below ``RECOVER`` x trip the rate climbs back at the probing pace; above it,
   it creeps by ``CREEP`` x trip per second, so the next 429 comes ~100 s later instead of
   a sawtooth's every few seconds. Simulated against a sliding-window limit L with no
   headers (tests/worker/test_aimd.py), this holds 0.93-0.95 L once found, with under 1 %
   of requests answered 429. Before that, the conservative start costs: from 5 req/s
   against a limit of 200, a 20 s run averages a third of it and a 60 s run 0.7.
4. Forget. Having run clean at ``FORGET`` x trip, the limit has moved: probe again.
5. Caps. Never above the cap (ceiling or fixed rate) nor a RateLimit-Limit quota per second.
   (RateLimit-Remaining and -Reset are ``Pace``'s: it pauses everybody when nothing
   remains. Spreading Remaining over Reset is not done: for a sliding window the draft's
   Reset is ambiguous, and our sandbox sends the time until the oldest request leaves
   the window, over which a client pacing just below the quota would be throttled to a
   few requests a second.)
6. Use. The rate rises only while at least ``USE`` of it was answered in the last second:
   raising a rate nobody uses proves nothing and would let a later surge find it untested
   (TCP's congestion window validation, RFC 7661).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

PROBE_GAIN = 0.25  # req/s added per clean answer while probing or recovering
CUT = 0.7  # multiplicative decrease on a 429 (TCP CUBIC's beta)
RECOVER = 0.9  # of the trip: fast climb below, creep above
CREEP = 0.001  # of the trip, per second at full use, above RECOVER x trip
FORGET = 1.1  # of the trip: clean up to here means the limit has moved
USE = 0.5  # share of the rate answered in the last second before it may rise
MIN_RATE = 0.5  # req/s: a floor for repeated cuts (a lower fixed rate is its own floor)
_SECOND = 1.0


class RateController:
    """The target request rate for one run and API key; see the module docstring."""

    def __init__(self, *, start: float, cap: float, clock: Callable[[], float]) -> None:
        if not (start > 0 and cap > 0):
            raise ValueError(f"rates must be positive, got start={start} cap={cap}")
        self._clock = clock
        self._cap = cap
        self._rate = min(start, cap)
        self._floor = min(MIN_RATE, self._rate)
        self._trip: float | None = None
        self._last_cut_at = -math.inf
        self._clean_since_cut = True
        self._quota_cap = math.inf  # RateLimit-Limit per second
        self._answered: deque[float] = deque()  # clock values of the last second's answers
        self.cuts = 0

    @property
    def rate(self) -> float:
        """The target rate in req/s, every cap applied."""
        return self._rate

    @property
    def trip(self) -> float | None:
        """The rate that last drew a 429, while it is remembered."""
        return self._trip

    def on_answer(self, *, clean: bool) -> None:
        """Count one finished attempt; a clean answer may raise the rate."""
        now = self._clock()
        answered = self._answered
        answered.append(now)
        while answered[0] <= now - _SECOND:
            answered.popleft()
        if clean:
            self._clean_since_cut = True
        if not clean or len(answered) < USE * self._rate:
            return
        trip = self._trip
        if trip is not None and self._rate >= FORGET * trip:
            trip = self._trip = None
        if trip is None or self._rate < RECOVER * trip:
            step = PROBE_GAIN
        else:
            # Per answer, so at full use (about `rate` answers a second) it adds
            # CREEP * trip each second.
            step = CREEP * trip / self._rate
        self._rate = min(self._rate + step, self._cap, self._quota_cap)

    def on_rate_limited(self, *, latency: float) -> bool:
        """A 429 to a request sent ``latency`` seconds ago; True when it cut the rate."""
        now = self._clock()
        if now - latency < self._last_cut_at or not self._clean_since_cut:
            # Sent before the last cut, or nothing has got through since: the same overload,
            # already answered. (A storm of 429s thus cuts once, not once per pause.)
            return False
        self._trip = self._rate
        self._rate = max(self._floor, self._rate * CUT)
        self._last_cut_at = now
        self._clean_since_cut = False
        self.cuts += 1
        return True

    def on_quota(self, per_second: float) -> None:
        """RateLimit-Limit: never aim above this many requests per second."""
        self._quota_cap = per_second
        self._rate = min(self._rate, per_second)
