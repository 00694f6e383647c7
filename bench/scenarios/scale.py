"""Scenario 5: scale. A dry run over 10k, 100k and 1M PENDING links: wall time against the
pages/rate bound, and the worker's peak RSS, read from its own process."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import math
import statistics
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import plots
from bench.context import Context
from bench.dataset import EXPIRING_WITHIN, PAGE_SIZE
from bench.processes import child_env, run_measured
from bench.results import Goal, Section, Spread, markdown_table, runs_text
from bench.sandbox_process import sandbox_process, shown_command
from worker.api.records import parse_page

KEY = "scale"
MAX_RSS_MIB = 512
MAX_SLOPE_SPREAD = 1.25  # "linear": MiB per link between neighbouring sizes within 25 %
# The seeder's mix is ~76 % PENDING (the rest CONFIRMED, CANCELLED); seed enough for N.
PENDING_SHARE = 0.7606
CHILD_TIMEOUT_S = 900.0


@dataclass(frozen=True, slots=True)
class DryRun:
    """One dry run of the CLI over ``pending`` links."""

    pending: int
    pages: int
    requests: int
    planned: int
    sweep_s: float  # run.started to run.finished, from the worker's own log
    process_s: float
    peak_rss_bytes: int

    @property
    def peak_rss_mib(self) -> float:
        return self.peak_rss_bytes / 2**20


def worker_args(rate: int) -> list[str]:
    return [
        "run",
        "--dry-run",
        "--expiring-within",
        EXPIRING_WITHIN,
        "--duplicates",
        "--rate",
        str(rate),
    ]


def run(ctx: Context) -> Section:
    sizes = ctx.sizes
    limit = sizes.scale_limit
    by_size: dict[int, list[DryRun]] = {}
    commands: list[str] = []
    for target in sizes.scale_links:
        seed = math.ceil(target / PENDING_SHARE)
        knobs = {"rate_limit": limit}
        ctx.say(f"  {KEY}: seeding {seed:,} links (before any timing)")
        with sandbox_process(seed=seed, orgs=1, knobs=knobs, log=ctx.sandbox_log(KEY)) as sandbox:
            commands.append(shown_command(sandbox.command))
            if target == sizes.scale_links[-1]:  # the largest: what the diagnosis is about
                anatomy = _link_anatomy(sandbox.base_url, sandbox.api_key)
            # The whole list, as before the lifetime horizon: what a million links cost to
            # hold (scenario 7 measures the horizon).
            env = child_env(
                {
                    "HARMONY_API_KEY": sandbox.api_key,
                    "HARMONY_BASE_URL": sandbox.base_url,
                    "SWEEPER_SCAN__HORIZON": "false",
                }
            )
            for number in range(sizes.runs):
                log = ctx.work / f"{KEY}-{target}-{number}.log"
                result_file = ctx.work / f"{KEY}-{target}-{number}.json"
                argv = [sys.executable, "-m", "bench.child", "worker", str(result_file)]
                usage = run_measured(
                    [*argv, *worker_args(limit)], env=env, timeout=CHILD_TIMEOUT_S, stderr=log
                )
                inside = json.loads(result_file.read_text()) if result_file.exists() else {}
                if usage.exit_code != 0 or inside.get("exit_code") != 0:
                    raise RuntimeError(f"the dry run failed ({inside}): see {log}")
                events = _events(log)
                dry = DryRun(
                    pending=int(events["scan.finished"]["links"]),
                    pages=int(events["scan.finished"]["pages"]),
                    requests=int(events["run.finished"]["requests"]),
                    planned=int(events["run.finished"]["planned"]),
                    sweep_s=_seconds(events["run.started"], events["run.finished"]),
                    process_s=usage.wall_s,
                    peak_rss_bytes=int(inside["peak_rss_bytes"]),
                )
                by_size.setdefault(target, []).append(dry)
                ctx.say(
                    f"  {KEY} {dry.pending:,} links run {number + 1}: {dry.sweep_s:.1f} s, "
                    f"peak RSS {dry.peak_rss_mib:.0f} MiB"
                )
    section = Section(
        key=KEY,
        title="5. Scale",
        setup=(
            "One organization seeded by the sandbox (`--seed N --orgs 1`, its realistic mix: "
            "about 76 % PENDING, with expiring links and duplicate orders) so that the "
            "PENDING list holds the size named, seeded before any timing starts. A dry run "
            "with both policies (`harmony-sweeper run --dry-run --expiring-within 30m "
            f"--duplicates --rate {limit}`, with `SWEEPER_SCAN__HORIZON=false` so that the "
            f"whole list is read and held) in its own process; the sandbox allows {limit} "
            f"requests per second, which its one core can serve (a 500-link page costs it "
            "~10 ms, so it could not serve 200 pages a second). Bound: pages / limit. Sweep "
            "time: from the worker's `run.started` to its `run.finished` log event (the "
            "process adds its start-up). Peak RSS: the worker process's own high-water mark "
            "(`VmHWM`, read by `bench/child.py` as the CLI returns: interpreter and imports "
            f"included, ~58 MiB of it). {runs_text(sizes.runs)} per size, each on the same seeded "
            "sandbox (a dry run changes nothing)."
        ),
    )
    rows = []
    for runs in by_size.values():
        first = runs[0]
        bound = first.requests / limit
        rows.append(
            [
                f"{first.pending:,}",
                f"{first.pages:,}",
                f"{bound:.1f}",
                Spread.of(r.sweep_s for r in runs).text(1),
                Spread.of(r.sweep_s / bound for r in runs).text(2),
                Spread.of(r.process_s for r in runs).text(1),
                Spread.of(r.peak_rss_mib for r in runs).text(0),
                f"{first.planned:,}",
            ]
        )
    section.tables.append(
        markdown_table(
            [
                "PENDING links",
                "pages",
                "bound s",
                "sweep s",
                "sweep / bound",
                "process wall s",
                "peak RSS MiB",
                "would cancel",
            ],
            rows,
        )
    )
    points = [
        (runs[0].pending, Spread.of(r.peak_rss_mib for r in runs)) for runs in by_size.values()
    ]
    slopes = [
        (high.median - low.median) / (n_high - n_low)
        for (n_low, low), (n_high, high) in itertools.pairwise(points)
    ]
    if slopes:
        section.notes.append(
            "Growth: "
            + ", ".join(
                f"{points[i][0]:,} -> {points[i + 1][0]:,}: {slope * 1e5:.1f} MiB per 100k "
                f"links ({slope * 2**20:.0f} bytes per link)"
                for i, slope in enumerate(slopes)
            )
            + "."
        )
    section.tables.append(
        "What one scanned link holds in the worker (a page of 500 parsed by "
        "`worker.api.records.parse_page`, `sys.getsizeof` of each part, objects shared between "
        "links counted once), bytes:\n\n"
        + markdown_table(["part", "bytes per link"], [[k, f"{v:.0f}"] for k, v in anatomy])
    )
    ratios = [
        statistics.median(r.sweep_s for r in runs) / (runs[0].requests / limit)
        for runs in by_size.values()
    ]
    section.notes.append(
        f"The sweep takes {ratios[-1]:.2f}x its bound at {points[-1][0]:,} links, against "
        f"{ratios[0]:.2f}x at {points[0][0]:,}. The scan parses each 500-link page on the "
        "event loop (pydantic), and the burst-free limiter loses for good any send its "
        "timer wakes later than its 5 ms SLACK (`worker/api/pace.py`): the busier the loop, "
        "the further below the rate the scan runs. Planning the whole scan adds a few "
        "seconds at the end."
    )
    largest_pending, largest = points[-1]
    section.goals.append(
        Goal(
            name=f"5. peak RSS of a {largest_pending:,}-link dry run",
            target=f"< {MAX_RSS_MIB} MiB",
            measured=f"{largest.text(0)} MiB",
            met=largest.median < MAX_RSS_MIB,
            why=_rss_diagnosis(slopes),
        )
    )
    linear = bool(slopes) and max(slopes) <= MAX_SLOPE_SPREAD * max(min(slopes), 1e-12)
    section.goals.append(
        Goal(
            name="5. RSS grows linearly with the links",
            target=f"MiB per link between sizes within {MAX_SLOPE_SPREAD}x",
            measured=", ".join(f"{slope * 2**20:.0f} B/link" for slope in slopes) or "-",
            met=linear,
            why="" if linear else "the per-link cost changes with the size; see the plot.",
        )
    )
    section.rows = [
        {
            "pending": r.pending,
            "sweep_s": r.sweep_s,
            "peak_rss_mib": r.peak_rss_mib,
            "requests": r.requests,
            "planned": r.planned,
        }
        for runs in by_size.values()
        for r in runs
    ]
    section.plots.append(
        plots.rss_growth(ctx.plots / "rss_growth.png", points, goal_mib=MAX_RSS_MIB)
    )
    section.commands += [
        *commands,
        "HARMONY_API_KEY=... HARMONY_BASE_URL=... harmony-sweeper " + " ".join(worker_args(limit)),
    ]
    return section


def _events(log: Path) -> dict[str, dict[str, Any]]:
    """The last JSON log event of each name in the worker's stderr."""
    events: dict[str, dict[str, Any]] = {}
    for line in log.read_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and "event" in event:
            events[str(event["event"])] = event
    missing = {"run.started", "scan.finished", "run.finished"} - set(events)
    if missing:
        raise RuntimeError(f"the worker's log {log} lacks {sorted(missing)}")
    return events


