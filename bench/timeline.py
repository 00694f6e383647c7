"""What happened when during an in-process run: outcomes (through the sweep's observer hooks)
and the pace's log events (through a structlog processor), on one monotonic clock.
"""

from __future__ import annotations

import contextlib
import math
import statistics
import time
from collections.abc import Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from worker.report import ReportItem

# Events worth keeping; everything is dropped after the recorder, so nothing is rendered.
_KEPT = frozenset({"pace.paused", "pace.rate_changed", "retry.scheduled", "plan.ready"})


@dataclass(slots=True)
class Timeline:
    """Monotonic timestamps of one run; ``start`` is when the sweep was called."""

    start: float = field(default_factory=time.monotonic)
    executing_at: float | None = None
    outcomes: list[tuple[float, str]] = field(default_factory=list)
    events: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)

    # SweepObserver hooks
    def scan_progress(self, seen: int, total: int) -> None:
        pass

    def planned(self, items: Sequence[ReportItem]) -> None:
        pass

    def executing(self, total: int) -> None:
        if self.executing_at is None:  # later passes execute too; the first one is timed
            self.executing_at = time.monotonic()

    def outcome(self, item: ReportItem) -> None:
        self.outcomes.append((time.monotonic(), item.outcome.value))

    # structlog processor
    def __call__(self, logger: object, name: str, event: MutableMapping[str, Any]) -> Any:
        if event.get("event") in _KEPT:
            fields = {k: v for k, v in event.items() if k != "event"}
            self.events.append((time.monotonic(), str(event["event"]), fields))
        raise structlog.DropEvent

    def cancel_phase(self) -> tuple[float, float] | None:
        """(start, end) of the first execution: from its start to its last answer."""
        if self.executing_at is None or not self.outcomes:
            return None
        return self.executing_at, max(t for t, _ in self.outcomes)

    def answer_span(self) -> tuple[float, float, int] | None:
        """(first answer, last answer, answers) of the first execution: its throughput's span."""
        phase = self.cancel_phase()
        if phase is None:
            return None
        begin, end = phase
        moments = [t for t, _ in self.outcomes if begin <= t <= end]
        return min(moments), end, len(moments)

    def rate_per_second(self, *, kinds: frozenset[str] | None = None) -> list[float]:
        """Answers per 1 s bin from the start of the first execution."""
        phase = self.cancel_phase()
        if phase is None:
            return []
        begin, end = phase
        bins = [0.0] * max(1, math.ceil(end - begin))
        for moment, outcome in self.outcomes:
            if kinds is None or outcome in kinds:
                index = min(len(bins) - 1, int(moment - begin))
                if index >= 0:
                    bins[index] += 1
        return bins

    def event_offsets(self, name: str, **match: object) -> list[float]:
        """Seconds from the first execution's start at which ``name`` was logged."""
        begin = self.executing_at if self.executing_at is not None else self.start
        return [
            moment - begin
            for moment, event, fields in self.events
            if event == name and all(fields.get(k) == v for k, v in match.items())
        ]


def settle_seconds(bins: Sequence[float], *, tolerance: float = 0.1, hold: int = 5) -> float | None:
    """Seconds until the rate settles: the first bin from which ``hold`` bins in a row all lie
    within ``tolerance`` of the steady rate (the median of the phase's last half, last bin
    left out as partial). None when it never does.
    """
    full = list(bins[:-1]) if len(bins) > 1 else list(bins)
    if len(full) < hold:
        return None
    steady = statistics.median(full[len(full) // 2 :])
    if steady <= 0:
        return None
    for start in range(len(full) - hold + 1):
        window = full[start : start + hold]
        if all(abs(value - steady) <= tolerance * steady for value in window):
            return float(start)
    return None


@contextlib.contextmanager
def recording(timeline: Timeline) -> Iterator[Timeline]:
    """Route structlog's events to ``timeline`` (and nowhere else) for the block's duration."""
    saved = structlog.get_config()
    structlog.configure(
        processors=[timeline],
        wrapper_class=structlog.make_filtering_bound_logger(20),  # INFO: debug costs nothing
        logger_factory=structlog.ReturnLoggerFactory(),
        cache_logger_on_first_use=False,
    )
    try:
        yield timeline
    finally:
        structlog.configure(**saved)
