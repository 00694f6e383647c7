"""What a scenario hands back, and how RESULTS.md is put together from it."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Spread:
    """Median, min and max of a figure over the runs of one configuration."""

    median: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: Iterable[float]) -> Spread:
        numbers = list(values)
        if not numbers:
            return cls(float("nan"), float("nan"), float("nan"), 0)
        return cls(statistics.median(numbers), min(numbers), max(numbers), len(numbers))

    def text(self, digits: int = 3) -> str:
        """``0.971 (0.965-0.973)``; the median alone for a single run."""
        if self.n == 0:
            return "-"
        median = _number(self.median, digits)
        if self.n == 1 or self.low == self.high:
            return median
        return f"{median} ({_number(self.low, digits)}-{_number(self.high, digits)})"


def _number(value: float, digits: int) -> str:
    if value == int(value) and abs(value) >= 10:
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


@dataclass(frozen=True, slots=True)
class Goal:
    """One goal of the issue, the figure measured for it, and why when it is missed."""

    name: str
    target: str
    measured: str
    met: bool
    why: str = ""


@dataclass(slots=True)
class Section:
    """One scenario's part of RESULTS.md, and its figures as data (for the smoke test)."""

    key: str
    title: str
    setup: str  # markdown: what ran, against what
    tables: list[str] = field(default_factory=list)  # markdown tables
    notes: list[str] = field(default_factory=list)  # markdown paragraphs
    commands: list[str] = field(default_factory=list)
    plots: list[Path] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)

    def markdown(self, relative_to: Path) -> str:
        parts = [f"## {self.title}", "", self.setup, ""]
        for table in self.tables:
            parts += [table, ""]
        for note in self.notes:
            parts += [note, ""]
        for plot in self.plots:
            parts += [f"![{plot.stem}]({_relative(plot, relative_to)})", ""]
        if self.commands:
            parts += ["Commands:", "", "```console", *self.commands, "```", ""]
        return "\n".join(parts)


def runs_text(count: int) -> str:
    """``1 run``, ``3 runs``."""
    return f"{count} run" if count == 1 else f"{count} runs"


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A GitHub markdown table; the first column left-aligned, the others right-aligned."""
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join([":---"] + ["---:"] * (len(headers) - 1)) + "|",
    ]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def goals_table(goals: Iterable[Goal]) -> str:
    """The headline: every goal, its target, the figure, met or missed."""
    return markdown_table(
        ["goal", "target", "measured: median (min-max)", "met"],
        [(g.name, g.target, g.measured, "yes" if g.met else "**no**") for g in goals],
    )


def write_results(
    path: Path,
    *,
    preamble: str,
    sections: Sequence[Section],
    machine: str,
    epilogue: Callable[[], str] | None = None,
) -> str:
    """Write RESULTS.md (headline, machine, each scenario, missed goals); returns the text."""
    goals = [goal for section in sections for goal in section.goals]
    missed = [goal for goal in goals if not goal.met]
    parts = [preamble, "", "## Headline", "", goals_table(goals), "", machine, ""]
    parts += [section.markdown(path.parent) for section in sections]
    if missed:
        parts += ["## Missed goals", ""]
        for goal in missed:
            parts += [f"- **{goal.name}** ({goal.target}): measured {goal.measured}. {goal.why}"]
        parts.append("")
    if epilogue is not None:
        parts += [epilogue(), ""]
    text = "\n".join(parts).rstrip() + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return text


def _relative(target: Path, base: Path) -> str:
    try:
        return target.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return target.as_posix()
