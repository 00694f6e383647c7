"""Why a link was selected; the values go straight into reports."""

from __future__ import annotations

import enum


class Reason(enum.StrEnum):
    """A policy's reason for selecting a link.

    The declaration order is the order in which a decision lists its reasons.
    """

    EXPIRING_WITHIN = "expiring_within"
    DUPLICATE = "duplicate"
    CREATED_BEFORE = "created_before"
    MANIFEST = "manifest"
    PAID_SIBLING = "paid_sibling"
