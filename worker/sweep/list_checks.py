"""What the list endpoint does that its docs leave open, judged from the pages it serves.

The scan checks these as it reads (``worker.sweep.scan``), and ``harmony-sweeper probe`` reports
them before a first run (``worker.probe``): one implementation, so that what the probe says
is what the scan will conclude.

- The page size really served: the docs say the envelope echoes the *effective*
  ``pageSize``; a page holding fewer items than its echo while ``count`` says more follow
  is a server that caps the size but echoes the one asked.
- A suspect page: not the page asked for, or short while ``count`` says more follow.
- Count agreement: a shortfall of distinct links against ``count`` no larger than the
  counts moved while the pages were read is drift; any suspect page rules drift out.
- The order of the list: by ``createdAt`` (either way), by id, or none that shows.
- A link's lifetime (``expiresAt - createdAt``), which the lifetime horizon relies on.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Sequence
from datetime import timedelta

from jobs.links import Link
from worker.api.records import Page


def effective_page_size(asked: int, first: Page) -> int:
    """The page size to page by, from page 1: its echo, or fewer items than that on a full page."""
    served = len(first.links)
    size = min(first.page_size, asked)
    if 0 < served < size and served < first.count:
        size = served  # an echo that says more than the page holds is not believed
    return size


def is_suspect_page(page: Page, number: int, page_size: int, *, check_echo: bool = True) -> bool:
    """Whether ``page`` (asked as ``number`` by ``page_size``) breaks the offsets of a walk.

    Not the page asked for (its echo differs), or short while ``count`` says more follow.
    """
    if check_echo and (page.page_size, page.page) != (page_size, number):
        return True
    return len(page.links) < page_size and number * page_size < page.count


def count_drift(counts: Sequence[int], *, suspect_pages: int = 0) -> int:
    """How far ``count`` moved while a walk read its pages (up and down, summed).

    New links make it grow and can hide before the pages read; payments make it drop and
    shift links into pages already read. A shortfall within this much is drift, unless a
    page gave other evidence of a wrong walk (``suspect_pages``): then none is.
    """
    if suspect_pages:
        return 0
    return sum(abs(after - before) for before, after in itertools.pairwise(counts))


def expected_last_page_items(count: int, page_size: int) -> int:
    """How many items the last page holds when ``count`` links are cut by ``page_size``."""
    if count <= 0:
        return 0
    return count - (count - 1) // page_size * page_size


class ListOrder(enum.StrEnum):
    """The order a run of listed links shows."""

    NEWEST_FIRST = "newest_first"  # createdAt non-increasing
    OLDEST_FIRST = "oldest_first"  # createdAt non-decreasing
    BY_ID = "by_id"  # id ascending, whatever the time
    NONE = "none"  # none of these
    UNKNOWN = "unknown"  # too few links, or all created in one instant


def list_order(links: Sequence[Link]) -> ListOrder:
    """The order ``links`` (consecutive pages, in the order read) show, if any."""
    created = [link.created_at for link in links]
    if len(links) < 2 or len(set(created)) < 2:
        return ListOrder.UNKNOWN
    pairs = list(itertools.pairwise(created))
    if all(a >= b for a, b in pairs):
        return ListOrder.NEWEST_FIRST
    if all(a <= b for a, b in pairs):
        return ListOrder.OLDEST_FIRST
    if all(a.id < b.id for a, b in itertools.pairwise(links)):
        return ListOrder.BY_ID
    return ListOrder.NONE


def tied_links(links: Sequence[Link]) -> int:
    """How many of ``links`` share their ``createdAt`` with another of them."""
    seen: dict[object, int] = {}
    for link in links:
        seen[link.created_at] = seen.get(link.created_at, 0) + 1
    return sum(n for n in seen.values() if n > 1)


def link_lifetime(link: Link) -> timedelta:
    """How long ``link`` lives: ``expiresAt - createdAt`` (the docs allow at most 48h)."""
    return link.expires_at - link.created_at
