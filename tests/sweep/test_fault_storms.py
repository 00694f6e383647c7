"""Fault storms end to end: a flaky gateway finishes the work; a dead one is not hammered.

The bound tested is the one ``worker.api.retry`` states: no retry is sent unpaid, a retry costs
at least ``RETRY_COST`` and only answered calls refund, so the requests a run sends are at
most its first attempts plus ``(quota + answered calls) / RETRY_COST``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sandbox.testing import SandboxServer
from worker.api.retry import DEFAULT_QUOTA, RETRY_COST
from worker.cli.exit_codes import ExitCode, exit_code_for_report
from worker.outcomes import Abort, Outcome
from worker.report import ReportItem
from worker.sweep import NoObserver, sweep
from worker.sweep.policies import policies_from_settings

from .helpers import by_id, link, run_sweep, settings_for, statuses

SOON = timedelta(minutes=10)
LIST = "GET /api/one-time-payment"
CANCEL = "PATCH /api/one-time-payment/{id}/cancel"


def answered(counters: dict[str, Any], route: str) -> int:
    return int(counters["requests"][route].get("200", 0))


def sent(counters: dict[str, Any], route: str) -> int:
    return sum(counters["requests"][route].values())


async def test_a_quarter_of_requests_failing_transiently_leaves_no_work_undone(
    sandbox: SandboxServer,
) -> None:
    """The user's storm: 15 % 502/503, 10 % resets, at most two in a row per request."""
    targets = await sandbox.admin.add_links([link(expires_in=SOON) for _ in range(400)])
    await sandbox.admin.set_knobs(fault_rate=0.15, reset_rate=0.10, fault_streak_max=2)

    report = await run_sweep(settings_for(sandbox, expiring_within="30m", max_cancellations="400"))

    assert report.aborted is None
    assert report.summary.planned == 400
    assert report.summary.cancelled == 400
    assert exit_code_for_report(report) is ExitCode.OK
    assert set((await statuses(sandbox)).values()) == {"CANCELLED"}
    assert {item.id for item in report.items} == {target["id"] for target in targets}
    counters = await sandbox.admin.counters()
    assert counters["faults"] > 0
    assert counters["resets"] > 0
    # More retries than a run-wide allowance of 20 % of the first attempts would have had.
    assert report.stats is not None
    assert report.stats.retries > 0.2 * (sent(counters, CANCEL) + sent(counters, LIST))


@pytest.mark.parametrize(
    ("knobs", "env", "links", "passes_run", "code", "aborted"),
    [
        # Even the list fails: page 1's attempts, then the scan is incomplete.
        ({"fault_rate": 1.0}, {}, 200, 0, ExitCode.SAFETY_ABORT, Abort.SCAN_INCOMPLETE),
        # Every cancel fails: the failure threshold stops launching after about twenty.
        (
            {"fault_rate": 1.0, "fault_routes": ["cancel"]},
            {},
            200,
            1,
            ExitCode.SAFETY_ABORT,
            Abort.FAILURE_THRESHOLD,
        ),
        # No threshold to stop it: three passes try every link, the quota meters the rest.
        (
            {"fault_rate": 1.0, "fault_routes": ["cancel"]},
            {
                "SWEEPER_RETRY__QUOTA": "50",
                "SWEEPER_RETRY__ATTEMPTS": "3",
                "SWEEPER_RETRY__MAXIMUM": "5ms",
                "SWEEPER_SAFETY__FAILURE_MIN": "1000",
            },
            60,
            3,
            ExitCode.FAILURES,
            None,
        ),
    ],
    ids=["everything-503", "cancels-503", "cancels-503-no-threshold"],
)
async def test_a_server_answering_only_503_gets_a_bounded_number_of_requests(
    sandbox: SandboxServer,
    knobs: dict[str, object],
    env: dict[str, str],
    links: int,
    passes_run: int,
    code: ExitCode,
    aborted: Abort | None,
) -> None:
    await sandbox.admin.add_links([link(expires_in=SOON) for _ in range(links)])
    await sandbox.admin.set_knobs(**knobs)
    settings = settings_for(sandbox, expiring_within="30m", max_cancellations="1000", extra_env=env)

    report = await run_sweep(settings)

    assert exit_code_for_report(report) is code
    assert report.aborted == aborted
    assert set((await statuses(sandbox)).values()) == {"PENDING"}
    summary = report.summary
    assert summary.planned == (0 if aborted is Abort.SCAN_INCOMPLETE else links)
    assert summary.failed + summary.not_attempted == summary.planned
    counters = await sandbox.admin.counters()
    quota = int(env.get("SWEEPER_RETRY__QUOTA", DEFAULT_QUOTA))
    attempts = int(env.get("SWEEPER_RETRY__ATTEMPTS", 5))
    # First attempts: the list pages answered, each launched cancel once per pass; a failed
    # scan is one page's first attempt.
    launched = summary.failed
    first_attempts = answered(counters, LIST) + passes_run * launched + (passes_run == 0)
    refunds = answered(counters, LIST) + answered(counters, CANCEL)
    assert counters["total"] <= first_attempts + (quota + refunds) // RETRY_COST
    assert report.stats is not None
    assert report.stats.retries <= (quota + refunds) // RETRY_COST
    # Each launched cancel still had its attempts, made or refused: none sent past the cap.
    assert max(counters["patches_per_link"].values(), default=0) <= passes_run * attempts


