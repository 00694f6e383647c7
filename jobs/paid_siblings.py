"""``paid_sibling``: an order is already paid, so withdraw its other live links.

The same read of CONFIRMED links also yields the orders paid twice (``paid_twice``), which
finance must refund. Both compare externalIds exactly (case-sensitive), as ``duplicates``
does; a null or empty externalId never matches.

"The same organization" needs no field: an API key reaches one organization, so the
CONFIRMED links read with the key that listed the PENDING ones are that organization's.

The worker reads CONFIRMED links a page at a time into a ``PaidLedger`` and takes the
policy and the paid-twice list from it; ``PaidSiblings.from_confirmed`` and ``paid_twice``
are the same thing for links already at hand.
"""

from __future__ import annotations

import operator
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import ClassVar

from jobs.created_before import format_instant, require_aware
from jobs.links import Link, Status
from jobs.reasons import Reason

_CREATED_AT = operator.attrgetter("created_at")
_ID = operator.attrgetter("id")


@dataclass(frozen=True, slots=True)
class PaidSiblings:
    """Selects PENDING, unexpired links whose externalId a CONFIRMED link also has.

    ``paid`` maps an externalId to the ids of its CONFIRMED links, oldest ``createdAt``
    first (then by id); build it with ``from_confirmed`` or a ``PaidLedger``. A link is
    never its own sibling: a PENDING record of a link that ``paid`` lists (it was paid
    between the two reads) is not selected for it. ``since`` is the lookback the CONFIRMED
    links were read back to, for the report; ``None`` means all of them.
    """

    paid: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    since: datetime | None = None
    reason: ClassVar[Reason] = Reason.PAID_SIBLING
    horizon_safe: ClassVar[bool] = True  # only PENDING, unexpired links

    def __post_init__(self) -> None:
        if self.since is not None:
            require_aware(self.since, "paid_sibling since")
        for external_id, ids in self.paid.items():
            if not external_id or not ids:
                raise ValueError(
                    f"paid_sibling needs a non-empty externalId and paid link ids, "
                    f"got {external_id!r}: {ids!r}"
                )
        # A private read-only copy: the caller's dict may change, this policy must not.
        object.__setattr__(self, "paid", MappingProxyType(dict(self.paid)))

    @classmethod
    def from_confirmed(
        cls,
        confirmed: Iterable[Link],
        *,
        wanted: Collection[str],
        since: datetime | None = None,
    ) -> PaidSiblings:
        """The policy from CONFIRMED links, keeping only the externalIds in ``wanted``.

        ``wanted`` is ``live_external_ids`` of the PENDING links, so memory follows the
        live links, not the paid history. Links that are not CONFIRMED, or were created
        before ``since``, are left out.
        """
        ledger = PaidLedger(wanted, since=since, track_paid_twice=False)
        ledger.add(confirmed)
        return ledger.paid_siblings()

    def select(self, links: Sequence[Link], now: datetime) -> Iterator[str]:
        """The ids of live PENDING links of an order that has a CONFIRMED link."""
        paid = self.paid
        if not paid:
            return
        pending = Status.PENDING
        for link in links:
            external_id = link.external_id
            if external_id and link.status is pending and now < link.expires_at:
                ids = paid.get(external_id)
                if ids is not None and (len(ids) > 1 or ids[0] != link.id):
                    yield link.id

    def paid_link_for(self, link: Link) -> str | None:
        """The id of the paid link ``link`` is a sibling of (the oldest), or None."""
        if not link.external_id:
            return None
        for paid_id in self.paid.get(link.external_id, ()):
            if paid_id != link.id:
                return paid_id
        return None

    def describe(self) -> dict[str, object]:
        """``{"paid_sibling": {"paid_since": "...Z" | null, "paid_orders": N}}``.

        ``paid_orders`` counts the paid orders that still had a live PENDING link.
        """
        since = None if self.since is None else format_instant(self.since)
        return {self.reason.value: {"paid_since": since, "paid_orders": len(self.paid)}}


@dataclass(frozen=True, slots=True)
class PaidTwice:
    """An order with two or more CONFIRMED links: oldest ``createdAt`` first, then by id."""

    external_id: str
    links: tuple[Link, ...]


