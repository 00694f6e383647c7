"""The seeder: a realistic mix, split across organizations, the same for one seed_random."""

from __future__ import annotations

import collections
import datetime as dt
import itertools
from typing import Any

import pytest

from sandbox.testing import SandboxAdminError, SandboxServer
from tests.sandbox.helpers import parse

_STABLE = ("id", "status", "externalId", "amount", "currency", "description", "billingInformation")


def _stable(links: list[dict[str, Any]]) -> list[tuple[object, ...]]:
    return [tuple(str(link[name]) for name in _STABLE) for link in links]


async def test_same_seed_random_same_data() -> None:
    seen = []
    for _ in range(2):
        async with SandboxServer(seed=200, seed_random=42) as server:
            seen.append(_stable(await server.admin.links()))
    assert seen[0] == seen[1]
    async with SandboxServer(seed=200, seed_random=43) as server:
        assert _stable(await server.admin.links()) != seen[0]


async def test_seed_splits_evenly_and_makes_missing_orgs(sandbox: SandboxServer) -> None:
    summary = await sandbox.admin.seed(10, orgs=3)
    assert summary["created"] == 10
    assert [org["links"] for org in summary["orgs"]] == [4, 3, 3]
    orgs = await sandbox.admin.orgs()
    assert len(orgs) == 3
    assert orgs[0]["api_key"] == "test-key"
    for org in summary["orgs"]:
        assert len(await sandbox.admin.links(api_key=org["api_key"])) == org["links"]


async def test_reusing_a_seed_random_in_one_store_is_refused(sandbox: SandboxServer) -> None:
    await sandbox.admin.seed(20, seed_random=9, orgs=1)
    with pytest.raises(SandboxAdminError):
        await sandbox.admin.seed(20, seed_random=9, orgs=1)
    await sandbox.admin.seed(20, seed_random=10, orgs=1)
    assert len(await sandbox.admin.links()) == 40


async def test_server_seed_goes_to_three_orgs() -> None:
    async with SandboxServer(seed=30) as server:
        orgs = await server.admin.orgs()
        assert len(orgs) == 3
        assert orgs[0]["api_key"] == server.api_key
        assert len(await server.admin.links()) == 10


async def test_the_mix_is_realistic(sandbox: SandboxServer) -> None:
    await sandbox.admin.seed(3000, seed_random=7, orgs=1)
    links = await sandbox.admin.links()
    now = dt.datetime.now(dt.UTC)
    statuses = collections.Counter(link["status"] for link in links)
    assert set(statuses) == {"PENDING", "CONFIRMED", "CANCELLED"}
    pending = [link for link in links if link["status"] == "PENDING"]
    left = [parse(link["expiresAt"]) - now for link in pending]
    hour, day = dt.timedelta(hours=1), dt.timedelta(days=1)
    assert any(t < dt.timedelta(0) for t in left)  # expired, still PENDING
    assert any(dt.timedelta(0) < t <= hour for t in left)  # within minutes
    assert any(hour < t <= day for t in left)  # within hours
    assert any(t > day for t in left)  # within days
    assert all(
        link["expired"] == (t <= dt.timedelta(0)) for link, t in zip(pending, left, strict=True)
    )

    for link in links:
        created, expires = parse(link["createdAt"]), parse(link["expiresAt"])
        assert created <= now + dt.timedelta(seconds=5)
        assert dt.timedelta(minutes=10) <= expires - created <= dt.timedelta(hours=48)
        assert parse(link["updatedAt"]) >= created
        assert link["billingInformation"]["phoneNumber"].startswith("+52")
        assert len(link["billingInformation"]["phoneNumber"]) == 13

    assert any(link["externalId"] is None for link in links)
    by_order = collections.defaultdict(list)
    for link in links:
        if link["externalId"] is not None:
            by_order[link["externalId"]].append(link["createdAt"])
    sizes = collections.Counter(len(times) for times in by_order.values())
    assert set(sizes) == {1, 2, 3, 4}
    groups = [times for times in by_order.values() if len(times) > 1]
    assert any(len(set(times)) == len(times) for times in groups)  # different createdAt
    assert any(len(set(times)) < len(times) for times in groups)  # exact ties

    amounts = [link["amount"] for link in links]
    assert any(isinstance(a, str) for a in amounts)
    assert any(isinstance(a, int) for a in amounts)
    assert any(isinstance(a, float) for a in amounts)
    assert {link["currency"] for link in links} == {"MXN", "USD"}
    assert len({link["id"] for link in links}) == len(links)


