"""The lifetime horizon: an old organization's scan reads its live links, not its history.

Every test seeds expired history (``seed_history``: PENDING links over a year, none newer
than 50 hours) under a few pages of live links, and judges the horizon by what matters: the
pages the server served (its counters), and a plan identical to a full scan's on the same
links (the same run with ``SWEEPER_SCAN__HORIZON=false``), whichever way the scan ended.
"""

from __future__ import annotations

import csv
import json
import math
import random
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from structlog.testing import capture_logs

from sandbox.testing import SandboxServer
from tests.threaded import ThreadedSandbox
from worker.cli import cli
from worker.cli.exit_codes import ExitCode
from worker.outcomes import Outcome
from worker.report import Report
from worker.sweep.horizon import HORIZON_LOOKAHEAD

from .helpers import environ_for, iso, run_sweep, settings_for, statuses

CAP = 100  # items per page: many pages from few links
HISTORY = 2_000
LIVE = 250  # 2.5 pages: the history begins on page 3
FULL_SCAN = {"SWEEPER_SCAN__HORIZON": "false"}
LIST = "GET /api/one-time-payment"
TTL = timedelta(hours=48)


def _live(n: int, *, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` live links made over the last two days with the default 48h lifetime.

    Every fifth expires within 10-20 minutes (``expiring_within``); every seventh shares
    its order with the next (``duplicates``). Fixed ids, so that runs are comparable.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible test data
    now = datetime.now(UTC)
    rows = []
    for i in range(n):
        if i % 5 == 0:
            created = now - TTL + timedelta(minutes=rng.uniform(10, 20))
        else:
            created = now - timedelta(hours=rng.uniform(0.1, 46))
        rows.append(
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "externalId": f"LIVE-{i - i % 7 if i % 7 < 2 else i}",
                "amount": "150.00",
                "createdAt": iso(created),
                "expiresAt": iso(created + TTL),
            }
        )
    return rows


async def _old_org(
    sandbox: SandboxServer, live: list[dict[str, Any]], *, history: int = HISTORY, **knobs: Any
) -> None:
    await sandbox.admin.seed_history(history)
    await sandbox.admin.add_links(live)
    await sandbox.admin.set_knobs(**{"page_size_cap": CAP, **knobs})
    await sandbox.admin.reset_counters()


async def _list_requests(sandbox: SandboxServer) -> int:
    counters = await sandbox.admin.counters()
    return sum(counters["requests"][LIST].values())


def _planned(report: Report) -> dict[str, tuple[str, ...]]:
    """Each planned link with its reasons."""
    assert report.aborted is None
    return {item.id: tuple(str(r) for r in item.reasons) for item in report.items}


def _events(logs: list[Mapping[str, Any]], name: str) -> list[Mapping[str, Any]]:
    return [entry for entry in logs if entry["event"] == name]


async def _dry_runs(
    sandbox: SandboxServer, **flags: Any
) -> tuple[Report, Report, int, list[Mapping[str, Any]]]:
    """The same dry run with the horizon, then without: reports, the first's list GETs, logs."""
    flags = {"expiring_within": "30m", "duplicates": True, "dry_run": True, **flags}
    await sandbox.admin.reset_counters()
    with capture_logs() as logs:
        horizon = await run_sweep(settings_for(sandbox, **flags))
    pages = await _list_requests(sandbox)
    full = await run_sweep(settings_for(sandbox, extra_env=FULL_SCAN, **flags))
    return horizon, full, pages, logs


async def test_newest_first_reads_down_to_the_horizon_and_cancels_what_a_full_scan_would(
    sandbox: SandboxServer,
) -> None:
    live = _live(LIVE)
    await _old_org(sandbox, live)
    all_pages = math.ceil((HISTORY + LIVE) / CAP)
    crossing_page = LIVE // CAP + 1  # the first holding a history link

    horizon, full, pages, _ = await _dry_runs(sandbox)

    assert _planned(horizon) == _planned(full)
    assert len(_planned(full)) > LIVE // 10  # the policies had work to do
    assert horizon.stats is not None
    assert full.stats is not None
    assert horizon.stats.scan is not None
    assert full.stats.scan is not None
    assert horizon.stats.scan["ended"] == "horizon"
    assert full.stats.scan["ended"] == "full"
    assert crossing_page <= pages <= crossing_page + HORIZON_LOOKAHEAD - 1
    assert horizon.stats.scan["pages_read"] == pages
    assert full.stats.scan["pages_read"] == all_pages
    assert horizon.summary.scanned < LIVE + CAP  # the live links, and part of a page more

    # Executed, every pass stops at the horizon, and cancels exactly the full dry run's plan.
    await sandbox.admin.reset_counters()
    with capture_logs() as logs:
        executed = await run_sweep(settings_for(sandbox, expiring_within="30m", duplicates=True))
    assert {item.id for item in executed.items} == set(_planned(full))
    assert {item.outcome for item in executed.items} == {Outcome.CANCELLED}
    final = await statuses(sandbox)
    assert {i for i, status in final.items() if status == "CANCELLED"} == set(_planned(full))
    scans = _events(logs, "scan.finished")
    assert len(scans) == 2  # the second pass finds nothing new and ends the run
    assert {scan["ended"] for scan in scans} == {"horizon"}
    assert await _list_requests(sandbox) <= 2 * (crossing_page + HORIZON_LOOKAHEAD - 1)


@pytest.mark.parametrize(
    ("order", "cap"),
    [("oldest_first", CAP), ("by_id", CAP), ("shuffled", None)],
)
async def test_a_list_not_newest_first_falls_back_to_the_full_scan(
    sandbox: SandboxServer, order: str, cap: int | None
) -> None:
    # Shuffled pages are random samples: only a list of one page can be read whole at all.
    await _old_org(sandbox, _live(150), history=300, list_order=order, page_size_cap=cap)

    horizon, full, pages, logs = await _dry_runs(sandbox)

    assert _planned(horizon) == _planned(full)
    assert _planned(full)
    (fallback,) = _events(logs, "scan.horizon_fallback")
    assert fallback["reason"] == "order"
    assert fallback["page"] == 1
    assert horizon.stats is not None
    assert horizon.stats.scan is not None
    assert horizon.stats.scan["ended"] == "fallback"
    assert horizon.stats.scan["fallback_reason"] == "order"
    assert pages == math.ceil(450 / (cap or 500))  # the pages read before are not read again
    assert horizon.summary.scanned == 450


async def test_a_link_outliving_the_maximum_lifetime_falls_back_to_the_full_scan(
    sandbox: SandboxServer,
) -> None:
    live = _live(LIVE)
    now = datetime.now(UTC)
    long_lived = {
        "id": str(uuid.uuid4()),
        "createdAt": iso(now - timedelta(hours=1)),
        "expiresAt": iso(now + timedelta(hours=71)),  # a 72h lifetime, on page 1
    }
    await _old_org(sandbox, [*live, long_lived])

    horizon, full, _, logs = await _dry_runs(sandbox)

    assert _planned(horizon) == _planned(full)
    (fallback,) = _events(logs, "scan.horizon_fallback")
    assert fallback["reason"] == "lifetime"
    assert fallback["link"] == long_lived["id"]
    assert fallback["lifetime_s"] == 72 * 3600
    assert horizon.stats is not None
    assert horizon.stats.scan is not None
    assert horizon.stats.scan["ended"] == "fallback"
    assert horizon.summary.scanned == HISTORY + LIVE + 1


async def test_a_longer_max_link_lifetime_keeps_the_horizon(sandbox: SandboxServer) -> None:
    now = datetime.now(UTC)
    long_lived = {"createdAt": iso(now - timedelta(hours=1)), "expiresAt": iso(now + TTL)}
    await _old_org(sandbox, [*_live(LIVE), long_lived])
    longer = {"SWEEPER_SCAN__MAX_LINK_LIFETIME": "72h", "SWEEPER_SCAN__HORIZON_MARGIN": "1s"}

    report = await run_sweep(
        settings_for(sandbox, extra_env=longer, expiring_within="30m", dry_run=True)
    )

    assert report.stats is not None
    assert report.stats.scan is not None
    assert report.stats.scan["ended"] == "horizon"
    # History is older than 50h: a 72h horizon reads some of it, never all of it.
    assert LIVE < report.summary.scanned < LIVE + HISTORY


@pytest.mark.parametrize("unstable", [False, True], ids=["stable-ties", "unstable-ties"])
async def test_links_sharing_the_horizon_second_are_all_read(
    sandbox: SandboxServer, unstable: bool
) -> None:
    # Ten expired links created in one second just after the horizon's (49h ago), five on
    # each side of a page boundary: the scan may stop only after the first link older than
    # that second, on the page after.
    second = datetime.now(UTC) - TTL - timedelta(minutes=50)
    rng = random.Random(3)  # noqa: S311 - reproducible test data
    tied = [
        {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "createdAt": iso(second),
            "expiresAt": iso(second + TTL),
        }
        for _ in range(10)
    ]
    live = _live(3 * CAP - 5)
    await _old_org(sandbox, [*live, *tied], unstable_ties=unstable)

    horizon, full, pages, logs = await _dry_runs(sandbox, concurrency="1")

    assert _planned(horizon) == _planned(full)
    assert horizon.stats is not None
    assert horizon.stats.scan is not None
    assert horizon.summary.scanned >= len(live) + len(tied)
    if not unstable:
        assert horizon.stats.scan["ended"] == "horizon"
        assert pages == 4
    elif horizon.stats.scan["ended"] != "horizon":
        # Reshuffled ties over a page boundary repeat some links, and so hide others: the
        # prefix cannot be trusted, and the full scan's re-reads take over.
        (fallback,) = _events(logs, "scan.horizon_fallback")
        assert fallback["reason"] == "repeats"
        assert horizon.stats.scan["ended"] == "fallback"


async def test_unstable_ties_among_the_live_links_give_the_full_scans_plan(
    sandbox: SandboxServer,
) -> None:
    # Live links in threes sharing a second, reshuffled on every request, over page
    # boundaries: the horizon walk sees repeats, and falls back to the full scan.
    live = _live(LIVE)
    for i, row in enumerate(live):
        row["createdAt"] = live[i - i % 3]["createdAt"]
        row["expiresAt"] = live[i - i % 3]["expiresAt"]
    await _old_org(sandbox, live, history=500, unstable_ties=True)

    horizon, full, _, logs = await _dry_runs(sandbox, concurrency="1")

    assert _planned(horizon) == _planned(full)
    assert horizon.stats is not None
    assert horizon.stats.scan is not None
    fallbacks = _events(logs, "scan.horizon_fallback")
    assert [entry["reason"] for entry in fallbacks] == (
        ["repeats"] if horizon.stats.scan["ended"] == "fallback" else []
    )


@pytest.mark.parametrize("policy", ["created_before", "manifest_of_external_ids"])
async def test_a_policy_that_may_select_older_links_keeps_the_full_scan(
    sandbox: SandboxServer, policy: str, tmp_path: Path
) -> None:
    live = _live(LIVE)
    await _old_org(sandbox, live)
    if policy == "created_before":
        flags: dict[str, Any] = {"created_before": iso(datetime.now(UTC) - timedelta(days=30))}
    else:
        manifest = tmp_path / "approved.csv"
        with manifest.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["externalId"])
            writer.writerows([[row["externalId"]] for row in live[:20]])
        flags = {"manifest": str(manifest)}

    with capture_logs() as logs:
        report = await run_sweep(settings_for(sandbox, dry_run=True, **flags))

    assert report.stats is not None
    assert report.stats.scan is not None
    assert report.stats.scan["ended"] == "full"
    assert report.stats.scan["pages_read"] == math.ceil((HISTORY + LIVE) / CAP)
    assert report.summary.scanned == HISTORY + LIVE
    assert not _events(logs, "scan.horizon")
    assert report.items  # history links (created_before) or listed live ones (manifest)


def test_the_json_report_says_how_the_scan_ended(
    threaded_sandbox: ThreadedSandbox, tmp_path: Path
) -> None:
    admin = threaded_sandbox.server.admin
    threaded_sandbox.call(admin.seed_history, HISTORY)
    threaded_sandbox.call(admin.add_links, _live(LIVE))
    threaded_sandbox.call(admin.set_knobs, page_size_cap=CAP)
    paths = {extension: tmp_path / f"plan.{extension}" for extension in ("json", "md")}

    for path in paths.values():
        result = CliRunner().invoke(
            cli,
            ["run", "--expiring-within", "30m", "--dry-run", "--report", str(path)],
            env=environ_for(threaded_sandbox.server),
            catch_exceptions=False,
        )
        assert result.exit_code == ExitCode.OK, result.output

    scan = json.loads(paths["json"].read_text(encoding="utf-8"))["stats"]["scan"]
    assert scan["ended"] == "horizon"
    assert "fallback_reason" not in scan
    assert LIVE // CAP + 1 <= scan["pages_read"] < math.ceil((HISTORY + LIVE) / CAP)
    # The seen-of-announced line says why it is short by design.
    assert "stopped at the lifetime horizon" in paths["md"].read_text(encoding="utf-8")
