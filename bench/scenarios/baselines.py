"""Scenario 6: the worker next to two hand-written baselines, with customers racing it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bench import dataset
from bench.context import Context
from bench.results import Section, Spread, markdown_table, runs_text
from bench.runs import measured_sweep
from bench.sandbox_process import RunningSandboxProcess, sandbox_process, shown_command
from bench.scripts.bulk import bulk_sweep
from bench.scripts.hand_written import Tally
from bench.scripts.sequential import sequential_sweep
from bench.worker_run import cli_flags

KEY = "baselines"
WORKER = "worker (--rate auto)"
SEQUENTIAL = "sequential loop"
BULK = "bulk script (one page, all at once)"
Baseline = Callable[[str, str], Awaitable[Tally]]
BASELINES: dict[str, Baseline] = {SEQUENTIAL: sequential_sweep, BULK: bulk_sweep}


@dataclass(frozen=True, slots=True)
class ClientRun:
    """One client's run, judged by the server's final state."""

    score: dataset.Score
    rate_limited: int
    requests: int
    wall_s: float


def run(ctx: Context) -> Section:
    sizes = ctx.sizes
    limit = sizes.known_limit
    knobs = {
        "rate_limit": limit,
        "latency_ms": sizes.known_latency_ms,
        "race_rate": sizes.race_rate,
    }
    # The sequential loop takes minutes per run at full size: it may be repeated less.
    repeats = {WORKER: sizes.runs, SEQUENTIAL: sizes.sequential_runs, BULK: sizes.runs}
    runs: dict[str, list[ClientRun]] = {name: [] for name in repeats}
    links = sizes.baseline_links
    with sandbox_process(knobs=knobs, log=ctx.sandbox_log(KEY)) as sandbox:
        for number in range(sizes.runs):
            for name in [name for name, times in repeats.items() if number < times]:
                result = asyncio.run(
                    _one(sandbox, name, knobs, seed=number + 1, limit=limit, eligible=links)
                )
                runs[name].append(result)
                ctx.say(
                    f"  {KEY} {name} run {number + 1}: coverage {result.score.coverage:.3f}, "
                    f"wrongful {result.score.wrongful}, {result.wall_s:.1f} s"
                )
        command = shown_command(sandbox.command)
    section = Section(
        key=KEY,
        title="6. Baselines",
        setup=(
            f"Scenario 1's server (L = {limit}, {sizes.known_latency_ms:g} ms) and mix "
            f"({sizes.baseline_links:,} links selected by `--expiring-within 30m "
            f"--duplicates`), and {sizes.race_rate:.0%} of cancels racing a customer who "
            "pays the link a moment earlier (`race_rate`). The baselines are written from "
            "scratch in `bench/scripts/`: the **sequential loop** lists a page, cancels "
            "what it picks one request at a time, and moves to the next page; the **bulk "
            "script** lists one page of 500 and fires every chosen cancel at once. Both "
            "choose as people write it by hand (`bench/scripts/hand_written.py`): expiring "
            "= `expiresAt <= now + 30m`; duplicates = per page, keep the newest `createdAt` "
            "of each externalId. Judged from the server's final state: coverage = selected "
            "links now CANCELLED / selected links; paid first = selected links a customer "
            "paid (nobody could cancel those); left PENDING = selected links nobody "
            "cancelled; wrongful = links CANCELLED that the policies did not select. "
            f"{runs_text(sizes.runs)} of each, the sequential loop "
            f"{runs_text(sizes.sequential_runs)} (it is latency-bound: one request at a time)."
        ),
    )
    section.tables.append(
        markdown_table(
            [
                "client",
                "coverage",
                "paid first",
                "left PENDING",
                "wrongful cancels",
                "429s",
                "requests",
                "wall s",
            ],
            [
                [
                    name,
                    Spread.of(r.score.coverage for r in client_runs).text(),
                    Spread.of(r.score.paid for r in client_runs).text(0),
                    Spread.of(r.score.left_pending for r in client_runs).text(0),
                    Spread.of(r.score.wrongful for r in client_runs).text(0),
                    Spread.of(r.rate_limited for r in client_runs).text(0),
                    Spread.of(r.requests for r in client_runs).text(0),
                    Spread.of(r.wall_s for r in client_runs).text(1),
                ]
                for name, client_runs in runs.items()
            ],
        )
    )
    section.notes.append(
        "The mix holds orders whose newest link is PENDING but already expired beside an "
        "older live one: the policies keep the live one (an expired link is never a "
        'group\'s survivor), "keep the newest" by hand cancels it: those are the wrongful '
        "cancels. The sequential loop pages an offset list while it shrinks it, so links "
        "slide past unseen; the bulk script sees one page and loses most of it to 429s."
    )
    section.rows = [
        {
            "client": name,
            "coverage": r.score.coverage,
            "wrongful": r.score.wrongful,
            "rate_limited": r.rate_limited,
            "requests": r.requests,
            "wall_s": r.wall_s,
        }
        for name, client_runs in runs.items()
        for r in client_runs
    ]
    section.commands += [
        command,
        "# per run: POST /_sandbox/reset, POST /_sandbox/links (the mix), "
        "PUT /_sandbox/knobs, POST /_sandbox/counters/reset",
        f"# worker.sweep() in the bench process, settings of: harmony-sweeper run "
        f"{cli_flags('auto')}",
        "# bench.scripts.sequential.sequential_sweep(), bench.scripts.bulk.bulk_sweep()",
    ]
    return section


async def _one(
    sandbox: RunningSandboxProcess,
    name: str,
    knobs: dict[str, Any],
    *,
    seed: int,
    limit: int,
    eligible: int,
) -> ClientRun:
    if name == WORKER:
        figures = await measured_sweep(
            sandbox, eligible=eligible, knobs=knobs, rate="auto", seed=seed, limit=limit
        )
        return ClientRun(figures.score, figures.rate_limited, figures.requests, figures.wall_s)
    admin = sandbox.admin()
    try:
        data = dataset.build(eligible, seed=seed)
        await dataset.load(admin, data, knobs=knobs)
        started = time.monotonic()
        tally = await BASELINES[name](sandbox.base_url, sandbox.api_key)
        wall = time.monotonic() - started
        score = await dataset.score(admin, data)
    finally:
        await admin.close()
    return ClientRun(score, tally.rate_limited, tally.requests, wall)
