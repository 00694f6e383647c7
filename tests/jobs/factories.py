"""Small builders for ``Link`` records in jobs tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobs.links import Link, Status

NOW = datetime(2026, 1, 9, 10, 30, tzinfo=UTC)


def uid(number: int) -> str:
    """A canonical UUID whose string order follows ``number``."""
    return f"00000000-0000-4000-8000-{number:012x}"


def make_link(
    number: int,
    *,
    status: Status = Status.PENDING,
    external_id: str | None = None,
    created: timedelta = timedelta(hours=-1),
    expires: timedelta = timedelta(hours=1),
    currency: str = "MXN",
    amount: str = "100.00",
) -> Link:
    """A link ``uid(number)``, with its times given relative to ``NOW``."""
    return Link(
        id=uid(number),
        status=status,
        external_id=external_id,
        amount=amount,
        currency=currency,
        created_at=NOW + created,
        expires_at=NOW + expires,
    )
