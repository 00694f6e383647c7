"""What a person at a terminal sees on stderr: a progress bar, the plan and the summary.

Nothing here is shown unless stderr is an interactive terminal: cron, CI and pipes get the
JSON logs and the report file instead.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from decimal import Decimal
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from worker.outcomes import Outcome
from worker.report import SUMMARY_KEYS, Report, ReportItem

# Outcomes that need an operator's eye are drawn in colour.
_OUTCOME_STYLES = {
    Outcome.CANCELLED: "green",
    Outcome.CONFLICT: "yellow",
    Outcome.NOT_FOUND: "yellow",
    Outcome.FAILED: "bold red",
    Outcome.NOT_ATTEMPTED: "red",
}


_OUTCOMES = {outcome.value: outcome for outcome in Outcome}


def make_console(stream: TextIO) -> Console:
    """A rich console on ``stream`` (stderr).

    rich itself honours NO_COLOR and FORCE_COLOR; under CI (``CI`` set) the console is not
    interactive, so a forced-colour CI log gets no animated bar redrawn into it.
    """
    return Console(
        file=stream,
        force_interactive=False if os.environ.get("CI", "") else None,
        highlight=False,
    )


class _RateColumn(ProgressColumn):
    """Links per second. rich's own speed columns show bytes or only tasks without a total."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.1f}/s", style="progress.data.speed")


class SweepProgress:
    """The scan and cancel progress bars; a no-op unless enabled on an interactive console.

    Counts by outcome add up across passes, as do the cancel bar's totals.
    """

    def __init__(self, *, console: Console, enabled: bool) -> None:
        self._console = console
        self._enabled = enabled and console.is_interactive
        self._progress: Progress | None = None
        self._scan: TaskID | None = None
        self._cancels: TaskID | None = None
        self._waiting: TaskID | None = None
        self._counts: Counter[Outcome] = Counter()

    def __enter__(self) -> SweepProgress:
        if self._enabled:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(bar_width=24),
                MofNCompleteColumn(),
                _RateColumn(),
                TimeElapsedColumn(),
                TextColumn("eta", style="progress.remaining"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[counts]}", markup=False),
                console=self._console,
                transient=True,
            )
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    @contextlib.contextmanager
    def suspended(self) -> Iterator[None]:
        """Take the bars off the screen for a while (a prompt), then put them back."""
        if self._progress is None:
            yield
            return
        self._progress.stop()
        try:
            yield
        finally:
            self._progress.start()

    def start_scan(self) -> None:
        """Begin (or begin again, for a later pass) listing PENDING links."""
        if self._progress is None:
            return
        if self._scan is None:
            self._scan = self._progress.add_task("Scanning", total=None, counts="")
        else:
            self._progress.reset(self._scan, total=None)

    def scanned(self, n: int, total: int | None) -> None:
        """``n`` links listed so far in this pass, of ``total`` (the API's count) if known."""
        if self._progress is not None and self._scan is not None:
            self._progress.update(self._scan, completed=n, total=total)

    def start_cancels(self, total: int) -> None:
        """``total`` more links are about to be cancelled."""
        if self._progress is None:
            return
        if self._cancels is None:
            self._cancels = self._progress.add_task("Cancelling", total=total, counts="")
        else:
            previous = self._progress.tasks[self._cancels].total or 0
            self._progress.update(self._cancels, total=previous + total)

    def advance(self, outcome: Outcome) -> None:
        """One link reached ``outcome``."""
        self._counts[outcome] += 1
        if self._progress is not None and self._cancels is not None:
            self._progress.update(self._cancels, advance=1, counts=self._counts_text())

    def waiting(self, reason: str | None) -> None:
        """Show that the run waits for the API, and why; ``None`` takes the line away."""
        if self._progress is None:
            return
        if reason is None:
            if self._waiting is not None:
                self._progress.remove_task(self._waiting)
                self._waiting = None
            return
        # A line of its own: the scan's bar has not started while page 1 is unanswered. The
        # description is rich markup: a "[SSL: ...]" in the reason must stay text.
        text = f"waiting for the API: {escape(_shown(reason).plain)}"
        if self._waiting is None:
            self._waiting = self._progress.add_task(text, total=None, counts="")
        else:
            self._progress.update(self._waiting, description=text)

    def _counts_text(self) -> str:
        return " · ".join(
            f"{outcome.value} {self._counts[outcome]}"
            for outcome in Outcome
            if self._counts[outcome]
        )


