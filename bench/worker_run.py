"""One sweep of the worker, in this process, through its Python API (``worker.sweep``).

The sandbox runs in its own process (``bench.sandbox_process``), so this process is the
client alone. Figures come from the returned ``Report`` and from a ``Timeline``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench.dataset import EXPIRING_WITHIN
from bench.sandbox_process import RunningSandboxProcess
from bench.timeline import Timeline, recording
from worker.report import Report
from worker.settings import load_settings
from worker.sweep import sweep
from worker.sweep.policies import policies_from_settings

MAX_CANCELLATIONS = 10**7  # the cap guards production runs, not a benchmark's known plan


@dataclass(frozen=True, slots=True)
class WorkerRun:
    """The figures of one sweep."""

    wall_s: float
    report: Report
    timeline: Timeline

    @property
    def requests(self) -> int:
        """Requests sent, whatever their answer (or none)."""
        assert self.report.stats is not None
        return sum(self.report.stats.requests_by_class.values())

    @property
    def rate_limited(self) -> int:
        """429 answers received."""
        assert self.report.stats is not None
        return self.report.stats.rate_limited

    @property
    def cancel_rate(self) -> float:
        """Cancels per second of the first execution, between its first and last answers.

        A throughput: the pipeline's fill (the first answer comes one latency after the first
        send, 0.5 s at 500 ms) is in ``cancel_rate_from_start`` and in the wall time, not
        here, since no client can shorten it and it does not grow with the links.
        """
        span = self.timeline.answer_span()
        cancelled = self.report.summary.cancelled
        if span is None or cancelled < 2:
            return 0.0
        first, last, answers = span
        # n answers span n - 1 intervals; the share of them that are cancels scales it.
        return (answers - 1) / max(last - first, 1e-9) * cancelled / answers

    @property
    def cancel_rate_from_start(self) -> float:
        """Cancels per second from the start of the first execution to its last answer."""
        phase = self.timeline.cancel_phase()
        cancelled = self.report.summary.cancelled
        if phase is None or cancelled == 0:
            return 0.0
        return cancelled / max(phase[1] - phase[0], 1e-9)


def flags_for(
    rate: str, *, concurrency: int | None = None, dry_run: bool = False
) -> dict[str, object]:
    """``load_settings`` flags of a benchmark sweep, as the CLI would pass them."""
    return {
        "rate": rate,
        "concurrency": None if concurrency is None else str(concurrency),
        "expiring_within": EXPIRING_WITHIN,
        "duplicates": True,
        "dry_run": dry_run or None,
        "max_cancellations": str(MAX_CANCELLATIONS),
    }


def cli_flags(rate: str, *, concurrency: int | None = None, dry_run: bool = False) -> str:
    """The same sweep as ``harmony-sweeper run`` flags, for RESULTS.md."""
    words = [f"--expiring-within {EXPIRING_WITHIN}", "--duplicates", f"--rate {rate}"]
    if concurrency is not None:
        words.append(f"--concurrency {concurrency}")
    words.append("--dry-run" if dry_run else f"--max-cancellations {MAX_CANCELLATIONS} --yes")
    return " ".join(words)


async def run_worker(
    sandbox: RunningSandboxProcess, *, rate: str, concurrency: int | None = None
) -> WorkerRun:
    """Sweep the sandbox once with both policies; returns the report and the timeline."""
    settings = load_settings(
        environ={"HARMONY_API_KEY": sandbox.api_key, "HARMONY_BASE_URL": sandbox.base_url},
        **flags_for(rate, concurrency=concurrency),
    )
    policies = policies_from_settings(settings)
    timeline = Timeline()
    with recording(timeline):
        started = time.monotonic()
        timeline.start = started
        report = await sweep(settings, policies, observer=timeline)
        wall = time.monotonic() - started
    return WorkerRun(wall_s=wall, report=report, timeline=timeline)
