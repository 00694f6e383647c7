"""``created_before``: links created before a cutoff, for backfills after an incident."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from jobs.links import Link, Status
from jobs.reasons import Reason


@dataclass(frozen=True, slots=True)
class CreatedBefore:
    """Selects PENDING links whose ``createdAt`` is strictly before ``cutoff``.

    It selects expired links too: the planner reports those as skipped, never cancels them.
    """

    cutoff: datetime
    reason: ClassVar[Reason] = Reason.CREATED_BEFORE
    horizon_safe: ClassVar[bool] = False  # selects expired links too (reported skipped_expired)

    def __post_init__(self) -> None:
        require_aware(self.cutoff, "created_before")

    def select(self, links: Sequence[Link], now: datetime) -> Iterator[str]:
        """The ids of PENDING links created before the cutoff (``now`` plays no part)."""
        cutoff = self.cutoff
        for link in links:
            if link.status is Status.PENDING and link.created_at < cutoff:
                yield link.id

    def describe(self) -> dict[str, object]:
        """``{"created_before": "2026-01-09T10:30:00Z"}``, in UTC."""
        return {self.reason.value: format_instant(self.cutoff)}


def require_aware(value: datetime, name: str) -> None:
    """Refuse a naive datetime: comparing it with the API's UTC instants means nothing."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value}")


def format_instant(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, the way the API writes timestamps."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
