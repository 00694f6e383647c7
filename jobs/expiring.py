"""``expiring_within``: links that will expire soon, so withdraw them now."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from jobs.links import Link, Status
from jobs.reasons import Reason


@dataclass(frozen=True, slots=True)
class ExpiringWithin:
    """Selects PENDING links whose ``expiresAt`` lies in ``(now, now + window]``.

    ``now`` itself is out (a link is expired at its ``expiresAt``), ``now + window`` is in.
    """

    window: timedelta
    reason: ClassVar[Reason] = Reason.EXPIRING_WITHIN
    horizon_safe: ClassVar[bool] = True  # expiresAt after now: only unexpired links

    def __post_init__(self) -> None:
        if self.window <= timedelta(0):
            raise ValueError(f"expiring_within needs a positive window, got {self.window}")

    def select(self, links: Sequence[Link], now: datetime) -> Iterator[str]:
        """The ids of PENDING links expiring after ``now`` and by ``now + window``."""
        horizon = now + self.window
        for link in links:
            if link.status is Status.PENDING and now < link.expires_at <= horizon:
                yield link.id

    def describe(self) -> dict[str, object]:
        """``{"expiring_within": "30m"}``: the window in the CLI's duration grammar."""
        return {self.reason.value: format_window(self.window)}


def format_window(window: timedelta) -> str:
    """``2h``, ``30m``, ``90s`` (the largest whole unit), or fractional seconds."""
    seconds = window.total_seconds()
    if seconds != int(seconds):
        return f"{seconds:g}s"
    whole = int(seconds)
    for unit, size in (("h", 3600), ("m", 60)):
        if whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"
