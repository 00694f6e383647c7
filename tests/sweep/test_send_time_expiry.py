"""Expiry at send time: no cancel reaches a link at or after its ``expiresAt``.

The sweep checks each attempt against ``expiresAt`` less ``[safety] expiry_margin`` after
its last wait. The runs here are slow on purpose (a low ``--rate``, one at a time), so that
links expire while they queue. Nothing asserts how long anything took: the pace only gives a
lower bound on when the n-th request can leave, and the invariants hold however slow the
machine is, because the margin (not the timing) guarantees them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from sandbox.testing import SandboxServer
from worker.cli.exit_codes import ExitCode, exit_code_for_report
from worker.outcomes import Outcome

from .helpers import by_id, run_sweep, settings_for, statuses

CANCEL_ROUTE = "PATCH /api/one-time-payment/{id}/cancel"
MARGIN = "1s"


def expiring_link(expires_at: datetime) -> dict[str, Any]:
    """A PENDING link created an hour ago that expires at ``expires_at`` (milliseconds kept)."""
    created = datetime.now(UTC) - timedelta(hours=1)
    return {
        "id": str(uuid.uuid4()),
        "status": "PENDING",
        "externalId": None,
        "amount": "150.00",
        "currency": "MXN",
        "createdAt": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "expiresAt": expires_at.astimezone(UTC).isoformat(timespec="milliseconds"),
    }


async def test_no_cancel_reaches_a_link_that_expired_while_the_run_queued(
    sandbox: SandboxServer,
) -> None:
    # At 4 req/s (3.9 after the headroom) the n-th request cannot leave before n / 3.9 s
    # after ``start``, however fast the machine: the last soon links (expiring 5 to 5.3 s
    # after start) come up after their expiresAt, and more of them after it less the margin.
    start = datetime.now(UTC)
    soon = [expiring_link(start + timedelta(seconds=5, milliseconds=10 * n)) for n in range(30)]
    far = [expiring_link(start + timedelta(hours=3)) for _ in range(4)]
    await sandbox.admin.add_links([*soon, *far])
    settings = settings_for(
        sandbox,
        rate="4",
        concurrency=1,
        expiring_within="4h",
        extra_env={"SWEEPER_SAFETY__EXPIRY_MARGIN": MARGIN},
    )

    with capture_logs() as logs:
        report = await run_sweep(settings)

    items = by_id(report)
    counters = await sandbox.admin.counters()
    server = await statuses(sandbox)
    # Every planned link is accounted for, as cancelled or skipped, never as a refused cancel.
    assert set(items) == {row["id"] for row in [*soon, *far]}
    assert {item.outcome for item in items.values()} <= {
        Outcome.CANCELLED,
        Outcome.SKIPPED_EXPIRED,
    }
    assert all(items[row["id"]].outcome is Outcome.CANCELLED for row in far)
    assert report.aborted is None
    assert exit_code_for_report(report) is ExitCode.OK
    # From the server's side: every cancel that arrived was applied, so none arrived at or
    # after its link's expiresAt (the sandbox answers those 400 "expired").
    cancelled = {link_id for link_id, item in items.items() if item.outcome is Outcome.CANCELLED}
    assert counters["requests"][CANCEL_ROUTE] == {"200": len(cancelled)}
    assert set(counters["patches_per_link"]) == cancelled
    assert {link_id for link_id, status in server.items() if status == "CANCELLED"} == cancelled
    # Some links were planned for a cancel and expired while they queued: checked at send time.
    at_send_time = {
        link_id
        for link_id, item in items.items()
        if item.outcome is Outcome.SKIPPED_EXPIRED and "when its turn came" in (item.message or "")
    }
    assert at_send_time
    assert all(items[link_id].attempts == 0 for link_id in at_send_time)
    assert all(server[link_id] == "PENDING" for link_id in at_send_time)
    logged = {e["id"] for e in logs if e["event"] == "payment.skipped_expired"}
    assert logged == at_send_time


@pytest.mark.parametrize(
    ("knobs", "gets", "message_part"),
    [
        ({"fault_rate": 1.0}, 0, "none applied"),
        ({"reset_rate": 1.0}, 1, "got no answer and the link is still PENDING"),
    ],
    ids=["server-errors", "no-answers"],
)
async def test_a_retry_rechecks_expiry_after_its_backoff(
    sandbox: SandboxServer, knobs: dict[str, object], gets: int, message_part: str
) -> None:
    # Every cancel fails, and attempts and the retry quota outlast the link: at 2 req/s an attempt
    # leaves at most every half second, so its retries keep coming until one finds the link
    # within the margin, which must end it without a request.
    target = expiring_link(datetime.now(UTC) + timedelta(seconds=3))
    await sandbox.admin.add_links([target])
    await sandbox.admin.set_knobs(**knobs, fault_routes=["cancel"])
    settings = settings_for(
        sandbox,
        rate="2",
        concurrency=1,
        expiring_within="1h",
        extra_env={
            "SWEEPER_SAFETY__EXPIRY_MARGIN": MARGIN,
            "SWEEPER_RETRY__ATTEMPTS": "30",
        },
    )

    report = await run_sweep(settings)

    item = by_id(report)[target["id"]]
    assert item.outcome is Outcome.SKIPPED_EXPIRED
    assert item.message is not None
    assert "before its retry" in item.message
    assert message_part in item.message
    counters = await sandbox.admin.counters()
    sent = counters["patches_per_link"][target["id"]]
    assert item.attempts == sent >= 1
    assert "400" not in counters["requests"][CANCEL_ROUTE]
    assert sum(counters["requests"]["GET /api/one-time-payment/{id}"].values()) == gets
    assert (await statuses(sandbox))[target["id"]] == "PENDING"
    assert exit_code_for_report(report) is ExitCode.OK


async def test_the_default_margin_keeps_planning_away_from_links_about_to_expire(
    sandbox: SandboxServer,
) -> None:
    # Two seconds from expiry at planning time (or less): inside the default 5 s margin.
    [close] = await sandbox.admin.add_links(
        [expiring_link(datetime.now(UTC) + timedelta(seconds=2))]
    )

    report = await run_sweep(settings_for(sandbox, expiring_within="1h"))

    item = by_id(report)[close["id"]]
    assert item.outcome is Outcome.SKIPPED_EXPIRED
    assert item.message == "expired (within the 5s margin) when planned: never sent"
    assert item.attempts == 0
    assert close["id"] not in (await sandbox.admin.counters())["patches_per_link"]
