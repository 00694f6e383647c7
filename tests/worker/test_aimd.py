"""The auto rate's arithmetic through ``Pace.observe`` on a fake clock: no real waiting."""

from __future__ import annotations

import collections
import heapq
from dataclasses import dataclass

import pytest

from worker.api._aimd import CREEP, CUT, FORGIVE, PROBE_GAIN, RECOVER, SLOW_START_GAIN
from worker.api.pace import Pace
from worker.rate import AUTO


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def answer_at_the_rate(pace: Pace, clock: FakeClock, count: int, status: int = 200) -> None:
    """`count` answers, spaced as the limiter would send them: the rate is in use."""
    for _ in range(count):
        clock.now += 1 / pace.effective_rate
        pace.observe(status=status, headers=None, latency=0.05)


def test_until_the_first_429_clean_answers_raise_an_auto_rate_in_slow_start() -> None:
    clock = FakeClock()
    pace = Pace(rate=AUTO, start_rate=5, clock=clock)
    answer_at_the_rate(pace, clock, 20)
    # The first few answers wait for the last second to show the rate in use.
    assert 5 + 17 * SLOW_START_GAIN <= pace.rate <= 5 + 20 * SLOW_START_GAIN
    before = pace.rate
    answer_at_the_rate(pace, clock, 8)
    assert pace.rate == pytest.approx(before + 8 * SLOW_START_GAIN)


def test_slow_start_doubles_the_rate_about_every_second() -> None:
    clock = FakeClock()
    pace = Pace(rate=AUTO, start_rate=5, clock=clock)
    started = clock.now
    while pace.rate < 100:
        answer_at_the_rate(pace, clock, 1)
    assert 3.0 <= clock.now - started <= 5.0  # ln(20) / ln(2) = 4.3 doublings


def test_after_a_cut_clean_answers_raise_the_rate_additively() -> None:
    clock = FakeClock()
    pace = Pace(rate=AUTO, start_rate=40, clock=clock)
    answer_at_the_rate(pace, clock, 40)
    clock.now += 0.5
    pace.observe(status=429, headers=None, latency=0.05)
    clock.now += 2
    answer_at_the_rate(pace, clock, 40)  # a second of answers at the cut rate
    before = pace.rate
    answer_at_the_rate(pace, clock, 8)
    assert pace.rate == pytest.approx(before + 8 * PROBE_GAIN)


def test_an_unused_rate_is_not_raised() -> None:
    clock = FakeClock()
    pace = Pace(rate=AUTO, start_rate=10, clock=clock)
    for _ in range(50):
        clock.now += 1.0  # one answer a second: the limiter is not what holds us back
        pace.observe(status=200, headers=None, latency=0.05)
    assert pace.rate == 10


@pytest.mark.parametrize("status", [500, 502, 503, None])
def test_failures_neither_raise_nor_cut(status: int | None) -> None:
    clock = FakeClock()
    pace = Pace(rate=AUTO, start_rate=10, clock=clock)
    answer_at_the_rate(pace, clock, 30, status=status)  # type: ignore[arg-type]
    assert pace.rate == 10
    assert pace.paused_until is None


def test_a_429_cuts_multiplicatively_once_per_overload() -> None:
    clock = FakeClock()
    pace = Pace(rate=AUTO, start_rate=20, clock=clock)
    pace.observe(status=429, headers=None, latency=0.2)
    assert pace.rate == pytest.approx(20 * CUT)
    assert pace.snapshot().trip == 20  # nothing admitted to tell better: the rate itself
    # In flight when the first came back: the same overload.
    clock.now += 0.1
    pace.observe(status=429, headers=None, latency=0.2)
    # Sent after the cut, but nothing has got through since: still the same overload.
    clock.now += 5
    pace.observe(status=429, headers=None, latency=0.2)
    assert pace.rate == pytest.approx(20 * CUT)
    assert pace.snapshot().cuts == 1
    # Once answers get through again, a new 429 is a new overload.
    answer_at_the_rate(pace, clock, 1)
    clock.now += 1
    pace.observe(status=429, headers=None, latency=0.2)
    assert pace.snapshot().cuts == 2


def test_after_a_cut_the_rate_climbs_back_fast_then_creeps_to_the_trip() -> None:
    clock = FakeClock()
    pace = Pace(rate=AUTO, start_rate=100, clock=clock)
    pace.observe(status=429, headers=None, latency=0.05)
    clock.now += 2
    answer_at_the_rate(pace, clock, 200)
    assert RECOVER * 100 <= pace.rate < RECOVER * 100 + 2 * PROBE_GAIN
    # Above RECOVER x trip, one second at the rate adds CREEP x trip.
    before, started = pace.rate, clock.now
    answer_at_the_rate(pace, clock, 900)
    elapsed = clock.now - started
    assert pace.rate == pytest.approx(before + CREEP * 100 * elapsed, rel=0.01)


def test_the_trip_is_what_the_server_admitted_when_slow_start_overshoots() -> None:
    clock = FakeClock()
    pace = Pace(rate=AUTO, start_rate=10, clock=clock)
    answer_at_the_rate(pace, clock, 60)
    # The last second's sends go on being admitted until the window is full: say 50 of
    # them answered clean in the last second while the rate has run ahead of that.
    overshoot = pace.rate
    clock.now += 1.0
    for _ in range(50):
        clock.now += 1 / 60
        pace.observe(status=200, headers=None, latency=0.05)
    rate_at_429 = pace.rate
    pace.observe(status=429, headers=None, latency=0.05)
    assert overshoot > 50
    assert pace.snapshot().trip == pytest.approx(50)
    # 0.7 of the overshoot would still be above what got through: cut to just under that.
    assert rate_at_429 * CUT > RECOVER * 50
    assert pace.rate == pytest.approx(RECOVER * 50)


