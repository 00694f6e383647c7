"""Scan: every PENDING link of the organization, read page by page before anything is cancelled.

Page 1 gives ``count``; the remaining pages are fetched concurrently, each through the run's
``Pace``. The list is offset-paged and its order is not documented, so rows can shift
between pages while customers pay or new links are created: records are deduplicated by
id, and the walk goes on past the first estimate while the latest ``count`` says there is
more. A link hidden by such drift is caught by the next pass (``worker.sweep``), since
nothing is cancelled while this list is being paged.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import anyio
import structlog

from jobs.links import Link
from worker.client import PAGE_SIZE_MAX, HarmonyClient
from worker.errors import AuthError, SafetyAbort, SweeperError
from worker.records import Page
from worker.retry import RetryBudget, RetryPolicy, with_retries
from worker.taskgroups import collapse_errors

log = structlog.get_logger("worker.scan")

MAX_EXTRA_PAGES = 100
"""Pages read past page 1's estimate when ``count`` grows during the scan, at most."""


class ScanIncomplete(SafetyAbort):
    """A page could not be read (after retries) or did not parse: the scan cannot be trusted."""


@dataclass(frozen=True, slots=True)
class ScanResult:
    """The PENDING links seen by one scan, unique by id."""

    links: tuple[Link, ...]
    pages: int
    count: int


OnPage = Callable[[int, int], None]
"""Progress callback: (links seen so far, the latest total count)."""


async def fetch_page(
    client: HarmonyClient, page: int, *, policy: RetryPolicy, budget: RetryBudget
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
    budget: RetryBudget,
    on_page: OnPage | None = None,
) -> ScanResult:
    """Read every PENDING link; raises ``ScanIncomplete`` or ``AuthError``."""
    seen: dict[str, Link] = {}
    latest_count = 0
    pages_read = 0

    def absorb(page: Page) -> None:
        nonlocal latest_count, pages_read
        pages_read += 1
        latest_count = page.count
        for link in page.links:
            seen[link.id] = link
        log.debug("scan.page", page=page.page, items=len(page.links), count=page.count)
        if on_page is not None:
            on_page(len(seen), latest_count)

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

    links = tuple(seen.values())
    log.info("scan.finished", links=len(links), pages=pages_read, count=latest_count)
    return ScanResult(links=links, pages=pages_read, count=latest_count)
