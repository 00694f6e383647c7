"""``duplicates``: several live links for one order; keep the newest, cancel the rest."""

from __future__ import annotations

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

    def select(self, links: Sequence[Link], now: datetime) -> Iterator[str]:
        """The ids of every live duplicate except each group's newest."""
        # Plain loops with the tests inlined (``now < expires_at`` is ``not is_expired``):
        # this runs over every link of a 1M-link scan.
        pending = Status.PENDING
        live = [
            link
            for link in links
            if link.external_id and link.status is pending and now < link.expires_at
        ]
        keep: dict[str | None, Link] = {}
        for link in live:
            best = keep.get(link.external_id)
            if best is None or _newer(link, best):
                keep[link.external_id] = link
        for link in live:
            # Compare ids, not objects: a link listed twice must not be cancelled as its
            # own duplicate.
            if keep[link.external_id].id != link.id:
                yield link.id

    def describe(self) -> dict[str, object]:
        """``{"duplicate": "keep_newest"}``."""
        return {self.reason.value: "keep_newest"}


def _newer(link: Link, than: Link) -> bool:
    # Not a tuple comparison: that would build two tuples per link.
    if link.created_at != than.created_at:
        return link.created_at > than.created_at
    return link.id > than.id