async def test_a_later_pass_retries_a_link_that_failed_transiently_and_counts_it_once(
    sandbox: SandboxServer,
) -> None:
    targets = await sandbox.admin.add_links([link(expires_in=SOON) for _ in range(5)])
    # Every cancel fails twice, then goes through: pass 1 (two attempts) fails them all.
    await sandbox.admin.set_knobs(fault_rate=1.0, fault_routes=["cancel"], fault_streak_max=2)
    settings = settings_for(
        sandbox,
        expiring_within="30m",
        max_cancellations="5",  # counts links: the retried five must not count twice
        extra_env={"SWEEPER_RETRY__ATTEMPTS": "2"},
    )

    report = await run_sweep(settings)

    assert report.aborted is None
    assert exit_code_for_report(report) is ExitCode.OK
    assert report.summary.planned == 5
    assert [(item.outcome, item.attempts) for item in report.items] == [(Outcome.CANCELLED, 1)] * 5
    assert set((await statuses(sandbox)).values()) == {"CANCELLED"}
    counters = await sandbox.admin.counters()
    assert counters["patches_per_link"] == {target["id"]: 3 for target in targets}


async def test_without_a_later_pass_the_transient_failure_stays_failed(
    sandbox: SandboxServer,
) -> None:
    [target] = await sandbox.admin.add_links([link(expires_in=SOON)])
    await sandbox.admin.set_knobs(fault_rate=1.0, fault_routes=["cancel"], fault_streak_max=2)
    settings = settings_for(
        sandbox,
        expiring_within="30m",
        extra_env={"SWEEPER_RETRY__ATTEMPTS": "2", "SWEEPER_PASSES": "1"},
    )

    report = await run_sweep(settings)

    assert exit_code_for_report(report) is ExitCode.FAILURES
    assert by_id(report)[target["id"]].outcome is Outcome.FAILED
    assert (await statuses(sandbox))[target["id"]] == "PENDING"


class _LaterAfterFailure(NoObserver):
    """A run's clock that jumps ``by`` ahead once a cancel has failed, and an observer that
    tells it: the next pass plans as if that much time had passed."""

    def __init__(self, by: timedelta) -> None:
        self.by = by
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def outcome(self, item: ReportItem) -> None:
        if item.outcome is Outcome.FAILED:
            self.offset = self.by


async def test_a_later_pass_never_retries_a_link_its_own_plan_no_longer_selects(
    sandbox: SandboxServer,
) -> None:
    """Failed in pass 1, expired by pass 2's plan: no cancel is sent again."""
    [target] = await sandbox.admin.add_links([link(expires_in=SOON)])
    await sandbox.admin.set_knobs(fault_rate=1.0, fault_routes=["cancel"], fault_streak_max=2)
    settings = settings_for(
        sandbox, expiring_within="30m", extra_env={"SWEEPER_RETRY__ATTEMPTS": "2"}
    )
    later = _LaterAfterFailure(by=timedelta(minutes=20))

    report = await sweep(settings, policies_from_settings(settings), observer=later, clock=later)

    item = by_id(report)[target["id"]]
    assert (item.outcome, item.attempts) == (Outcome.FAILED, 2)
    assert report.summary.planned == 1
    assert exit_code_for_report(report) is ExitCode.FAILURES
    counters = await sandbox.admin.counters()
    assert counters["patches_per_link"] == {target["id"]: 2}  # the third would have succeeded
    assert (await statuses(sandbox))[target["id"]] == "PENDING"


async def test_a_later_pass_looks_up_again_a_manifest_id_whose_lookup_failed_transiently(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    targets = await sandbox.admin.add_links([link() for _ in range(3)])
    manifest = tmp_path / "approved.csv"
    manifest.write_text("id\n" + "".join(f"{target['id']}\n" for target in targets))
    # Every GET of a link fails twice, then goes through: pass 1 cannot read them.
    await sandbox.admin.set_knobs(fault_rate=1.0, fault_routes=["get"], fault_streak_max=2)
    settings = settings_for(
        sandbox, manifest=str(manifest), extra_env={"SWEEPER_RETRY__ATTEMPTS": "2"}
    )

    report = await run_sweep(settings)

    assert [item.outcome for item in report.items] == [Outcome.CANCELLED] * 3
    assert report.summary.planned == 3
    assert exit_code_for_report(report) is ExitCode.OK
    assert set((await statuses(sandbox)).values()) == {"CANCELLED"}
