"""Scenario 4: CPU per cancel, the worker against a raw aiohttp loop, each in a fresh process."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from bench import cpu_profile, dataset
from bench.context import Context
from bench.processes import child_env, run_measured
from bench.results import Goal, Section, Spread, markdown_table, runs_text
from bench.sandbox_process import RunningSandboxProcess, sandbox_process, shown_command
from bench.worker_run import MAX_CANCELLATIONS

KEY = "client_cost"
MAX_RATIO = 1.5
NO_LIMIT_RATE = "100000"  # requests per second: far beyond what one sandbox core answers
CHILD_TIMEOUT_S = 600.0
CLIENTS = ("worker", "raw loop")
PROFILED_CANCELS = 5_000


@dataclass(frozen=True, slots=True)
class ClientCost:
    """One client's run: CPU inside (the work alone) and of the whole process."""

    cpu_s: float  # time.process_time around the client's work, imports excluded
    process_cpu_s: float  # user + system of the whole process (os.wait4)
    wall_s: float
    peak_rss_bytes: int
    cancelled: int

    @property
    def per_thousand(self) -> float:
        return 1000 * self.cpu_s / self.cancelled if self.cancelled else float("nan")

    @property
    def process_per_thousand(self) -> float:
        return 1000 * self.process_cpu_s / self.cancelled if self.cancelled else float("nan")


def worker_args(concurrency: int) -> list[str]:
    """``harmony-sweeper`` arguments of the measured worker run."""
    return [
        "run",
        "--expiring-within",
        dataset.EXPIRING_WITHIN,
        "--duplicates",
        "--rate",
        NO_LIMIT_RATE,
        "--concurrency",
        str(concurrency),
        "--max-cancellations",
        str(MAX_CANCELLATIONS),
        "--yes",
    ]


def run(ctx: Context) -> Section:
    sizes = ctx.sizes
    concurrency = sizes.cost_concurrency
    costs: dict[str, list[ClientCost]] = {name: [] for name in CLIENTS}
    with sandbox_process(log=ctx.sandbox_log(KEY)) as sandbox:
        for number in range(sizes.runs):
            for name in CLIENTS:  # alternating, so both meet the same machine load
                cost = _measure(ctx, sandbox, name, number, concurrency)
                costs[name].append(cost)
                ctx.say(
                    f"  {KEY} {name} run {number + 1}: {cost.per_thousand:.3f} CPU s per "
                    f"1,000 cancels ({cost.cancelled} cancelled)"
                )
        profiles = {name: _profile(ctx, sandbox, name, concurrency) for name in CLIENTS}
        command = shown_command(sandbox.command)
    ratios = [
        worker.per_thousand / raw.per_thousand
        for worker, raw in zip(costs["worker"], costs["raw loop"], strict=True)
    ]
    process_ratios = [
        worker.process_per_thousand / raw.process_per_thousand
        for worker, raw in zip(costs["worker"], costs["raw loop"], strict=True)
    ]
    ratio = Spread.of(ratios)
    section = Section(
        key=KEY,
        title="4. Client cost",
        setup=(
            f"No limit, no added latency, {sizes.cost_cancels:,} PENDING links that the "
            f"policies select. Each client runs in a fresh process at {concurrency} requests "
            "in flight: the worker is the real CLI (`harmony-sweeper run`, JSON logs to a "
            "file as in production: one audit event per cancel); the raw loop "
            "(`bench/scripts/raw_loop.py`) lists the PENDING ids and PATCHes them, nothing "
            "else. CPU in the work: `time.process_time()` around the client's work, imports "
            "excluded; whole process: user + system from `os.wait4`. Ratios are worker / raw "
            f"of runs made side by side. {runs_text(sizes.runs)} of each, alternating."
        ),
    )
    section.tables.append(
        markdown_table(
            [
                "client",
                "CPU s per 1,000 cancels (work)",
                "CPU s per 1,000 cancels (whole process)",
                "wall s",
                "peak RSS MiB",
                "cancelled",
            ],
            [
                [
                    name,
                    Spread.of(c.per_thousand for c in runs).text(),
                    Spread.of(c.process_per_thousand for c in runs).text(),
                    Spread.of(c.wall_s for c in runs).text(1),
                    Spread.of(c.peak_rss_bytes / 2**20 for c in runs).text(0),
                    Spread.of(c.cancelled for c in runs).text(0),
                ]
                for name, runs in costs.items()
            ]
            + [
                [
                    "**worker / raw**",
                    ratio.text(2),
                    Spread.of(process_ratios).text(2),
                    "",
                    "",
                    "",
                ]
            ],
        )
    )
    section.tables.append(_profile_table(profiles, _profiled_cancels(sizes.cost_cancels)))
    section.goals.append(
        Goal(
            name="4. CPU per cancel, worker / raw aiohttp loop",
            target=f"<= {MAX_RATIO}x",
            measured=f"{ratio.text(2)}x",
            met=ratio.median <= MAX_RATIO,
            why=_cost_diagnosis(profiles),
        )
    )
    section.rows = [
        {"client": name, "per_thousand": c.per_thousand, "cancelled": c.cancelled}
        for name, runs in costs.items()
        for c in runs
    ] + [{"client": "ratio", "ratio": value} for value in ratios]
    section.commands += [
        command,
        "# per run: POST /_sandbox/reset, POST /_sandbox/links, then one of:",
        "HARMONY_API_KEY=... HARMONY_BASE_URL=... harmony-sweeper "
        + " ".join(worker_args(concurrency)),
        f"HARMONY_API_KEY=... python -m bench.child raw RESULT.json BASE_URL {concurrency}",
        "# (the worker is started as python -m bench.child worker RESULT.json ARGS..., which "
        "runs the CLI between two process_time() readings)",
    ]
    return section


