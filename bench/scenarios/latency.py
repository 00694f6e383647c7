"""Scenario 2: latency hiding, the known-limit run at several added latencies."""

from __future__ import annotations

import asyncio

from bench import plots
from bench.context import Context
from bench.results import Goal, Section, Spread, markdown_table, runs_text
from bench.runs import SweepFigures, measured_sweep
from bench.sandbox_process import sandbox_process, shown_command
from bench.scenarios.known_limit import (
    MAX_429_SHARE,
    MIN_UTILISATION,
    fixed_key,
    known_limit_diagnosis,
)
from bench.worker_run import cli_flags

KEY = "latency"


def run(ctx: Context) -> Section:
    sizes = ctx.sizes
    limit = sizes.known_limit
    by_latency: dict[float, list[SweepFigures]] = {}
    borrowed: set[float] = set()
    commands: list[str] = []
    for latency in sizes.latencies_ms:
        if (earlier := ctx.shared.get(fixed_key(limit, latency))) is not None:
            by_latency[latency] = earlier
            borrowed.add(latency)
            continue
        knobs = {"rate_limit": limit, "latency_ms": latency}
        # A sandbox per latency: each configuration starts from a fresh process.
        with sandbox_process(knobs=knobs, log=ctx.sandbox_log(KEY)) as sandbox:
            commands.append(shown_command(sandbox.command))
            for number in range(sizes.runs):
                figures = asyncio.run(
                    measured_sweep(
                        sandbox,
                        eligible=sizes.known_links,
                        knobs=knobs,
                        rate=str(limit),
                        seed=number + 1,
                        limit=limit,
                    )
                )
                by_latency.setdefault(latency, []).append(figures)
                ctx.say(
                    f"  {KEY} {latency:g} ms run {number + 1}: "
                    f"utilisation {figures.utilisation:.3f}, 429s {figures.rate_limited}"
                )
    section = Section(
        key=KEY,
        title="2. Latency hiding",
        setup=(
            f"Scenario 1's server and data (L = {limit}, {sizes.known_links:,} links) and "
            f"`--rate {limit}`, at {', '.join(f'{x:g}' for x in sizes.latencies_ms)} ms of "
            "added latency. At 500 ms, L needs about L x 0.5 = "
            f"{limit * 0.5:.0f} requests in flight; the worker sizes its concurrency by "
            f"Little's law (rate x latency x 2, at most 256). {runs_text(sizes.runs)} per latency."
            + (
                f" The {', '.join(f'{x:g} ms' for x in sorted(borrowed))} row is scenario 1's "
                "own runs (same server, data and flags)."
                if borrowed
                else ""
            )
        ),
    )
    section.tables.append(
        markdown_table(
            [
                "latency ms",
                "cancels/s / L",
                "from the execution's start",
                "429s received",
                "429s / requests",
                "wall / lower bound",
                "requests per planned link",
                "busiest window",
            ],
            [
                [
                    f"{latency:g}",
                    Spread.of(f.utilisation for f in runs).text(),
                    Spread.of(f.utilisation_from_start for f in runs).text(),
                    Spread.of(f.rate_limited for f in runs).text(0),
                    Spread.of(f.rate_limited_share for f in runs).text(4),
                    Spread.of(f.wall_over_bound for f in runs).text(),
                    Spread.of(f.requests_per_link for f in runs).text(4),
                    Spread.of(f.busiest_window for f in runs).text(0),
                ]
                for latency, runs in by_latency.items()
            ],
        )
    )
    for latency, runs in by_latency.items():
        utilisation = Spread.of(f.utilisation for f in runs)
        share = Spread.of(f.rate_limited_share for f in runs)
        section.goals.append(
            Goal(
                name=f"2. utilisation at {latency:g} ms latency, --rate {limit}",
                target=f">= {MIN_UTILISATION} of L, 429s <= 0.1 % of requests",
                measured=f"{utilisation.text()}; 429s {share.text(4)}",
                met=utilisation.median >= MIN_UTILISATION and share.median <= MAX_429_SHARE,
                why=known_limit_diagnosis(runs),
            )
        )
    section.rows = [
        {"latency_ms": latency, "utilisation": f.utilisation, "rate_limited": f.rate_limited}
        for latency, runs in by_latency.items()
        for f in runs
    ]
    section.plots.append(
        plots.utilisation_by_latency(
            ctx.plots / "utilisation_vs_latency.png",
            {latency: [f.utilisation for f in runs] for latency, runs in by_latency.items()},
            goal=MIN_UTILISATION,
            limit=limit,
        )
    )
    section.commands += [
        *commands,
        f"# worker.sweep() in the bench process, settings of: harmony-sweeper run "
        f"{cli_flags(str(limit))}",
    ]
    return section
