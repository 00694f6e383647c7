"""What a run keeps of each listed link: its amount exact in every report, and the link once.

The scan keeps amounts as text and finds repeated records (page drift) without an id-keyed
dict, and the summary counts distinct links over passes without a set of every id: these
are the behaviours those savings must not change.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import anyio
import pytest

from sandbox.testing import SandboxServer
from worker.outcomes import Outcome
from worker.report import ReportItem
from worker.sweep import NoObserver, sweep
from worker.sweep.policies import policies_from_settings

from .helpers import by_id, link, run_sweep, settings_for, statuses

SOON = timedelta(minutes=10)


async def test_amounts_are_reported_as_the_api_wrote_them(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    # The sandbox sends a number amount as a JSON number and a string one as a string.
    written: list[object] = [12.5, "12.50", "1E+3", 1500]
    rows = await sandbox.admin.add_links(
        [{**link(expires_in=SOON), "amount": amount} for amount in written]
    )
    expected = dict(
        zip((row["id"] for row in rows), ["12.5", "12.50", "1000", "1500"], strict=True)
    )
    paths = {extension: tmp_path / f"plan.{extension}" for extension in ("json", "csv", "md")}

    for path in paths.values():
        await run_sweep(settings_for(sandbox, expiring_within="1h", dry_run=True, report=str(path)))

    items = json.loads(paths["json"].read_text(encoding="utf-8"))["items"]
    assert {item["id"]: item["amount"] for item in items} == expected
    table = csv.DictReader(io.StringIO(paths["csv"].read_text(encoding="utf-8")))
    assert {row["id"]: row["amount"] for row in table} == expected
    # The Markdown report is for people: thousands separators (issue 11).
    assert "| would_cancel | MXN | 4 | 2,525.00 |" in paths["md"].read_text(encoding="utf-8")


@pytest.mark.parametrize("passes", ["2", "3"])
async def test_scanned_counts_each_link_once_over_passes(
    sandbox: SandboxServer, passes: str
) -> None:
    await sandbox.admin.add_links([link(expires_in=SOON) for _ in range(3)])
    await sandbox.admin.add_links([link() for _ in range(2)])
    made_later: list[dict[str, object]] = []

    async def confirm(items: Sequence[ReportItem]) -> bool:
        # The first scan is over: a link made now is first listed by the second pass.
        made_later.extend(await sandbox.admin.add_links([link()]))
        return True

    settings = settings_for(sandbox, expiring_within="30m", extra_env={"SWEEPER_PASSES": passes})
    report = await sweep(settings, policies_from_settings(settings), confirm=confirm)

    assert report.summary.cancelled == 3
    # 5 listed by the first pass; the second lists the 2 left and the new one.
    assert report.summary.scanned == 6
    assert made_later
    assert made_later[0]["id"] not in by_id(report)


class _Pages(NoObserver):
    """Observer that says when the scan has read its first page, and when it has planned."""

    def __init__(self) -> None:
        self.first_page = anyio.Event()
        self.planned_once = anyio.Event()
        self.records = 0

    def scan_progress(self, seen: int, total: int) -> None:
        if not self.planned_once.is_set():  # the first pass's count of records read
            self.records = seen
        self.first_page.set()

    def planned(self, items: Sequence[ReportItem]) -> None:
        self.planned_once.set()


async def test_a_link_listed_on_two_pages_is_planned_and_cancelled_once(
    sandbox: SandboxServer,
) -> None:
    # Three pages, newest first. Links made after page 1 is read push every row down, so
    # the last rows of page 1 come again at the top of page 2; the new links themselves are
    # on page 1, read already: the second pass finds them.
    rows = await sandbox.admin.add_links(
        [link(expires_in=SOON, created_ago=timedelta(minutes=1 + n)) for n in range(1200)]
    )
    await sandbox.admin.set_knobs(latency_ms=200)
    settings = settings_for(
        sandbox, expiring_within="1h", concurrency="1", max_cancellations="2000", rate="2000"
    )
    observer = _Pages()

    async with anyio.create_task_group() as tg:

        async def make_links_during_the_scan() -> None:
            with anyio.fail_after(30):
                await observer.first_page.wait()
            newest = link(expires_in=SOON, created_ago=timedelta(seconds=1))
            await sandbox.admin.add_links([{**newest, "id": str(uuid.uuid4())} for _ in range(5)])
            with anyio.fail_after(30):
                await observer.planned_once.wait()
            await sandbox.admin.set_knobs(latency_ms=0)

        tg.start_soon(make_links_during_the_scan)
        report = await sweep(settings, policies_from_settings(settings), observer=observer)

    assert observer.records == 1200 + 5  # the first pass read 5 rows twice
    counters = await sandbox.admin.counters()
    assert set(counters["patches_per_link"].values()) == {1}
    assert {item.outcome for item in report.items} == {Outcome.CANCELLED}
    assert report.summary.cancelled == report.summary.scanned == len(rows) + 5
    assert set((await statuses(sandbox)).values()) == {"CANCELLED"}
