"""Scan: every PENDING link of the organization, read page by page before anything is cancelled.

Page 1 gives ``count``; the remaining pages are fetched concurrently, each through the run's
``Pace``. The list is offset-paged and its order is not documented, so rows can shift
between pages while customers pay or new links are created: records are deduplicated by
id, and the walk goes on past the first estimate while the latest ``count`` says there is
more. A link hidden by such drift is caught by the next pass (``worker.sweep``), since
nothing is cancelled while this list is being paged.
"""

from __future__ import annotations

import bisect
import itertools
import math
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import anyio
import structlog

from jobs.links import Link
from worker.client import PAGE_SIZE_MAX, HarmonyClient
from worker.errors import AuthError, SafetyAbort, SweeperError
from worker.records import Page
from worker.retry import RetryPolicy, RetryQuota, with_retries
from worker.taskgroups import collapse_errors

log = structlog.get_logger("worker.scan")

MAX_EXTRA_PAGES = 100
"""Pages read past page 1's estimate when ``count`` grows during the scan, at most."""


class ScanIncomplete(SafetyAbort):
    """A page could not be read (after retries) or did not parse: the scan cannot be trusted."""


@dataclass(frozen=True, slots=True)
class ScanResult:
    """The PENDING links seen by one scan, unique by id."""

    links: Sequence[Link]
    pages: int
    count: int


class ScannedIds:
    """How many distinct links a run's scans listed, counted exactly in 16 bytes per id.

    The first pass counts as it is (a scan deduplicates by id); a later one adds only the
    ids no earlier pass listed. For that, a pass that another may follow keeps its new ids
    as two sorted arrays of the UUIDs' 64-bit halves: a ``set`` of the id strings would
    keep ~130 bytes per link alive long after the links themselves are gone.
    """

    def __init__(self) -> None:
        self.count = 0
        self._passes: list[tuple[array[int], array[int]]] = []

    def add(self, ids: Iterable[str], *, remember: bool) -> None:
        """Count the ``ids`` (distinct, as one scan's are) that no earlier pass listed.

        ``remember`` keeps them for the passes that may follow; the last pass need not.
        """
        new = ids if not self._passes else (link_id for link_id in ids if not self._seen(link_id))
        if not remember:
            self.count += sum(1 for _ in new)
            return
        high: array[int] = array("Q")
        low: array[int] = array("Q")
        # Canonical UUID text sorts as the UUIDs' numbers do, so both arrays come out sorted.
        for link_id in sorted(new):
            first, second = _halves(link_id)
            high.append(first)
            low.append(second)
        self.count += len(high)
        self._passes.append((high, low))

    def _seen(self, link_id: str) -> bool:
        high, low = _halves(link_id)
        for highs, lows in self._passes:
            at = bisect.bisect_left(highs, high)
            while at < len(highs) and highs[at] == high:
                if lows[at] == low:
                    return True
                at += 1
        return False


_LOW_64 = (1 << 64) - 1


def _halves(link_id: str) -> tuple[int, int]:
    """A canonical UUID string (8-4-4-4-12 hex digits) as two 64-bit numbers."""
    number = int(link_id.replace("-", ""), 16)
    return number >> 64, number & _LOW_64


OnPage = Callable[[int, int], None]
"""Progress callback: (links read so far, a repeat counted again; the latest total count)."""


async def fetch_page(
    client: HarmonyClient, page: int, *, policy: RetryPolicy, budget: RetryQuota
) -> Page:
    """One page with retries; ``ScanIncomplete`` when it cannot be had."""
    try:
        return await with_retries(
            lambda: client.list_page(page, page_size=PAGE_SIZE_MAX), policy, budget
        )
    except AuthError:
        raise
    except SweeperError as exc:
        raise ScanIncomplete(f"page {page} could not be read: {exc}") from exc


async def scan_pending(
    client: HarmonyClient,
    *,
    policy: RetryPolicy,
    budget: RetryQuota,
    on_page: OnPage | None = None,
) -> ScanResult:
    """Read every PENDING link; raises ``ScanIncomplete`` or ``AuthError``."""
    records: list[Link] = []
    latest_count = 0
    pages_read = 0

    def absorb(page: Page) -> None:
        nonlocal latest_count, pages_read
        pages_read += 1
        latest_count = page.count
        records.extend(page.links)
        log.debug("scan.page", page=page.page, items=len(page.links), count=page.count)
        if on_page is not None:
            on_page(len(records), latest_count)

    first = await fetch_page(client, 1, policy=policy, budget=budget)
    absorb(first)
    last_page = max(1, math.ceil(first.count / PAGE_SIZE_MAX))

    limiter = anyio.CapacityLimiter(max(1, client.pace.concurrency))

    async def fetch_into(page_number: int) -> None:
        async with limiter:
            absorb(await fetch_page(client, page_number, policy=policy, budget=budget))

    with collapse_errors():
        async with anyio.create_task_group() as tg:
            for page_number in range(2, last_page + 1):
                tg.start_soon(fetch_into, page_number)

    # The count may have grown while we paged (new links): walk on while it says there is more.
    # Bounded, so that a server whose count keeps growing cannot keep the scan going forever.
    for next_page in range(last_page + 1, last_page + 1 + MAX_EXTRA_PAGES):
        if (next_page - 1) * PAGE_SIZE_MAX >= latest_count:
            break
        page = await fetch_page(client, next_page, policy=policy, budget=budget)
        absorb(page)
        if not page.links:
            break
    else:
        raise ScanIncomplete(f"the list kept growing past {MAX_EXTRA_PAGES} extra pages")

    links = _one_per_id(records)
    log.info("scan.finished", links=len(links), pages=pages_read, count=latest_count)
    return ScanResult(links=links, pages=pages_read, count=latest_count)


def _one_per_id(records: list[Link]) -> list[Link]:
    """``records`` with one per id, the last one read, in the order they came.

    Repeats (page drift) are found by sorting the ids: a list of references, where a dict
    keyed by id would cost five times as much (~40 MiB for a million links) at the moment
    the scan holds the most.
    """
    ids = sorted(link.id for link in records)
    repeated = {a for a, b in itertools.pairwise(ids) if a == b}
    del ids
    if not repeated:
        return records
    last = {link.id: link for link in records if link.id in repeated}
    return [link for link in records if last.get(link.id, link) is link]
