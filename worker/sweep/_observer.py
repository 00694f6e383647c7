"""What a front end hears of a run: progress hooks, all optional work."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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

    def plan_ready(self, context: PlanContext) -> None:
        """A pass's plan is made, before ``planned``: where, and what it leaves alone.
        Optional: an observer without this method is not told."""


@dataclass(frozen=True, slots=True)
class PlanContext:
    """A pass's plan beyond its items: the host, the organization, what was left alone.

    The counts are those of the ``plan.ready`` event: ``scanned`` links planned over,
    ``cancel`` selected to cancel, ``skipped_expired`` too close to expiry, ``excluded`` by
    an exclude file, ``unmatched`` manifest ids the scan did not show (looked up one by one).
    """

    organization: str
    base_url: str
    policies: Mapping[str, object]
    scanned: int
    cancel: int
    skipped_expired: int
    excluded: int
    unmatched: int


class NoObserver:
    """An observer told nothing it acts on: subclass it to hear only what you need."""

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

    def plan_ready(self, context: PlanContext) -> None:
        pass
