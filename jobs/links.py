"""The payment link as the policies see it: a compact, validated record.

The client (``worker.records``) builds these from the API's JSON; the policies only read
them. Nothing here knows about HTTP.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


class Status(enum.StrEnum):
    """A one-time payment's lifecycle state; CONFIRMED and CANCELLED are final."""

    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True, slots=True)
class Link:
    """One one-time payment link.

    ``id`` is the canonical lower-case UUID string; ``created_at`` and ``expires_at`` are
    timezone-aware UTC datetimes; ``external_id`` is ``None`` when the API sent none or "".
    """

    id: str
    status: Status
    external_id: str | None
    amount: Decimal
    currency: str
    created_at: datetime
    expires_at: datetime

    def is_expired(self, now: datetime) -> bool:
        """Whether the link is past ``expiresAt`` at ``now``: neither payable nor cancellable."""
        return now >= self.expires_at
