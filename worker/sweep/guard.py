"""Guard: the safety checks between the plan and the cancels, each ending the run early.

- The cap: more links planned over the run's passes than ``--max-cancellations`` ->
  ``plan_over_cap``, and no cancel of that pass is sent.
- The confirmation: an attended run is asked once, with the would-cancel items, before its
  first cancel; a no -> ``declined``.
- The failure threshold: ``execute`` stops launching cancels when too many of those
  finished failed -> ``failure_threshold``.

A dry run sends no cancel, so it meets none of them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import structlog

from worker.outcomes import Abort, Outcome
from worker.report import ReportItem
from worker.settings import Settings
from worker.sweep._ledger import Ledger
from worker.sweep._observer import SweepObserver

log = structlog.get_logger("worker.sweep.guard")

Confirm = Callable[[Sequence[ReportItem]], Awaitable[bool]]
"""Asked once, with the would-cancel items, before the first cancel of an attended run."""


@dataclass(slots=True)
class Guard:
    """The cap, before each pass's cancels; the confirmation, before the first pass's."""

    settings: Settings
    ledger: Ledger
    observer: SweepObserver
    confirm: Confirm | None

    async def check(self, *, first_pass: bool) -> Abort | None:
        """The cap on the links planned so far (``Ledger.planned``); the confirmation."""
        if self.ledger.planned > self.settings.max_cancellations:
            log.error(
                "run.aborted",
                reason=Abort.PLAN_OVER_CAP,
                planned=self.ledger.planned,
                max_cancellations=self.settings.max_cancellations,
            )
            return Abort.PLAN_OVER_CAP
        if first_pass:
            items = self.ledger.items.values()
            waiting = tuple(i for i in items if i.outcome is Outcome.NOT_ATTEMPTED)
            self.observer.planned(waiting)
            if self.confirm is not None and not await self.confirm(waiting):
                log.warning("run.aborted", reason=Abort.DECLINED)
                return Abort.DECLINED
        return None


@dataclass(frozen=True, slots=True)
class FailureThreshold:
    """Stop launching when more than ``ratio`` of at least ``minimum`` finished cancels failed."""

    ratio: float
    minimum: int

    def tripped(self, finished: int, failed: int) -> bool:
        return finished >= self.minimum and failed > self.ratio * finished
