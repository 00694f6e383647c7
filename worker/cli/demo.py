"""``harmony-sweeper demo``: a dry run, then the real sweep, against the embedded sandbox.

The sandbox is seeded with a realistic mix (links expiring soon, duplicate orders, expired
and paid ones) and set to behave like a busy production API: a rate limit with RateLimit
headers, network latency, and customers paying while the sweep runs, some of them racing
its cancels. Nothing leaves this machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from sandbox.testing import SandboxServer
from worker.cli.progress import SweepProgress, plan_table, summary_table
from worker.cli.terminal import TerminalObserver
from worker.report import Report
from worker.settings import load_settings
from worker.sweep import sweep
from worker.sweep.policies import policies_from_settings

DEMO_LINKS = 1500
DEMO_KNOBS = {
    "rate_limit": 50,
    "latency_ms": 40,
    "latency_jitter_ms": 30,
    "race_rate": 0.05,
    "pay_rate": 2.0,
}
DEMO_POLICIES: dict[str, Any] = {
    "expiring_within": "2h",
    "duplicates": True,
    "paid_siblings": True,
}


async def run_demo(console: Console, *, reports: Path, links: int = DEMO_LINKS) -> Report:
    """Seed a sandbox, show the dry-run plan, then execute it with progress; the last report."""
    async with SandboxServer(seed=links, knobs=DEMO_KNOBS) as server:
        console.rule("[bold]harmony-sweeper demo")
        console.print(
            f"Sandbox API at {server.base_url}/api, {links} seeded links across 3 organizations.\n"
            f"It allows {DEMO_KNOBS['rate_limit']} requests/s, answers in "
            f"{DEMO_KNOBS['latency_ms']}±{DEMO_KNOBS['latency_jitter_ms']} ms, and customers "
            "keep paying links meanwhile. Policies: links expiring within 2 h, all but "
            "the newest link of each duplicated order, and the live links of orders "
            "already paid.\n"
        )
        environ = {"HARMONY_API_KEY": server.api_key, "HARMONY_BASE_URL": server.base_url}
        dry = load_settings(
            environ=environ, dry_run=True, report=str(reports / "demo-dry-run.md"), **DEMO_POLICIES
        )
        console.rule("1. Dry run: what would be cancelled, and why")
        planned = await sweep(dry, policies_from_settings(dry))
        console.print(plan_table(planned.items, limit=15, width=console.width))
        console.print(summary_table(planned))
        console.print(f"Finance-ready plan: {reports / 'demo-dry-run.md'}\n")

        live = load_settings(environ=environ, report=str(reports / "demo.json"), **DEMO_POLICIES)
        console.rule("2. The sweep: cancel under the API's pace")
        with SweepProgress(console=console, enabled=True) as progress:
            report = await sweep(
                live, policies_from_settings(live), observer=TerminalObserver(progress)
            )
        console.print(summary_table(report))
        console.print(
            f"Report: {reports / 'demo.json'}. Conflicts are customers who paid first: "
            "the sweep never fights them, it reports them.\n"
        )
        return report
