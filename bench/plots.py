"""The PNG plots of RESULTS.md (matplotlib, Agg backend, no pyplot global state)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # files only: never a window, whatever the environment says

from matplotlib import ticker
from matplotlib.figure import Figure

from bench.results import Spread

if TYPE_CHECKING:
    from bench.runs import SweepFigures

_DPI = 110


def utilisation_by_latency(
    path: Path, by_latency: Mapping[float, Sequence[float]], *, goal: float, limit: int
) -> Path:
    """Utilisation (median, min-max bars) against added latency, with the goal's line."""
    figure = Figure(figsize=(6.4, 4.0), layout="constrained")
    axes = figure.subplots()
    latencies = sorted(by_latency)
    spreads = [Spread.of(by_latency[x]) for x in latencies]
    medians = [s.median for s in spreads]
    axes.errorbar(
        latencies,
        medians,
        yerr=[[s.median - s.low for s in spreads], [s.high - s.median for s in spreads]],
        marker="o",
        capsize=4,
        label=f"--rate {limit} (median, min-max)",
    )
    axes.axhline(goal, color="tab:red", linestyle="--", label=f"goal {goal} of L")
    axes.axhline(0.975, color="tab:gray", linestyle=":", label="limiter's target 0.975 of L")
    axes.set_xscale("log")
    axes.set_xticks(latencies, [f"{x:g}" for x in latencies])
    axes.minorticks_off()
    axes.set_xlim(min(latencies) / 1.6, max(latencies) * 1.6)
    axes.set_xlabel("added latency per request (ms)")
    axes.set_ylabel(f"cancels per second / L (L = {limit})")
    axes.set_ylim(min(0.8, min(s.low for s in spreads) - 0.02), 1.0)
    axes.set_title("Utilisation at a known limit, by latency")
    axes.legend(loc="lower left")
    return _save(figure, path)


def rate_over_time(
    path: Path,
    runs: Mapping[str, SweepFigures],
    *,
    limit: int,
    goal: float | None = None,
    title: str = "--rate auto over time",
) -> Path:
    """Answers per second over each run's execution, the limit, and a mark at each 429."""
    figure = Figure(figsize=(7.2, 4.2), layout="constrained")
    axes = figure.subplots()
    for name, figures in runs.items():
        offset = figures.executing_after_s
        seconds = [offset + i + 0.5 for i in range(len(figures.per_second))]
        (line,) = axes.plot(seconds, figures.per_second, label=name, linewidth=1.5)
        for moment in figures.rate_limited_at:
            axes.axvline(offset + moment, color=line.get_color(), alpha=0.5, linestyle=":")
    axes.axhline(limit, color="black", linewidth=1, label=f"the server's limit ({limit}/s)")
    if goal is not None:
        axes.axhline(goal * limit, color="tab:red", linestyle="--", label=f"goal {goal} of it")
    axes.set_xlabel("seconds since the run started (dotted: a 429)")
    axes.set_ylabel("cancels answered per second")
    axes.set_ylim(0, limit * 1.15)
    axes.set_title(title)
    axes.legend(loc="lower right")
    return _save(figure, path)


def rss_growth(path: Path, points: Sequence[tuple[int, Spread]], *, goal_mib: float) -> Path:
    """Peak RSS of the dry run against the PENDING links, with the goal's line."""
    figure = Figure(figsize=(6.4, 4.0), layout="constrained")
    axes = figure.subplots()
    sizes = [n for n, _ in points]
    spreads = [s for _, s in points]
    axes.errorbar(
        sizes,
        [s.median for s in spreads],
        yerr=[[s.median - s.low for s in spreads], [s.high - s.median for s in spreads]],
        marker="o",
        capsize=4,
        label="worker's peak RSS (median, min-max)",
    )
    axes.axhline(goal_mib, color="tab:red", linestyle="--", label=f"goal < {goal_mib:g} MiB")
    axes.set_xlabel("PENDING links scanned (dry run, both policies)")
    axes.set_ylabel("peak RSS (MiB)")
    axes.set_xlim(0, max(sizes) * 1.05)
    axes.set_ylim(0, max(goal_mib, *(s.high for s in spreads)) * 1.15)
    axes.ticklabel_format(axis="x", style="plain")
    axes.xaxis.set_major_formatter(ticker.FuncFormatter(lambda x, _: f"{x:,.0f}"))
    axes.set_title("Worker memory, 10k -> 1M links")
    axes.legend(loc="upper left")
    return _save(figure, path)


def _save(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=_DPI)
    return path
