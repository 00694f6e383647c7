"""Pace: the burst-free limiter against the real clock, the shared 429 pause, concurrency."""

from __future__ import annotations

import bisect
import email.utils
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

import anyio
import pytest
from aiolimiter import AsyncLimiter
from structlog.testing import capture_logs

from worker.api.pace import DEFAULT_PAUSE, HEADROOM, MAX_PAUSE, Pace
from worker.rate import AUTO


class FakeClock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def busiest_window(times: Sequence[float], width: float = 1.0) -> int:
    """The most timestamps inside any half-open window [t, t + width)."""
    ordered = sorted(times)
    return max(bisect.bisect_left(ordered, t + width) - i for i, t in enumerate(ordered))


async def acquire_all(acquire: Callable[[], Awaitable[None]], tasks: int) -> list[float]:
    """Let `tasks` tasks take one slot each; the loop time at which each got it."""
    times: list[float] = []

    async def one() -> None:
        await acquire()
        times.append(anyio.current_time())

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            for _ in range(tasks):
                group.start_soon(one)
    return times


# The server allows N per sliding second. 1.25 N slots make windows that span the start, so a
# burst would show, and take ~1.3 s whatever the machine: a slow one only spreads them.
N = 40
SLOTS = 50


async def test_no_window_sees_more_than_the_rate() -> None:
    pace = Pace(rate=N)
    times = await acquire_all(pace.acquire, SLOTS)
    assert len(times) == SLOTS
    assert busiest_window(times) <= N


async def test_the_naive_limiter_would_let_a_window_see_more() -> None:
    # The check above can fail: aiolimiter's own full bucket lets N through at once, then
    # refills at N/s, so the first second sees nearly 2N.
    times = await acquire_all(AsyncLimiter(N, 1).acquire, SLOTS)
    assert busiest_window(times) > N


async def test_a_cut_while_tasks_queue_loses_and_doubles_nobody() -> None:
    pace = Pace(rate=N)
    passed: list[float] = []
    some_passed = anyio.Event()

    async def one() -> None:
        await pace.acquire()
        passed.append(anyio.current_time())
        if len(passed) == 5:
            some_passed.set()

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            for _ in range(30):
                group.start_soon(one)
            await some_passed.wait()
            pace.observe(status=429, headers={"Retry-After": "0"}, latency=0.0)
            assert pace.rate < N
    assert len(passed) == 30  # every queued task got exactly one slot
    assert busiest_window(passed) <= N


async def test_a_raise_while_tasks_queue_applies_to_them() -> None:
    pace = Pace(rate=AUTO, start_rate=2.0)
    passed = 0
    first = anyio.Event()

    async def one() -> None:
        nonlocal passed
        await pace.acquire()
        passed += 1
        first.set()

    # At the start rate the 12 slots would take 6 s; only the raised rate fits the bound.
    with anyio.fail_after(4):
        async with anyio.create_task_group() as group:
            for _ in range(12):
                group.start_soon(one)
            await first.wait()
            for _ in range(60):  # clean answers, faster than the rate: the rate is in use
                pace.observe(status=200, headers=None, latency=0.01)
            assert pace.rate > 10
    assert passed == 12


async def test_nobody_passes_during_the_shared_pause() -> None:
    pace = Pace(rate=N)
    passed: list[float] = []
    some_passed = anyio.Event()
    paused_at = until = 0.0

    async def one() -> None:
        await pace.acquire()
        passed.append(anyio.current_time())
        if len(passed) == 5:
            some_passed.set()

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(one)
            await some_passed.wait()
            paused_at = anyio.current_time()
            pace.observe(status=429, headers={"Retry-After": "0.3"}, latency=0.01)
            deadline = pace.paused_until
            assert deadline is not None
            # A later 429 with a shorter Retry-After leaves the deadline where it is.
            pace.observe(status=429, headers={"Retry-After": "0.1"}, latency=0.01)
            assert pace.paused_until == deadline
            until = deadline
    assert len(passed) == 20
    assert not [t for t in passed if paused_at < t < until]
    assert any(t >= until for t in passed)


def test_a_later_429_extends_the_pause_and_counts_one_pause() -> None:
    clock = FakeClock()
    pace = Pace(rate=50, clock=clock)
    pace.observe(status=429, headers={"Retry-After": "2"}, latency=0.1)
    assert pace.paused_until == clock.now + 2
    clock.advance(1)
    pace.observe(status=429, headers={"Retry-After": "3"}, latency=0.1)
    assert pace.paused_until == clock.now + 3
    stats = pace.snapshot()
    assert (stats.rate_limited, stats.pauses, stats.paused_seconds) == (2, 1, 4.0)
    clock.advance(3)
    assert pace.paused_until is None


