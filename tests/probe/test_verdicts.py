"""The probe against the sandbox in each of its configurations: the verdicts match the knobs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from sandbox.testing import SandboxServer
from worker.outcomes import Abort
from worker.probe import PROBE_RATE, Level, ProbeResult, probe
from worker.settings import load_settings
from worker.sweep import policies_from_settings, sweep

from .helpers import EXPIRED, LIVE, TIED, environ_for, only_gets, seed, settings_for

FAST = 100.0  # req/s: the probe's pace, where the test is not about rate limits


async def _probe(
    knobs: dict[str, Any] | None = None,
    *,
    rate: float = FAST,
    lifetime: timedelta = timedelta(hours=48),
    max_requests: int = 40,
) -> tuple[ProbeResult, dict[str, Any]]:
    async with SandboxServer(knobs=knobs) as server:
        await seed(server, lifetime=lifetime)
        result = await probe(settings_for(server), rate=rate, max_requests=max_requests)
        counters = await server.admin.counters()
    return result, counters


def _levels(result: ProbeResult) -> dict[str, Level]:
    return {verdict.check: verdict.level for verdict in result.verdicts}


async def test_the_default_sandbox_holds_everything_and_is_read_only() -> None:
    with capture_logs() as logs:
        result, counters = await _probe()

    assert _levels(result) == {
        "key": Level.OK,
        "page_size": Level.OK,
        "order": Level.OK,
        "ties": Level.OK,
        "count": Level.OK,
        "expired": Level.NOTE,
        "lifetime": Level.OK,
        "rate_limit": Level.OK,
        "latency": Level.OK,
        "clock": Level.OK,
    }
    assert result.holds
    assert result.verdict("key").data["counts"] == {
        "PENDING": LIVE + EXPIRED,
        "CONFIRMED": 1,
        "CANCELLED": 1,
    }
    assert result.verdict("expired").data["expired"] == EXPIRED
    assert result.verdict("ties").data["tied"] == LIVE  # every live link shares its second
    assert result.verdict("lifetime").data["longest_seconds"] == 48 * 3600
    assert only_gets(counters)
    assert counters["total"] == result.requests
    assert any("lifetime horizon: safe" in line for line in result.recommendations)
    [finished] = [entry for entry in logs if entry["event"] == "probe.finished"]
    assert finished["holds"] is True


@pytest.mark.parametrize(
    ("knobs", "check", "level", "data"),
    [
        ({"page_size_cap": 100}, "page_size", Level.NOTE, {"using": 100, "echoed": 100}),
        (
            {"page_size_cap": 100, "page_size_echo": "requested"},
            "page_size",
            Level.WARN,
            {"using": 100, "echoed": 500},
        ),
        ({"list_order": "oldest_first"}, "order", Level.WARN, {"order": "oldest_first"}),
        ({"list_order": "by_id"}, "order", Level.WARN, {"order": "by_id"}),
        ({"list_order": "shuffled"}, "order", Level.WARN, {"order": "none"}),
        ({"list_order": "shuffled"}, "ties", Level.WARN, {"reads": 3}),
        ({"page_size_cap": 100, "list_order": "oldest_first"}, "order", Level.WARN, {"pages": 3}),
        ({"unstable_ties": True}, "ties", Level.WARN, {"reads": 3}),
        ({"list_expired": False}, "expired", Level.NOTE, {"expired": 0, "read": LIVE}),
        ({"date_skew_s": 30}, "clock", Level.FAIL, {"margin_s": 5.0}),
        ({"date_skew_s": -30}, "clock", Level.FAIL, {"margin_s": 5.0}),
        ({"latency_ms": 60}, "latency", Level.OK, {"request_timeout_s": 30.0}),
        ({"page_size_max": 100}, "page_size", Level.FAIL, {"refused": [500], "asked": 100}),
    ],
    ids=[
        "cap-echoed",
        "cap-echo-lies",
        "oldest-first",
        "by-id",
        "shuffled-order",
        "shuffled-ties",
        "oldest-first-across-pages",
        "unstable-ties",
        "expired-hidden",
        "clock-ahead",
        "clock-behind",
        "latency",
        "page-size-refused",
    ],
)
async def test_each_knob_gives_its_verdict(
    knobs: dict[str, Any], check: str, level: Level, data: dict[str, Any]
) -> None:
    result, counters = await _probe(knobs)

    verdict = result.verdict(check)
    assert verdict.level is level, verdict
    assert {name: verdict.data[name] for name in data} == data
    assert result.holds is (level in (Level.OK, Level.NOTE))
    assert only_gets(counters)
    assert verdict.evidence
    if check == "clock":
        # The margin asked for covers the skew and the Date header's whole second; the
        # latency it also adds depends on the machine, so only the lower bound is pinned.
        assert verdict.data["margin_needed_s"] >= abs(verdict.data["skew_s"]) + 1


async def test_a_capped_page_is_paged_by_its_echo() -> None:
    result, _ = await _probe({"page_size_cap": 100})

    assert result.verdict("order").data == {"order": "newest_first", "pages": 3, "links": 280}
    count = result.verdict("count")
    assert (count.level, count.data["last_page"], count.data["last_page_items"]) == (
        Level.OK,
        3,
        80,
    )
    assert "pages by 100: 3 pages instead of 1" in result.verdict("page_size").sweep


async def test_latency_figures_are_consistent() -> None:
    result, _ = await _probe({"latency_ms": 60})

    data = result.verdict("latency").data
    # The sandbox waits 60 ms before it answers: every figure is at least that.
    assert 0.06 <= data["median_s"] <= data["p95_s"] <= data["p99_s"]
    assert data["samples"] == result.requests
    assert data["concurrency"] >= 1


async def test_links_living_longer_than_48h_make_the_horizon_unsafe() -> None:
    result, _ = await _probe(lifetime=timedelta(hours=72))

    lifetime = result.verdict("lifetime")
    assert lifetime.level is Level.WARN
    assert lifetime.data["longest_seconds"] == 72 * 3600
    assert any(line.startswith("lifetime horizon: not safe") for line in result.recommendations)


async def test_a_stale_count_is_a_count_that_disagrees() -> None:
    async with SandboxServer(knobs={"count_lag_s": 600}) as server:
        await seed(server)
        settings = settings_for(server)
        paid = [link["id"] for link in await server.admin.links(status="PENDING")][: TIED * 5]
        await probe(settings, rate=FAST, max_requests=1)  # the count is cached from here on
        for link_id in paid:
            assert await server.admin.pay(link_id)
        result = await probe(settings, rate=FAST)

    count = result.verdict("count")
    assert count.level is Level.FAIL
    assert count.data["count"] == LIVE + EXPIRED
    assert "incomplete" in count.sweep
    assert not result.holds


@pytest.mark.parametrize(
    ("headers", "level"),
    [("ratelimit", Level.NOTE), (None, Level.WARN), ("x-ratelimit", Level.WARN)],
    ids=["headers", "no-headers", "x-headers"],
)
async def test_rate_limits_with_and_without_headers(headers: str | None, level: Level) -> None:
    knobs: dict[str, Any] = {"rate_limit": 2, "rate_limit_headers": headers is not None}
    if headers is not None:
        knobs["rate_limit_header_names"] = headers
    result, counters = await _probe(knobs, rate=PROBE_RATE)

    verdict = result.verdict("rate_limit")
    assert verdict.level is level, verdict
    assert counters["rate_limited"] == verdict.data["rate_limited"]
    if headers == "ratelimit":  # the probe's pace follows RateLimit-Limit as a run's does
        assert verdict.data["quota_per_second"] == 2
        assert verdict.data["auto_start"] == 2
        assert "ratelimit-limit" in verdict.data["headers"]
    else:  # nothing the pace reads: it meets the limit by 429s
        assert verdict.data["rate_limited"] > 0
        assert verdict.data["quota_per_second"] is None
        assert verdict.data["auto_start"] == 5
        assert any(line.startswith("rate: set --rate below 4") for line in result.recommendations)
    if headers == "x-ratelimit":
        assert "x-ratelimit-limit" in verdict.data["headers"]
        assert "X-RateLimit-*" in verdict.finding
    if headers is None:
        assert verdict.data["headers"] == ["retry-after"]
    assert only_gets(counters)
    # Everything else still checked, through the 429s.
    assert result.verdict("count").level is Level.OK


@pytest.mark.parametrize("cap", [1, 5, 8])
async def test_the_request_cap_is_never_exceeded(cap: int) -> None:
    result, counters = await _probe(max_requests=cap)

    assert counters["total"] == result.requests == cap
    assert result.capped
    assert not result.holds
    assert Level.UNCHECKED in _levels(result).values()
    assert any("raise --max-requests" in line for line in result.recommendations)
    assert only_gets(counters)


async def test_a_cap_that_covers_every_step_leaves_nothing_unchecked() -> None:
    result, counters = await _probe(max_requests=9)  # what the default sandbox takes

    assert counters["total"] == result.requests == 9
    assert not result.capped
    assert result.holds


async def test_a_refused_page_size_stops_the_scan_as_the_verdict_says() -> None:
    async with SandboxServer(knobs={"page_size_max": 100}) as server:
        await seed(server)
        result = await probe(settings_for(server), rate=FAST)
        settings = load_settings(environ=environ_for(server), duplicates=True, dry_run=True)
        report = await sweep(settings, policies_from_settings(settings))

    assert "exit 4" in result.verdict("page_size").sweep
    assert report.aborted == Abort.SCAN_INCOMPLETE


async def test_latency_near_the_request_timeout_is_a_warning() -> None:
    async with SandboxServer(knobs={"latency_ms": 1500}) as server:
        await seed(server)
        # Every answer takes at least 1.5 s, half of this timeout.
        timeouts = {"SWEEPER_REQUEST_TIMEOUT": "3s", "SWEEPER_CONNECT_TIMEOUT": "3s"}
        settings = settings_for(server, timeouts)
        result = await probe(settings, rate=FAST, max_requests=3)

    latency = result.verdict("latency")
    assert latency.level is Level.WARN
    assert latency.data["p99_s"] >= 1.5
    assert "raise request_timeout" in latency.sweep
