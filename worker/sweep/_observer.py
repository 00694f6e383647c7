"""What a front end hears of a run: progress hooks, all optional work."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from worker.report import ReportItem


class SweepObserver(Protocol):
    """Progress hooks for a front end (the CLI's progress bar); every method is optional work."""

    def scan_progress(self, seen: int, total: int) -> None: ...
    def planned(self, items: Sequence[ReportItem]) -> None: ...
    def executing(self, total: int) -> None: ...
    def outcome(self, item: ReportItem) -> None: ...

    def waiting(self, reason: str | None) -> None:
        """The API owes an answer, and why ("no answer yet (12 s), retrying after ..."); None
        once it answers again. Optional: an observer without this method is not told."""


class NoObserver:
    def scan_progress(self, seen: int, total: int) -> None:
        pass

    def planned(self, items: Sequence[ReportItem]) -> None:
        pass

    def executing(self, total: int) -> None:
        pass

    def outcome(self, item: ReportItem) -> None:
        pass

    def waiting(self, reason: str | None) -> None:
        pass