def _shown(text: str) -> Text:
    """Untrusted text as a table cell: no rich markup, control characters made visible.

    externalId and messages come from merchants and the API; raw escape sequences in them
    could rewrite the operator's terminal.
    """
    visible = "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in text
    )
    return Text(visible)


# A plan lists links before they are sent: "not_attempted" there only means "not yet".
_PLANNED = frozenset({Outcome.NOT_ATTEMPTED, Outcome.WOULD_CANCEL})


def money(amount: Decimal | str) -> str:
    """An amount as finance writes it: thousands separated, two decimals (``1,234,567.00``)."""
    return f"{Decimal(amount):,.2f}"


def _outcome_cell(outcome: Outcome) -> Text:
    if outcome in _PLANNED:
        return Text("will cancel")
    return Text(outcome.value, style=_OUTCOME_STYLES.get(outcome, ""))


def plan_table(items: Sequence[ReportItem], *, limit: int = 50, width: int = 200) -> Table:
    """The plan, soonest-expiring first as given; at most ``limit`` rows, the rest counted.

    Below 120 columns (``width``, the console's) ids are cut to 8 characters, as git
    shortens hashes: rich cannot shrink an unbreakable column gracefully, and the report
    has them whole. There too, a plan whose every row will be cancelled leaves out the
    outcome column (its title says so), so that the reasons keep room to be read at 80.
    """
    compact = width < 120
    outcome_column = not compact or any(item.outcome not in _PLANNED for item in items)
    table = Table(title=f"Plan: {len(items)} links", title_justify="left")
    # The figures a reader checks never wrap; free text folds into what width is left.
    table.add_column("id", no_wrap=True)
    table.add_column("externalId", overflow="fold")
    table.add_column("amount", justify="right", no_wrap=True)
    table.add_column("expires (UTC)", no_wrap=True)
    table.add_column("reasons", overflow="fold")
    if outcome_column:
        table.add_column("outcome", no_wrap=True)
    for item in items[:limit]:
        amount = "" if item.amount is None else money(item.amount)
        cells: list[Text | str] = [
            _shown(item.id[:8] if compact else item.id),
            _shown(item.external_id or ""),
            _shown(f"{amount} {item.currency or ''}".strip()),
            "" if item.expires_at is None else f"{item.expires_at:%Y-%m-%d %H:%M}",
            Text("\n").join(_shown(str(reason)) for reason in item.reasons),
        ]
        if outcome_column:
            cells.append(_outcome_cell(item.outcome))
        table.add_row(*cells)
    if len(items) > limit:
        table.caption = (
            f"{len(items) - limit} more not shown: --show N lists more, --report FILE every link"
        )
    return table


def summary_table(report: Report) -> Table:
    """The summary's counts, with the run id, mode and why it stopped early if it did."""
    table = Table(title=f"Summary ({report.mode})", title_justify="left")
    table.caption = f"run {report.run_id}"
    table.min_width = len(table.caption) + 2  # the id on one line, whole, to copy
    table.add_column("")
    table.add_column("links", justify="right")
    counts = report.summary.to_json_dict()
    for key in SUMMARY_KEYS:
        outcome = _OUTCOMES.get(key)
        style = _OUTCOME_STYLES.get(outcome, "") if outcome is not None and counts[key] else ""
        table.add_row(key, Text(str(counts[key]), style=style))
    if report.paid_twice is not None:
        # A line for finance: orders customers paid twice, to refund (the report lists them).
        twice = len(report.paid_twice)
        table.add_row("orders paid twice", Text(str(twice), style="bold yellow" if twice else ""))
    paid_scan = None if report.stats is None else report.stats.paid_scan
    if paid_scan is not None and not paid_scan.get("complete"):
        table.add_row("paid links", _shown(f"not all read: {paid_scan.get('error')}"))
    if report.aborted is not None:
        table.rows[-1].end_section = True
        table.add_row("stopped early", Text(str(report.aborted), style="bold red"))
    if report.abort_detail is not None:
        table.add_row("cause", _shown(report.abort_detail))
    return table
