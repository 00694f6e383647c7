"""Pace against the sandbox's counters: never over the rate, and 429 storms ridden out."""

from __future__ import annotations

from datetime import timedelta

from sandbox.testing import SandboxServer
from worker.outcomes import Outcome

from .helpers import link, run_sweep, settings_for, statuses

SOON = timedelta(minutes=10)


async def test_no_window_sees_more_than_the_rate(sandbox: SandboxServer) -> None:
    """Burst-free: a full bucket at start would show ~3N in the first 2 s window.

    The server counts arrivals, which scheduling jitter on a loaded machine can bunch by
    more than the limiter's 25 ms of headroom per second; a 2 s window doubles that margin.
    The exact send-time property (no 1 s window over N) is tests/worker/test_pace.py's.
    """
    rows = await sandbox.admin.add_links([link(expires_in=SOON) for _ in range(60)])
    await sandbox.admin.set_knobs(rate_window_s=2.0)

    report = await run_sweep(settings_for(sandbox, expiring_within="1h", rate="15"))

    assert report.summary.cancelled == len(rows)
    counters = await sandbox.admin.counters()
    [peak] = counters["max_in_window"].values()
    assert peak <= 2 * 15
    assert counters["total"] == len(rows) + 2  # one scan per pass, no retries


async def test_rides_out_a_429_storm(sandbox: SandboxServer) -> None:
    rows = await sandbox.admin.add_links([link(expires_in=SOON) for _ in range(20)])
    await sandbox.admin.set_knobs(rate_limit=8, rate_limit_headers=False)

    report = await run_sweep(settings_for(sandbox, expiring_within="1h", rate="100"))

    assert {item.outcome for item in report.items} == {Outcome.CANCELLED}
    assert set((await statuses(sandbox)).values()) == {"CANCELLED"}
    counters = await sandbox.admin.counters()
    assert counters["rate_limited"] > 0
    assert len(rows) == 20


async def test_auto_rate_follows_ratelimit_headers(sandbox: SandboxServer) -> None:
    """With RateLimit-* headers the auto rate stays inside the server's window."""
    rows = await sandbox.admin.add_links([link(expires_in=SOON) for _ in range(40)])
    await sandbox.admin.set_knobs(rate_limit=10)

    report = await run_sweep(settings_for(sandbox, expiring_within="1h", rate="auto"))

    assert report.summary.cancelled == len(rows)
    counters = await sandbox.admin.counters()
    assert counters["rate_limited"] <= 1
