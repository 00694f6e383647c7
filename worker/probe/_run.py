"""``harmony-sweeper probe``: what the live API does where its docs are silent, read-only.

A few list pages and GETs, at most ``max_requests`` of them, one at a time through a
``Pace`` at a gentle fixed rate, gather the evidence (``Evidence``); ``worker.probe._verdicts``
judges it with the checks the scan itself makes (``worker.sweep.list_checks``). Only GET requests
are ever sent: the probe never cancels, creates or changes anything.

The requests, in order (each step only while the cap allows; a step the cap stops, and
every one after it, is "not checked"):

1. page 1 of PENDING, CONFIRMED and CANCELLED with ``pageSize`` 1: the key works, and
   each ``count``;
2. page 1 of PENDING with ``pageSize`` 500 (after a 400, with ``SMALLER_PAGE_SIZES`` in
   turn), and, if fewer came back, page 1 again by the size that did (is it honoured?);
3. pages 2.. ``ORDER_PAGES`` by that size: the order across pages;
4. page 1 again, ``TIE_REREADS`` times: do ties keep their order?
5. the last page ``count`` implies, and the one after it: does ``count`` agree?
6. one link by id (GET one), then page 1 of PENDING with ``pageSize`` 1: ``count`` later.

Latency, rate-limit headers and the server's ``Date`` come from every answer.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

import structlog

from jobs.links import Status
from worker.api.client import PAGE_SIZE_MAX, HarmonyClient
from worker.api.pace import Pace
from worker.api.records import Page, utc_now
from worker.api.retry import RetryPolicy, RetryQuota, with_retries
from worker.errors import ApiError, TransientApiError
from worker.probe._records import Evidence, ProbeResult
from worker.probe._verdicts import judge
from worker.rate import AUTO
from worker.settings import Settings
from worker.sweep.list_checks import effective_page_size

DEFAULT_MAX_REQUESTS = 40
PROBE_RATE = 4.0  # req/s: gentle for any server that takes a sweep at all
ORDER_PAGES = 3  # pages read in a row to see the order across page boundaries
TIE_REREADS = 2  # re-reads of page 1 to see whether links sharing a createdAt keep their order
COUNT_PAGE_SIZE = 1  # enough for `count`
SMALLER_PAGE_SIZES = (100, 50, 10)  # asked in turn when a larger pageSize is refused (400)

log = structlog.get_logger("worker.probe")

T = TypeVar("T")


class _CapReached(Exception):
    """The next request would exceed ``max_requests``: the probe stops gathering."""


async def probe(
    settings: Settings,
    *,
    max_requests: int = DEFAULT_MAX_REQUESTS,
    rate: float = PROBE_RATE,
    clock: Callable[[], datetime] = utc_now,
) -> ProbeResult:
    """Probe the API ``settings`` point at; raises ``AuthError``, ``Unreachable``, ...

    The rate is ``rate`` or the settings' own ``rate``/``rate_ceiling`` when lower.
    """
    if max_requests < 1:
        raise ValueError("max_requests must be at least 1")
    fixed = math.inf if settings.rate == AUTO else settings.rate
    gentle = min(rate, fixed, settings.rate_ceiling or math.inf)
    pace = Pace(rate=gentle, concurrency=1)
    policy = RetryPolicy(
        attempts=settings.retry.attempts,
        initial=settings.retry.initial.total_seconds(),
        maximum=settings.retry.maximum.total_seconds(),
    )
    quota = RetryQuota(
        settings.retry.quota,
        pause_initial=policy.initial,
        pause_maximum=policy.maximum,
        hold=lambda seconds: pace.hold(seconds, cause="retry_quota"),
    )
    client = HarmonyClient(
        base_url=settings.base_url,
        api_key=settings.api_key,
        pace=pace,
        request_timeout=settings.request_timeout.total_seconds(),
        connect_timeout=settings.connect_timeout.total_seconds(),
        max_connections=1,
        clock=clock,
    )
    evidence = Evidence()
    client.on_exchange = evidence.exchanges.append
    log.info("probe.started", base_url=settings.base_url, max_requests=max_requests, rate=gentle)
    async with client:
        gatherer = _Gatherer(client, evidence, max_requests, policy, quota)
        try:
            await gatherer.gather()
        except _CapReached:
            evidence.capped = True
    result = judge(
        evidence,
        settings=settings,
        base_url=settings.base_url,
        requests=client.requests_sent,
        max_requests=max_requests,
        rate=gentle,
        now=clock(),
    )
    log.info(
        "probe.finished",
        requests=result.requests,
        capped=evidence.capped,
        holds=result.holds,
        findings=[v.check for v in result.verdicts if not v.holds],
    )
    return result


class _Gatherer:
    """The probe's requests, one at a time, each within the cap."""

    def __init__(
        self,
        client: HarmonyClient,
        evidence: Evidence,
        max_requests: int,
        policy: RetryPolicy,
        quota: RetryQuota,
    ) -> None:
        self.client = client
        self.evidence = evidence
        self.max_requests = max_requests
        self.policy = policy
        self.quota = quota

    async def gather(self) -> None:
        ev = self.evidence
        for status in (Status.PENDING, Status.CONFIRMED, Status.CANCELLED):
            page = await self._list(1, COUNT_PAGE_SIZE, status)
            ev.counts[status] = page.count
            if status is not Status.PENDING:
                ev.other_links.extend(page.links)
        first = ev.first_page = await self._first_page()
        size = ev.page_size = effective_page_size(ev.asked_page_size, first)
        if size < ev.asked_page_size:
            ev.confirm_page = await self._list(1, size)
            ev.pages[1] = ev.confirm_page
        else:
            ev.pages[1] = first
        count = first.count
        last = max(1, math.ceil(count / size))
        for number in range(2, min(last, ORDER_PAGES) + 1):
            ev.pages[number] = await self._list(number, size)
        for _ in range(TIE_REREADS):
            ev.rereads.append(await self._list(1, size))
        ev.last_page_number = last
        if last not in ev.pages:
            ev.pages[last] = await self._list(last, size)
        ev.past_last_page = await self._list(last + 1, size)
        newest = next(iter(ev.pages[1].links), None)
        if newest is not None:
            found = await self._call(lambda: self.client.get(newest.id))
            ev.got_one, ev.got_one_missing = found, found is None
        ev.final_count = (await self._list(1, COUNT_PAGE_SIZE)).count

    async def _first_page(self) -> Page:
        """Page 1 by the largest size the server takes: 500, or smaller ones after a 400."""
        ev = self.evidence
        for size in (PAGE_SIZE_MAX, *SMALLER_PAGE_SIZES):
            try:
                page = await self._list(1, size)
            except ApiError as exc:
                if exc.status != 400 or isinstance(exc, TransientApiError):
                    raise
                ev.refused_page_sizes.append(size)
                if size == SMALLER_PAGE_SIZES[-1]:
                    raise
                continue
            ev.asked_page_size = size
            return page
        raise AssertionError("unreachable: the last size returns or raises")

    async def _list(self, number: int, page_size: int, status: Status = Status.PENDING) -> Page:
        return await self._call(
            lambda: self.client.list_page(number, page_size=page_size, status=status)
        )

    async def _call(self, attempt: Callable[[], Awaitable[T]]) -> T:
        async def capped() -> T:
            if self.client.requests_sent >= self.max_requests:
                raise _CapReached
            return await attempt()

        return await with_retries(capped, self.policy, self.quota)
