"""Scenario 7: an old organization. A year of expired PENDING history under the live links;
an executed sweep should cost what the live links cost, with the horizon, and the history
without it (issue 12)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import random
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

from bench.context import Context
from bench.dataset import EXPIRING_WITHIN, PAGE_SIZE
from bench.processes import child_env, run_measured
from bench.results import Goal, Section, Spread, markdown_table, runs_text
from bench.sandbox_process import RunningSandboxProcess, sandbox_process, shown_command
from bench.worker_run import MAX_CANCELLATIONS

KEY = "old_org"
MAX_REQUEST_RATIO = 1.05  # requests per run over (pages of the live links + cancels)
MAX_RSS_MIB = 128
CHILD_TIMEOUT_S = 900.0
BATCH = 2_000  # live links per add_links call
CONFIGS: dict[str, dict[str, str]] = {
    "horizon": {},
    "no horizon": {"SWEEPER_SCAN__HORIZON": "false"},
}
_TTL = dt.timedelta(hours=48)


@dataclass(frozen=True, slots=True)
class LiveLinks:
    """The live links of the old organization, and which of them the policies select."""

    rows: tuple[dict[str, Any], ...]
    selected: frozenset[str]


@dataclass(frozen=True, slots=True)
class OldOrgRun:
    """One executed sweep of one configuration."""

    config: str
    requests: int
    cancelled: int  # links CANCELLED on the server afterwards
    wrongful: int  # CANCELLED ones the policies did not select
    missed: int  # selected ones left PENDING
    pages_read: int  # by the last scan
    ended: str  # how the last scan ended
    sweep_s: float
    peak_rss_bytes: int
    seed_s: float  # the sandbox's start, history seeding included

    @property
    def peak_rss_mib(self) -> float:
        return self.peak_rss_bytes / 2**20


def live_links(count: int, *, seed: int = 12) -> LiveLinks:
    """``count`` links made over the last 48 hours with realistic lifetimes (at most 48h).

    A tenth expire in 10-25 minutes (``expiring_within``), a twentieth come in orders of
    three (``duplicates``: the two older selected); the rest expire hours from now.
    """
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    rows: list[dict[str, Any]] = []
    selected: set[str] = set()

    def add(created: dt.datetime, ttl: dt.timedelta, external_id: str) -> str:
        link_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        rows.append(
            {
                "id": link_id,
                "externalId": external_id,
                "amount": f"{rng.randint(100, 20_000)}.00",
                "createdAt": _iso(created),
                "expiresAt": _iso(created + ttl),
            }
        )
        return link_id

    soon, groups = count // 10, count // 60
    for number in range(soon):
        expires = now + dt.timedelta(minutes=rng.uniform(10, 25))
        selected.add(add(expires - _TTL, _TTL, f"OLD-S{number}"))
    for number in range(groups):
        start = now - dt.timedelta(hours=rng.uniform(2, 40))
        for step in range(3):
            link_id = add(start + dt.timedelta(minutes=step), _TTL, f"OLD-D{number}")
            if step < 2:
                selected.add(link_id)
    for number in range(count - soon - 3 * groups):
        created = now - dt.timedelta(hours=rng.uniform(0.1, 45))
        add(created, _TTL, f"OLD-{number}")
    return LiveLinks(tuple(rows), frozenset(selected))


def worker_args(limit: int) -> list[str]:
    return [
        "run",
        "--expiring-within",
        EXPIRING_WITHIN,
        "--duplicates",
        "--rate",
        str(limit),
        "--max-cancellations",
        str(MAX_CANCELLATIONS),
        "--yes",
    ]


def run(ctx: Context) -> Section:
    sizes = ctx.sizes
    history, live_count, limit = sizes.old_history, sizes.old_live, sizes.old_limit
    live_pages = math.ceil(live_count / PAGE_SIZE)
    runs: dict[str, list[OldOrgRun]] = {config: [] for config in CONFIGS}
    commands: list[str] = []
    for number in range(sizes.runs):
        for config, extra_env in CONFIGS.items():  # alternating, one fresh sandbox each
            ctx.say(f"  {KEY}: seeding {history:,} expired links, run {number + 1} ({config})")
            started = time.monotonic()
            with sandbox_process(
                orgs=1,
                seed_history=history,
                knobs={"rate_limit": limit},
                log=ctx.sandbox_log(KEY),
            ) as sandbox:
                seed_s = time.monotonic() - started
                if not commands:
                    commands.append(shown_command(sandbox.command))
                live = live_links(live_count)
                asyncio.run(_add(sandbox, live))
                result = _sweep(
                    ctx, sandbox, config=config, extra_env=extra_env, number=number, limit=limit
                )
                cancelled = asyncio.run(_cancelled(sandbox))
            report, inside, sweep_s = result
            scan = report["stats"].get("scan", {})
            runs[config].append(
                OldOrgRun(
                    config=config,
                    requests=int(report["stats"]["requests"]),
                    cancelled=len(cancelled),
                    wrongful=len(cancelled - live.selected),
                    missed=len(live.selected - cancelled),
                    pages_read=int(scan.get("pages_read", 0)),
                    ended=str(scan.get("ended", "-")),
                    sweep_s=sweep_s,
                    peak_rss_bytes=int(inside["peak_rss_bytes"]),
                    seed_s=seed_s,
                )
            )
            done = runs[config][-1]
            ctx.say(
                f"  {KEY} {config} run {number + 1}: {done.requests:,} requests, "
                f"{done.cancelled:,} cancelled, peak RSS {done.peak_rss_mib:.0f} MiB"
            )
    return _section(ctx, runs, live_pages, commands)


def _sweep(
    ctx: Context,
    sandbox: RunningSandboxProcess,
    *,
    config: str,
    extra_env: dict[str, str],
    number: int,
    limit: int,
) -> tuple[dict[str, Any], dict[str, Any], float]:
    """One executed sweep in its own process: its JSON report, its own figures, its wall s."""
    name = f"{KEY}-{config.replace(' ', '-')}-{number}"
    log, result_file = ctx.work / f"{name}.log", ctx.work / f"{name}.json"
    report_file = ctx.work / f"{name}-report.json"
    env = child_env(
        {"HARMONY_API_KEY": sandbox.api_key, "HARMONY_BASE_URL": sandbox.base_url, **extra_env}
    )
    argv = [sys.executable, "-m", "bench.child", "worker", str(result_file)]
    argv += [*worker_args(limit), "--report", str(report_file)]
    usage = run_measured(argv, env=env, timeout=CHILD_TIMEOUT_S, stderr=log)
    inside = json.loads(result_file.read_text()) if result_file.exists() else {}
    if usage.exit_code != 0 or inside.get("exit_code") != 0 or not report_file.exists():
        raise RuntimeError(f"the sweep failed ({inside}): see {log}")
    report = json.loads(report_file.read_text())
    started = dt.datetime.fromisoformat(report["started_at"].replace("Z", "+00:00"))
    finished = dt.datetime.fromisoformat(report["finished_at"].replace("Z", "+00:00"))
    return report, inside, (finished - started).total_seconds()


async def _add(sandbox: RunningSandboxProcess, live: LiveLinks) -> None:
    admin = sandbox.admin()
    try:
        for start in range(0, len(live.rows), BATCH):
            await admin.add_links(live.rows[start : start + BATCH])
        await admin.reset_counters()
    finally:
        await admin.close()


async def _cancelled(sandbox: RunningSandboxProcess) -> set[str]:
    admin = sandbox.admin()
    try:
        return {row["id"] for row in await admin.links(status="CANCELLED")}
    finally:
        await admin.close()


def _section(
    ctx: Context, runs: dict[str, list[OldOrgRun]], live_pages: int, commands: list[str]
) -> Section:
    sizes = ctx.sizes
    section = Section(
        key=KEY,
        title="7. An old organization",
        setup=(
            f"One organization with {sizes.old_history:,} expired PENDING links created over "
            "the last year (`harmony-sweeper sandbox --seed-history N`: none newer than 50 "
            f"hours, lifetimes as merchants pick them) under {sizes.old_live:,} live links "
            "made over the last two days (a tenth expiring within 25 minutes, a twentieth in "
            "duplicate orders of three). An executed sweep with both policies "
            f"(`harmony-sweeper run --expiring-within {EXPIRING_WITHIN} --duplicates --rate "
            f"{sizes.old_limit} --yes`) in its own process, against a sandbox allowing "
            f"{sizes.old_limit} requests per second; beside it the same sweep with "
            "`SWEEPER_SCAN__HORIZON=false`, which reads the whole list on every pass. "
            f"{runs_text(sizes.runs)} of each, alternating, each on a freshly seeded sandbox. "
            "Requests: the run's own count (its report's `stats.requests`: every pass's scan, "
            "the cancels, any GET after a refused cancel). Bound: pages of the live links "
            f"({live_pages}) + cancels. Cancelled, wrongful, missed: from the server's "
            "final state against the links the policies select."
        ),
    )
    rows = []
    for config, config_runs in runs.items():
        first = config_runs[0]
        rows.append(
            [
                config,
                Spread.of(r.requests for r in config_runs).text(0),
                Spread.of(r.requests / (live_pages + r.cancelled) for r in config_runs).text(3),
                f"{first.pages_read:,} ({first.ended})",
                f"{first.cancelled:,}",
                str(max(r.wrongful for r in config_runs)),
                str(max(r.missed for r in config_runs)),
                Spread.of(r.sweep_s for r in config_runs).text(1),
                Spread.of(r.peak_rss_mib for r in config_runs).text(0),
                Spread.of(r.seed_s for r in config_runs).text(1),
            ]
        )
    section.tables.append(
        markdown_table(
            [
                "configuration",
                "requests",
                "requests / bound",
                "last scan: pages (ended)",
                "cancelled",
                "wrongful",
                "missed",
                "sweep s",
                "peak RSS MiB",
                "sandbox start s",
            ],
            rows,
        )
    )
    with_horizon, without = runs["horizon"], runs["no horizon"]
    ratio = Spread.of(b.requests / a.requests for a, b in zip(with_horizon, without, strict=True))
    rss_ratio = Spread.of(
        b.peak_rss_mib / a.peak_rss_mib for a, b in zip(with_horizon, without, strict=True)
    )
    section.notes.append(
        f"Without the horizon the same sweep makes {ratio.text(1)}x the requests and peaks "
        f"at {rss_ratio.text(1)}x the memory; both cancel the same links. The sandbox's "
        "start includes seeding the history (one bulk insert and one index sort)."
    )
    request_ratio = Spread.of(r.requests / (live_pages + r.cancelled) for r in with_horizon)
    section.goals.append(
        Goal(
            name="7. requests per run, old organization, horizon",
            target=f"<= {MAX_REQUEST_RATIO} x (live pages + cancels)",
            measured=f"{request_ratio.text(3)}x",
            met=request_ratio.median <= MAX_REQUEST_RATIO,
            why="each pass's scan reads the live pages, the page that crosses the horizon "
            "and up to three pages fetched ahead; a second pass scans again to find nothing.",
        )
    )
    rss = Spread.of(r.peak_rss_mib for r in with_horizon)
    section.goals.append(
        Goal(
            name="7. peak RSS, old organization, horizon",
            target=f"< {MAX_RSS_MIB} MiB",
            measured=f"{rss.text(0)} MiB",
            met=rss.median < MAX_RSS_MIB,
            why="the interpreter and imports alone take ~58 MiB.",
        )
    )
    section.rows = [
        {
            "config": r.config,
            "requests": r.requests,
            "bound": live_pages + r.cancelled,
            "cancelled": r.cancelled,
            "wrongful": r.wrongful,
            "missed": r.missed,
            "pages_read": r.pages_read,
            "ended": r.ended,
            "sweep_s": r.sweep_s,
            "peak_rss_mib": r.peak_rss_mib,
            "seed_s": r.seed_s,
        }
        for config_runs in runs.values()
        for r in config_runs
    ]
    section.commands += [
        *commands,
        "HARMONY_API_KEY=... HARMONY_BASE_URL=... harmony-sweeper "
        + " ".join(worker_args(sizes.old_limit)),
        "SWEEPER_SCAN__HORIZON=false HARMONY_API_KEY=... HARMONY_BASE_URL=... harmony-sweeper "
        + " ".join(worker_args(sizes.old_limit)),
    ]
    return section


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