def test_a_fixed_rate_is_cut_then_recovers_to_its_value_and_no_further() -> None:
    clock = FakeClock()
    pace = Pace(rate=50, clock=clock)
    answer_at_the_rate(pace, clock, 100)
    assert pace.rate == 50  # never above the configured value
    pace.observe(status=429, headers=None, latency=0.05)
    assert pace.rate == pytest.approx(50 * CUT)
    assert pace.snapshot().trip is None  # the first in a while: not remembered
    clock.now += 2
    answer_at_the_rate(pace, clock, 200)  # a few seconds, not a creep of minutes
    assert pace.rate == 50


def test_a_fixed_rate_remembers_a_second_429_in_a_row() -> None:
    clock = FakeClock()
    pace = Pace(rate=50, clock=clock)
    answer_at_the_rate(pace, clock, 100)
    pace.observe(status=429, headers=None, latency=0.05)
    clock.now += 1
    answer_at_the_rate(pace, clock, 60)
    pace.observe(status=429, headers=None, latency=0.05)
    trip = pace.snapshot().trip
    assert trip is not None
    assert trip <= 50
    clock.now += 1
    answer_at_the_rate(pace, clock, 300)
    assert pace.rate < 50  # creeping towards the trip, not back at the configured value
    # Long after, a 429 at the configured value is forgiven again.
    clock.now += FORGIVE
    answer_at_the_rate(pace, clock, 20_000)
    assert pace.rate == 50
    pace.observe(status=429, headers=None, latency=0.05)
    assert pace.snapshot().trip is None


def test_an_auto_rate_jumps_to_a_ratelimit_limit_before_any_429() -> None:
    clock = FakeClock()
    pace = Pace(rate=AUTO, start_rate=5, clock=clock)
    pace.observe(status=200, headers={"RateLimit-Limit": "200"}, latency=0.05)
    assert pace.rate == 200
    pace.observe(status=429, headers={"RateLimit-Limit": "200"}, latency=0.05)
    assert pace.rate == pytest.approx(200 * CUT)
    assert pace.snapshot().trip is None  # at the quota the server vouched for: forgiven
    pace.observe(status=200, headers={"RateLimit-Limit": "200"}, latency=0.05)
    assert pace.rate == pytest.approx(200 * CUT)  # after a 429 it climbs back, no jump


def test_an_auto_rate_never_goes_above_the_ceiling() -> None:
    clock = FakeClock()
    pace = Pace(rate=AUTO, start_rate=5, ceiling=12, clock=clock)
    answer_at_the_rate(pace, clock, 500)
    assert pace.rate == 12


@pytest.mark.parametrize(
    ("headers", "quota"),
    [
        ({"RateLimit-Limit": "20"}, 20.0),  # no policy: a one-second window
        ({"RateLimit-Limit": "100", "RateLimit-Policy": "100;w=10"}, 10.0),
        ({"RateLimit-Limit": "60, 60;w=2, 1000;w=3600"}, 30.0),
    ],
)
def test_a_ratelimit_limit_caps_the_rate(headers: dict[str, str], quota: float) -> None:
    clock = FakeClock()
    pace = Pace(rate=AUTO, start_rate=5, clock=clock)
    for _ in range(500):
        clock.now += 1 / pace.effective_rate
        pace.observe(status=200, headers=headers, latency=0.05)
    assert pace.rate == pytest.approx(quota)
    assert pace.effective_rate < quota  # "minus the headroom"
    assert pace.snapshot().quota == pytest.approx(quota)


def test_a_ratelimit_limit_below_a_fixed_rate_wins() -> None:
    pace = Pace(rate=100, clock=FakeClock())
    pace.observe(status=200, headers={"RateLimit-Limit": "40"}, latency=0.05)
    assert pace.rate == 40


@dataclass
class Run:
    throughput: float  # share of the limit answered 2xx after the warm-up
    rate_limited: float  # share of all requests answered 429


def simulate(limit: int, *, latency: float, seconds: float = 300.0, warmup: float = 60.0) -> Run:
    """A client always wanting more, against a sliding one-second window of `limit`, no headers.

    The server counts refused requests too (the harsher of the two ways servers count).
    Sends follow the pace's rate and pause; answers come back `latency` later.
    """
    clock = FakeClock()
    start = clock.now
    pace = Pace(rate=AUTO, clock=clock)
    window: collections.deque[float] = collections.deque()
    answers: list[tuple[float, int, int]] = []  # (when, order, status)
    next_send, order, sent, refused, accepted_late = start, 0, 0, 0, 0
    while True:
        send_at = max(next_send, pace.paused_until or -1.0)
        if answers and answers[0][0] <= send_at:
            clock.now, _, status = heapq.heappop(answers)
            pace.observe(status=status, headers=None, latency=latency)
            continue
        if send_at > start + seconds:
            break
        clock.now = send_at
        if pace.paused_until is not None:
            continue
        while window and window[0] <= send_at - 1.0:
            window.popleft()
        status = 200 if len(window) < limit else 429
        window.append(send_at)
        sent += 1
        refused += status == 429
        accepted_late += status == 200 and send_at >= start + warmup
        order += 1
        heapq.heappush(answers, (send_at + latency, order, status))
        next_send = send_at + 1 / pace.effective_rate
    return Run(accepted_late / ((seconds - warmup) * limit), refused / sent)


@pytest.mark.parametrize("limit", [10, 100])
@pytest.mark.parametrize("latency", [0.05, 0.3])
def test_auto_finds_an_unknown_limit_with_few_429s(limit: int, latency: float) -> None:
    run = simulate(limit, latency=latency)
    assert run.throughput >= 0.90
    assert run.rate_limited <= 0.02
