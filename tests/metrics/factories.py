"""Reports and run stats to push, with known counts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from worker.outcomes import Outcome
from worker.report import Mode, Report, ReportItem, RunStats, Summary

STARTED = datetime(2026, 1, 9, 3, 0, tzinfo=UTC)
# What the injected clock says when a run pushes: a fixed, exactly representable float.
FINISHED_AT = 1_767_927_642.5


def make_report(
    outcomes: Mapping[Outcome, int],
    *,
    mode: Mode = "execute",
    scanned: int = 1000,
    aborted: str | None = None,
) -> Report:
    """A report with ``outcomes[o]`` items ending in outcome ``o``."""
    items = tuple(
        _item(number, outcome)
        for number, outcome in enumerate(
            outcome for outcome, count in outcomes.items() for _ in range(count)
        )
    )
    return Report(
        run_id="run-0001",
        mode=mode,
        started_at=STARTED,
        finished_at=STARTED + timedelta(seconds=42.5),
        policies={"expiring_within": {"window": "2h"}},
        summary=Summary.from_items(items, scanned=scanned),
        items=items,
        aborted=aborted,
    )


def make_stats(
    requests_by_class: Mapping[str, int] | None = None,
    *,
    rate_limited: int = 0,
    retries: int = 0,
    duration_seconds: float = 42.5,
) -> RunStats:
    """Stats for a run; by default 10 requests, all answered 2xx."""
    return RunStats(
        requests_by_class={"2xx": 10} if requests_by_class is None else requests_by_class,
        rate_limited=rate_limited,
        retries=retries,
        duration_seconds=duration_seconds,
    )


def _item(number: int, outcome: Outcome) -> ReportItem:
    return ReportItem(
        id=f"00000000-0000-4000-8000-{number:012x}",
        external_id=None,
        amount="100.00",
        currency="MXN",
        expires_at=STARTED + timedelta(hours=1),
        created_at=STARTED - timedelta(hours=47),
        reasons=("expiring_within",),
        outcome=outcome,
        http_status=None,
        attempts=0,
        message=None,
    )
