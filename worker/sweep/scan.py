"""Scan: every PENDING link of the organization, read page by page before anything is cancelled.

Page 1 gives ``count`` and the page size the server actually serves: the docs say the
envelope echoes the *effective* ``pageSize``, and a first page shorter than its echo while
``count`` says there is more is taken as the real size (a server that caps the size but
echoes the one asked). Every later page is asked, and its offset computed, with that size.
The remaining pages are fetched concurrently, each through the run's ``Pace``.

The list is offset-paged and its order is not documented, so rows can shift between pages
while customers pay or new links are created, and links sharing a sort key may come back in
a different order on every request: records are deduplicated by id, the walk goes on past
the first estimate while the latest ``count`` says there is more, and at the end the
distinct links seen are compared with the latest ``count``. A shortfall no larger than the
counts moved while the pages were read is drift (new links, or links shifted by payments:
the next pass finds them). In a later pass, a shortfall within the links the run has already
cancelled is also accepted: a server that caches ``count`` still includes them (they left the
list; the pages cannot show them). A larger one, or any after a page that came back short,
starts a re-read of every page that keeps only ids not seen yet; after ``MAX_REREADS`` the
scan ends as ``ScanIncomplete``, and nothing is cancelled.

Given a ``Horizon`` (``worker.sweep.horizon``), the first walk reads the pages in order
instead, a few at a time (``HORIZON_LOOKAHEAD``), and stops once it has read past the
lifetime horizon while the list keeps newest first and no link outlives the maximum; when
either breaks, the walk goes on as the full one (the pages read are kept, not re-read) and
the count comparison applies as above.

Past ~300 lines (about 480) on purpose: ``_Scan`` is one algorithm with one state (the walk
to the horizon or in full, the fallback, the re-reads, the stats), and split across modules
its steps would pass that state back and forth. What can stand alone already does: the
paging rules in ``list_checks`` (shared with the probe), the horizon's rules in ``horizon``,
the distinct-id count in ``scanned``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import anyio
import structlog

from jobs.links import Link
from worker.api.client import PAGE_SIZE_MAX, HarmonyClient
from worker.api.records import Page
from worker.api.retry import RetryPolicy, RetryQuota, with_retries
from worker.errors import ApiError, SafetyAbort
from worker.sweep._taskgroups import collapse_errors
from worker.sweep.horizon import (
    HORIZON_LOOKAHEAD,
    Fallback,
    FallbackReason,
    Horizon,
    HorizonWatch,
    ScanEnd,
)
from worker.sweep.list_checks import count_drift, effective_page_size, is_suspect_page
from worker.sweep.scanned import ScannedIds

log = structlog.get_logger("worker.sweep.scan")

MAX_EXTRA_PAGES = 100
"""Pages read past page 1's estimate when ``count`` grows during the scan, at most."""

MAX_REREADS = 3
"""Whole re-reads of the list when the distinct links seen fall short of ``count``, at most."""


@dataclass(frozen=True, slots=True)
class ScanStats:
    """What one scan read, against what the server announced: the report's ``stats.scan``."""

    pages_read: int
    links_seen: int
    count_announced: int
    rereads: int
    ended: ScanEnd = ScanEnd.FULL
    fallback_reason: FallbackReason | None = None

    def to_json_dict(self) -> dict[str, int | str]:
        """The stats as the report's JSON; ``fallback_reason`` only when it fell back."""
        stats: dict[str, int | str] = {
            "pages_read": self.pages_read,
            "links_seen": self.links_seen,
            "count_announced": self.count_announced,
            "rereads": self.rereads,
            "ended": self.ended.value,
        }
        if self.fallback_reason is not None:
            stats["fallback_reason"] = self.fallback_reason.value
        return stats


class ScanIncomplete(SafetyAbort):
    """A page could not be read or parsed, or the links seen do not add up to ``count``.

    ``stats`` says how far the scan got (None when it ended before its first page).
    """

    def __init__(self, message: str, *, stats: ScanStats | None = None) -> None:
        super().__init__(message)
        self.stats = stats


@dataclass(frozen=True, slots=True)
class ScanResult:
    """The PENDING links seen by one scan, unique by id."""

    links: Sequence[Link]
    pages: int
    count: int
    stats: ScanStats


OnPage = Callable[[int, int], None]
"""Progress callback: (links read so far, a repeat counted again; the latest total count).

During a re-read the first number is the distinct links seen so far.
"""


