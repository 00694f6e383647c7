"""Customers paying while the sweep pages: no eligible link is left PENDING at the end."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import anyio

from sandbox.testing import SandboxServer
from worker.outcomes import Outcome
from worker.report import ReportItem
from worker.sweep import NoObserver, sweep
from worker.sweep.policies import policies_from_settings

from .helpers import link, settings_for


class _FirstPlan(NoObserver):
    """Observer that says when the first pass has planned (its scan is over)."""

    def __init__(self) -> None:
        self.planned_once = anyio.Event()

    def planned(self, items: Sequence[ReportItem]) -> None:
        self.planned_once.set()


async def test_customers_paying_during_the_scan(sandbox: SandboxServer) -> None:
    # Six pages of links, newest first, eligible ones interleaved. Customers pay the whole
    # time the first scan pages (slowly), which shifts offset pages under it: links slide
    # into pages already read and that scan never sees them (with one pass, this test
    # fails). Payments and latency stop once it has planned, so the later passes see a
    # still list, and the end state is certain.
    rows = [
        link(
            expires_in=timedelta(minutes=20) if n % 3 == 0 else timedelta(hours=40),
            created_ago=timedelta(seconds=n),
        )
        for n in range(2600)
    ]
    await sandbox.admin.add_links(rows)
    await sandbox.admin.set_knobs(pay_rate=400.0, latency_ms=40, latency_jitter_ms=40)
    settings = settings_for(sandbox, expiring_within="1h", concurrency="2")
    observer = _FirstPlan()

    async with anyio.create_task_group() as tg:

        async def calm_customers() -> None:
            with anyio.fail_after(30):
                await observer.planned_once.wait()
            await sandbox.admin.set_knobs(pay_rate=0.0, latency_ms=0, latency_jitter_ms=0)

        tg.start_soon(calm_customers)
        report = await sweep(settings, policies_from_settings(settings), observer=observer)

    horizon = datetime.now(UTC) + timedelta(hours=1)
    left = [
        row["id"]
        for row in await sandbox.admin.links(status="PENDING")
        if datetime.fromisoformat(row["expiresAt"]) <= horizon
    ]
    assert left == []
    assert {item.outcome for item in report.items} <= {Outcome.CANCELLED, Outcome.CONFLICT}
    assert report.summary.cancelled > 0
    counters = await sandbox.admin.counters()
    assert counters["customer_payments"] > 0
