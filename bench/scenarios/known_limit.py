"""Scenario 1: utilisation at a known limit, ``--rate L`` and ``--rate auto`` side by side."""

from __future__ import annotations

import asyncio
import statistics

from bench import plots
from bench.context import Context
from bench.results import Goal, Section, Spread, markdown_table, runs_text
from bench.runs import SweepFigures, measured_sweep
from bench.sandbox_process import sandbox_process, shown_command
from bench.worker_run import cli_flags

KEY = "known_limit"
MAX_429_SHARE = 0.001
MIN_UTILISATION = 0.97
MAX_REQUESTS_PER_LINK = 1.02


def fixed_key(limit: int, latency_ms: float) -> str:
    """Where scenario 1 leaves its ``--rate L`` runs for scenario 2 to reuse."""
    return f"fixed:{limit}:{latency_ms:g}"


def run(ctx: Context) -> Section:
    sizes = ctx.sizes
    limit, latency = sizes.known_limit, sizes.known_latency_ms
    knobs = {"rate_limit": limit, "latency_ms": latency}
    rates = (str(limit), "auto")
    runs: dict[str, list[SweepFigures]] = {rate: [] for rate in rates}
    with sandbox_process(knobs=knobs, log=ctx.sandbox_log(KEY)) as sandbox:
        for number in range(sizes.runs):
            for rate in rates:  # side by side: each pair of runs meets the same machine load
                figures = asyncio.run(
                    measured_sweep(
                        sandbox,
                        eligible=sizes.known_links,
                        knobs=knobs,
                        rate=rate,
                        seed=number + 1,
                        limit=limit,
                    )
                )
                runs[rate].append(figures)
                ctx.say(
                    f"  {KEY} --rate {rate} run {number + 1}: "
                    f"utilisation {figures.utilisation:.3f}, wall {figures.wall_s:.1f} s"
                )
        command = shown_command(sandbox.command)
    ctx.shared[fixed_key(limit, latency)] = runs[str(limit)]
    ctx.shared["auto_known"] = runs["auto"]
    section = Section(
        key=KEY,
        title="1. Utilisation at a known limit",
        setup=(
            f"The sandbox allows L = {limit} requests per second (sliding 1 s window, "
            f"RateLimit-* headers sent), adds {latency:g} ms to every request, and holds "
            f"{sizes.known_links:,} links chosen by the policies (`--expiring-within 30m "
            "--duplicates`) in a mix of links they must leave alone (see "
            "`bench/dataset.py`). Lower bound of a run: (pages of one scan + links to "
            "cancel) / L. Utilisation: cancels per second over L, a throughput measured from "
            "the execution's first answer to its last; the column beside it counts from the "
            "execution's start, so it also pays for the pipeline's fill (the first answer "
            "comes one latency after the first send), which the wall time counts too. "
            "Requests per planned link count every request "
            "sent: both scans (the worker re-scans once to confirm nothing is left), the "
            f"cancels and any retry. {runs_text(sizes.runs)} of each, alternating."
        ),
    )
    rows = [_row(f"--rate {rate}", runs[rate]) for rate in rates]
    section.tables.append(
        markdown_table(
            [
                "worker",
                "cancels/s / L",
                "from the execution's start",
                "wall / lower bound",
                "wall s",
                "429s received",
                "requests per planned link",
                "busiest 1 s window at the server",
            ],
            rows,
        )
    )
    auto_steady = Spread.of(f.steady_utilisation for f in runs["auto"])
    auto_settle = Spread.of(f.settle_s for f in runs["auto"] if f.settle_s is not None)
    settled = f"settles {auto_settle.text(1)} s into the run" if auto_settle.n else "never settles"
    section.notes.append(
        f"`--rate auto` {settled} and then holds {auto_steady.text()} of L. The sandbox "
        f"sends `RateLimit-Limit: {limit}` from the first answer on, and before any 429 the "
        "worker takes that quota as its rate (`worker/api/_aimd.py`, `RateController.on_quota`), "
        "so `auto` runs like `--rate L` from its first page on."
    )
    section.plots.append(
        plots.rate_over_time(
            ctx.plots / "known_limit_rate_over_time.png",
            {f"--rate {rate}": _median_run(runs[rate]) for rate in rates},
            limit=limit,
            title=f"Known limit L = {limit}, {latency:g} ms: --rate {limit} and --rate auto",
        )
    )
    section.rows = [{"rate": rate, **_data(figures)} for rate in rates for figures in runs[rate]]
    fixed = runs[str(limit)]
    utilisation = Spread.of(f.utilisation for f in fixed)
    share = Spread.of(f.rate_limited_share for f in fixed)
    per_link = Spread.of(f.requests_per_link for f in fixed)
    section.goals += [
        Goal(
            name=f"1. utilisation at L = {limit}, --rate {limit}, {latency:g} ms",
            target=f">= {MIN_UTILISATION} of L, 429s <= 0.1 % of requests",
            measured=f"{utilisation.text()}; 429s {share.text(4)}",
            met=utilisation.median >= MIN_UTILISATION and share.median <= MAX_429_SHARE,
            why=known_limit_diagnosis(fixed),
        ),
        Goal(
            name="1. requests per planned link, clean run",
            target=f"<= {MAX_REQUESTS_PER_LINK}",
            measured=per_link.text(4),
            met=per_link.median <= MAX_REQUESTS_PER_LINK,
            why="",
        ),
    ]
    section.commands += [
        command,
        "# per run: POST /_sandbox/reset, POST /_sandbox/links (the mix), "
        "PUT /_sandbox/knobs, POST /_sandbox/counters/reset",
        *(
            f"# worker.sweep() in the bench process, settings of: harmony-sweeper run "
            f"{cli_flags(rate)}"
            for rate in rates
        ),
    ]
    return section


