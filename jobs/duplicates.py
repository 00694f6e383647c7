"""``duplicates``: several live links for one order; keep the newest, cancel the rest."""

from __future__ import annotations

import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from jobs.links import Link, Status
from jobs.reasons import Reason


@dataclass(frozen=True, slots=True)
class Duplicates:
    """Among PENDING, unexpired links sharing a non-empty externalId, selects all but one.

    The one kept is the newest by ``createdAt``; on a tie, the greater id (ids are canonical
    lower-case UUID strings, so string order is stable). Links without an externalId are
    never grouped. Expired and non-PENDING links neither join a group nor count as its
    newest: a group's survivor is always a link a customer can still pay.
    """

    reason: ClassVar[Reason] = Reason.DUPLICATE
    horizon_safe: ClassVar[bool] = True  # only unexpired links join a group or survive it

    def select(self, links: Sequence[Link], now: datetime) -> Iterator[str]:
        """The ids of every live duplicate except each group's newest."""
        for link_id, _kept in self.pairs(links, now):
            yield link_id

    def pairs(self, links: Sequence[Link], now: datetime) -> Iterator[tuple[str, str]]:
        """What ``select`` selects, each id with the id of the link kept for its externalId.

        The report names the kept link beside each duplicate it cancels.
        """
        # Plain loops with the tests inlined (``now < expires_at`` is ``not is_expired``):
        # this runs over every link of a 1M-link scan. A group is a run of one externalId
        # in the sorted list, not an entry of a dict keyed by externalId: the sort costs
        # a list of references, the dict ~40 MiB for a million orders, and this runs when
        # the sweep holds the most.
        pending = Status.PENDING
        live = [
            link
            for link in links
            if link.external_id and link.status is pending and now < link.expires_at
        ]
        live.sort(key=_EXTERNAL_ID)
        start = 0
        for end in range(1, len(live) + 1):
            if end == len(live) or live[end].external_id != live[start].external_id:
                if end - start > 1:
                    yield from _all_but_newest(live[start:end])
                start = end

    def describe(self) -> dict[str, object]:
        """``{"duplicate": "keep_newest"}``."""
        return {self.reason.value: "keep_newest"}


_EXTERNAL_ID = operator.attrgetter("external_id")


def _all_but_newest(group: list[Link]) -> Iterator[tuple[str, str]]:
    newest = group[0]
    for link in group:
        if _newer(link, newest):
            newest = link
    for link in group:
        # Compare ids, not objects: a link listed twice must not be cancelled as its own
        # duplicate.
        if link.id != newest.id:
            yield link.id, newest.id


def _newer(link: Link, than: Link) -> bool:
    # Not a tuple comparison: that would build two tuples per link.
    if link.created_at != than.created_at:
        return link.created_at > than.created_at
    return link.id > than.id
