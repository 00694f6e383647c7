"""`PATCH /api/one-time-payment/{id}/cancel`: the documented rules, and exactly one winner."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import random

import pytest

from sandbox.testing import SandboxServer
from tests.sandbox.helpers import Api, iso, parse

CANCEL_FIELDS = {
    "id", "status", "description", "amount", "currency", "externalId", "expiresAt",
    "createdAt", "updatedAt",
}  # fmt: skip


async def test_cancel_pending_returns_the_reduced_cancelled_object(
    sandbox: SandboxServer, api: Api
) -> None:
    (link,) = await sandbox.admin.add_links([{"externalId": "order-5", "amount": 100}])
    reply = await api.cancel(link["id"])
    assert reply.status == 200
    assert set(reply.body) == CANCEL_FIELDS
    assert reply.body["status"] == "CANCELLED"
    assert reply.body["id"] == link["id"]
    assert reply.body["amount"] == 100
    updated = parse(reply.body["updatedAt"])
    assert abs(updated - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    assert (await sandbox.admin.link(link["id"]))["status"] == "CANCELLED"


@pytest.mark.parametrize(
    ("status", "says"),
    [("CANCELLED", "already cancelled"), ("CONFIRMED", "confirmed")],
)
async def test_final_states_are_400_saying_which(
    sandbox: SandboxServer, api: Api, status: str, says: str
) -> None:
    (link,) = await sandbox.admin.add_links([{"status": status}])
    reply = await api.cancel(link["id"])
    assert reply.status == 400
    assert says in reply.body["message"]
    assert (await sandbox.admin.link(link["id"]))["status"] == status


async def test_second_cancel_is_400_not_a_no_op(api: Api, sandbox: SandboxServer) -> None:
    (link,) = await sandbox.admin.add_links([{}])
    assert (await api.cancel(link["id"])).status == 200
    again = await api.cancel(link["id"])
    assert again.status == 400
    assert "already cancelled" in again.body["message"]


async def test_expired_pending_link_is_400_expired(sandbox: SandboxServer, api: Api) -> None:
    now = dt.datetime.now(dt.UTC)
    (link,) = await sandbox.admin.add_links(
        [{"createdAt": iso(now - dt.timedelta(hours=3)), "expiresAt": iso(now)}]
    )
    reply = await api.cancel(link["id"])
    assert reply.status == 400
    assert "expired" in reply.body["message"]
    assert (await sandbox.admin.link(link["id"]))["status"] == "PENDING"


async def test_expiry_follows_the_business_clock(sandbox: SandboxServer, api: Api) -> None:
    first, second = await sandbox.admin.add_links([{}, {}])
    assert (await api.cancel(first["id"])).status == 200
    await sandbox.admin.advance_clock(48 * 3600)  # exactly at expiresAt: no longer cancellable
    reply = await api.cancel(second["id"])
    assert reply.status == 400
    assert "expired" in reply.body["message"]


async def test_unknown_or_other_orgs_link_is_404(sandbox: SandboxServer, api: Api) -> None:
    other = await sandbox.admin.create_org("Otra")
    (theirs,) = await sandbox.admin.add_links([{}], api_key=other["api_key"])
    assert (await api.cancel(theirs["id"])).status == 404
    assert (await api.cancel("3f1c2b8e-0000-4000-8000-000000000000")).status == 404
    assert (await sandbox.admin.link(theirs["id"]))["status"] == "PENDING"


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "1234", "3f1c2b8e00004000800000000000000g"])
async def test_non_uuid_id_is_400(api: Api, bad_id: str) -> None:
    reply = await api.cancel(bad_id)
    assert reply.status == 400


async def test_cancel_without_key_is_401_and_changes_nothing(
    sandbox: SandboxServer, api: Api
) -> None:
    (link,) = await sandbox.admin.add_links([{}])
    assert (await api.cancel(link["id"], key=None)).status == 401
    assert (await sandbox.admin.link(link["id"]))["status"] == "PENDING"


async def test_storm_of_cancels_and_payments_has_exactly_one_winner_per_link(
    sandbox: SandboxServer, api: Api
) -> None:
    links = [link["id"] for link in await sandbox.admin.add_links([{}] * 40)]
    attempts = [("cancel", link) for link in links] * 3 + [("pay", link) for link in links] * 3
    random.Random(7).shuffle(attempts)  # noqa: S311 - a reproducible order, not a secret

    async def attempt(kind: str, link_id: str) -> tuple[str, str, bool]:
        if kind == "pay":
            return kind, link_id, await sandbox.admin.pay(link_id)
        return kind, link_id, (await api.cancel(link_id)).status == 200

    results = await asyncio.gather(*(attempt(kind, link) for kind, link in attempts))
    wins = {link: [kind for kind, lid, won in results if lid == link and won] for link in links}
    assert all(len(winners) == 1 for winners in wins.values()), wins
    for link in links:
        final = (await sandbox.admin.link(link))["status"]
        assert final == ("CANCELLED" if wins[link] == ["cancel"] else "CONFIRMED")

    counters = await sandbox.admin.counters()
    cancels_won = sum(winners == ["cancel"] for winners in wins.values())
    route = counters["requests"]["PATCH /api/one-time-payment/{id}/cancel"]
    assert route.get("200", 0) == cancels_won
    assert route.get("400", 0) == 3 * len(links) - cancels_won
    assert counters["customer_payments"] == len(links) - cancels_won
    assert counters["patches_per_link"] == dict.fromkeys(links, 3)


async def test_patches_per_link_counts_every_cancel_request(
    sandbox: SandboxServer, api: Api
) -> None:
    first, second = await sandbox.admin.add_links([{}, {}])
    for link_id in itertools.chain([first["id"]] * 2, [second["id"]]):
        await api.cancel(link_id)
    counters = await sandbox.admin.counters()
    assert counters["patches_per_link"] == {first["id"]: 2, second["id"]: 1}
