"""What happened to each planned link, and why a run stopped early: values go into reports."""

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


class Abort(enum.StrEnum):
    """Why a run stopped before accounting every planned link with a final outcome."""

    PLAN_OVER_CAP = "plan_over_cap"
    FAILURE_THRESHOLD = "failure_threshold"
    SCAN_INCOMPLETE = "scan_incomplete"
    UNAUTHORIZED = "unauthorized"
    INTERRUPTED = "interrupted"
    DECLINED = "declined"
    # The API could not be reached (DNS, refused, TLS, no answer by the scan deadline)
    # before the first cancel was sent: nothing was cancelled.
    UNREACHABLE = "unreachable"
