"""Scenario 3: an unknown limit; ``--rate auto`` must find it, with and without headers."""

from __future__ import annotations

import asyncio
import statistics

from bench import plots
from bench.context import Context
from bench.results import Goal, Section, Spread, markdown_table, runs_text
from bench.runs import SweepFigures, measured_sweep
from bench.sandbox_process import sandbox_process, shown_command
from bench.worker_run import cli_flags

KEY = "unknown_limit"
MIN_UTILISATION = 0.90
MAX_429_SHARE = 0.02
VARIANTS = {
    "no headers": False,  # the worker gets no hint at all: only 429s
    "RateLimit-* headers": True,
}


def run(ctx: Context) -> Section:
    sizes = ctx.sizes
    limit = sizes.unknown_limit
    runs: dict[str, list[SweepFigures]] = {name: [] for name in VARIANTS}
    commands: list[str] = []
    for name, headers in VARIANTS.items():
        knobs = {"rate_limit": limit, "rate_limit_headers": headers}
        with sandbox_process(knobs=knobs, log=ctx.sandbox_log(KEY)) as sandbox:
            commands.append(shown_command(sandbox.command))
            for number in range(sizes.runs):
                figures = asyncio.run(
                    measured_sweep(
                        sandbox,
                        eligible=sizes.unknown_links,
                        knobs=knobs,
                        rate="auto",
                        seed=number + 1,
                        limit=limit,
                    )
                )
                runs[name].append(figures)
                ctx.say(
                    f"  {KEY} {name} run {number + 1}: utilisation "
                    f"{figures.utilisation:.3f}, 429s {figures.rate_limited}"
                )
    section = Section(
        key=KEY,
        title="3. Unknown limit",
        setup=(
            f"The sandbox allows {limit} requests per second (sliding 1 s window), no added "
            f"latency, {sizes.unknown_links:,} selected links in scenario 1's mix; the worker "
            "is given no rate (`--rate auto`: it starts at 5 req/s). Run twice: with the "
            "sandbox's `RateLimit-*` headers hidden (`--no-rate-limit-headers`: nothing but "
            "429s and Retry-After tell the worker anything) and with them sent. Utilisation "
            "over the run: cancels per second over the whole execution / limit; steady: the "
            "median second of the execution's last half / limit; settled: seconds from the "
            "run's start to the first of 5 seconds in a row within 10 % of that steady "
            f"rate. {runs_text(sizes.runs)} of each."
        ),
    )
    section.tables.append(
        markdown_table(
            [
                "sandbox",
                "utilisation over the run",
                "steady utilisation",
                "429s / requests",
                "seconds until settled",
                "wall / lower bound",
            ],
            [
                [
                    name,
                    Spread.of(f.utilisation for f in variant).text(),
                    Spread.of(f.steady_utilisation for f in variant).text(),
                    Spread.of(f.rate_limited_share for f in variant).text(4),
                    Spread.of(f.settle_s for f in variant if f.settle_s is not None).text(1),
                    Spread.of(f.wall_over_bound for f in variant).text(),
                ]
                for name, variant in runs.items()
            ],
        )
    )
    for name, variant in runs.items():
        utilisation = Spread.of(f.utilisation for f in variant)
        share = Spread.of(f.rate_limited_share for f in variant)
        section.goals.append(
            Goal(
                name=f"3. auto at an unknown limit ({name})",
                target=f">= {MIN_UTILISATION} of the limit, 429s <= 2 % of requests",
                measured=f"{utilisation.text()}; 429s {share.text(4)}",
                met=utilisation.median >= MIN_UTILISATION and share.median <= MAX_429_SHARE,
                why=_diagnosis(variant),
            )
        )
    section.rows = [
        {
            "variant": name,
            "utilisation": f.utilisation,
            "rate_limited_share": f.rate_limited_share,
            "settle_s": f.settle_s,
            "steady_utilisation": f.steady_utilisation,
        }
        for name, variant in runs.items()
        for f in variant
    ]
    section.plots.append(
        plots.rate_over_time(
            ctx.plots / "auto_rate_unknown_limit.png",
            {name: _median_run(variant) for name, variant in runs.items()},
            limit=limit,
            goal=MIN_UTILISATION,
            title=f"Unknown limit ({limit}/s), --rate auto: the median run of each",
        )
    )
    section.notes.append(
        "The plot shows each variant's median run (by utilisation): cancels answered per "
        "second, which is the rate the worker achieved, and a mark at each 429."
    )
    section.commands += [
        *commands,
        f"# worker.sweep() in the bench process, settings of: harmony-sweeper run "
        f"{cli_flags('auto')}",
    ]
    return section


def _median_run(runs: list[SweepFigures]) -> SweepFigures:
    ordered = sorted(runs, key=lambda f: f.utilisation)
    return ordered[len(ordered) // 2]


def _diagnosis(runs: list[SweepFigures]) -> str:
    if not runs:
        return ""
    settles = [f.settle_s for f in runs if f.settle_s is not None]
    settle = f"settles after {statistics.median(settles):.0f} s" if settles else "never settles"
    steady = statistics.median(f.steady_utilisation for f in runs)
    scan = statistics.median(f.executing_after_s for f in runs)
    hits = statistics.median(f.rate_limited for f in runs)
    return (
        f"The climb from 5 req/s is the cost: the rate {settle} (the scan alone "
        f"takes {scan:.1f} s at the low start), then holds {steady:.3f} of the limit, with "
        f"{hits:g} 429s (median) on the way. `worker/api/_aimd.py` doubles the rate each second "
        "until the first 429 (slow start), then settles just under what the server admitted "
        "in the second before it; RateLimit-Limit, when sent, ends the search at once."
    )
