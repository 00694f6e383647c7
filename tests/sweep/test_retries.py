"""A cancel's retries end to end: attempts in the report, the run's quota, the retry events.

The first attempt of a cancel is made outside tenacity's loop (``worker.api.retry``); these pin
down that a first attempt that fails is still retried, counted and charged as before.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from structlog.testing import capture_logs

from sandbox.testing import SandboxServer
from worker.outcomes import Outcome

from .helpers import by_id, link, patches, run_sweep, settings_for, statuses

SOON = timedelta(minutes=10)


@pytest.mark.parametrize(
    ("knobs", "quota", "outcome", "attempts", "retries", "server_status"),
    [
        # The first attempt's answer is lost; the retry gets 400 and a GET finds it CANCELLED.
        ({"ambiguous_rate": 1.0}, "500", Outcome.CANCELLED, 2, 1, "CANCELLED"),
        # Every attempt gets a 5xx: all five attempts are made, four of them retries.
        ({"fault_rate": 1.0, "fault_routes": ["cancel"]}, "500", Outcome.FAILED, 5, 4, "PENDING"),
        # An empty quota: the run is held, four attempts refused; the first one's 5xx ends it.
        ({"fault_rate": 1.0, "fault_routes": ["cancel"]}, "0", Outcome.FAILED, 1, 0, "PENDING"),
    ],
    ids=["lost-answer", "server-errors", "no-quota"],
)
async def test_a_failed_first_attempt_is_retried_counted_and_charged(
    sandbox: SandboxServer,
    knobs: dict[str, object],
    quota: str,
    outcome: Outcome,
    attempts: int,
    retries: int,
    server_status: str,
) -> None:
    [target] = await sandbox.admin.add_links([link(expires_in=SOON)])
    await sandbox.admin.set_knobs(**knobs)
    settings = settings_for(
        sandbox,
        expiring_within="30m",
        # One pass, so one call per link: later passes are in test_fault_storms.py.
        extra_env={"SWEEPER_RETRY__QUOTA": quota, "SWEEPER_PASSES": "1"},
    )

    with capture_logs() as logs:
        report = await run_sweep(settings)

    item = by_id(report)[target["id"]]
    assert (item.outcome, item.attempts) == (outcome, attempts)
    assert report.stats is not None
    assert report.stats.retries == retries
    assert patches(await sandbox.admin.counters()) == attempts
    assert (await statuses(sandbox))[target["id"]] == server_status
    retried = [log["attempt"] for log in logs if log["event"] == "payment.retry"]
    scheduled = [log["attempt"] for log in logs if log["event"] == "retry.scheduled"]
    assert retried == scheduled == list(range(2, attempts + 1))
    held = [log["cause"] for log in logs if log["event"] == "pace.paused"]
    assert set(held) == ({"retry_quota"} if quota == "0" else set())
    assert len(held) <= 4  # at most one pause per refused attempt
