"""What happened to one planned link; the values go straight into reports."""

from __future__ import annotations

import enum


class Outcome(enum.StrEnum):
    """The end state of one planned link in a run."""

    CANCELLED = "cancelled"
    WOULD_CANCEL = "would_cancel"
    CONFLICT = "conflict"
    NOT_FOUND = "not_found"
    FAILED = "failed"
    SKIPPED_EXPIRED = "skipped_expired"
    # Planned but never sent: the run was interrupted or a safety guard stopped it first.
    NOT_ATTEMPTED = "not_attempted"
