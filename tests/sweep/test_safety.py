"""Safety: a refused key, a malformed page, the cap, the failure threshold."""

from __future__ import annotations

from datetime import timedelta

from sandbox.testing import SandboxServer
from worker.cli.exit_codes import ExitCode, exit_code_for_report
from worker.outcomes import Abort, Outcome

from .helpers import link, patches, run_sweep, settings_for, statuses

SOON = timedelta(minutes=10)


async def test_refused_key_stops_after_one_request(sandbox: SandboxServer) -> None:
    await sandbox.admin.add_links([link(expires_in=SOON) for _ in range(3)])

    report = await run_sweep(settings_for(sandbox, api_key="not-a-key", expiring_within="1h"))

    assert report.aborted == Abort.UNAUTHORIZED
    assert exit_code_for_report(report) is ExitCode.UNAUTHORIZED
    counters = await sandbox.admin.counters()
    assert counters["total"] == 1
    assert counters["requests"]["GET /api/one-time-payment"] == {"401": 1}


async def test_malformed_page_aborts_before_any_cancel(sandbox: SandboxServer) -> None:
    await sandbox.admin.add_links([link(expires_in=SOON) for _ in range(3)])
    await sandbox.admin.set_knobs(malformed_rate=1.0)

    report = await run_sweep(settings_for(sandbox, expiring_within="1h"))

    assert report.aborted == Abort.SCAN_INCOMPLETE
    assert exit_code_for_report(report) is ExitCode.SAFETY_ABORT
    assert patches(await sandbox.admin.counters()) == 0
    assert set((await statuses(sandbox)).values()) == {"PENDING"}


async def test_plan_over_the_cap_aborts_before_the_first_cancel(sandbox: SandboxServer) -> None:
    await sandbox.admin.add_links([link(expires_in=SOON) for _ in range(6)])

    report = await run_sweep(settings_for(sandbox, expiring_within="1h", max_cancellations="5"))

    assert report.aborted == Abort.PLAN_OVER_CAP
    assert exit_code_for_report(report) is ExitCode.SAFETY_ABORT
    assert report.summary.not_attempted == 6
    assert patches(await sandbox.admin.counters()) == 0


async def test_failure_threshold_stops_launching(sandbox: SandboxServer) -> None:
    await sandbox.admin.add_links([link(expires_in=SOON) for _ in range(40)])
    await sandbox.admin.set_knobs(fault_rate=1.0, fault_routes=["cancel"])

    report = await run_sweep(
        settings_for(
            sandbox,
            expiring_within="1h",
            concurrency="2",
            extra_env={
                "SWEEPER_SAFETY__FAILURE_MIN": "4",
                "SWEEPER_SAFETY__FAILURE_RATIO": "0.5",
                "SWEEPER_RETRY__ATTEMPTS": "2",
            },
        )
    )

    assert report.aborted == Abort.FAILURE_THRESHOLD
    assert exit_code_for_report(report) is ExitCode.SAFETY_ABORT
    outcomes = [item.outcome for item in report.items]
    assert Outcome.NOT_ATTEMPTED in outcomes
    assert outcomes.count(Outcome.FAILED) >= 4
    # Every planned link is accounted for, sent or not.
    assert len(report.items) == 40
    assert len((await sandbox.admin.counters())["patches_per_link"]) < 40
