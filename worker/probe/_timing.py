"""The probe's verdicts on pace and time: rate limits, latency, and the server's clock.

Judged from every answer the probe got (``Exchange``): its status, latency and headers.
"""

from __future__ import annotations

import email.utils
import math
import statistics
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from worker.api import RateLimitHint, parse_rate_limit, retry_after_seconds
from worker.api.answers import Exchange
from worker.api.pace import DEFAULT_AUTO_START_RATE, littles_law_concurrency
from worker.probe._records import Level, Verdict, unchecked
from worker.rate import AUTO
from worker.settings import Settings
from worker.settings.durations import format_duration

_PACE_MAX_CONCURRENCY = 256  # Pace's default cap
_DATE_RESOLUTION_S = 1.0  # the Date header has whole seconds
_SLOW_SHARE = 0.5  # a p99 latency past this share of request_timeout is near the timeout


def rate_limit_verdict(exchanges: Sequence[Exchange], settings: Settings, rate: float) -> Verdict:
    refused = [e for e in exchanges if e.status == 429]
    hint: RateLimitHint | None = None
    named: set[str] = set()
    for exchange in exchanges:
        hint = parse_rate_limit(exchange.headers) or hint
        named.update(
            name
            for name in exchange.headers
            if name.startswith(("ratelimit-", "x-ratelimit-")) or name == "retry-after"
        )
    retry_after = [retry_after_seconds(e.headers) for e in refused]
    quota = None if hint is None else hint.limit_per_second
    ceiling = settings.rate_ceiling or math.inf
    auto_start = min(DEFAULT_AUTO_START_RATE if quota is None else quota, ceiling)
    run_rate = auto_start if settings.rate == AUTO else settings.rate
    headers = ", ".join(sorted(named)) or "none"
    evidence = (
        f"{len(refused)} of {len(exchanges)} answers were 429 at {rate:g} req/s; headers: {headers}"
    )
    if retry_after and retry_after[-1] is not None:
        evidence += f"; Retry-After {retry_after[-1]:g}s"
    data: dict[str, Any] = {
        "rate_limited": len(refused),
        "headers": sorted(named),
        "quota_per_second": quota,
        "auto_start": auto_start,
        "run_rate": run_rate,
        "probe_rate": rate,
    }
    if quota is not None:
        return Verdict(
            "rate_limit",
            Level.NOTE,
            f"RateLimit-* headers: {quota:g} req/s",
            evidence,
            f"auto starts at {auto_start:g} req/s and never aims above the quota",
            data,
        )
    if any(name.startswith("x-ratelimit-") for name in named):
        return Verdict(
            "rate_limit",
            Level.WARN,
            "only X-RateLimit-* headers, which the pace does not read",
            evidence,
            f"auto starts at {auto_start:g} req/s and finds the limit by 429s; set --rate",
            data,
        )
    if refused:
        return Verdict(
            "rate_limit",
            Level.WARN,
            "429s without rate-limit headers",
            evidence,
            f"pauses on each 429 and auto cuts its rate (from {auto_start:g} req/s): expect "
            "429s in every run unless --rate is set below the limit",
            data,
        )
    return Verdict(
        "rate_limit",
        Level.OK,
        "none met",
        evidence,
        f"auto starts at {auto_start:g} req/s and raises it while answers are clean",
        data,
    )


def quantile(ordered: Sequence[float], share: float) -> float:
    """The nearest-rank quantile of sorted samples: the one at ceil(share * n)."""
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def latency_verdict(latencies: Sequence[float], settings: Settings, run_rate: object) -> Verdict:
    if not latencies:
        return unchecked("latency")
    median, p95, p99 = (quantile(latencies, q) for q in (0.5, 0.95, 0.99))
    mean = statistics.fmean(latencies)
    rate = run_rate if isinstance(run_rate, int | float) else DEFAULT_AUTO_START_RATE
    concurrency = littles_law_concurrency(rate, mean, _PACE_MAX_CONCURRENCY)
    timeout = settings.request_timeout.total_seconds()
    evidence = (
        f"{len(latencies)} answers: median {median * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms"
    )
    data = {
        "samples": len(latencies),
        "median_s": median,
        "p95_s": p95,
        "p99_s": p99,
        "mean_s": mean,
        "rate": rate,
        "concurrency": concurrency,
        "request_timeout_s": timeout,
    }
    sweep = f"Little's law at {rate:g} req/s: concurrency {concurrency}"
    if p99 >= timeout * _SLOW_SHARE:
        return Verdict(
            "latency",
            Level.WARN,
            f"p99 near the request timeout ({format_duration(settings.request_timeout)})",
            evidence,
            sweep + "; slow answers time out and are retried: raise request_timeout",
            data,
        )
    return Verdict("latency", Level.OK, f"median {median * 1000:.0f} ms", evidence, sweep, data)


def clock_verdict(
    exchanges: Sequence[Exchange], settings: Settings, latencies: Sequence[float]
) -> Verdict:
    offsets: list[float] = []
    for exchange in exchanges:
        date = _http_date(exchange.headers.get("date"))
        if date is not None:
            middle = exchange.sent_at + timedelta(seconds=exchange.latency / 2)
            offsets.append((date - middle).total_seconds())
    margin = settings.safety.expiry_margin.total_seconds()
    if not offsets:
        if not exchanges:
            return unchecked("clock")
        return Verdict("clock", Level.NOTE, "no Date header", "", "", {"margin_s": margin})
    # Date truncates to the second: the server's clock is between the offset and a second on.
    # Rounded to what the header can tell, and never "-0.0".
    skew = round(statistics.median(offsets) + _DATE_RESOLUTION_S / 2, 1) + 0.0
    p99 = quantile(latencies, 0.99) if latencies else 0.0
    worst = abs(skew) + _DATE_RESOLUTION_S / 2 + p99
    side = "ahead of" if skew >= 0 else "behind"
    evidence = (
        f"Date of {len(offsets)} answers against the local clock: server {abs(skew):.1f}s "
        f"{side} ours (+-{_DATE_RESOLUTION_S / 2:g}s); expiry_margin {margin:g}s"
    )
    needed = math.ceil(worst + _DATE_RESOLUTION_S)
    data = {"skew_s": skew, "margin_s": margin, "worst_s": worst, "margin_needed_s": needed}
    if worst >= margin:
        return Verdict(
            "clock",
            Level.FAIL,
            f"skew {skew:+.0f}s exceeds the expiry margin ({margin:g}s)",
            evidence,
            "the server may see a link expire before the send-time check does: cancels near "
            f"expiry may reach expired links; raise [safety] expiry_margin to {needed}s",
            data,
        )
    return Verdict("clock", Level.OK, f"skew {skew:+.1f}s, within the margin", evidence, "", data)


def _http_date(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