def _child_argv(
    name: str, result_file: Path, sandbox: RunningSandboxProcess, concurrency: int
) -> list[str]:
    argv = [sys.executable, "-m", "bench.child"]
    if name == "worker":
        return [*argv, "worker", str(result_file), *worker_args(concurrency)]
    return [*argv, "raw", str(result_file), sandbox.base_url, str(concurrency)]


def _measure(
    ctx: Context, sandbox: RunningSandboxProcess, name: str, number: int, concurrency: int
) -> ClientCost:
    data = dataset.build(ctx.sizes.cost_cancels, mix=dataset.ONLY_ELIGIBLE, seed=number + 1)
    asyncio.run(_load(sandbox, data))
    stem = f"{KEY}-{name.replace(' ', '_')}-{number}"
    result_file = ctx.work / f"{stem}.json"
    env = child_env({"HARMONY_API_KEY": sandbox.api_key, "HARMONY_BASE_URL": sandbox.base_url})
    usage = run_measured(
        _child_argv(name, result_file, sandbox, concurrency),
        env=env,
        timeout=CHILD_TIMEOUT_S,
        stderr=ctx.work / f"{stem}.log",
    )
    inside = json.loads(result_file.read_text()) if result_file.exists() else {}
    if usage.exit_code != 0 or inside.get("exit_code") != 0:
        raise RuntimeError(f"{name} failed ({usage.exit_code}, {inside}): see {ctx.work}")
    cancelled = asyncio.run(_cancelled(sandbox))
    return ClientCost(
        cpu_s=float(inside["cpu_s"]),
        process_cpu_s=usage.cpu_s,
        wall_s=usage.wall_s,
        peak_rss_bytes=int(inside["peak_rss_bytes"]),
        cancelled=cancelled,
    )


def _cost_diagnosis(profiles: dict[str, dict[str, float]]) -> str:
    """The groups where the worker spends more than the raw loop, largest first."""
    worker, raw = profiles["worker"], profiles["raw loop"]
    named = [group for group in worker if group != cpu_profile.OTHER]
    extra = {group: worker[group] - raw[group] for group in named}
    total = sum(value for value in extra.values() if value > 0)
    ranked = sorted(((value, group) for group, value in extra.items() if value > 0), reverse=True)
    shares = ", ".join(f"{group} {100 * value / total:.0f} %" for value, group in ranked[:5])
    return (
        "The profile above splits the worker's extra CPU per cancel (among the named groups): "
        f"{shares}. Per cancel the worker does what the raw loop does not: the pace's "
        "limiter and bookkeeping (`worker/api/pace.py`), a report item, and an audit event "
        "rendered to a JSON log line and redacted (`worker/ops/logs.py`). Tenacity is entered "
        "only after a failed first attempt (`worker/api/retry.py`), and a cancel's answer body "
        "is not parsed (`worker/api/client.py`)."
    )


def _profiled_cancels(cancels: int) -> int:
    return min(cancels, PROFILED_CANCELS)


def _profile(
    ctx: Context, sandbox: RunningSandboxProcess, name: str, concurrency: int
) -> dict[str, float]:
    """Self seconds per group (``bench.cpu_profile``) of one profiled run of ``name``."""
    cancels = _profiled_cancels(ctx.sizes.cost_cancels)
    data = dataset.build(cancels, mix=dataset.ONLY_ELIGIBLE, seed=99)
    asyncio.run(_load(sandbox, data))
    stem = f"{KEY}-{name.replace(' ', '_')}-profile"
    profile = ctx.work / f"{stem}.prof"
    argv = _child_argv(name, ctx.work / f"{stem}.json", sandbox, concurrency)
    env = child_env({"HARMONY_API_KEY": sandbox.api_key, "HARMONY_BASE_URL": sandbox.base_url})
    usage = run_measured(
        cpu_profile.profile_argv(profile, argv),
        env=env,
        timeout=CHILD_TIMEOUT_S,
        stderr=ctx.work / f"{stem}.log",
    )
    if usage.exit_code != 0:
        raise RuntimeError(f"profiled {name} exited {usage.exit_code}: see {ctx.work}")
    ctx.say(f"  {KEY} {name} profiled ({cancels:,} cancels)")
    return cpu_profile.self_time_by_group(profile)


def _profile_table(profiles: dict[str, dict[str, float]], cancels: int) -> str:
    groups = list(next(iter(profiles.values())))
    rows = []
    for group in groups:
        cells = [1000 * profiles[name][group] / cancels for name in CLIENTS]
        if max(cells) < 0.005:
            continue
        rows.append([group, *(f"{cell:.3f}" for cell in cells), f"{cells[0] - cells[1]:+.3f}"])
    totals = [1000 * sum(profiles[name].values()) / cancels for name in CLIENTS]
    rows.append(["**total**", *(f"{t:.3f}" for t in totals), f"{totals[0] - totals[1]:+.3f}"])
    return (
        f"Where the CPU goes: one run of each under cProfile ({cancels:,} cancels; cProfile "
        "about doubles Python's cost, so compare the columns, not with the table above). "
        "Self time per group, in milliseconds per cancel:\n\n"
        + markdown_table(["group", "worker", "raw loop", "worker - raw"], rows)
    )


async def _load(sandbox: RunningSandboxProcess, data: dataset.Dataset) -> None:
    admin = sandbox.admin()
    try:
        await dataset.load(admin, data, knobs={})
    finally:
        await admin.close()


async def _cancelled(sandbox: RunningSandboxProcess) -> int:
    """Cancels the server answered 200, by its own counters."""
    admin = sandbox.admin()
    try:
        counters = await admin.counters()
    finally:
        await admin.close()
    return int(counters["requests"]["PATCH /api/one-time-payment/{id}/cancel"].get("200", 0))
