"""Paid: read the organization's CONFIRMED links back to a lookback, for ``paid_sibling``.

Each pass that plans with ``paid_siblings`` on reads ``status=CONFIRMED`` one page at a time,
through the run's client (so its pace), retry policy and retry quota, with the page size page
1 shows (``list_checks.effective_page_size``), and feeds every page to a ``jobs.PaidLedger``
that keeps only what the live PENDING links' externalIds need (and the orders paid twice).

Where it stops: links created before ``since`` (now less ``paid_lookback``) are not wanted.
When every page read so far came back newest first (``createdAt`` non-increasing within
and across pages), the first link older than ``since`` proves that the rest are older too:
the read stops there (``ended = "horizon"``). Neither the order nor anything else lets it
stop otherwise: the moment a page breaks the order the read goes on to the last page
(``ended = "fallback"``, and a ``paid.fallback`` event says why); a list that never reached
the horizon ends ``"full"``. The order is judged by the PENDING scan's own
``worker.sweep.horizon.HorizonWatch``, with ``since`` as its cutoff and no lifetime limit
(how long a paid link was meant to live says nothing about when it was paid); the paging
loop stays here, small, until the scan's and this one can share one walk.

Pages are read one after another: the horizon can only be judged page by page, and a
read past it would cost pages for nothing. Offsets can shift while customers pay (a new
CONFIRMED link enters at the top of a newest-first list): a link then shows twice, which
the ledger takes once. A read to the last page must add up: distinct links seen short of
the latest ``count`` by more than the counts moved (``list_checks.count_drift``) means the
pages did not cover the list (an order that changes between requests): the read is
incomplete, as when a page cannot be had. A read stopped at the horizon cannot be checked
that way (``count`` is every CONFIRMED link, not those since the lookback); it relies on the
verified order instead.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import structlog

from jobs import PaidLedger
from jobs.links import Link, Status
from worker.api.client import PAGE_SIZE_MAX, HarmonyClient
from worker.api.records import Page
from worker.api.retry import RetryPolicy, RetryQuota, with_retries
from worker.errors import ApiError, SafetyAbort
from worker.sweep.horizon import Horizon, HorizonWatch
from worker.sweep.list_checks import count_drift, effective_page_size, is_suspect_page

log = structlog.get_logger("worker.sweep.paid")

MAX_EXTRA_PAGES = 100
"""Pages read past page 1's estimate while ``count`` grows during the read, at most."""

Ended = Literal["horizon", "full", "fallback"]


class PaidReadIncomplete(SafetyAbort):
    """A page of CONFIRMED links could not be read: ``paid_sibling`` selects nothing."""


@dataclass(frozen=True, slots=True)
class PaidReadStats:
    """How one read of CONFIRMED links went: the report's ``stats.paid_scan``."""

    pages_read: int
    links_seen: int
    count_announced: int
    ended: Ended

    def to_json_dict(self) -> dict[str, object]:
        """The stats as the report's JSON."""
        return {
            "complete": True,
            "ended": self.ended,
            "pages_read": self.pages_read,
            "links_seen": self.links_seen,
            "count_announced": self.count_announced,
        }


async def read_confirmed(
    client: HarmonyClient,
    ledger: PaidLedger,
    *,
    since: datetime,
    policy: RetryPolicy,
    budget: RetryQuota,
) -> PaidReadStats:
    """Feed ``ledger`` the CONFIRMED links back to ``since``; ``PaidReadIncomplete`` if cut.

    ``AuthError`` propagates: a refused key ends the run, not only this policy.
    """
    horizon = _OrderedSince(since)
    first = await _fetch(client, 1, PAGE_SIZE_MAX, policy, budget)
    page_size = effective_page_size(PAGE_SIZE_MAX, first)
    ids = _IdTally()
    counts, suspect = [first.count], 0
    ids.add(first.links)
    ledger.add(first.links)
    ended: Ended = "full"
    if horizon.passed(1, first.links):
        ended = "horizon"
    else:
        last_page = max(1, math.ceil(first.count / page_size)) + MAX_EXTRA_PAGES
        number = 2
        while (number - 1) * page_size < counts[-1]:
            if number > last_page:
                raise PaidReadIncomplete(
                    f"the CONFIRMED list kept growing past {MAX_EXTRA_PAGES} extra pages"
                )
            page = await _fetch(client, number, page_size, policy, budget)
            counts.append(page.count)
            if is_suspect_page(page, number, page_size):
                suspect += 1
                log.warning(
                    "paid.suspect_page", page=number, items=len(page.links), count=page.count
                )
            ids.add(page.links)
            ledger.add(page.links)
            if horizon.passed(number, page.links):
                ended = "horizon"
                break
            if not page.links:
                break
            number += 1
        if ended == "full" and horizon.broken_at is not None:
            ended = "fallback"
    distinct = ids.distinct()
    if ended != "horizon":
        short = counts[-1] - distinct
        if short > count_drift(counts, suspect_pages=suspect):
            raise PaidReadIncomplete(
                f"the CONFIRMED links read ({distinct} distinct) fall {short} short of the"
                f" {counts[-1]} the server announced: the pages did not cover the list"
            )
    stats = PaidReadStats(
        pages_read=len(counts), links_seen=distinct, count_announced=counts[-1], ended=ended
    )
    log.info("paid.read", **stats.to_json_dict())
    return stats


class _OrderedSince:
    """Whether the pages read so far, in order, prove that every later link is older."""

    def __init__(self, since: datetime) -> None:
        self.watch: HorizonWatch | None = HorizonWatch(Horizon(since, timedelta.max))
        self.broken_at: int | None = None

    def passed(self, number: int, links: tuple[Link, ...]) -> bool:
        """Take in page ``number``; True once it reached past ``since`` in a verified order."""
        if self.watch is None:
            return False
        fallback = self.watch.judge(number, links)
        if fallback is not None:
            self.watch, self.broken_at = None, number
            # Info, as the scan's horizon fallback: more pages, nothing for a person to do.
            log.info(
                "paid.fallback",
                reason="not_newest_first",
                detail="createdAt rose: the list is not newest first, so all of it is read",
                **fallback.evidence,
            )
            return False
        return self.watch.crossed


class _IdTally:
    """Distinct ids among the links read, from the UUIDs' high 64 bits: 8 bytes a link.

    Two UUID4s share their high 64 bits (58 random) with odds ~1e-7 among a million: a
    shortfall of one then, which only turns a full read into an incomplete one (the safe
    side). A ``set`` of id strings would hold ~130 bytes a link for the whole read.
    """

    def __init__(self) -> None:
        self._highs: array[int] = array("Q")

    def add(self, links: tuple[Link, ...]) -> None:
        self._highs.extend(int(link.id.replace("-", "")[:16], 16) for link in links)

    def distinct(self) -> int:
        return len(set(self._highs))


async def _fetch(
    client: HarmonyClient, number: int, page_size: int, policy: RetryPolicy, budget: RetryQuota
) -> Page:
    try:
        return await with_retries(
            lambda: client.list_page(number, page_size=page_size, status=Status.CONFIRMED),
            policy,
            budget,
        )
    except ApiError as exc:
        raise PaidReadIncomplete(f"page {number} of CONFIRMED links: {exc}") from exc
