"""The target rate behind ``Pace``: additive increase, multiplicative cut, and a memory.

Pure arithmetic on an injected clock: ``Pace`` reports each finished attempt here and runs
its limiter at ``rate`` less a headroom. One controller serves both modes: ``--rate auto``
starts low and may climb to the ceiling; a fixed ``--rate`` starts at its value, which is
also its cap, so it only moves after a 429 cut and then climbs back.

The algorithm (Compago documents no limit, so it has to be found without hurting anyone):

1. Slow start. Until the first 429, each clean answer (not 429, not 5xx, not a lost
   request) adds ``SLOW_START_GAIN`` req/s. Answers arrive at about the rate, so the rate
   doubles each second in use, as TCP's slow start does: 5 req/s reaches 100 in ~4.5 s.
   A RateLimit-Limit quota ends the search at once: the rate jumps to it (see 5).
2. Cut. A 429 remembers the "trip": what the server admitted in the last second (clean
   answers), or the rate itself when too little of it was in use to tell. The admitted
   count is the better measure: slow start overshoots, since the window fills a second
   after the sends that fill it, while what got through is the limit (or our share of it
   when the key's budget is shared). The rate is multiplied by ``CUT``. A 429 to a request
   sent before that cut, or before anything has got through since, reports the same
   overload and cuts nothing more (it still extends Pace's shared pause): a storm of 429s
   across several pauses is one overload, not one per pause.
3. Approach. Below ``RECOVER`` x trip the rate climbs back at ``PROBE_GAIN`` per answer
   (~25 %/s); above it, it creeps by ``CREEP`` x trip per second, so the next 429 comes
   more than a minute later instead of a sawtooth's every few seconds. Simulated against a
   sliding-window limit L with no headers (tests/worker/test_aimd.py), this holds over
   0.93 L once found, with under 1 % of requests answered 429.
   A vouched-for rate (a fixed ``--rate``, the operator's promise, or a RateLimit-Limit
   quota, the server's) treats its first 429 in ``FORGIVE`` seconds at that rate as
   arrivals bunched by the network or a burst of other traffic on the key: it is cut and
   paused like any other but not remembered, so the rate climbs straight back to the
   vouched value; a second one within ``FORGIVE`` seconds is remembered as in auto.
4. Forget. Having run clean at ``FORGET`` x trip, the limit has moved: probe again.
5. Caps. Never above the cap (ceiling or fixed rate) nor a RateLimit-Limit quota per
   second. Before any 429, a quota is also the rate: the server has said what it allows,
   and probing up to it from 5 req/s would only waste the first seconds of every run.
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

SLOW_START_GAIN = 1.0  # req/s added per clean answer until the first 429
PROBE_GAIN = 0.25  # req/s added per clean answer while recovering or probing again
CUT = 0.7  # multiplicative decrease on a 429 (TCP CUBIC's beta)
RECOVER = 0.98  # of the trip: fast climb below, creep above
CREEP = 0.0005  # of the trip, per second at full use, above RECOVER x trip
FORGIVE = 60.0  # seconds: a vouched-for rate's first 429 in this long is not remembered
FORGET = 1.1  # of the trip: clean up to here means the limit has moved
USE = 0.5  # share of the rate answered in the last second before it may rise
MIN_RATE = 0.5  # req/s: a floor for repeated cuts (a lower fixed rate is its own floor)
_SECOND = 1.0


class RateController:
    """The target request rate for one run and API key; see the module docstring."""

    def __init__(
        self, *, start: float, cap: float, clock: Callable[[], float], fixed: bool = False
    ) -> None:
        if not (start > 0 and cap > 0):
            raise ValueError(f"rates must be positive, got start={start} cap={cap}")
        self._clock = clock
        self._cap = cap
        self._fixed = fixed
        self._rate = min(start, cap)
        self._floor = min(MIN_RATE, self._rate)
        self._trip: float | None = None
        self._last_cut_at = -math.inf
        self._clean_since_cut = True
        self._quota_cap = math.inf  # RateLimit-Limit per second
        # Clock values of the last second's answers, all of them and the clean ones.
        self._answered: deque[float] = deque()
        self._admitted: deque[float] = deque()
        self.cuts = 0

    @property
    def rate(self) -> float:
        """The target rate in req/s, every cap applied."""
        return self._rate

    @property
    def trip(self) -> float | None:
        """The rate that last drew a 429, while it is remembered."""
        return self._trip

    def on_answer(self, *, clean: bool, now: float | None = None) -> None:
        """Count one finished attempt (at ``now``, by the controller's clock when not given);
        a clean answer may raise the rate."""
        if now is None:
            now = self._clock()
        # The last second's answers, and clean ones; written out: this runs once per answer.
        horizon = now - _SECOND
        answered = self._answered
        answered.append(now)
        while answered[0] <= horizon:
            answered.popleft()
        if clean:
            admitted = self._admitted
            admitted.append(now)
            while admitted[0] <= horizon:
                admitted.popleft()
            self._clean_since_cut = True
        if not clean or len(self._answered) < USE * self._rate:
            return
        trip = self._trip
        if trip is not None and self._rate >= FORGET * trip:
            trip = self._trip = None
        if trip is None:
            step = SLOW_START_GAIN if self.cuts == 0 else PROBE_GAIN
        elif self._rate < RECOVER * trip:
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
        vouched = self._fixed or self._quota_cap < math.inf
        at_ceiling = self._rate >= min(self._cap, self._quota_cap)
        if vouched and at_ceiling and now - self._last_cut_at > FORGIVE:
            # A rate the operator or the server vouched for: cut and climb straight back.
            self._trip = None
        else:
            _drop_older_than_a_second(self._admitted, now)
            admitted = len(self._admitted)
            # What got through in the last second, when the rate was in use enough to tell.
            self._trip = min(self._rate, admitted) if admitted >= USE * self._rate else self._rate
        cut = self._rate * CUT
        if self._trip is not None:
            # Slow start overshoots by up to twice what got through: a cut of 0.7 would
            # leave the rate above it, for a second 429 and a second pause.
            cut = min(cut, RECOVER * self._trip)
        self._rate = max(self._floor, cut)
        self._last_cut_at = now
        self._clean_since_cut = False
        self.cuts += 1
        return True

    def on_quota(self, per_second: float) -> None:
        """RateLimit-Limit: never aim above this many requests per second.

        Before any 429 it is also the rate to aim at: the server has said what it allows.
        """
        self._quota_cap = per_second
        if self.cuts == 0:
            self._rate = min(per_second, self._cap)
        else:
            self._rate = min(self._rate, per_second)


def _drop_older_than_a_second(times: deque[float], now: float) -> None:
    while times and times[0] <= now - _SECOND:
        times.popleft()