def _seconds(start: dict[str, Any], end: dict[str, Any]) -> float:
    begin = dt.datetime.fromisoformat(str(start["timestamp"]).replace("Z", "+00:00"))
    finish = dt.datetime.fromisoformat(str(end["timestamp"]).replace("Z", "+00:00"))
    return (finish - begin).total_seconds()


def _link_anatomy(base_url: str, api_key: str) -> list[tuple[str, float]]:
    """Average bytes per part of the ``Link`` objects a scan keeps, from one real page."""
    request = urllib.request.Request(  # noqa: S310 (the sandbox on loopback, http on purpose)
        f"{base_url}/api/one-time-payment?status=PENDING&page=1&pageSize={PAGE_SIZE}",
        headers={"x-api-key": api_key},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        links = parse_page(response.read()).links
    parts: dict[str, float] = {}
    seen: set[int] = set()

    def size(name: str, value: object) -> None:
        if id(value) not in seen:  # shared objects (enums, cached strings) count once
            seen.add(id(value))
            parts[name] = parts.get(name, 0.0) + sys.getsizeof(value) / len(links)
        else:
            parts.setdefault(name, 0.0)

    for link in links:
        size("the Link object (slots, GC header)", link)
        for field in dataclasses.fields(link):
            size(field.name, getattr(link, field.name))
    parts["total"] = sum(parts.values())
    return list(parts.items())


def _rss_diagnosis(slopes: list[float]) -> str:
    per_link = slopes[-1] * 2**20 if slopes else float("nan")
    return (
        f"About {per_link:.0f} bytes per PENDING link. The table above shows most of them in "
        "the `jobs.links.Link` each scanned link becomes (equal timestamps on a page and "
        "currencies are shared, so they count little); the rest is what is built around "
        "the links while the scan turns into a plan: the scan's list and the sort of ids "
        "that finds repeated records (`worker/sweep/scan.py`), then the planner's reason masks, "
        "the duplicates policy's sort by externalId and the decisions (`jobs/plan.py`, "
        "`jobs/duplicates.py`)."
    )
