"""The lifetime horizon: where a newest-first scan of the PENDING list may stop, and when not.

A link lives at most ``max_link_lifetime`` (the docs: ``ttlMinutes`` up to 2880), so a link
created before ``now - max_link_lifetime - margin`` expired before now, and no policy that
selects only unexpired links (``Policy.horizon_safe``) can choose it or be swayed by it. When
the list comes newest first, every link after the first one older than that instant is
older still: the scan may stop there.

Neither the order nor the lifetime is promised by anything but the docs, so ``HorizonWatch``
checks both on every page read, in order: ``createdAt`` non-increasing within and across
pages, and ``expiresAt - createdAt`` within ``max_link_lifetime`` for every link. The first
page that breaks either ends the horizon: the scan reads the whole list instead.

A horizon scan is complete when every page from 1 to the one that crossed the horizon was
read in order, none of them suspect (echo and page size as learned, none short while
``count`` says more follow), both checks held on each, and their distinct ids fall short of
the items they served by no more than ``count`` moved meanwhile (the full scan's drift;
a larger shortfall is an unstable order, and the full scan's re-reads handle it). Links
sharing the horizon's second are all read: the stop needs a link strictly older.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jobs.links import Link
from worker.sweep.list_checks import link_lifetime

HORIZON_LOOKAHEAD = 4
"""Pages fetched at once past the last page judged, at most: what a stop may cost extra."""


class ScanEnd(enum.StrEnum):
    """How a scan ended: the report's ``stats.scan.ended``."""

    HORIZON = "horizon"  # stopped at the lifetime horizon
    FULL = "full"  # read the whole list (no horizon asked, or the list ended before it)
    FALLBACK = "fallback"  # began towards a horizon, then read the whole list


class FallbackReason(enum.StrEnum):
    """Why a scan gave up its horizon: the ``reason`` of ``scan.horizon_fallback``."""

    ORDER = "order"  # a createdAt newer than the one before it
    LIFETIME = "lifetime"  # a link living longer than max_link_lifetime
    SUSPECT_PAGE = "suspect_page"  # not the page asked for, or short while count says more
    REPEATS = "repeats"  # the pages read repeat links beyond what count's moves explain


@dataclass(frozen=True, slots=True)
class Horizon:
    """``cutoff``: no link created before it can be unexpired, if none outlives ``max_lifetime``."""

    cutoff: datetime
    max_lifetime: timedelta

    @classmethod
    def at(cls, now: datetime, *, max_lifetime: timedelta, margin: timedelta) -> Horizon:
        """The horizon of a scan starting at ``now``, on a whole second (the API's unit)."""
        return cls((now - max_lifetime - margin).replace(microsecond=0), max_lifetime)


@dataclass(frozen=True, slots=True)
class Fallback:
    """The horizon no longer holds: why, and the evidence for the log."""

    reason: FallbackReason
    evidence: dict[str, Any]


class HorizonWatch:
    """Judges the pages of a walk in order against a ``Horizon``."""

    def __init__(self, horizon: Horizon) -> None:
        self.horizon = horizon
        self.crossed = False  # a link older than the cutoff was read
        self._previous: datetime | None = None

    def judge(self, number: int, links: Sequence[Link]) -> Fallback | None:
        """Check page ``number`` (the next in order); a ``Fallback`` when the horizon breaks."""
        longest = self.horizon.max_lifetime
        for link in links:
            lifetime = link_lifetime(link)
            if lifetime > longest:
                return Fallback(
                    FallbackReason.LIFETIME,
                    {
                        "page": number,
                        "link": link.id,
                        "lifetime_s": lifetime.total_seconds(),
                        "max_link_lifetime_s": longest.total_seconds(),
                    },
                )
            previous = self._previous
            if previous is not None and link.created_at > previous:
                return Fallback(
                    FallbackReason.ORDER,
                    {
                        "page": number,
                        "link": link.id,
                        "created_at": link.created_at.isoformat(),
                        "after": previous.isoformat(),
                    },
                )
            self._previous = link.created_at
            if link.created_at < self.horizon.cutoff:
                self.crossed = True
        return None