async def fetch_page(
    client: HarmonyClient,
    page: int,
    *,
    policy: RetryPolicy,
    budget: RetryQuota,
    page_size: int = PAGE_SIZE_MAX,
) -> Page:
    """One page with retries; ``ScanIncomplete`` when it cannot be had."""
    try:
        return await with_retries(
            lambda: client.list_page(page, page_size=page_size), policy, budget
        )
    except ApiError as exc:
        raise ScanIncomplete(f"page {page} could not be read: {exc}") from exc


class _Walk:
    """One walk through every page: the records kept, and what the pages said on the way."""

    def __init__(self, keep: Callable[[str], bool] | None) -> None:
        self.keep = keep
        self.records: list[Link] = []
        self.counts: list[int] = []  # each page's count, in the order the answers came
        self.suspect_pages = 0  # short non-last pages, echoes that differ from the ask

    @property
    def latest_count(self) -> int:
        return self.counts[-1] if self.counts else 0

    def drift(self) -> int:
        """How far ``count`` moved while this walk read its pages (``count_drift``)."""
        return count_drift(self.counts, suspect_pages=self.suspect_pages)


class _Scan:
    """One scan: a walk, then up to ``MAX_REREADS`` more while the ids do not add up."""

    def __init__(
        self,
        client: HarmonyClient,
        policy: RetryPolicy,
        budget: RetryQuota,
        on_page: OnPage | None,
        horizon: Horizon | None = None,
        *,
        gone: int = 0,
    ) -> None:
        self.client = client
        self.horizon = horizon
        self.gone = gone
        self.ended = ScanEnd.FULL
        self.fallback_reason: FallbackReason | None = None
        self._walk_ended = False  # a horizon walk reached the list's end
        self.policy = policy
        self.budget = budget
        self.on_page = on_page
        self.page_size = PAGE_SIZE_MAX
        self.page_size_known = False
        self.pages_read = 0
        self.rereads = 0
        self.links: list[Link] = []
        self.walk = _Walk(None)

    def stats(self) -> ScanStats:
        return ScanStats(
            pages_read=self.pages_read,
            links_seen=len(self.links),
            count_announced=self.walk.latest_count,
            rereads=self.rereads,
            ended=self.ended,
            fallback_reason=self.fallback_reason,
        )

    async def run(self) -> ScanResult:
        try:
            return await self._run()
        except ScanIncomplete as exc:
            if exc.stats is None:
                if self.rereads == 0:  # the first walk's records are not deduplicated yet
                    self.links = _one_per_id(self.walk.records)
                exc.stats = self.stats()
            raise

    async def _run(self) -> ScanResult:
        if self.horizon is None:
            self.walk = await self._read(keep=None)
        else:
            read = await self._walk_to_horizon(self.horizon)
            if self.ended is ScanEnd.HORIZON:
                return self._finish()
            if self.ended is ScanEnd.FALLBACK:
                self.walk = await self._read(keep=None, read=read)
        self.links = _one_per_id(self.walk.records)
        seen: ScannedIds | None = None
        while (short := self.walk.latest_count - len(self.links)) > self._explained():
            fields = {
                "links_seen": len(self.links),
                "count": self.walk.latest_count,
                "drift": self.walk.drift(),
                "suspect_pages": self.walk.suspect_pages,
                "rereads": self.rereads,
            }
            if self.rereads >= MAX_REREADS:
                log.error("scan.short", **fields)
                raise ScanIncomplete(
                    f"the scan saw {len(self.links)} distinct PENDING links but the server"
                    f" announced {self.walk.latest_count}, after {self.rereads} re-reads",
                    stats=self.stats(),
                )
            log.warning("scan.reread", short=short, **fields)
            self.rereads += 1
            # Only the ids, 16 bytes each, and only ids not seen yet are kept from a re-read.
            if seen is None:
                seen = ScannedIds()
                seen.add((link.id for link in self.links), remember=True)
            else:
                seen.add((link.id for link in self.walk.records), remember=True)
            self.walk = await self._read(keep=_unseen_by(seen))
            self.links.extend(self.walk.records)
        if short > self.walk.drift():
            # Within what this run took off the list: a count the server still caches. Info,
            # as scan.drift: against such a server every later pass says it, and nothing is
            # wrong (a terminal shows warnings by default).
            log.info(
                "scan.count_stale",
                short=short,
                links_seen=len(self.links),
                count=self.walk.latest_count,
                drift=self.walk.drift(),
                gone=self.gone,
            )
        elif short > 0:
            log.info(
                "scan.drift", short=short, links_seen=len(self.links), count=self.walk.latest_count
            )
        return self._finish()

    def _explained(self) -> int:
        """The shortfall the scan accepts: the count's drift, plus the links this run took
        off the list before it began (``gone``), which a count the server caches (for
        seconds or minutes: a cached COUNT(*)) may still include. A later pass only: the
        first has taken nothing off yet, so a stale count there still means a re-read."""
        return self.walk.drift() + self.gone

    def _finish(self) -> ScanResult:
        stats = self.stats()
        log.info(
            "scan.finished",
            links=len(self.links),
            pages=self.pages_read,
            count=stats.count_announced,
            page_size=self.page_size,
            rereads=self.rereads,
            ended=self.ended.value,
        )
        return ScanResult(
            links=self.links, pages=self.pages_read, count=stats.count_announced, stats=stats
        )

    async def _walk_to_horizon(self, horizon: Horizon) -> dict[int, Page]:
        """Read pages in order until past the horizon; sets ``ended``, returns the pages read.

        ``HORIZON``: ``links`` holds the links down to the horizon. ``FULL``: the list ended
        first, ``walk`` is a whole walk. ``FALLBACK``: the full walk is to go on from the
        pages returned.
        """
        walk = self.walk = _Walk(None)
        watch = HorizonWatch(horizon)
        read: dict[int, Page] = {}
        window = max(1, min(self.client.pace.concurrency, HORIZON_LOOKAHEAD))
        log.info("scan.horizon", cutoff=horizon.cutoff.isoformat(), lookahead=window)
        first = await self._fetch(1)
        self._learn_page_size(first)
        batch, number = {1: first}, 1
        while True:
            for page_number in sorted(batch):
                page = read[page_number] = batch[page_number]
                if self.ended is not ScanEnd.FULL or self._walk_ended:  # fetched past the stop
                    self.pages_read += 1
                    continue
                self._judge_page(walk, watch, page_number, page)
                number = page_number + 1
            if self.ended is not ScanEnd.FULL or self._walk_ended:
                return read
            if number > math.ceil(first.count / self.page_size) + MAX_EXTRA_PAGES:
                raise ScanIncomplete(f"the list kept growing past {MAX_EXTRA_PAGES} extra pages")
            # Never ahead past the last page that count announces: a list shorter than the
            # horizon costs no page more than a full walk.
            last = max(number, math.ceil(walk.latest_count / self.page_size))
            batch = await self._fetch_pages(range(number, min(number + window, last + 1)))

    def _judge_page(self, walk: _Walk, watch: HorizonWatch, number: int, page: Page) -> None:
        """Take page ``number`` into a horizon walk; set ``ended`` when the walk stops here."""
        suspect = walk.suspect_pages
        self._absorb(walk, number, page, check_echo=number > 1)
        problem = watch.judge(number, page.links)
        if problem is None and walk.suspect_pages > suspect:
            problem = Fallback(FallbackReason.SUSPECT_PAGE, {"page": number})
        if problem is not None:
            self._fall_back(problem)
        elif watch.crossed:
            self._horizon_reached(walk, number)
        elif not page.links or number * self.page_size >= walk.latest_count:
            self._walk_ended = True  # the whole list, all newer than the horizon: ended FULL

    def _horizon_reached(self, walk: _Walk, last_page: int) -> None:
        """Stop at the horizon, or fall back when the pages repeat links beyond drift."""
        links = _one_per_id(walk.records)
        short = len(walk.records) - len(links)
        if short > walk.drift():
            self._fall_back(
                Fallback(
                    FallbackReason.REPEATS,
                    {"repeated": short, "drift": walk.drift(), "pages": last_page},
                )
            )
            return
        self.links = links
        self.ended = ScanEnd.HORIZON

    def _fall_back(self, problem: Fallback) -> None:
        self.ended = ScanEnd.FALLBACK
        self.fallback_reason = problem.reason
        # Info, not a warning: the full scan that follows is the safe default and needs no
        # one at a terminal; the report's stats.scan and `probe` say why, for who asks.
        log.info("scan.horizon_fallback", reason=problem.reason.value, **problem.evidence)

    async def _fetch_pages(self, numbers: range) -> dict[int, Page]:
        pages: dict[int, Page] = {}

        async def fetch_into(page_number: int) -> None:
            pages[page_number] = await self._fetch(page_number)

        with collapse_errors():
            async with anyio.create_task_group() as tg:
                for page_number in numbers:
                    tg.start_soon(fetch_into, page_number)
        return pages

    async def _read(
        self, *, keep: Callable[[str], bool] | None, read: Mapping[int, Page] | None = None
    ) -> _Walk:
        """Walk every page once; ``keep`` filters the records by id (all kept without it).

        Pages in ``read`` (a horizon walk's, page 1 among them) are taken as read already.
        """
        read = read or {}
        walk = self.walk = _Walk(keep)
        first = read.get(1) or await self._fetch(1)
        learning = not self.page_size_known
        if learning:
            self._learn_page_size(first)
        self._absorb(walk, 1, first, check_echo=not learning and 1 not in read, fetched=not read)
        last_page = max(1, math.ceil(first.count / self.page_size))

        limiter = anyio.CapacityLimiter(max(1, self.client.pace.concurrency))

        async def fetch_into(page_number: int) -> None:
            async with limiter:
                self._absorb(walk, page_number, await self._fetch(page_number))

        with collapse_errors():
            async with anyio.create_task_group() as tg:
                for page_number in range(2, last_page + 1):
                    if page_number in read:
                        self._absorb(walk, page_number, read[page_number], fetched=False)
                    else:
                        tg.start_soon(fetch_into, page_number)

        # The count may have grown while we paged (new links): walk on while it says there is
        # more. Bounded, so that a server whose count keeps growing cannot keep us forever.
        for next_page in range(last_page + 1, last_page + 1 + MAX_EXTRA_PAGES):
            if (next_page - 1) * self.page_size >= walk.latest_count:
                break
            known = read.get(next_page)
            page = known or await self._fetch(next_page)
            self._absorb(walk, next_page, page, fetched=known is None)
            if not page.links:
                break
        else:
            raise ScanIncomplete(f"the list kept growing past {MAX_EXTRA_PAGES} extra pages")
        return walk

    async def _fetch(self, page: int) -> Page:
        return await fetch_page(
            self.client, page, policy=self.policy, budget=self.budget, page_size=self.page_size
        )

    def _learn_page_size(self, first: Page) -> None:
        """Page by the size page 1 shows: its echo, or fewer items than that on a full page."""
        asked, served = self.page_size, len(first.links)
        size = effective_page_size(asked, first)
        if size != asked:
            # Info: the docs let a server serve fewer than asked, and paging by it is all it
            # takes; nobody at a terminal need act on it (``probe`` reports it as a note).
            log.info(
                "scan.page_size", asked=asked, echoed=first.page_size, served=served, using=size
            )
        self.page_size = size
        self.page_size_known = True

    def _absorb(
        self,
        walk: _Walk,
        number: int,
        page: Page,
        *,
        check_echo: bool = True,
        fetched: bool = True,
    ) -> None:
        if fetched:  # a horizon walk's page taken over by the full walk counts once
            self.pages_read += 1
        walk.counts.append(page.count)
        served = len(page.links)
        if is_suspect_page(page, number, self.page_size, check_echo=check_echo):
            # Not the page asked for, or short while count says more follow: the offsets
            # this walk computes cannot be trusted to cover the list.
            walk.suspect_pages += 1
            log.warning(
                "scan.suspect_page",
                page=number,
                echoed_page=page.page,
                page_size=self.page_size,
                echoed=page.page_size,
                items=served,
                count=page.count,
            )
        if walk.keep is None:
            walk.records.extend(page.links)
            progress = len(walk.records)
        else:
            walk.records.extend(link for link in page.links if walk.keep(link.id))
            progress = len(self.links) + len(walk.records)
        log.debug("scan.page", page=page.page, items=served, count=page.count)
        if self.on_page is not None:
            self.on_page(progress, page.count)


async def scan_pending(
    client: HarmonyClient,
    *,
    policy: RetryPolicy,
    budget: RetryQuota,
    on_page: OnPage | None = None,
    horizon: Horizon | None = None,
    gone: int = 0,
) -> ScanResult:
    """Read every PENDING link, or down to ``horizon`` when it provably may.

    ``gone``: links this run took off the PENDING list before this scan (its cancels),
    which a shortfall against a cached ``count`` may be. Raises ``ScanIncomplete`` or
    ``AuthError``.
    """
    return await _Scan(client, policy, budget, on_page, horizon, gone=gone).run()


def _unseen_by(known: ScannedIds) -> Callable[[str], bool]:
    """A filter passing each id that ``known`` lacks, once."""
    new_ids: set[str] = set()  # only the links a re-read adds: few, unless the walk was wrong

    def unseen(link_id: str) -> bool:
        if link_id in new_ids or link_id in known:
            return False
        new_ids.add(link_id)
        return True

    return unseen


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
