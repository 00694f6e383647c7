"""The probe's judgement: every verdict from the evidence, then recommendations for settings."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from worker.probe._list import (
    count_verdict,
    expired_verdict,
    key_verdict,
    lifetime_verdict,
    order_verdict,
    page_size_verdict,
    ties_verdict,
)
from worker.probe._records import Evidence, Level, ProbeResult
from worker.probe._timing import (
    clock_verdict,
    latency_verdict,
    rate_limit_verdict,
)
from worker.rate import AUTO
from worker.settings import Settings


def judge(
    ev: Evidence,
    *,
    settings: Settings,
    base_url: str,
    requests: int,
    max_requests: int,
    rate: float,
    now: datetime,
) -> ProbeResult:
    """The verdicts and recommendations that ``ev`` supports."""
    latencies = sorted(exchange.latency for exchange in ev.exchanges)
    rate_limit = rate_limit_verdict(ev.exchanges, settings, rate)
    latency = latency_verdict(latencies, settings, rate_limit.data.get("run_rate"))
    verdicts = (
        key_verdict(ev),
        page_size_verdict(ev),
        order_verdict(ev),
        ties_verdict(ev),
        count_verdict(ev),
        expired_verdict(ev, now),
        lifetime_verdict(ev),
        rate_limit,
        latency,
        clock_verdict(ev.exchanges, settings, latencies),
    )
    result = ProbeResult(
        base_url=base_url,
        verdicts=verdicts,
        recommendations=(),
        requests=requests,
        max_requests=max_requests,
        rate=rate,
        capped=ev.capped,
    )
    return dataclasses.replace(result, recommendations=tuple(_recommend(result, settings)))


def _recommend(result: ProbeResult, settings: Settings) -> list[str]:
    rate, latency = result.verdict("rate_limit"), result.verdict("latency")
    clock = result.verdict("clock")
    lines: list[str] = []
    quota = rate.data.get("quota_per_second")
    if rate.level is Level.WARN:
        lines.append(
            f"rate: set --rate below {result.rate:g} (429s came at that rate), or keep auto, "
            "which cuts on each 429"
        )
    elif quota is not None:
        lines.append(f"rate: keep auto: it follows RateLimit-Limit ({quota:g} req/s)")
    elif settings.rate == AUTO:
        lines.append(f"rate: keep auto (starts at {rate.data.get('auto_start', 5):g} req/s)")
    else:
        lines.append(f"rate: your settings fix {settings.rate:g} req/s; no limit was met")
    if latency.level is not Level.UNCHECKED:
        lines.append(
            f"concurrency: keep auto (Little's law: {latency.data['concurrency']} at "
            f"{latency.data['rate']:g} req/s)"
        )
    if clock.level is Level.FAIL:
        lines.append(
            f"expiry margin: raise [safety] expiry_margin to {clock.data['margin_needed_s']}s"
        )
    elif "margin_s" in clock.data:
        lines.append(f"expiry margin: {clock.data['margin_s']:g}s is enough")
    # A scan may stop at the lifetime horizon only on a newest-first list whose links live
    # no longer than the horizon assumes; ties and counts are the full scan's concern too.
    order, lifetime = result.verdict("order"), result.verdict("lifetime")
    if order.level is Level.OK and lifetime.level is Level.OK:
        lines.append("lifetime horizon: safe (newest first, no link lives longer than 48h)")
    else:
        why = "; ".join(
            f"{v.check}: {v.finding}" for v in (order, lifetime) if v.level is not Level.OK
        )
        lines.append(f"lifetime horizon: not safe ({why}): keep full scans")
    if result.capped:
        lines.append(f"raise --max-requests: {result.max_requests} did not cover every check")
    return lines
