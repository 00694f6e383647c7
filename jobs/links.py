"""The payment link as the policies see it: a compact, validated record.

The client (``worker.api.records``) builds these from the API's JSON; the policies only read
them. Nothing here knows about HTTP.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


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
    ``amount`` is a finite decimal as text, in ``str(Decimal)``'s form (``"12.50"``,
    ``"12.5"``, ``"1E+3"``): ``Decimal(link.amount)`` is exact. Text rather than a
    ``Decimal`` because a scan keeps a million of these, and only the few planned ones are
    ever added up or shown.
    """

    id: str
    status: Status
    external_id: str | None
    amount: str
    currency: str
    created_at: datetime
    expires_at: datetime

    def is_expired(self, now: datetime) -> bool:
        """Whether the link is past ``expiresAt`` at ``now``: neither payable nor cancellable."""
        return now >= self.expires_at
