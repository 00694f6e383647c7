"""The terminal view: progress bars, the plan table, the summary table, the console."""

from __future__ import annotations

import io

import pytest
import structlog
from rich.console import Console

from tests.report.factories import id_only_item, make_item, make_report, mixed_items, uid
from worker.cli.progress import SweepProgress, make_console, plan_table, summary_table
from worker.ops.logs import configure_logging
from worker.outcomes import Outcome


def _terminal() -> Console:
    """A console that believes it is an interactive terminal, recording into a string."""
    return Console(
        file=io.StringIO(),
        width=120,
        force_terminal=True,
        force_interactive=True,
        color_system=None,
    )


def _text(console: Console) -> str:
    stream = console.file
    assert isinstance(stream, io.StringIO)
    return stream.getvalue()


def _sweep(progress: SweepProgress) -> None:
    """One dry scan and two cancel passes, as the engine reports them."""
    progress.start_scan()
    progress.scanned(500, 1200)
    progress.scanned(1200, 1200)
    progress.start_cancels(5)
    for outcome in (Outcome.CANCELLED,) * 3 + (Outcome.CONFLICT, Outcome.FAILED):
        progress.advance(outcome)
    progress.start_scan()
    progress.scanned(3, 3)
    progress.start_cancels(2)
    progress.advance(Outcome.CANCELLED)
    progress.advance(Outcome.NOT_FOUND)


def test_the_bars_show_done_of_total_and_counts_by_outcome() -> None:
    console = _terminal()

    with SweepProgress(console=console, enabled=True) as progress:
        _sweep(progress)

    text = _text(console)
    assert "Cancelling" in text
    assert "7/7" in text  # totals add up across passes
    assert "cancelled 4 · conflict 1 · not_found 1 · failed 1" in text
    assert "/s" in text  # the rate column
    assert "eta" in text  # the time remaining


@pytest.mark.parametrize(
    ("console", "enabled"),
    [
        (Console(file=io.StringIO(), width=120), True),  # not a terminal
        (_terminal(), False),  # --no-progress or the like
        (
            Console(file=io.StringIO(), width=120, force_terminal=True, force_interactive=False),
            True,
        ),
    ],
    ids=["not-a-tty", "disabled", "not-interactive"],
)
def test_the_bars_are_a_no_op_off_an_interactive_terminal(console: Console, enabled: bool) -> None:
    with SweepProgress(console=console, enabled=enabled) as progress:
        _sweep(progress)

    assert _text(console) == ""


def test_calls_outside_the_context_do_nothing() -> None:
    console = _terminal()
    progress = SweepProgress(console=console, enabled=True)

    _sweep(progress)

    assert _text(console) == ""


def test_the_plan_table_lists_items_up_to_the_limit() -> None:
    items = tuple(make_item(number, external_id=f"order-{number}") for number in range(1, 8))
    console = Console(file=io.StringIO(), width=160)

    console.print(plan_table(items, limit=5))

    text = _text(console)
    assert "Plan: 7 links" in text
    assert all(uid(number) in text for number in range(1, 6))
    assert uid(6) not in text
    assert "2 more not shown" in text
    assert "order-5" in text
    assert "will cancel" in text  # a plan row reads as what will happen


@pytest.mark.parametrize(
    ("outcome", "outcome_shown"),
    [(Outcome.NOT_ATTEMPTED, False), (Outcome.WOULD_CANCEL, False), (Outcome.FAILED, True)],
)
def test_at_80_columns_a_plan_row_keeps_its_reasons_whole(
    outcome: Outcome, outcome_shown: bool
) -> None:
    items = (
        make_item(1, outcome, external_id="ORD-100186"),
        make_item(2, external_id="ORD-100311"),
    )
    console = Console(file=io.StringIO(), width=80)

    console.print(plan_table(items, width=80))

    text = _text(console)
    assert uid(1)[:8] in text
    assert uid(1) not in text  # ids cut to 8 characters, as git shortens hashes
    # Every row of a plan will be cancelled, and its title says so: no column for it, and
    # the reasons keep their room (not folded into "expirin / g_withi / n").
    assert ("outcome" in text) is outcome_shown
    if not outcome_shown:
        assert "expiring_within" in text


def test_the_plan_table_shows_untrusted_text_as_it_is() -> None:
    items = (
        make_item(1, external_id="[bold red]boom[/]"),
        make_item(2, external_id="clear\x1b[2Jscreen"),
        id_only_item(3),
    )
    console = Console(file=io.StringIO(), width=160, force_terminal=True, color_system=None)

    console.print(plan_table(items))

    text = _text(console)
    assert "[bold red]boom[/]" in text
    assert "\x1b[2J" not in text
    assert "clear\\x1b[2Jscreen" in text
    assert uid(3) in text


def test_the_summary_table_has_every_count() -> None:
    report = make_report(mixed_items(), aborted="failure_threshold")
    console = Console(file=io.StringIO(), width=120)

    console.print(summary_table(report))

    lines = _text(console).splitlines()
    assert "Summary (execute)" in lines[0]
    assert "run-0001" in _text(console)
    counts = report.summary.to_json_dict()
    for key, count in counts.items():
        assert any(key in line and line.rstrip(" │").endswith(str(count)) for line in lines), key
    assert any("stopped early" in line and "failure_threshold" in line for line in lines)


def test_make_console_writes_to_the_stream_without_markup_surprises() -> None:
    stream = io.StringIO()

    console = make_console(stream)
    console.print("plain")

    assert stream.getvalue() == "plain\n"
    assert not console.is_terminal


def test_make_console_honours_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("CI", raising=False)
    stream = io.StringIO()

    console = make_console(stream)
    console.print("[red]alert[/red]")

    assert console.is_terminal  # FORCE_COLOR
    assert "\x1b[31m" not in stream.getvalue()


def test_make_console_never_animates_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("NO_COLOR", raising=False)

    console = make_console(io.StringIO())

    assert console.is_terminal
    assert not console.is_interactive


def test_log_lines_print_above_the_bar_not_through_it() -> None:
    console = _terminal()
    configure_logging(renderer="json")  # the current stderr, whatever it is when writing

    with SweepProgress(console=console, enabled=True) as progress:
        progress.start_cancels(1)
        structlog.get_logger().info("payment.cancelled", id=uid(1))
        progress.advance(Outcome.CANCELLED)

    text = _text(console)
    assert '"event":"payment.cancelled"' in text  # rich's stderr proxy took the line
    assert "cancelled 1" in text