def _median_run(runs: list[SweepFigures]) -> SweepFigures:
    ordered = sorted(runs, key=lambda f: f.utilisation)
    return ordered[len(ordered) // 2]


def _row(label: str, runs: list[SweepFigures]) -> list[str]:
    return [
        label,
        Spread.of(f.utilisation for f in runs).text(),
        Spread.of(f.utilisation_from_start for f in runs).text(),
        Spread.of(f.wall_over_bound for f in runs).text(),
        Spread.of(f.wall_s for f in runs).text(1),
        Spread.of(f.rate_limited for f in runs).text(0),
        Spread.of(f.requests_per_link for f in runs).text(4),
        Spread.of(f.busiest_window for f in runs).text(0),
    ]


def _data(figures: SweepFigures) -> dict[str, float]:
    return {
        "utilisation": figures.utilisation,
        "utilisation_from_start": figures.utilisation_from_start,
        "wall_over_bound": figures.wall_over_bound,
        "rate_limited": figures.rate_limited,
        "requests_per_link": figures.requests_per_link,
        "coverage": figures.score.coverage,
        "planned": figures.planned,
        "eligible": figures.eligible,
    }


def known_limit_diagnosis(runs: list[SweepFigures]) -> str:
    """Why fixed-rate runs fell short, read from their own figures."""
    if not runs:
        return ""
    limit = runs[0].limit
    hit = [f for f in runs if f.rate_limited]
    clean = [f for f in runs if not f.rate_limited]
    parts = []
    if hit:
        parts.append(
            f"{len(hit)} of {len(runs)} runs drew a 429 (busiest window at the server "
            f"{max(f.busiest_window for f in hit)} against L = {limit:g}: the server timestamps "
            "arrivals, and a stall on either side bunches the limiter's evenly spaced sends "
            "by more than its 2.5 % headroom). A 429's `Retry-After` (whole seconds, so at "
            "least 1 s) stops every request, and the pause is honoured: about L requests "
            "lost per 429. (The fixed rate then climbs straight back: `worker/api/_aimd.py`, "
            f"FORGIVE.) Those runs held {statistics.median(f.steady_utilisation for f in hit):.3f} "
            "of L in their second half."
        )
    paused = [f for f in runs if f.quota_pauses]
    if paused:
        parts.append(
            f"{len(paused)} of {len(runs)} runs also paused every request for one slot "
            "(1/L s) when an answer said `RateLimit-Remaining: 0` (`worker/api/pace.py`, "
            f"`Pace._follow`), {sum(f.quota_pauses for f in paused)} such pauses in all."
        )
    if clean:
        got = statistics.median(f.utilisation for f in clean)
        parts.append(
            f"The runs without a 429 reached {got:.3f} of L, against 0.975 for a perfect "
            "client at the limiter's target (`worker/api/pace.py` HEADROOM): the rest is "
            "event-loop lateness beyond the limiter's 5 ms SLACK, lost for good, on a shared "
            "2-core machine."
        )
    return " ".join(parts)
