"""Each outcome class, end to end against the sandbox: report contents and server state."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from sandbox.testing import SandboxServer
from worker.cli.exit_codes import ExitCode, exit_code_for_report
from worker.outcomes import Outcome

from .helpers import by_id, link, patches, run_sweep, settings_for, statuses

SOON = timedelta(minutes=10)


@pytest.mark.parametrize(
    ("knobs", "outcome", "server_status", "exit_code", "message_part"),
    [
        ({}, Outcome.CANCELLED, "CANCELLED", ExitCode.OK, None),
        ({"race_rate": 1.0}, Outcome.CONFLICT, "CONFIRMED", ExitCode.OK, "paid first"),
        (
            {"fault_rate": 1.0, "fault_routes": ["cancel"]},
            Outcome.FAILED,
            "PENDING",
            ExitCode.FAILURES,
            "server error 50",
        ),
        ({"ambiguous_rate": 1.0}, Outcome.CANCELLED, "CANCELLED", ExitCode.OK, "earlier attempt"),
    ],
    ids=["clean", "race", "server-errors", "ambiguous"],
)
async def test_outcome_of_one_cancel(
    sandbox: SandboxServer,
    knobs: dict[str, object],
    outcome: Outcome,
    server_status: str,
    exit_code: ExitCode,
    message_part: str | None,
) -> None:
    [target] = await sandbox.admin.add_links([link(expires_in=SOON)])
    bystander = (await sandbox.admin.add_links([link(expires_in=timedelta(hours=30))]))[0]
    await sandbox.admin.set_knobs(**knobs)
    report = await run_sweep(settings_for(sandbox, expiring_within="30m"))

    item = by_id(report)[target["id"]]
    assert item.outcome is outcome
    if message_part is not None:
        assert item.message is not None
        assert message_part in item.message
    assert exit_code_for_report(report) is exit_code
    state = await statuses(sandbox)
    assert state[target["id"]] == server_status
    assert state[bystander["id"]] == "PENDING"
    assert bystander["id"] not in by_id(report)


async def test_unknown_manifest_id_is_not_found_without_a_cancel(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    [known] = await sandbox.admin.add_links([link()])
    missing = str(uuid.uuid4())
    manifest = tmp_path / "approved.csv"
    manifest.write_text(f"id\n{known['id']}\n{missing}\n")

    report = await run_sweep(settings_for(sandbox, manifest=str(manifest)))

    items = by_id(report)
    assert items[known["id"]].outcome is Outcome.CANCELLED
    assert items[missing].outcome is Outcome.NOT_FOUND
    assert items[missing].amount is None
    counters = await sandbox.admin.counters()
    assert counters["patches_per_link"] == {known["id"]: 1}
    assert exit_code_for_report(report) is ExitCode.OK


async def test_expired_link_is_skipped_and_never_sent(sandbox: SandboxServer) -> None:
    expired, live = await sandbox.admin.add_links(
        [
            link(expires_in=timedelta(minutes=-5), created_ago=timedelta(days=3)),
            link(expires_in=timedelta(hours=1), created_ago=timedelta(days=3)),
        ]
    )
    cutoff = "2100-01-01T00:00:00Z"

    report = await run_sweep(settings_for(sandbox, created_before=cutoff))

    items = by_id(report)
    assert items[expired["id"]].outcome is Outcome.SKIPPED_EXPIRED
    assert items[expired["id"]].attempts == 0
    assert items[live["id"]].outcome is Outcome.CANCELLED
    assert report.summary.skipped_expired == 1
    counters = await sandbox.admin.counters()
    assert expired["id"] not in counters["patches_per_link"]
    assert (await statuses(sandbox))[expired["id"]] == "PENDING"


async def test_dry_run_sends_no_cancel(sandbox: SandboxServer) -> None:
    await sandbox.admin.add_links([link(expires_in=SOON) for _ in range(5)])

    report = await run_sweep(settings_for(sandbox, expiring_within="1h", dry_run=True))

    assert report.mode == "dry-run"
    assert report.summary.would_cancel == 5
    assert {item.outcome for item in report.items} == {Outcome.WOULD_CANCEL}
    assert patches(await sandbox.admin.counters()) == 0
    assert set((await statuses(sandbox)).values()) == {"PENDING"}


async def test_duplicates_keep_the_newest_of_each_order(sandbox: SandboxServer) -> None:
    rows = await sandbox.admin.add_links(
        [
            link(external_id="order-1", created_ago=timedelta(hours=3)),
            link(external_id="order-1", created_ago=timedelta(hours=2)),
            link(external_id="order-1", created_ago=timedelta(hours=1)),
            link(external_id="order-2", created_ago=timedelta(hours=1)),
            link(external_id=None, created_ago=timedelta(hours=1)),
            link(external_id=None, created_ago=timedelta(hours=2)),
        ]
    )

    report = await run_sweep(settings_for(sandbox, duplicates=True))

    state = await statuses(sandbox)
    assert [state[row["id"]] for row in rows] == [
        "CANCELLED",
        "CANCELLED",
        "PENDING",
        "PENDING",
        "PENDING",
        "PENDING",
    ]
    assert {tuple(item.reasons) for item in report.items} == {("duplicate",)}


async def test_flaky_server_and_network_are_ridden_out(sandbox: SandboxServer) -> None:
    """502/503s and connection resets on every route: retries make every cancel land."""
    rows = await sandbox.admin.add_links([link(expires_in=SOON) for _ in range(25)])
    await sandbox.admin.set_knobs(fault_rate=0.25, reset_rate=0.15)

    report = await run_sweep(
        settings_for(sandbox, expiring_within="1h", extra_env={"SWEEPER_RETRY__ATTEMPTS": "10"})
    )

    assert {item.outcome for item in report.items} == {Outcome.CANCELLED}
    assert exit_code_for_report(report) is ExitCode.OK
    assert set((await statuses(sandbox)).values()) == {"CANCELLED"}
    assert len(rows) == report.summary.cancelled
    counters = await sandbox.admin.counters()
    assert counters["faults"] > 0
    assert counters["resets"] > 0
    assert report.stats is not None
    assert report.stats.retries > 0
    assert report.stats.requests_by_class["no_answer"] > 0


async def test_resets_on_every_cancel_end_failed_and_pending(sandbox: SandboxServer) -> None:
    [row] = await sandbox.admin.add_links([link(expires_in=SOON)])
    await sandbox.admin.set_knobs(reset_rate=1.0, fault_routes=["cancel"])

    report = await run_sweep(settings_for(sandbox, expiring_within="1h"))

    item = by_id(report)[row["id"]]
    assert item.outcome is Outcome.FAILED
    assert item.attempts == 5
    assert item.message is not None
    assert "no answer" in item.message
    assert (await statuses(sandbox))[row["id"]] == "PENDING"
    assert exit_code_for_report(report) is ExitCode.FAILURES


async def test_excluded_links_are_never_cancelled(sandbox: SandboxServer, tmp_path: Path) -> None:
    vip, by_id_row, plain = await sandbox.admin.add_links(
        [
            link(expires_in=SOON, external_id="vip-order"),
            link(expires_in=SOON, external_id="order-2"),
            link(expires_in=SOON, external_id="order-3"),
        ]
    )
    exclude = tmp_path / "never.csv"
    exclude.write_text(f"id,externalId\n,vip-order\n{by_id_row['id']},\n")

    report = await run_sweep(settings_for(sandbox, expiring_within="1h", exclude=str(exclude)))

    state = await statuses(sandbox)
    assert (state[vip["id"]], state[by_id_row["id"]], state[plain["id"]]) == (
        "PENDING",
        "PENDING",
        "CANCELLED",
    )
    assert set(by_id(report)) == {plain["id"]}
    assert report.policies["exclude"]["external_ids"] == 1  # type: ignore[index]