def live_external_ids(links: Iterable[Link], now: datetime) -> frozenset[str]:
    """The non-empty externalIds of PENDING links unexpired at ``now``.

    The only ones ``PaidSiblings`` can ever select for: pass them as ``wanted``.
    """
    pending = Status.PENDING
    return frozenset(
        link.external_id
        for link in links
        if link.external_id and link.status is pending and now < link.expires_at
    )


def paid_twice(confirmed: Iterable[Link], *, since: datetime | None = None) -> list[PaidTwice]:
    """Every externalId with two or more CONFIRMED links, sorted by externalId.

    A link listed twice (pages drifting) counts once. Links created before ``since``, and
    links that are not CONFIRMED or have no externalId, are left out.
    """
    ledger = PaidLedger((), since=since)
    ledger.add(confirmed)
    return ledger.paid_twice()


class PaidLedger:
    """What a read of CONFIRMED links must keep, fed a page at a time.

    For ``paid_siblings``: the CONFIRMED links whose externalId is in ``wanted`` (their ids
    and ``createdAt``), so that part grows with the live links only.

    For ``paid_twice`` it must keep something of every paid order, since any later page
    may hold a second payment: the first CONFIRMED link of each externalId (the record,
    not only its id, as the report shows its amount and times), and every link of the
    orders seen twice. So memory grows with the paid orders inside the lookback: about
    0.4 KiB each (measured: a ``Link`` ~390 bytes, its dict entry ~30), ~25 MiB for
    2,000 paid orders a day over 30 days. Keeping only a set of the externalIds seen
    (~0.1 KiB each) would need a second read, by id, of each group's first link: more
    requests and one more read that can fail, for a saving a shorter lookback gives too.
    ``track_paid_twice=False`` keeps none of it.
    """

    def __init__(
        self,
        wanted: Collection[str],
        *,
        since: datetime | None = None,
        track_paid_twice: bool = True,
    ) -> None:
        if since is not None:
            require_aware(since, "paid lookback since")
        self.since = since
        self._wanted = wanted
        self._track_twice = track_paid_twice
        self._siblings: dict[str, dict[str, datetime]] = {}
        self._first: dict[str, Link] = {}
        self._twice: dict[str, dict[str, Link]] = {}

    def add(self, links: Iterable[Link]) -> None:
        """Take in a page of links; only CONFIRMED ones with an externalId count."""
        confirmed, since, wanted = Status.CONFIRMED, self.since, self._wanted
        for link in links:
            external_id = link.external_id
            if not external_id or link.status is not confirmed:
                continue
            if since is not None and link.created_at < since:
                continue
            if external_id in wanted:
                self._siblings.setdefault(external_id, {})[link.id] = link.created_at
            if self._track_twice:
                self._count(external_id, link)

    def _count(self, external_id: str, link: Link) -> None:
        group = self._twice.get(external_id)
        if group is not None:
            group[link.id] = link
            return
        first = self._first.get(external_id)
        if first is None:
            self._first[external_id] = link
        elif first.id != link.id:
            self._twice[external_id] = {first.id: first, link.id: link}
            del self._first[external_id]

    def paid_siblings(self) -> PaidSiblings:
        """The policy over what was read so far."""
        paid = {
            external_id: tuple(sorted(ids, key=lambda paid_id: (ids[paid_id], paid_id)))
            for external_id, ids in self._siblings.items()
        }
        return PaidSiblings(paid, since=self.since)

    def confirmed_links(self, external_id: str) -> tuple[Link, ...]:
        """The CONFIRMED links read for ``external_id``, oldest first; empty if not tracked.

        For a race the sweep lost: the order's paid link(s), to show beside the one the
        customer just paid.
        """
        group = self._twice.get(external_id)
        if group is not None:
            return _oldest_first(group.values())
        first = self._first.get(external_id)
        return () if first is None else (first,)

    def paid_twice(self) -> list[PaidTwice]:
        """The orders paid twice so far, sorted by externalId; empty if not tracked."""
        return [
            PaidTwice(external_id, _oldest_first(self._twice[external_id].values()))
            for external_id in sorted(self._twice)
        ]


def _oldest_first(links: Iterable[Link]) -> tuple[Link, ...]:
    ordered = sorted(links, key=_ID)
    ordered.sort(key=_CREATED_AT)  # stable: oldest first, ties by id
    return tuple(ordered)
