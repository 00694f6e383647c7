"""The in-memory positional index: any page of any filter view in O(log n).

SQLite alone serves `LIMIT 500 OFFSET 999500` by stepping over every skipped row, which is
seconds at depth of a 1,000,000-link organization. A `SortedList` per view finds the page by
position instead, and SQLite then fetches just those rows by primary key.

Each link is one int in every view it belongs to: `createdAt` in the high bits and the UUID's
128 bits in the low ones. Canonical lower-case UUID text sorts exactly like the UUID's
integer, so integer order is (createdAt, id) order, at a fraction of the memory of tuples.
"""

from __future__ import annotations

import collections
import itertools
import operator
import random
from collections.abc import Iterable

from sortedcontainers import SortedList  # type: ignore[import-untyped]  # ships no types

_ID_BITS = 128
_ID_MASK = (1 << _ID_BITS) - 1

# A view: (org, status or None for any, currency or None for any).
_View = tuple[int, str | None, str | None]


def sort_key(created_ms: int, link_id: str) -> int:
    """The index key of a link: orders by createdAt, then id."""
    return (created_ms << _ID_BITS) | int(link_id.replace("-", ""), 16)


def id_of(key: int) -> str:
    """The canonical UUID text a key was made from."""
    h = f"{key & _ID_MASK:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _views(org_no: int, status: str, currency: str) -> tuple[_View, ...]:
    return (
        (org_no, None, None),
        (org_no, status, None),
        (org_no, None, currency),
        (org_no, status, currency),
    )


def _created(key: int) -> int:
    return key >> _ID_BITS


class PositionalIndex:
    """Sorted keys per organization and per status, currency and status+currency filter."""

    def __init__(self) -> None:
        self._views: dict[_View, SortedList] = {}
        # Views ordered by id alone (the `by_id` list order), built on first use and dropped
        # on any change: a scan reads a still list, so one build serves all its pages.
        self._by_id: dict[_View, SortedList] = {}

    def add_many(self, entries: Iterable[tuple[int, str, str, int]]) -> None:
        """Index `(org_no, status, currency, key)` entries; one bulk update per view."""
        grouped: dict[_View, list[int]] = collections.defaultdict(list)
        # Sorted once here, every view's list arrives in order, and SortedList's own sort
        # of already-sorted input is linear: four views cost one sort, not four.
        for org_no, status, currency, key in sorted(entries, key=operator.itemgetter(3)):
            for view in _views(org_no, status, currency):
                grouped[view].append(key)
        for view, keys in grouped.items():
            self._views.setdefault(view, SortedList()).update(keys)
        self._by_id.clear()

    def move(self, org_no: int, currency: str, key: int, old: str, new: str) -> None:
        """Re-file a link whose status changed from `old` to `new`."""
        self._views[(org_no, old, None)].remove(key)
        self._views[(org_no, old, currency)].remove(key)
        self._views.setdefault((org_no, new, None), SortedList()).add(key)
        self._views.setdefault((org_no, new, currency), SortedList()).add(key)
        self._by_id.clear()

    def count(self, org_no: int, status: str | None = None, currency: str | None = None) -> int:
        """How many links a view holds."""
        view = self._views.get((org_no, status, currency))
        return len(view) if view is not None else 0

    def page(
        self,
        org_no: int,
        status: str | None,
        currency: str | None,
        offset: int,
        limit: int,
        *,
        order: str = "newest_first",
        rng: random.Random | None = None,
    ) -> list[str]:
        """Ids at positions offset..offset+limit of a view in `order`.

        `newest_first` is createdAt descending, then id descending; `oldest_first` the
        reverse; `by_id` id ascending, whatever the time; `shuffled` a new permutation of
        the whole view for every call (O(n): for tests). With `rng`, links that share a
        createdAt come in a new random order on every call (`newest_first`/`oldest_first`).
        """
        view = self._views.get((org_no, status, currency))
        if view is None or offset >= len(view):
            return []
        if order == "shuffled":
            keys = list(view)
            (rng or random.Random()).shuffle(keys)
            return [id_of(key) for key in keys[offset : offset + limit]]
        if order == "by_id":
            by_id = self._by_id.get((org_no, status, currency))
            if by_id is None:
                by_id = self._by_id[(org_no, status, currency)] = SortedList(
                    key & _ID_MASK for key in view
                )
            return [id_of(key) for key in by_id.islice(offset, offset + limit)]
        newest_first = order == "newest_first"
        # The window as ascending positions [start, stop) of the view.
        if newest_first:
            start, stop = max(0, len(view) - offset - limit), len(view) - offset
        else:
            start, stop = offset, min(len(view), offset + limit)
        if rng is None:
            return [id_of(key) for key in view.islice(start, stop, reverse=newest_first)]
        return self._page_with_unstable_ties(view, start, stop, newest_first, rng)

    @staticmethod
    def _page_with_unstable_ties(
        view: SortedList, start: int, stop: int, newest_first: bool, rng: random.Random
    ) -> list[str]:
        """The window [start, stop), each createdAt's links in a fresh random order.

        The window is widened to whole groups of equal createdAt at both ends, each group is
        shuffled, and the window is cut back out: a group that straddles a page boundary
        shows different members on each side on every request, as a database sorting by a
        non-unique key may.
        """
        wide_start = view.bisect_left(_created(view[start]) << _ID_BITS)
        wide_stop = view.bisect_left((_created(view[stop - 1]) + 1) << _ID_BITS)
        groups = [
            list(group)
            for _, group in itertools.groupby(view.islice(wide_start, wide_stop), key=_created)
        ]
        for group in groups:
            rng.shuffle(group)
        if newest_first:
            groups.reverse()
        keys = list(itertools.chain.from_iterable(groups))
        # Ascending [start, stop) is, counted from the widened window's far end when reversed,
        # this slice of `keys`.
        first = wide_stop - stop if newest_first else start - wide_start
        return [id_of(key) for key in keys[first : first + stop - start]]

    def random_id(self, org_no: int, status: str, rng: random.Random) -> str | None:
        """A uniformly chosen id from one organization's links of `status`."""
        view = self._views.get((org_no, status, None))
        if not view:
            return None
        return id_of(view[rng.randrange(len(view))])

    def clear(self) -> None:
        """Drop every view."""
        self._views.clear()
        self._by_id.clear()
