"""Run the chosen scenarios, write RESULTS.md and the plots, and return the headline."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.context import Context
from bench.machine import Machine, load_average
from bench.results import Section, goals_table, write_results
from bench.scenarios import SCENARIOS
from bench.sizes import Sizes


def run_benchmark(
    sizes: Sizes,
    *,
    scenarios: Sequence[str],
    results: Path,
    plots: Path,
    command: str,
    say: Callable[[str], None] = print,
) -> list[Section]:
    """Run ``scenarios`` in order; RESULTS.md goes to ``results``, PNGs into ``plots``."""
    machine = Machine.here()
    load_before = load_average()
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="harmony-sweeper-bench-"))
    ctx = Context(sizes=sizes, plots=plots, work=work, say=say)
    sections: list[Section] = []
    durations: dict[str, float] = {}
    loads: dict[str, tuple[float, float]] = {}
    try:
        for key in scenarios:
            say(f"{key}: running ({sizes.name} sizes)")
            began = time.monotonic()
            load_at_start = load_average()[0]
            sections.append(SCENARIOS[key](ctx))
            durations[key] = time.monotonic() - began
            loads[key] = (load_at_start, load_average()[0])
            say(f"{key}: done in {durations[key]:.0f} s")
    except BaseException:
        say(f"scratch files (child logs, sandbox logs) kept in {work}")
        raise
    shutil.rmtree(work, ignore_errors=True)
    elapsed = time.monotonic() - started
    load_after = load_average()
    write_results(
        results,
        preamble=_preamble(sizes, command),
        sections=sections,
        machine=_machine_text(
            machine, load_before, load_after, elapsed, durations=durations, loads=loads
        ),
    )
    return sections


def headline(sections: Sequence[Section]) -> str:
    """The goals table of these sections (what ``python -m bench`` prints at the end)."""
    return goals_table(goal for section in sections for goal in section.goals)


def _preamble(sizes: Sizes, command: str) -> str:
    return "\n".join(
        [
            "# Benchmarks",
            "",
            f"Written by `{command}` ({sizes.name} sizes); every figure below comes from that "
            "run. `make bench` runs `.venv/bin/python -m bench` (this file, about 25 "
            "minutes); `make bench-quick` runs `--quick` (small sizes, one run each, about a "
            "minute, written elsewhere); `--scenario NAME` runs one scenario "
            f"({', '.join(SCENARIOS)}). The scenarios and goals are issue 5's.",
            "",
            "Each scenario starts a sandbox of its own (`harmony-sweeper sandbox`) in a "
            "separate process, so that the server and the client do not share a core, and "
            "every run starts from a reset, freshly loaded sandbox. Figures are medians of "
            "the runs, with min-max in brackets; the configurations compared in one "
            "scenario alternate run by run, so that each pair meets the same machine load.",
        ]
    )


def _machine_text(
    machine: Machine,
    before: tuple[float, float, float],
    after: tuple[float, float, float],
    elapsed: float,
    *,
    durations: dict[str, float],
    loads: dict[str, tuple[float, float]],
) -> str:
    def averages(values: tuple[float, float, float]) -> str:
        return " / ".join(f"{value:.2f}" for value in values)

    took = ", ".join(f"{key} {seconds / 60:.1f} min" for key, seconds in durations.items())
    return "\n".join(
        [
            "## Machine",
            "",
            f"- {machine.cpus} CPUs (nproc), {machine.cpu_model}, "
            f"{machine.memory_gib:.1f} GiB of memory; {machine.system}",
            f"- {machine.python}; harmony-sweeper at {machine.commit}",
            f"- run started {machine.started:%Y-%m-%d %H:%M} UTC and took "
            f"{elapsed / 60:.1f} min ({took})",
            f"- load average (1 / 5 / 15 min) before: {averages(before)}, "
            f"after: {averages(after)}. "
            "The machine is shared (other work may run beside the benchmark), which is why "
            "every figure is a median with its min and max.",
            "- 1-minute load average at each scenario's start and end (the benchmark itself "
            "keeps about one core busy, the sandbox and the client each part of one): "
            + ", ".join(f"{key} {a:.2f} -> {b:.2f}" for key, (a, b) in loads.items()),
        ]
    )
