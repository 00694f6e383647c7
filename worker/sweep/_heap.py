"""The run's objects kept out of the cyclic garbage collector's walks while it lasts."""

from __future__ import annotations

import gc
from typing import Self


class FrozenHeap:
    """Keeps the cyclic garbage collector off the run's long-lived objects.

    Every full collection walks every object the collector tracks: the modules' own at the
    start, then the scanned links, the plan and the report items, which all live until the
    run ends (one walk of a 20,000-link run's heap took ~50 ms, benchmark scenario 4).
    Entered, it moves what is alive out of the collector's generations (``gc.freeze``);
    ``refreeze`` does it again for what the scan and plan made, before the execution; on
    exit ``gc.unfreeze`` hands everything back, so an embedding program's memory is
    collected as before. It does nothing when the collector is off, or when something else
    froze objects: ``unfreeze`` would release those too.
    """

    def __init__(self) -> None:
        self._owned = False

    def __enter__(self) -> Self:
        self._owned = gc.isenabled() and not gc.get_freeze_count()
        self.refreeze()
        return self

    def refreeze(self) -> None:
        if self._owned:
            gc.freeze()

    def __exit__(self, *exc_info: object) -> None:
        if self._owned:
            gc.unfreeze()
            self._owned = False
