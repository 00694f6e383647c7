"""The attended run: progress on stderr, the plan shown and confirmed, the summary table."""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import anyio.to_thread
import click
from rich.console import Console

from worker.cli.plan_view import DEFAULT_SHOW, confirm_question, plan_view
from worker.cli.progress import SweepProgress, plan_table
from worker.report import ReportItem
from worker.sweep import PlanContext


class TerminalObserver:
    """Feeds the sweep's progress to rich's bars (a ``worker.sweep.SweepObserver``)."""

    def __init__(self, progress: SweepProgress) -> None:
        self._progress = progress
        self._scanning = False
        # Each organization's latest plan context, and the latest of all: the question
        # follows its organization's plan, one organization at a time.
        self.contexts: dict[str, PlanContext] = {}
        self.latest: PlanContext | None = None

    def plan_ready(self, context: PlanContext) -> None:
        self.contexts[context.organization] = context
        self.latest = context

    def scan_progress(self, seen: int, total: int) -> None:
        if not self._scanning:
            self._progress.start_scan()
            self._scanning = True
        self._progress.scanned(seen, total)

    def planned(self, items: Sequence[ReportItem]) -> None:
        self._scanning = False

    def executing(self, total: int) -> None:
        self._progress.start_cancels(total)

    def outcome(self, item: ReportItem) -> None:
        self._progress.advance(item.outcome)

    def waiting(self, reason: str | None) -> None:
        self._progress.waiting(reason)


class TerminalConfirm:
    """Shows the plan and asks before the first cancel; a stop (signal) answers no."""

    def __init__(
        self,
        console: Console,
        progress: SweepProgress,
        stop: anyio.Event,
        *,
        observer: TerminalObserver | None = None,
        show: int = DEFAULT_SHOW,
    ) -> None:
        self._console = console
        self._progress = progress
        self._stop = stop
        self._observer = observer
        self._show = show

    async def __call__(self, items: Sequence[ReportItem]) -> bool:
        with self._progress.suspended():
            return await self._ask(items)

    async def _ask(self, items: Sequence[ReportItem]) -> bool:
        context = None if self._observer is None else self._observer.latest
        if context is None:  # an embedder's confirm without the observer: the table alone
            self._console.print(plan_table(items, width=self._console.width))
            question = f"Cancel these {len(items)} links? This cannot be undone"
        else:
            width = self._console.width
            self._console.print(
                plan_view(items, context, show=self._show, dry_run=False, width=width)
            )
            question = confirm_question(items, context.base_url)
        answer = False
        async with anyio.create_task_group() as tg:

            async def ask() -> None:
                nonlocal answer
                # input() cannot be interrupted from a thread; abandon it on a stop instead.
                answer = await anyio.to_thread.run_sync(_ask, question, abandon_on_cancel=True)
                tg.cancel_scope.cancel()

            async def stopped() -> None:
                await self._stop.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(ask)
            tg.start_soon(stopped)
        return answer and not self._stop.is_set()


def _ask(question: str) -> bool:
    return click.confirm(question, err=True)
