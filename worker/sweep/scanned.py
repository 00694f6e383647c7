"""``ScannedIds``: how many distinct links a run's scans listed, in 16 bytes per id."""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterable


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
        new = ids if not self._passes else (link_id for link_id in ids if link_id not in self)
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

    def __contains__(self, link_id: str) -> bool:
        """Whether a remembered pass listed ``link_id``."""
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
