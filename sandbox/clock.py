"""Business time (what expiry and `createdAt` are measured against) and its ISO-8601 text.

Tests move the business clock with `advance` instead of sleeping; the rate limiter keeps
real monotonic time, since it models a gateway, not the payments ledger.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class BusinessClock:
    """Wall-clock time in epoch milliseconds, shifted by an adjustable offset."""

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall
        self._offset_ms = 0

    def now_ms(self) -> int:
        """The business now, in epoch milliseconds."""
        return int(self._wall() * 1000) + self._offset_ms

    @property
    def offset_s(self) -> float:
        """How far the business clock runs ahead of the wall clock."""
        return self._offset_ms / 1000

    def advance(self, seconds: float) -> None:
        """Move the business clock by `seconds` (negative goes back)."""
        self._offset_ms += round(seconds * 1000)

    def reset(self) -> None:
        """Back to wall-clock time."""
        self._offset_ms = 0


def to_iso(ms: int) -> str:
    """`2026-01-09T10:30:00Z`, with `.mmm` only when the milliseconds are not zero."""
    moment = _EPOCH + dt.timedelta(milliseconds=ms)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{ms % 1000:03d}Z" if ms % 1000 else f"{text}Z"


def parse_iso(text: str) -> int:
    """Epoch milliseconds of an ISO-8601 timestamp that names its offset (`Z` or `+hh:mm`)."""
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone; end it with Z")
    return (moment - _EPOCH) // dt.timedelta(milliseconds=1)


def whole_seconds(ms: int) -> int:
    """`ms` truncated to a whole second, as the API writes the timestamps it sets itself."""
    return ms - ms % 1000
