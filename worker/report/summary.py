"""The run's counts by outcome: every planned link counted once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from worker.outcomes import Outcome

if TYPE_CHECKING:
    from worker.report.items import ReportItem

#: The summary's keys, in order: ``scanned``, ``planned``, then one count per outcome.
SUMMARY_KEYS: tuple[str, ...] = ("scanned", "planned", *(outcome.value for outcome in Outcome))


@dataclass(frozen=True, slots=True)
class Summary:
    """Counts for the run.

    ``planned`` is every link the policies selected, ``skipped_expired`` included, so the
    outcome counts always add up to ``planned``: each planned link is accounted for once.
    """

    scanned: int
    planned: int
    cancelled: int
    would_cancel: int
    conflict: int
    not_found: int
    failed: int
    skipped_expired: int
    not_attempted: int

    @classmethod
    def from_items(cls, items: Sequence[ReportItem], *, scanned: int) -> Summary:
        """Count ``items`` by outcome; ``scanned`` is the number of distinct links listed."""
        counts = dict.fromkeys(Outcome, 0)
        for item in items:
            counts[item.outcome] += 1
        return cls(
            scanned=scanned,
            planned=len(items),
            cancelled=counts[Outcome.CANCELLED],
            would_cancel=counts[Outcome.WOULD_CANCEL],
            conflict=counts[Outcome.CONFLICT],
            not_found=counts[Outcome.NOT_FOUND],
            failed=counts[Outcome.FAILED],
            skipped_expired=counts[Outcome.SKIPPED_EXPIRED],
            not_attempted=counts[Outcome.NOT_ATTEMPTED],
        )

    def to_json_dict(self) -> dict[str, int]:
        """The summary as the report's JSON, keys in ``SUMMARY_KEYS`` order."""
        return {key: getattr(self, key) for key in SUMMARY_KEYS}
