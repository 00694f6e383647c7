"""The rate-limit knobs: a sliding window per API key, counted at arrival."""

from __future__ import annotations

import asyncio

import pytest

from sandbox.ratelimit import SlidingWindowLimiter, WindowPeaks
from sandbox.testing import SandboxServer
from tests.sandbox.helpers import Api

LONG_WINDOW_S = 30.0  # far longer than any test runs: nothing leaves the window by accident


async def test_over_the_limit_is_429_with_retry_after_and_headers(
    sandbox: SandboxServer, api: Api
) -> None:
    await sandbox.admin.set_knobs(rate_limit=3, rate_window_s=LONG_WINDOW_S)
    replies = [await api.list() for _ in range(4)]
    assert [r.status for r in replies] == [200, 200, 200, 429]
    assert [r.headers["RateLimit-Remaining"] for r in replies] == ["2", "1", "0", "0"]
    assert {r.headers["RateLimit-Limit"] for r in replies} == {"3"}
    refused = replies[-1]
    assert refused.body == {
        "statusCode": 429,
        "message": "Too Many Requests",
        "error": "Too Many Requests",
    }
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= LONG_WINDOW_S
    assert int(refused.headers["RateLimit-Reset"]) == retry_after
    counters = await sandbox.admin.counters()
    assert counters["rate_limited"] == 1
    assert counters["requests"]["GET /api/one-time-payment"] == {"200": 3, "429": 1}


async def test_the_window_frees_once_it_has_passed(sandbox: SandboxServer, api: Api) -> None:
    window_s = 0.3
    await sandbox.admin.set_knobs(rate_limit=2, rate_window_s=window_s)
    assert [(await api.list()).status for _ in range(3)] == [200, 200, 429]
    await asyncio.sleep(window_s * 1.5)  # both admitted requests have left the window
    assert (await api.list()).status == 200


async def test_refused_requests_do_not_use_up_the_window(sandbox: SandboxServer, api: Api) -> None:
    window_s = 0.3
    await sandbox.admin.set_knobs(rate_limit=1, rate_window_s=window_s)
    assert (await api.list()).status == 200
    assert [(await api.list()).status for _ in range(5)] == [429] * 5
    await asyncio.sleep(window_s * 1.5)
    assert (await api.list()).status == 200


async def test_limits_are_per_key(sandbox: SandboxServer, api: Api) -> None:
    other = await sandbox.admin.create_org("Otra")
    await sandbox.admin.set_knobs(rate_limit=1, rate_window_s=LONG_WINDOW_S)
    assert (await api.list()).status == 200
    assert (await api.list()).status == 429
    assert (await api.list(key=other["api_key"])).status == 200


async def test_headers_can_be_hidden_but_retry_after_stays(
    sandbox: SandboxServer, api: Api
) -> None:
    await sandbox.admin.set_knobs(
        rate_limit=1, rate_window_s=LONG_WINDOW_S, rate_limit_headers=False
    )
    ok, refused = await api.list(), await api.list()
    assert (ok.status, refused.status) == (200, 429)
    for reply in (ok, refused):
        assert not [name for name in reply.headers if name.lower().startswith("ratelimit")]
    assert int(refused.headers["Retry-After"]) >= 1


async def test_no_headers_without_a_limit(api: Api) -> None:
    reply = await api.list()
    assert "RateLimit-Limit" not in reply.headers
    assert "Retry-After" not in reply.headers


async def test_the_limiter_counts_arrivals_before_latency(sandbox: SandboxServer, api: Api) -> None:
    await sandbox.admin.set_knobs(rate_limit=3, rate_window_s=LONG_WINDOW_S, latency_ms=200)
    replies = await asyncio.gather(*(api.list() for _ in range(5)))
    assert sorted(r.status for r in replies) == [200, 200, 200, 429, 429]


async def test_max_in_window_is_tracked_with_or_without_a_limit(
    sandbox: SandboxServer, api: Api
) -> None:
    (org, *_) = await sandbox.admin.orgs()
    await sandbox.admin.set_knobs(rate_window_s=LONG_WINDOW_S)
    for _ in range(4):
        await api.list()
    assert (await sandbox.admin.counters())["max_in_window"] == {org["id"]: 4}
    await sandbox.admin.set_knobs(rate_limit=2)
    await sandbox.admin.reset_counters()
    await asyncio.gather(*(api.list() for _ in range(5)))
    counters = await sandbox.admin.counters()
    assert counters["max_in_window"] == {org["id"]: 5}  # refused arrivals count too
    assert "test-key" not in str(counters)


def test_the_busiest_window_says_when_it_ended() -> None:
    now = [100.0]
    peaks = WindowPeaks(clock=lambda: now[0])
    for moment in (100.0, 100.5, 101.2, 101.3, 101.35, 103.0):  # (100.35, 101.35] holds 4
        now[0] = moment
        peaks.arrive("org", 1.0)
    assert peaks.peaks() == {"org": 4}
    assert peaks.peak_times() == {"org": pytest.approx(1.35)}  # after the first arrival
    peaks.clear()
    now[0] = 200.0
    peaks.arrive("org", 1.0)
    assert peaks.peak_times() == {"org": 0.0}  # counted from the first arrival since clear


async def test_401s_are_not_rate_limited_or_counted_per_org(
    sandbox: SandboxServer, api: Api
) -> None:
    await sandbox.admin.set_knobs(rate_limit=1, rate_window_s=LONG_WINDOW_S)
    assert [(await api.list(key="wrong")).status for _ in range(3)] == [401] * 3
    assert (await api.list()).status == 200
    assert (await sandbox.admin.counters())["rate_limited"] == 0


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_sliding_window_frees_slots_one_by_one() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(clock)
    for at in (0.0, 0.4, 0.8):
        clock.now = 100 + at
        assert limiter.check("k", 3, 1.0).allowed
    clock.now = 100.9
    refused = limiter.check("k", 3, 1.0)
    assert not refused.allowed
    assert refused.reset_s == pytest.approx(0.1)  # the first arrival leaves at 101.0
    assert refused.retry_after == 1
    clock.now = 101.0  # windows are half-open: an arrival exactly one window old is out
    assert limiter.check("k", 3, 1.0).allowed
    assert not limiter.check("k", 3, 1.0).allowed  # 100.4, 100.8 and 101.0 fill it again
    clock.now = 101.4
    assert limiter.check("k", 3, 1.0).allowed


def test_window_peaks_follow_the_busiest_window() -> None:
    clock = FakeClock()
    peaks = WindowPeaks(clock)
    for at in (0.0, 0.1, 0.2, 1.5, 1.6, 2.55, 2.56, 2.57):
        clock.now = 100 + at
        peaks.arrive("org", 1.0)
    assert peaks.peaks() == {"org": 4}  # 1.6, 2.55, 2.56, 2.57 lie within one second
