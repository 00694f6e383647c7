"""A scan that knows when it is incomplete, under every way the docs let a server list.

The docs say the envelope echoes the *effective* page size, state no sort order, and give a
``count``. Under each list knob of the sandbox the sweep either cancels exactly the selected
links, or ends as ``scan_incomplete`` (exit 4) having cancelled nothing: never a run that
exits 0 while links it should have judged went unread.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from click.testing import CliRunner
from structlog.testing import capture_logs

from sandbox.testing import SandboxServer
from tests.threaded import ThreadedSandbox
from worker.cli import cli
from worker.cli.exit_codes import ExitCode, exit_code_for_report
from worker.outcomes import Abort, Outcome
from worker.report import Report, ReportItem
from worker.sweep import NoObserver, sweep
from worker.sweep.policies import policies_from_settings

from .helpers import environ_for, iso, link, patches, run_sweep, settings_for, statuses

SOON = timedelta(minutes=10)


async def _seed(sandbox: SandboxServer, rows: list[dict[str, Any]]) -> set[str]:
    """Insert ``rows``; the ids of those expiring soon (what ``expiring_within=1h`` selects)."""
    added = await sandbox.admin.add_links(rows)
    horizon = datetime.now(UTC) + timedelta(hours=1)
    return {row["id"] for row in added if datetime.fromisoformat(row["expiresAt"]) <= horizon}


def _spread(n: int) -> list[dict[str, Any]]:
    """``n`` links a second apart, every third one expiring soon."""
    return [
        link(
            expires_in=SOON if i % 3 == 0 else timedelta(hours=40),
            created_ago=timedelta(minutes=5, seconds=i),
        )
        for i in range(n)
    ]


def _tied(n: int, *, group: int) -> list[dict[str, Any]]:
    """``n`` links in groups of ``group`` sharing one createdAt second, every third soon."""
    now = datetime.now(UTC)
    return [
        {
            **link(expires_in=SOON if i % 3 == 0 else timedelta(hours=40)),
            "createdAt": iso(now - timedelta(minutes=5, seconds=i // group)),
        }
        for i in range(n)
    ]


async def _assert_exactly_selected_cancelled(
    sandbox: SandboxServer, report: Report, selected: set[str]
) -> None:
    assert report.aborted is None
    assert exit_code_for_report(report) is ExitCode.OK
    final = await statuses(sandbox)
    assert {link_id for link_id, status in final.items() if status == "CANCELLED"} == selected
    assert {status for link_id, status in final.items() if link_id not in selected} == {"PENDING"}
    counters = await sandbox.admin.counters()
    assert set(counters["patches_per_link"]) == selected
    assert set(counters["patches_per_link"].values()) == {1}
    assert {item.id for item in report.items} == selected
    assert {item.outcome for item in report.items} == {Outcome.CANCELLED}


async def _assert_aborted_with_nothing_cancelled(sandbox: SandboxServer, report: Report) -> None:
    assert report.aborted == Abort.SCAN_INCOMPLETE
    assert exit_code_for_report(report) is ExitCode.SAFETY_ABORT
    assert patches(await sandbox.admin.counters()) == 0
    assert set((await statuses(sandbox)).values()) == {"PENDING"}
    assert report.items == ()
    assert report.stats is not None
    scan = report.stats.scan
    assert scan is not None
    assert scan["links_seen"] < scan["count_announced"]


@pytest.mark.parametrize("echo", ["effective", "requested"])
async def test_a_capped_page_size_still_cancels_exactly_the_selected(
    sandbox: SandboxServer, echo: str
) -> None:
    # 1,200 links, served 100 a page. Paging by the 500 asked for would read pages 1 to 3:
    # 300 links, and with the lying echo a tenth of the list at three scattered offsets.
    selected = await _seed(sandbox, _spread(1200))
    await sandbox.admin.set_knobs(page_size_cap=100, page_size_echo=echo)

    with capture_logs() as logs:
        report = await run_sweep(settings_for(sandbox, expiring_within="1h"))

    await _assert_exactly_selected_cancelled(sandbox, report, selected)
    assert report.summary.scanned == 1200
    learned = [entry for entry in logs if entry["event"] == "scan.page_size"]
    assert {(entry["asked"], entry["using"]) for entry in learned} == {(500, 100)}
    assert not [entry for entry in logs if entry["event"] in ("scan.reread", "scan.short")]


@pytest.mark.parametrize("order", ["oldest_first", "by_id"])
async def test_other_stable_orders_cancel_exactly_the_selected(
    sandbox: SandboxServer, order: str
) -> None:
    selected = await _seed(sandbox, _spread(700))
    await sandbox.admin.set_knobs(list_order=order, page_size_cap=100)

    report = await run_sweep(settings_for(sandbox, expiring_within="1h"))

    await _assert_exactly_selected_cancelled(sandbox, report, selected)


@pytest.mark.parametrize(
    ("rows", "knobs", "completes"),
    [
        # Groups of three sharing a second straddle each page boundary: a walk misses a few,
        # the re-reads find them.
        (_tied(600, group=3), {"unstable_ties": True}, True),
        # 300 links in one second fill three whole pages, each a fresh random third: four
        # walks cannot be expected to see them all.
        (_tied(300, group=300), {"unstable_ties": True}, False),
        # A new order for every request: offset pages are random samples.
        (_spread(600), {"list_order": "shuffled"}, False),
    ],
    ids=["small-ties", "one-big-tie", "shuffled"],
)
async def test_an_unstable_order_completes_by_rereading_or_cancels_nothing(
    sandbox: SandboxServer, rows: list[dict[str, Any]], knobs: dict[str, object], completes: bool
) -> None:
    selected = await _seed(sandbox, rows)
    await sandbox.admin.set_knobs(page_size_cap=100, **knobs)
    # One page at a time: the sandbox's seeded order then makes each case's ending certain.
    settings = settings_for(sandbox, expiring_within="1h", concurrency="1")

    with capture_logs() as logs:
        report = await run_sweep(settings)

    # The promise, whichever way it ends: every selected link cancelled, or none.
    if report.aborted is None:
        await _assert_exactly_selected_cancelled(sandbox, report, selected)
    else:
        await _assert_aborted_with_nothing_cancelled(sandbox, report)
    assert (report.aborted is None) is completes  # each case takes the ending it is here for
    rereads = [entry for entry in logs if entry["event"] == "scan.reread"]
    assert rereads, "the first walk was expected to fall short"
    assert {"links_seen", "count", "drift", "short", "rereads"} <= set(rereads[0])
    if not completes:
        (short,) = [entry for entry in logs if entry["event"] == "scan.short"]
        assert short["rereads"] == 3
        assert short["links_seen"] < short["count"] == len(rows)


async def test_a_dry_run_of_an_incomplete_scan_plans_nothing(sandbox: SandboxServer) -> None:
    await _seed(sandbox, _spread(300))
    await sandbox.admin.set_knobs(list_order="shuffled", page_size_cap=50)

    report = await run_sweep(settings_for(sandbox, expiring_within="1h", dry_run=True))

    assert report.aborted == Abort.SCAN_INCOMPLETE
    assert report.items == ()
    assert report.summary.would_cancel == 0


async def test_a_still_list_is_read_once(sandbox: SandboxServer) -> None:
    await _seed(sandbox, _spread(250))
    await sandbox.admin.set_knobs(page_size_cap=100)
    await sandbox.admin.reset_counters()

    report = await run_sweep(settings_for(sandbox, expiring_within="1h", dry_run=True))

    assert report.stats is not None
    assert report.stats.scan == {
        "pages_read": 3,
        "links_seen": 250,
        "count_announced": 250,
        "rereads": 0,
        "ended": "full",
    }
    counters = await sandbox.admin.counters()
    assert counters["requests"]["GET /api/one-time-payment"] == {"200": 3}


def test_the_report_says_how_many_were_seen_of_how_many_announced(
    threaded_sandbox: ThreadedSandbox, tmp_path: Path
) -> None:
    admin = threaded_sandbox.server.admin
    threaded_sandbox.call(admin.add_links, _spread(400))
    threaded_sandbox.call(admin.set_knobs, list_order="shuffled", page_size_cap=100)
    reports = {extension: tmp_path / f"run.{extension}" for extension in ("json", "md")}

    for path in reports.values():
        result = CliRunner().invoke(
            cli,
            ["run", "--expiring-within", "1h", "--yes", "--report", str(path)],
            env=environ_for(threaded_sandbox.server),
            catch_exceptions=False,
        )
        assert result.exit_code == ExitCode.SAFETY_ABORT, result.output

    written = json.loads(reports["json"].read_text(encoding="utf-8"))
    assert written["aborted"] == "scan_incomplete"
    scan = written["stats"]["scan"]
    assert set(scan) == {
        "pages_read",
        "links_seen",
        "count_announced",
        "rereads",
        "ended",
        "fallback_reason",
    }
    assert (scan["ended"], scan["fallback_reason"]) == ("fallback", "order")
    assert scan["count_announced"] == 400
    assert 0 < scan["links_seen"] < 400
    assert scan["rereads"] == 3
    assert scan["pages_read"] == 4 * 4  # four walks of four pages
    markdown = reports["md"].read_text(encoding="utf-8")
    assert "distinct PENDING links seen of 400 the server announced" in markdown
    counters = threaded_sandbox.call(admin.counters)
    assert patches(counters) == 0


async def test_a_count_that_lags_behind_the_cancels_is_allowed_for_them(
    sandbox: SandboxServer,
) -> None:
    # The count is cached for ten minutes: the second pass, after the cancels, is told 300
    # while 200 are left. The 100 missing are the run's own cancels, which left the list:
    # a stale count, not links the scan failed to read. The run ends clean.
    selected = await _seed(sandbox, _spread(300))
    await sandbox.admin.set_knobs(page_size_cap=100, count_lag_s=600)

    with capture_logs() as logs:
        report = await run_sweep(settings_for(sandbox, expiring_within="1h"))

    assert report.aborted is None
    assert exit_code_for_report(report) is ExitCode.OK
    final = await statuses(sandbox)
    assert {link_id for link_id, status in final.items() if status == "CANCELLED"} == selected
    assert {item.outcome for item in report.items} == {Outcome.CANCELLED}
    assert report.stats is not None
    assert report.stats.scan is not None
    assert (report.stats.scan["links_seen"], report.stats.scan["count_announced"]) == (200, 300)
    (stale,) = [entry for entry in logs if entry["event"] == "scan.count_stale"]
    assert (stale["short"], stale["gone"], stale["count"]) == (100, 100, 300)
    assert stale["log_level"] == "info"  # the run is fine: nothing for a terminal to show
    assert not [entry for entry in logs if entry["event"] == "scan.reread"]


async def test_a_stale_count_beyond_the_runs_own_cancels_still_ends_the_scan_incomplete(
    sandbox: SandboxServer,
) -> None:
    # As above, but customers pay 10 links the run leaves alone before its cancels go out:
    # the second pass falls 110 short of the cached count, of which the run took only 100.
    # The scan cannot tell the other 10 from links it failed to read: exit 4.
    rows = _spread(300)
    selected = await _seed(sandbox, rows)
    await sandbox.admin.set_knobs(page_size_cap=100, count_lag_s=600)
    others = [row["id"] for row in rows if row["id"] not in selected][:10]

    async def customers_pay_then_confirm(waiting: Sequence[ReportItem]) -> bool:
        for link_id in others:
            assert await sandbox.admin.pay(link_id)
        return True

    settings = settings_for(sandbox, expiring_within="1h")
    report = await sweep(
        settings, policies_from_settings(settings), confirm=customers_pay_then_confirm
    )

    assert report.aborted == Abort.SCAN_INCOMPLETE
    assert exit_code_for_report(report) is ExitCode.SAFETY_ABORT
    final = await statuses(sandbox)
    assert {link_id for link_id, status in final.items() if status == "CANCELLED"} == selected
    assert report.stats is not None
    assert report.stats.scan is not None
    assert (report.stats.scan["links_seen"], report.stats.scan["count_announced"]) == (190, 300)


class _FirstPage(NoObserver):
    """Observer that says when the scan has read its first page."""

    def __init__(self) -> None:
        self.read = anyio.Event()

    def scan_progress(self, seen: int, total: int) -> None:
        self.read.set()


async def test_a_shortfall_the_growing_count_explains_is_drift_not_a_reread(
    sandbox: SandboxServer,
) -> None:
    # Links made after page 1 was read land on page 1 (newest first): that walk cannot see
    # them, and count grows by as many. That is drift, for the next pass, not a re-read.
    await _seed(sandbox, _spread(300))
    await sandbox.admin.set_knobs(page_size_cap=100, latency_ms=400)
    settings = settings_for(sandbox, expiring_within="1h", dry_run=True, concurrency="1")
    observer = _FirstPage()

    with capture_logs() as logs:
        async with anyio.create_task_group() as tg:

            async def make_links_during_the_scan() -> None:
                with anyio.fail_after(30):
                    await observer.read.wait()
                await sandbox.admin.add_links([link(created_ago=timedelta(0)) for _ in range(4)])

            tg.start_soon(make_links_during_the_scan)
            report = await sweep(settings, policies_from_settings(settings), observer=observer)

    assert report.aborted is None
    (drift,) = [entry for entry in logs if entry["event"] == "scan.drift"]
    assert (drift["short"], drift["links_seen"], drift["count"]) == (4, 300, 304)
    assert not [entry for entry in logs if entry["event"] == "scan.reread"]