def test_a_hold_shares_the_429_pause_and_never_shortens_it() -> None:
    clock = FakeClock()
    pace = Pace(rate=50, clock=clock)
    with capture_logs() as logs:
        pace.hold(0.5, cause="retry_quota")
        assert pace.paused_until == clock.now + 0.5
        pace.observe(status=429, headers={"Retry-After": "2"}, latency=0.1)
        pace.hold(1.0, cause="retry_quota")  # shorter than the 429's: no change
        assert pace.paused_until == clock.now + 2
        pace.hold(3600, cause="retry_quota")
    assert pace.paused_until == clock.now + MAX_PAUSE
    assert pace.snapshot().rate_limited == 1
    assert [log["cause"] for log in logs if log["event"] == "pace.paused"] == ["retry_quota"]


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": "1.5"}, 1.5),
        ({}, DEFAULT_PAUSE),
        (None, DEFAULT_PAUSE),
        ({"Retry-After": "soon"}, DEFAULT_PAUSE),
        ({"Retry-After": "86400"}, MAX_PAUSE),
    ],
)
def test_the_pause_follows_retry_after(headers: dict[str, str] | None, seconds: float) -> None:
    clock = FakeClock()
    pace = Pace(rate=10, clock=clock)
    pace.observe(status=429, headers=headers, latency=0.1)
    assert pace.paused_until == clock.now + seconds


def test_the_pause_follows_a_retry_after_date() -> None:
    clock = FakeClock()
    pace = Pace(rate=10, clock=clock)
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    pace.observe(status=429, headers={"Retry-After": when}, latency=0.1)
    until = pace.paused_until
    assert until is not None
    assert 25 <= until - clock.now <= 30  # the date has whole seconds


def test_a_used_up_quota_pauses_everybody_for_one_slot_of_it() -> None:
    clock = FakeClock()
    pace = Pace(rate=10, clock=clock)
    headers = {"RateLimit-Limit": "10", "RateLimit-Remaining": "0", "RateLimit-Reset": "4"}
    pace.observe(status=200, headers=headers, latency=0.1)
    # A sliding window frees a slot every 1/quota; a fixed one says so with a 429.
    assert pace.paused_until == pytest.approx(clock.now + 0.1)
    assert pace.snapshot().rate_limited == 0


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"RateLimit-Remaining": "0", "RateLimit-Reset": "4"}, 4),  # no quota: its reset
        ({"RateLimit-Remaining": "0"}, 1),  # nothing at all: DEFAULT_PAUSE
        (  # 10 per 100 s: a slot every 10 s, so the reset comes first
            {
                "RateLimit-Limit": "10",
                "RateLimit-Policy": "10;w=100",
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": "3",
            },
            3,
        ),
    ],
)
def test_a_used_up_quota_without_a_faster_slot_pauses_until_its_reset(
    headers: dict[str, str], seconds: float
) -> None:
    clock = FakeClock()
    pace = Pace(rate=10, clock=clock)
    pace.observe(status=200, headers=headers, latency=0.1)
    assert pace.paused_until == pytest.approx(clock.now + seconds)


def test_concurrency_follows_littles_law() -> None:
    clock = FakeClock()
    pace = Pace(rate=100, clock=clock)
    for _ in range(100):
        pace.observe(status=200, headers=None, latency=0.5)
    # 97.5 req/s x 0.5 s in flight x 2 for the latency's tail
    assert pace.concurrency == 98
    for _ in range(100):
        pace.observe(status=None, headers=None, latency=30.0)  # timeouts do not count
    assert pace.concurrency == 98


@pytest.mark.parametrize(
    ("kwargs", "concurrency"),
    [
        ({"rate": 1000}, 256),  # capped
        ({"rate": 1000, "max_concurrency": 8}, 8),
        ({"rate": 0.5}, 1),  # at least one
        ({"rate": 1000, "concurrency": 3}, 3),  # the fixed value, whatever the rate
    ],
)
def test_concurrency_bounds(kwargs: dict[str, float], concurrency: int) -> None:
    pace = Pace(clock=FakeClock(), **kwargs)  # type: ignore[arg-type]
    for _ in range(10):
        pace.observe(status=200, headers=None, latency=1.0)
    assert pace.concurrency == concurrency


def test_the_limiter_runs_below_the_rate_by_the_headroom() -> None:
    pace = Pace(rate=200)
    assert pace.rate == 200
    assert pace.effective_rate == pytest.approx(200 * (1 - HEADROOM))
    assert pace.effective_rate >= 0.97 * 200


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rate": 0},
        {"rate": -1},
        {"rate": float("nan")},
        {"rate": AUTO, "start_rate": 0},
        {"rate": AUTO, "ceiling": 0},
        {"rate": 10, "concurrency": 0},
        {"rate": 10, "max_concurrency": 0},
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        Pace(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("act", "cause", "level"),
    [
        (
            lambda pace: pace.observe(status=429, headers={"Retry-After": "0.5"}, latency=0.1),
            "429",
            "warning",
        ),
        (lambda pace: pace.hold(0.5, cause="retry_quota"), "retry_quota", "warning"),
        (
            lambda pace: pace.observe(
                status=200,
                headers={"RateLimit-Limit": "10", "RateLimit-Remaining": "0"},
                latency=0.1,
            ),
            "quota_used",
            "info",
        ),
    ],
    ids=["429", "retry-quota", "ratelimit-slot"],
)
def test_waiting_for_a_slot_is_pacing_not_a_warning(
    act: Callable[[Pace], None], cause: str, level: str
) -> None:
    pace = Pace(rate=10, clock=FakeClock())
    with capture_logs() as logs:
        act(pace)
    [paused] = [log for log in logs if log["event"] == "pace.paused"]
    assert (paused["cause"], paused["log_level"]) == (cause, level)
