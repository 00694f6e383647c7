"""The `/_sandbox/` control plane: its guard, organizations, exact links, pay, reset, clock."""

from __future__ import annotations

import datetime as dt
import uuid

import aiohttp
import pytest

from sandbox.testing import SandboxAdminError, SandboxServer
from tests.sandbox.helpers import Api, iso, parse


@pytest.mark.parametrize("key", [None, "test-key", "wrong"])
async def test_control_plane_needs_the_admin_key(sandbox: SandboxServer, key: str | None) -> None:
    headers = {} if key is None else {"x-admin-key": key}
    async with (
        aiohttp.ClientSession() as session,
        session.get(sandbox.base_url + "/_sandbox/counters", headers=headers) as response,
    ):
        assert response.status == 401
        assert "test-admin" not in await response.text()


async def test_index_lists_the_routes(sandbox: SandboxServer) -> None:
    async with (
        aiohttp.ClientSession(headers={"x-admin-key": "test-admin"}) as session,
        session.get(sandbox.base_url + "/_sandbox/") as response,
    ):
        routes = (await response.json())["routes"]
    assert "POST /_sandbox/links/{id}/pay" in routes
    assert "PUT /_sandbox/knobs" in routes


async def test_server_attributes(sandbox: SandboxServer) -> None:
    assert sandbox.base_url.startswith("http://127.0.0.1:")
    assert not sandbox.base_url.endswith("/")
    assert (sandbox.api_key, sandbox.admin_key) == ("test-key", "test-admin")
    (org,) = await sandbox.admin.orgs()
    assert org["api_key"] == "test-key"


async def test_random_first_key_when_none_given() -> None:
    async with SandboxServer(api_key=None) as server:
        assert server.api_key
        assert server.api_key != "test-key"
        assert (await server.admin.orgs())[0]["api_key"] == server.api_key


async def test_create_org_with_or_without_a_key(sandbox: SandboxServer) -> None:
    fixed = await sandbox.admin.create_org("Fija", api_key="k-fija")
    random_key = await sandbox.admin.create_org("Azar")
    assert fixed["api_key"] == "k-fija"
    assert random_key["api_key"] not in ("k-fija", "test-key")
    assert uuid.UUID(fixed["id"])
    with pytest.raises(SandboxAdminError) as taken:
        await sandbox.admin.create_org("Otra", api_key="k-fija")
    assert taken.value.status == 400
    assert "k-fija" not in str(taken.value)


