"""One measured sweep against a sandbox process: fresh data, the worker, the server's view.

Scenarios 1, 2, 3 and 6 are made of these. Each run starts from a reset sandbox loaded with
a new ``bench.dataset`` mix (its expiry times are relative to the run's start).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bench import dataset
from bench.sandbox_process import RunningSandboxProcess
from bench.timeline import settle_seconds
from bench.worker_run import WorkerRun, run_worker


@dataclass(frozen=True, slots=True)
class SweepFigures:
    """What one worker run achieved, against the limit ``limit`` (requests per second)."""

    limit: float
    wall_s: float
    bound_s: float  # (pages of one scan + links to cancel) / limit
    cancel_rate: float  # cancels per second, first execution's first answer to its last
    cancel_rate_from_start: float  # the same from the execution's start (pipeline fill in)
    planned: int
    eligible: int
    requests: int
    rate_limited: int
    busiest_window: int  # the most requests the server saw in any window
    busiest_window_at: float  # when that window ended, seconds after the first request
    score: dataset.Score
    per_second: tuple[float, ...]  # answers per second of the first execution
    executing_after_s: float  # from the run's start to its first execution's start
    rate_limited_at: tuple[float, ...]  # seconds into the execution, per 429 pause
    quota_pauses: int  # shared pauses because RateLimit-Remaining said 0 (no 429 needed)

    @property
    def utilisation(self) -> float:
        """Cancels per second over the limit."""
        return self.cancel_rate / self.limit

    @property
    def utilisation_from_start(self) -> float:
        """Cancels per second from the execution's start (one latency of fill in) over L."""
        return self.cancel_rate_from_start / self.limit

    @property
    def wall_over_bound(self) -> float:
        return self.wall_s / self.bound_s

    @property
    def requests_per_link(self) -> float:
        """Requests sent per planned link (pages and retries included)."""
        return self.requests / self.planned if self.planned else float("nan")

    @property
    def rate_limited_share(self) -> float:
        return self.rate_limited / self.requests if self.requests else 0.0

    @property
    def steady_utilisation(self) -> float:
        """The median per-second rate of the execution's last half, over the limit."""
        full = self.per_second[:-1] or self.per_second
        if not full:
            return 0.0
        return statistics.median(full[len(full) // 2 :]) / self.limit

    @property
    def settle_s(self) -> float | None:
        """Seconds from the run's start until the rate settles (``timeline.settle_seconds``)."""
        settled = settle_seconds(self.per_second)
        return None if settled is None else self.executing_after_s + settled


async def measured_sweep(
    sandbox: RunningSandboxProcess,
    *,
    eligible: int,
    knobs: Mapping[str, Any],
    rate: str,
    seed: int,
    limit: float,
) -> SweepFigures:
    """Load fresh data, sweep it once with the worker, and read the server's counters."""
    admin = sandbox.admin()
    try:
        data = dataset.build(eligible, seed=seed)
        await dataset.load(admin, data, knobs=knobs)
        run = await run_worker(sandbox, rate=rate)
        counters = await admin.counters()
        score = await dataset.score(admin, data)
    finally:
        await admin.close()
    return figures(run, data, counters, score, limit=limit)


def figures(
    run: WorkerRun,
    data: dataset.Dataset,
    counters: Mapping[str, Any],
    score: dataset.Score,
    *,
    limit: float,
) -> SweepFigures:
    """The figures of a finished run."""
    timeline = run.timeline
    executing_at = timeline.executing_at if timeline.executing_at is not None else timeline.start
    return SweepFigures(
        limit=limit,
        wall_s=run.wall_s,
        bound_s=data.lower_bound_requests / limit,
        cancel_rate=run.cancel_rate,
        cancel_rate_from_start=run.cancel_rate_from_start,
        planned=run.report.summary.planned,
        eligible=len(data.eligible),
        requests=run.requests,
        rate_limited=run.rate_limited,
        busiest_window=max(counters.get("max_in_window", {}).values(), default=0),
        busiest_window_at=max(counters.get("max_in_window_at", {}).values(), default=0.0),
        score=score,
        per_second=tuple(timeline.rate_per_second()),
        executing_after_s=executing_at - timeline.start,
        rate_limited_at=tuple(timeline.event_offsets("pace.paused", cause="429")),
        quota_pauses=len(timeline.event_offsets("pace.paused", cause="quota_used")),
    )
