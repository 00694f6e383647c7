"""``--paid-siblings`` end to end against the sandbox: what it selects, how far it reads the
paid links, what it does when it cannot read them, and the orders paid twice."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from structlog.testing import capture_logs

from sandbox.testing import SandboxServer
from worker.outcomes import Outcome

from .helpers import by_id, link, run_sweep, settings_for, statuses

SOON = timedelta(minutes=10)
EXPIRED = timedelta(minutes=-10)


async def _add(server: SandboxServer, *links: dict[str, Any], api_key: str | None = None) -> None:
    await server.admin.add_links(list(links), api_key=api_key)


_ids: dict[str, str] = {}


def _named(name: str, **fields: Any) -> dict[str, Any]:
    """A link for ``add_links`` whose id the test refers to by ``name``."""
    made = link(**fields)
    _ids[name] = made["id"]
    return made


async def test_selects_exactly_the_live_pending_links_of_orders_paid_in_this_organization(
    sandbox: SandboxServer,
) -> None:
    other = await sandbox.admin.create_org("other")
    mine = [
        _named("paid", external_id="ORD-1", status="CONFIRMED", created_ago=timedelta(hours=3)),
        _named("sibling", external_id="ORD-1"),
        _named("sibling-2", external_id="ORD-1", expires_in=timedelta(hours=2)),
        _named("expired-sibling", external_id="ORD-1", expires_in=EXPIRED),
        _named("other-case", external_id="ord-1"),
        _named("cancelled", external_id="ORD-2", status="CANCELLED"),
        _named("of-cancelled", external_id="ORD-2"),
        _named("paid-no-id", external_id=None, status="CONFIRMED"),
        _named("no-id", external_id=None),
        _named("paid-empty-id", external_id="", status="CONFIRMED"),
        _named("empty-id", external_id=""),
        _named("paid-elsewhere", external_id="ORD-3"),
    ]
    theirs = [
        _named("their-paid", external_id="ORD-3", status="CONFIRMED"),
        _named("their-sibling", external_id="ORD-1"),
    ]
    await sandbox.admin.add_links(mine)
    await sandbox.admin.add_links(theirs, api_key=other["api_key"])
    before = await statuses(sandbox)

    report = await run_sweep(settings_for(sandbox, paid_siblings=True))

    selected = {_ids["sibling"], _ids["sibling-2"]}
    items = by_id(report)
    assert set(items) == selected
    for link_id in selected:
        assert items[link_id].outcome is Outcome.CANCELLED
        assert items[link_id].reasons == ("paid_sibling",)
        assert items[link_id].paid_link == _ids["paid"]
    after = await statuses(sandbox)
    assert {i for i, status in after.items() if status != before[i]} == selected
    assert {after[i] for i in selected} == {"CANCELLED"}
    their_state = {
        row["id"]: row["status"] for row in await sandbox.admin.links(api_key=other["api_key"])
    }
    assert their_state[_ids["their-sibling"]] == "PENDING"
    assert report.policies["paid_sibling"] == {"lookback": "30d"}
    assert report.stats is not None
    assert report.stats.paid_scan is not None
    assert report.stats.paid_scan["complete"] is True


@pytest.mark.parametrize(
    ("lookback", "selected"), [(None, False), ("60d", True)], ids=["default-30d", "60d"]
)
async def test_a_link_paid_before_the_lookback_selects_nothing(
    sandbox: SandboxServer, lookback: str | None, selected: bool
) -> None:
    paid = link(external_id="ORD-OLD", status="CONFIRMED", created_ago=timedelta(days=40))
    live = link(external_id="ORD-OLD")
    await _add(sandbox, paid, live)
    extra = {} if lookback is None else {"SWEEPER_POLICIES__PAID_LOOKBACK": lookback}

    report = await run_sweep(
        settings_for(sandbox, paid_siblings=True, dry_run=True, extra_env=extra)
    )

    assert (live["id"] in by_id(report)) is selected
    assert set(by_id(report)) <= {live["id"]}


# Old paid links past the lookback, many pages of them at 20 a page, and one recent order.
_PAGE = 20
_OLD_PAID = 200


async def _paid_history(server: SandboxServer) -> dict[str, Any]:
    old = [
        link(
            external_id=f"ORD-H{n:04d}",
            status="CONFIRMED",
            created_ago=timedelta(days=31, minutes=n),
        )
        for n in range(_OLD_PAID)
    ]
    recent = link(external_id="ORD-NEW", status="CONFIRMED", created_ago=timedelta(hours=5))
    sibling = link(external_id="ORD-NEW")
    old_sibling = link(external_id="ORD-H0007")  # its order was paid before the lookback
    await _add(server, *old, recent, sibling, old_sibling)
    await server.admin.set_knobs(page_size_cap=_PAGE)
    return sibling


@pytest.mark.parametrize(
    ("order", "ended"), [("newest_first", "horizon"), ("oldest_first", "fallback")]
)
async def test_the_paid_read_stops_at_the_lookback_only_when_the_list_is_newest_first(
    sandbox: SandboxServer, order: str, ended: str
) -> None:
    sibling = await _paid_history(sandbox)
    await sandbox.admin.set_knobs(list_order=order)
    all_pages = -(-(_OLD_PAID + 1) // _PAGE)

    with capture_logs() as logs:
        report = await run_sweep(settings_for(sandbox, paid_siblings=True, dry_run=True))

    assert set(by_id(report)) == {sibling["id"]}
    assert report.stats is not None
    assert report.stats.paid_scan is not None
    paid_scan = report.stats.paid_scan
    assert paid_scan["ended"] == ended
    if ended == "horizon":
        assert paid_scan["pages_read"] <= 2 < all_pages
        assert not [e for e in logs if e["event"] == "paid.fallback"]
    else:
        assert paid_scan["pages_read"] == all_pages
        [fallback] = [e for e in logs if e["event"] == "paid.fallback"]
        assert fallback["reason"] == "not_newest_first"


async def test_a_paid_read_whose_pages_do_not_cover_the_list_selects_nothing(
    sandbox: SandboxServer,
) -> None:
    """A new order on every request: offsets cannot cover the list, and the count says so."""
    await _paid_history(sandbox)
    await sandbox.admin.set_knobs(list_order="shuffled")

    with capture_logs() as logs:
        report = await run_sweep(settings_for(sandbox, paid_siblings=True, dry_run=True))

    assert report.items == ()
    assert report.aborted is None
    assert report.stats is not None
    assert report.stats.paid_scan is not None
    assert report.stats.paid_scan["complete"] is False
    assert "short" in str(report.stats.paid_scan["error"])
    assert [e["event"] for e in logs if e["event"].startswith("paid.")][-1] == "paid.incomplete"


@asynccontextmanager
async def _failing_confirmed_reads(target: str) -> AsyncIterator[str]:
    """A loopback proxy to ``target`` that answers 503 to every list of CONFIRMED links.

    The sandbox's fault knobs hit a route whatever its query; this fails one query only.
    """
    session = aiohttp.ClientSession()

    async def forward(request: web.Request) -> web.StreamResponse:
        if request.query.get("status") == "CONFIRMED":
            return web.json_response({"statusCode": 503, "message": "down"}, status=503)
        async with session.request(
            request.method,
            target + request.path_qs,
            headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
            data=await request.read(),
        ) as answer:
            return web.Response(
                body=await answer.read(),
                status=answer.status,
                content_type=answer.content_type,
            )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
        await session.close()


async def test_an_incomplete_paid_read_cancels_nothing_for_the_policy_while_others_proceed(
    sandbox: SandboxServer,
) -> None:
    paid = link(external_id="ORD-1", status="CONFIRMED")
    sibling = link(external_id="ORD-1")
    expiring = link(expires_in=SOON)
    await _add(sandbox, paid, sibling, expiring)

    async with _failing_confirmed_reads(sandbox.base_url) as proxy:
        with capture_logs() as logs:
            report = await run_sweep(
                settings_for(sandbox, base_url=proxy, paid_siblings=True, expiring_within="30m")
            )

    assert {item.id: item.outcome for item in report.items} == {expiring["id"]: Outcome.CANCELLED}
    state = await statuses(sandbox)
    assert state[sibling["id"]] == "PENDING"
    assert state[expiring["id"]] == "CANCELLED"
    assert report.aborted is None
    assert report.stats is not None
    assert report.stats.paid_scan is not None
    assert report.stats.paid_scan["complete"] is False
    assert "CONFIRMED" in str(report.stats.paid_scan["error"])
    incomplete = [e for e in logs if e["event"] == "paid.incomplete"]
    assert incomplete
    assert {e["policy"] for e in incomplete} == {"paid_sibling"}


async def test_orders_paid_twice_in_the_json_and_markdown_reports(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    first = link(external_id="ORD-T", status="CONFIRMED", created_ago=timedelta(hours=4))
    second = link(external_id="ORD-T", status="CONFIRMED", created_ago=timedelta(hours=2))
    once = link(external_id="ORD-ONCE", status="CONFIRMED")
    await _add(sandbox, first, second, once)
    json_path, md_path = tmp_path / "run.json", tmp_path / "run.md"

    report = await run_sweep(
        settings_for(
            sandbox, paid_siblings=True, dry_run=True, report=(str(json_path), str(md_path))
        )
    )

    assert report.items == ()
    document = json.loads(json_path.read_text(encoding="utf-8"))
    assert document["paid_twice"] == [
        {
            "externalId": "ORD-T",
            "links": [
                {
                    "id": one["id"],
                    "amount": "150.00",
                    "currency": "MXN",
                    "createdAt": one["createdAt"],
                }
                for one in (first, second)
            ],
        }
    ]
    markdown = md_path.read_text(encoding="utf-8")
    section = markdown.split("## Orders paid twice\n", 1)[1]
    rows = [
        [cell.strip() for cell in line.split("|")[1:-1]]
        for line in section.splitlines()
        if line.startswith("|")
    ][2:]
    assert [row[:5] for row in rows] == [
        ["ORD-T", "2", first["id"], "150.00", "MXN"],
        ["", "", second["id"], "150.00", "MXN"],
    ]


async def test_without_the_policy_the_report_has_no_paid_twice_section(
    sandbox: SandboxServer,
) -> None:
    await _add(sandbox, link(expires_in=SOON))
    report = await run_sweep(settings_for(sandbox, expiring_within="30m", dry_run=True))
    assert "paid_twice" not in report.to_json_dict()
    assert report.stats is not None
    assert report.stats.paid_scan is None


async def test_a_race_lost_to_a_customer_leaves_an_order_paid_twice(
    sandbox: SandboxServer,
) -> None:
    paid = link(external_id="ORD-R", status="CONFIRMED", created_ago=timedelta(hours=2))
    sibling = link(external_id="ORD-R")
    await _add(sandbox, paid, sibling)
    # The customer pays every link the sweep tries to cancel, just before the cancel lands.
    await sandbox.admin.set_knobs(race_rate=1.0)

    report = await run_sweep(settings_for(sandbox, paid_siblings=True))

    item = by_id(report)[sibling["id"]]
    assert item.outcome is Outcome.CONFLICT
    assert item.message is not None
    assert "ORD-R is now paid twice" in item.message
    assert paid["id"] in item.message
    assert (await statuses(sandbox))[sibling["id"]] == "CONFIRMED"
    assert report.paid_twice is not None
    [group] = report.paid_twice
    assert group.external_id == "ORD-R"
    assert [one.id for one in group.links] == [paid["id"], sibling["id"]]


async def test_the_policy_costs_the_pages_of_paid_links_it_reads(sandbox: SandboxServer) -> None:
    """The same dry run with and without ``--paid-siblings``: the difference is its read."""
    await sandbox.admin.seed(3000, seed_random=5)
    flags: dict[str, Any] = {"expiring_within": "30m", "duplicates": True, "dry_run": True}

    without = await run_sweep(settings_for(sandbox, **flags))
    with_policy = await run_sweep(settings_for(sandbox, paid_siblings=True, **flags))

    assert without.stats is not None
    assert with_policy.stats is not None
    paid_scan = with_policy.stats.paid_scan
    assert paid_scan is not None
    assert paid_scan["complete"] is True
    extra = sum(with_policy.stats.requests_by_class.values()) - sum(
        without.stats.requests_by_class.values()
    )
    assert extra == paid_scan["pages_read"] >= 1
    # Seeded paid orders with live siblings: the policy adds them to the plan.
    assert {i.id for i in without.items} < {i.id for i in with_policy.items}
    assert any(i.paid_link for i in with_policy.items)
