"""Customers paying while the sweep pages: no eligible link is left PENDING at the end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sandbox.testing import SandboxServer
from worker.outcomes import Outcome

from .helpers import link, run_sweep, settings_for


async def test_customers_paying_during_the_scan(sandbox: SandboxServer) -> None:
    # Three pages of links, newest first; customers pay the whole time, which shifts the
    # offset pages under the scanner. Eligible links are interleaved with the others.
    rows = [
        link(
            expires_in=timedelta(minutes=20) if n % 3 == 0 else timedelta(hours=40),
            created_ago=timedelta(seconds=n),
        )
        for n in range(1300)
    ]
    await sandbox.admin.add_links(rows)
    await sandbox.admin.set_knobs(pay_rate=200.0, latency_ms=20, latency_jitter_ms=20)

    report = await run_sweep(settings_for(sandbox, expiring_within="1h", concurrency="4"))
    await sandbox.admin.set_knobs(pay_rate=0.0)

    horizon = datetime.now(UTC) + timedelta(hours=1)
    left = [
        row
        for row in await sandbox.admin.links(status="PENDING")
        if datetime.fromisoformat(row["expiresAt"]) <= horizon
    ]
    assert left == []
    outcomes = {item.outcome for item in report.items}
    assert outcomes <= {Outcome.CANCELLED, Outcome.CONFLICT}
    assert report.summary.cancelled > 0
    counters = await sandbox.admin.counters()
    assert counters["customer_payments"] > 0
