"""Small builders for report records in report tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from worker.outcomes import Outcome
from worker.report import Mode, Report, ReportItem, Summary

NOW = datetime(2026, 1, 9, 10, 30, tzinfo=UTC)


def uid(number: int) -> str:
    """A canonical UUID whose string order follows ``number``."""
    return f"00000000-0000-4000-8000-{number:012x}"


def make_item(
    number: int,
    outcome: Outcome = Outcome.WOULD_CANCEL,
    *,
    external_id: str | None = None,
    amount: str = "100.00",
    currency: str = "MXN",
    reasons: tuple[str, ...] = ("expiring_within",),
    http_status: int | None = None,
    attempts: int = 0,
    message: str | None = None,
) -> ReportItem:
    """An item for ``uid(number)`` that expires an hour after ``NOW``."""
    return ReportItem(
        id=uid(number),
        external_id=external_id,
        amount=amount,
        currency=currency,
        expires_at=NOW + timedelta(hours=1),
        created_at=NOW - timedelta(hours=47),
        reasons=reasons,
        outcome=outcome,
        http_status=http_status,
        attempts=attempts,
        message=message,
    )


def make_report(
    items: tuple[ReportItem, ...],
    *,
    mode: Mode = "execute",
    scanned: int = 1000,
    aborted: str | None = None,
    policies: dict[str, object] | None = None,
) -> Report:
    """A report over ``items`` that ran for 42.5 seconds from ``NOW``."""
    return Report(
        run_id="run-0001",
        mode=mode,
        started_at=NOW,
        finished_at=NOW + timedelta(seconds=42, microseconds=500_000),
        policies={"expiring_within": {"window": "2h"}} if policies is None else policies,
        summary=Summary.from_items(items, scanned=scanned),
        items=items,
        aborted=aborted,
    )


def mixed_items() -> tuple[ReportItem, ...]:
    """One item per outcome, with the awkward values a real run meets."""
    return (
        make_item(1, Outcome.CANCELLED, external_id="order-1", http_status=200, attempts=1),
        make_item(
            2,
            Outcome.CONFLICT,
            external_id="order-2",
            amount="1E+3",
            reasons=("expiring_within", "duplicate"),
            http_status=400,
            attempts=1,
            message="refused (400): the customer paid first (CONFIRMED)",
        ),
        make_item(3, Outcome.NOT_FOUND, http_status=404, attempts=1, currency="USD"),
        make_item(
            4,
            Outcome.FAILED,
            external_id="ordén-4 ✓",
            amount="0.1",
            http_status=503,
            attempts=4,
            message="503 after 4 attempts",
        ),
        make_item(5, Outcome.SKIPPED_EXPIRED, amount="12345678901234567890.01"),
        make_item(6, Outcome.NOT_ATTEMPTED, reasons=("manifest",)),
        make_item(7, Outcome.WOULD_CANCEL, external_id="", reasons=()),
        id_only_item(8),
    )


def id_only_item(number: int) -> ReportItem:
    """A manifest id the API no longer shows: the run knows nothing else about it."""
    return ReportItem(
        id=uid(number),
        external_id=None,
        amount=None,
        currency=None,
        expires_at=None,
        created_at=None,
        reasons=("manifest",),
        outcome=Outcome.NOT_FOUND,
        http_status=404,
        attempts=0,
        message="not found",
    )
