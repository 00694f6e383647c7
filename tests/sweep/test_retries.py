"""A cancel's retries end to end: attempts in the report, the run's budget, the retry events.

The first attempt of a cancel is made outside tenacity's loop (``worker.retry``); these pin
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
    ("knobs", "budget_min", "outcome", "attempts", "retries", "server_status"),
    [
        # The first attempt's answer is lost; the retry gets 400 and a GET finds it CANCELLED.
        ({"ambiguous_rate": 1.0}, "20", Outcome.CANCELLED, 2, 1, "CANCELLED"),
        # Every attempt gets a 5xx: all five attempts are made, four of them retries.
        ({"fault_rate": 1.0, "fault_routes": ["cancel"]}, "20", Outcome.FAILED, 5, 4, "PENDING"),
        # No retry in the budget: the first attempt's 5xx is the end.
        ({"fault_rate": 1.0, "fault_routes": ["cancel"]}, "0", Outcome.FAILED, 1, 0, "PENDING"),
    ],
    ids=["lost-answer", "server-errors", "no-budget"],
)
async def test_a_failed_first_attempt_is_retried_counted_and_charged(
    sandbox: SandboxServer,
    knobs: dict[str, object],
    budget_min: str,
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
        extra_env={"SWEEPER_RETRY__BUDGET_MIN": budget_min, "SWEEPER_RETRY__BUDGET_RATIO": "0"},
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
    exhausted = [log for log in logs if log["event"] == "retry.budget_exhausted"]
    assert len(exhausted) == (1 if budget_min == "0" else 0)
