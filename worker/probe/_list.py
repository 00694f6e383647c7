"""The probe's verdicts on the list: the key, page size, order, ties, count, expiry, lifetime.

Each judges ``Evidence`` with the checks the scan makes itself (``worker.sweep.list_checks``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from jobs.links import Link, Status
from worker.api.client import PAGE_SIZE_MAX
from worker.probe._records import Evidence, Level, Verdict, unchecked
from worker.settings import DEFAULT_MAX_LINK_LIFETIME
from worker.settings.durations import format_duration
from worker.sweep.list_checks import (
    ListOrder,
    count_drift,
    expected_last_page_items,
    is_suspect_page,
    link_lifetime,
    list_order,
    tied_links,
)
from worker.sweep.scan import MAX_REREADS


def key_verdict(ev: Evidence) -> Verdict:
    if Status.PENDING not in ev.counts:
        return unchecked("key")
    counts = " · ".join(f"{status.value} {count}" for status, count in ev.counts.items())
    data: dict[str, Any] = {"counts": {s.value: n for s, n in ev.counts.items()}}
    if ev.got_one_missing:
        return Verdict(
            "key",
            Level.WARN,
            "the key works, but GET one did not find a listed link",
            f"{counts}; GET one answered 404",
            "a manifest run would count such links not_found",
            data,
        )
    got = "" if ev.got_one is None else "; GET one answered"
    return Verdict("key", Level.OK, "the key works", counts + got, "", data)


def page_size_verdict(ev: Evidence) -> Verdict:
    first, size = ev.first_page, ev.page_size
    if first is None or size is None:
        return unchecked("page_size")
    asked, served = ev.asked_page_size, len(first.links)
    evidence = f"asked {asked}, echoed {first.page_size}, served {served} of count {first.count}"
    data: dict[str, Any] = {
        "asked": asked,
        "echoed": first.page_size,
        "served": served,
        "using": size,
    }
    if ev.refused_page_sizes:
        refused = ", ".join(str(n) for n in ev.refused_page_sizes)
        data["refused"] = ev.refused_page_sizes
        return Verdict(
            "page_size",
            Level.FAIL,
            f"pageSize {refused} refused (400); {asked} taken",
            f"{evidence}; asked {refused}: 400",
            f"the scan asks for {PAGE_SIZE_MAX} and stops at its first page: nothing "
            "cancelled (exit 4)",
            data,
        )
    if first.count == 0:
        return Verdict("page_size", Level.NOTE, "no PENDING links to see", evidence, "", data)
    if size == asked:
        return Verdict("page_size", Level.OK, f"{asked} honoured", evidence, "", data)
    pages = f"{math.ceil(first.count / size)} pages instead of {math.ceil(first.count / asked)}"
    confirm = ev.confirm_page
    if confirm is not None:
        evidence += f"; asked {size}: echoed {confirm.page_size}, served {len(confirm.links)}"
    if first.page_size != size:
        return Verdict(
            "page_size",
            Level.WARN,
            f"capped at {size}, but the echo says {first.page_size}",
            evidence,
            f"pages by {size} ({pages}); an echo that differs makes pages suspect, so no drift "
            "is tolerated",
            data,
        )
    return Verdict(
        "page_size",
        Level.NOTE,
        f"capped at {size}, echoed (as the docs allow)",
        evidence,
        f"pages by {size}: {pages}",
        data,
    )


def order_verdict(ev: Evidence) -> Verdict:
    links = ev.consecutive_pages()
    if not ev.pages:
        return unchecked("order")
    order = list_order(links)
    pages = sum(1 for n in range(1, len(ev.pages) + 1) if n in ev.pages)
    evidence = f"{len(links)} links over {pages} page(s) in a row"
    data = {"order": order.value, "pages": pages, "links": len(links)}
    if order is ListOrder.NEWEST_FIRST:
        return Verdict("order", Level.OK, "newest first (createdAt)", evidence, "", data)
    if order is ListOrder.UNKNOWN:
        return Verdict(
            "order", Level.NOTE, "cannot tell", evidence + ", too few distinct createdAt", "", data
        )
    words = {
        ListOrder.OLDEST_FIRST: "oldest first (createdAt)",
        ListOrder.BY_ID: "by id, not by time",
        ListOrder.NONE: "no order that shows",
    }[order]
    return Verdict(
        "order",
        Level.WARN,
        words,
        evidence,
        "reads the whole list on every pass (no stop at a lifetime horizon); links created "
        "while it reads may wait for the next pass",
        data,
    )


def ties_verdict(ev: Evidence) -> Verdict:
    if not ev.rereads or 1 not in ev.pages:
        return unchecked("ties")
    reads = [ev.pages[1].links, *(page.links for page in ev.rereads)]
    orders = {tuple(link.id for link in links) for links in reads}
    tied = tied_links(ev.pages[1].links)
    evidence = f"page 1 read {len(reads)} times, {tied} links sharing a createdAt"
    data = {"reads": len(reads), "orders": len(orders), "tied": tied}
    if len(orders) > 1:
        return Verdict(
            "ties",
            Level.WARN,
            f"unstable: {len(orders)} different orders",
            evidence,
            f"offset pages skip some links and repeat others: the scan re-reads (up to "
            f"{MAX_REREADS} times) and stops as incomplete (exit 4) if it still falls short",
            data,
        )
    if tied == 0:
        return Verdict("ties", Level.NOTE, "no ties to see", evidence, "", data)
    return Verdict("ties", Level.OK, "stable", evidence, "", data)


def count_verdict(ev: Evidence) -> Verdict:
    first, size, last = ev.first_page, ev.page_size, ev.last_page_number
    if first is None or size is None or last is None or last not in ev.pages:
        return unchecked("count")
    last_page = ev.pages[last]
    expected = expected_last_page_items(last_page.count, size)
    counts = [first.count, *(page.count for page in ev.pages.values())]
    counts += [page.count for page in ev.rereads]
    if ev.final_count is not None:
        counts.append(ev.final_count)
    suspect = [n for n, page in ev.pages.items() if is_suspect_page(page, n, size)]
    past = ev.past_last_page
    past_items = 0 if past is None else len(past.links)
    drift = count_drift(counts, suspect_pages=len(suspect))
    evidence = (
        f"count {first.count}; last page {last} holds {len(last_page.links)} (count implies "
        f"{expected}); page {last + 1} holds {past_items}"
    )
    if ev.final_count is not None:
        evidence += f"; count at the end {ev.final_count}"
    data = {
        "count": first.count,
        "last_page": last,
        "last_page_items": len(last_page.links),
        "expected": expected,
        "past_last_items": past_items,
        "final_count": ev.final_count,
        "suspect_pages": suspect,
    }
    off = abs(len(last_page.links) - expected) + past_items
    if off > drift or (suspect and off):
        return Verdict(
            "count",
            Level.FAIL,
            "count disagrees with the pages",
            evidence,
            f"the scan re-reads the list (up to {MAX_REREADS} times), then stops as "
            "incomplete: nothing cancelled (exit 4)",
            data,
        )
    if ev.final_count is None:
        return Verdict(
            "count", Level.UNCHECKED, "agrees so far; not read again later", evidence, "", data
        )
    if drift:
        return Verdict("count", Level.NOTE, f"agrees, within drift {drift}", evidence, "", data)
    return Verdict("count", Level.OK, "agrees with the pages", evidence, "", data)


def expired_verdict(ev: Evidence, now: datetime) -> Verdict:
    pending = ev.pending_links()
    if ev.first_page is None:
        return unchecked("expired")
    expired = [link for link in pending if link.expires_at <= now]
    data = {"read": len(pending), "expired": len(expired)}
    if not pending:
        return Verdict("expired", Level.NOTE, "no PENDING links to see", "", "", data)
    if expired:
        return Verdict(
            "expired",
            Level.NOTE,
            "listed as PENDING",
            f"{len(expired)} of {len(pending)} PENDING links read are past expiresAt",
            "skips them without a request; every scan still reads them",
            data,
        )
    oldest = min(link.created_at for link in pending)
    age = format_duration(max(timedelta(0), now - oldest))
    return Verdict(
        "expired",
        Level.NOTE,
        "none listed",
        f"none of {len(pending)} PENDING links read is past expiresAt (oldest created {age} "
        "ago): the server hides them, or there are none",
        "",
        data,
    )


def lifetime_verdict(ev: Evidence) -> Verdict:
    links: Sequence[Link] = [*ev.pending_links(), *ev.other_links]
    if not links:
        if ev.first_page is None:
            return unchecked("lifetime")
        return Verdict("lifetime", Level.NOTE, "no links to see", "", "", {})
    longest = max(link_lifetime(link) for link in links)
    text = _hours(longest)
    horizon = _hours(DEFAULT_MAX_LINK_LIFETIME)
    evidence = f"expiresAt - createdAt over {len(links)} links read"
    data = {"longest_seconds": longest.total_seconds(), "horizon_seconds": 48 * 3600}
    if longest <= DEFAULT_MAX_LINK_LIFETIME:
        return Verdict("lifetime", Level.OK, f"longest {text} (<= {horizon})", evidence, "", data)
    return Verdict(
        "lifetime",
        Level.WARN,
        f"longest {text}, beyond the documented {horizon}",
        evidence,
        f"a scan that stops at a {horizon} lifetime horizon would miss live links: read the "
        "whole list",
        data,
    )


def _hours(span: timedelta) -> str:
    """A lifetime in hours, as the docs state the limit (48h, not 2d)."""
    return f"{max(span, timedelta(0)).total_seconds() / 3600:.4g}h"