async def test_seeded_orgs_do_not_share_links(sandbox: SandboxServer) -> None:
    summary = await sandbox.admin.seed(90, orgs=3)
    ids = [
        {link["id"] for link in await sandbox.admin.links(api_key=org["api_key"])}
        for org in summary["orgs"]
    ]
    for first, second in itertools.combinations(ids, 2):
        assert not first & second


async def test_the_mix_has_paid_orders_in_every_shape(sandbox: SandboxServer) -> None:
    """Orders ORD-P…: paid with live siblings, twice, with expired siblings, elsewhere."""
    summary = await sandbox.admin.seed(2000, seed_random=11, orgs=2)
    first, second = [await sandbox.admin.links(api_key=org["api_key"]) for org in summary["orgs"]]
    now = dt.datetime.now(dt.UTC)

    def orders(links: list[dict[str, Any]]) -> dict[str, collections.Counter[str]]:
        """Paid order -> how many CONFIRMED, live PENDING and expired PENDING links."""
        kinds: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        for link in links:
            if link["externalId"] and link["externalId"].startswith("ORD-P"):
                kind = link["status"]
                if kind == "PENDING":
                    kind = "expired" if parse(link["expiresAt"]) <= now else "live"
                kinds[link["externalId"]][kind] += 1
        return kinds

    ours, theirs = orders(first), orders(second)
    for kinds in (ours, theirs):
        assert any(k["CONFIRMED"] and k["live"] for k in kinds.values())
        assert any(k["CONFIRMED"] >= 2 for k in kinds.values())
        assert any(k["CONFIRMED"] and k["expired"] and not k["live"] for k in kinds.values())
    # Live in the second organization, paid only in the first: no sibling of a paid link.
    assert any(
        kinds["live"] and not kinds["CONFIRMED"] and ours[external_id]["CONFIRMED"]
        for external_id, kinds in theirs.items()
    )


async def test_history_is_a_year_of_expired_pending_links(sandbox: SandboxServer) -> None:
    created = await sandbox.admin.seed_history(2_000, days=365, seed_random=5)
    assert created["created"] == 2_000

    links = await sandbox.admin.links()
    now = dt.datetime.now(dt.UTC)
    assert len(links) == 2_000
    assert {link["status"] for link in links} == {"PENDING"}
    assert all(link["expired"] for link in links)
    created_at = [parse(link["createdAt"]) for link in links]
    assert now - dt.timedelta(days=365) <= min(created_at)
    assert max(created_at) <= now - dt.timedelta(hours=50)
    # Spread over the year, not bunched: every month holds some.
    assert len({(now - moment).days // 31 for moment in created_at}) == 12
    lifetimes = {parse(link["expiresAt"]) - parse(link["createdAt"]) for link in links}
    assert max(lifetimes) == dt.timedelta(hours=48)
    assert min(lifetimes) >= dt.timedelta(minutes=10)


async def test_history_is_reproducible_and_checked() -> None:
    ids = []
    for _ in range(2):
        async with SandboxServer() as server:
            await server.admin.seed_history(50, seed_random=3)
            ids.append(sorted(link["id"] for link in await server.admin.links()))
    assert ids[0] == ids[1]
    async with SandboxServer() as server:
        with pytest.raises(SandboxAdminError) as refused:
            await server.admin.seed_history(10, days=1)
        assert refused.value.status == 400
        assert await server.admin.links() == []