async def test_add_links_defaults(sandbox: SandboxServer) -> None:
    (link,) = await sandbox.admin.add_links([{}])
    assert uuid.UUID(link["id"]).version == 4
    assert (link["status"], link["currency"], link["externalId"]) == ("PENDING", "MXN", None)
    created, expires = parse(link["createdAt"]), parse(link["expiresAt"])
    assert abs(created - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    assert expires - created == dt.timedelta(hours=48)
    assert link["expired"] is False
    assert link["billingInformation"]["phoneNumber"].startswith("+52")


async def test_add_links_exactly_as_given(sandbox: SandboxServer) -> None:
    given = {
        "id": str(uuid.uuid4()),
        "status": "CONFIRMED",
        "externalId": "order-1",
        "amount": "10.50",
        "currency": "USD",
        "createdAt": "2030-01-01T00:00:00.250Z",
        "expiresAt": "2030-01-02T00:00:00Z",
        "description": "Exacto",
    }
    (link,) = await sandbox.admin.add_links([given])
    assert {name: link[name] for name in given} == given
    assert link == await sandbox.admin.link(given["id"])


@pytest.mark.parametrize(
    "bad",
    [
        {"created_at": "2030-01-01T00:00:00Z"},  # a typo is an error, not a silent default
        {"id": "nope"},
        {"status": "EXPIRED"},
        {"createdAt": "yesterday"},
        {"createdAt": "2030-01-01T00:00:00"},  # no time zone
        {"amount": "ten"},
        {"currency": 5},
    ],
)
async def test_add_links_rejects_bad_fields(sandbox: SandboxServer, bad: dict[str, object]) -> None:
    with pytest.raises(SandboxAdminError) as refused:
        await sandbox.admin.add_links([{}, bad])
    assert refused.value.status == 400
    assert await sandbox.admin.links() == []  # all or nothing


async def test_add_links_duplicate_id_is_refused(sandbox: SandboxServer) -> None:
    (link,) = await sandbox.admin.add_links([{}])
    with pytest.raises(SandboxAdminError):
        await sandbox.admin.add_links([{"id": link["id"]}])


async def test_add_links_to_another_org_and_list_by_status(sandbox: SandboxServer) -> None:
    other = await sandbox.admin.create_org("Otra", api_key="k2")
    await sandbox.admin.add_links([{"status": "CONFIRMED"}, {}], api_key="k2")
    await sandbox.admin.add_links([{}])
    theirs = await sandbox.admin.links(api_key="k2")
    assert [link["organizationId"] for link in theirs] == [other["id"]] * 2
    assert len(await sandbox.admin.links(api_key="k2", status="CONFIRMED")) == 1
    assert len(await sandbox.admin.links()) == 1


async def test_pay_wins_once_and_never_on_expired_links(sandbox: SandboxServer) -> None:
    now = dt.datetime.now(dt.UTC)
    fresh, expired = await sandbox.admin.add_links(
        [{}, {"createdAt": iso(now - dt.timedelta(days=3)), "expiresAt": iso(now)}]
    )
    assert await sandbox.admin.pay(fresh["id"]) is True
    assert await sandbox.admin.pay(fresh["id"]) is False
    assert await sandbox.admin.pay(expired["id"]) is False
    assert (await sandbox.admin.link(fresh["id"]))["status"] == "CONFIRMED"
    assert (await sandbox.admin.link(expired["id"]))["status"] == "PENDING"
    with pytest.raises(SandboxAdminError) as missing:
        await sandbox.admin.pay(str(uuid.uuid4()))
    assert missing.value.status == 404


async def test_counters_have_the_documented_shape(sandbox: SandboxServer, api: Api) -> None:
    (link,) = await sandbox.admin.add_links([{}])
    await api.list()
    await api.cancel(link["id"])
    counters = await sandbox.admin.counters()
    assert set(counters) >= {
        "requests", "total", "patches_per_link", "max_in_window", "rate_limited", "faults",
        "resets", "ambiguous", "races", "customer_payments",
    }  # fmt: skip
    assert set(counters["requests"]) == {
        "GET /api/one-time-payment",
        "GET /api/one-time-payment/{id}",
        "POST /api/one-time-payment",
        "PATCH /api/one-time-payment/{id}/cancel",
    }
    assert counters["total"] == 2
    assert counters["patches_per_link"] == {link["id"]: 1}
    await sandbox.admin.reset_counters()
    cleared = await sandbox.admin.counters()
    assert (cleared["total"], cleared["patches_per_link"], cleared["max_in_window"]) == (0, {}, {})


async def test_reset_empties_state_but_keeps_the_first_org(
    sandbox: SandboxServer, api: Api
) -> None:
    await sandbox.admin.seed(50, orgs=3)
    await sandbox.admin.set_knobs(fault_rate=0.5, rate_limit=100)
    await sandbox.admin.advance_clock(3600)
    await api.list()
    await sandbox.admin.reset()
    assert [org["api_key"] for org in await sandbox.admin.orgs()] == ["test-key"]
    knobs = await sandbox.admin.knobs()
    assert (knobs["fault_rate"], knobs["rate_limit"]) == (0.0, None)
    assert (await sandbox.admin.counters())["total"] == 0
    assert (await api.list()).body["count"] == 0
    (link,) = await sandbox.admin.add_links([{}])
    assert abs(parse(link["createdAt"]) - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)


async def test_advance_clock_can_go_back(sandbox: SandboxServer, api: Api) -> None:
    (link,) = await sandbox.admin.add_links([{}])
    await sandbox.admin.advance_clock(49 * 3600)
    assert (await api.get(link["id"])).body["expired"] is True
    await sandbox.admin.advance_clock(-49 * 3600)
    assert (await api.get(link["id"])).body["expired"] is False


async def test_admin_key_may_not_double_as_an_org_key(sandbox: SandboxServer) -> None:
    with pytest.raises(SandboxAdminError):
        await sandbox.admin.create_org("Trampa", api_key="test-admin")
    with pytest.raises(ValueError, match="admin key"):
        async with SandboxServer(api_key="same", admin_key="same"):
            pass
