"""`GET /api/one-time-payment/{id}` and `POST /api/one-time-payment`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from sandbox.testing import SandboxServer
from tests.sandbox.helpers import Api, create_body, parse


async def test_get_one_is_the_list_item_plus_expired(sandbox: SandboxServer, api: Api) -> None:
    (link,) = await sandbox.admin.add_links([{"externalId": "order-9", "amount": "250.50"}])
    reply = await api.get(link["id"])
    assert reply.status == 200
    (item,) = (await api.list()).body["items"]
    assert reply.body == {**item, "expired": False}
    assert reply.body["amount"] == "250.50"  # stored as a decimal string, emitted as one


async def test_expired_flips_when_the_business_clock_passes_expires_at(
    sandbox: SandboxServer, api: Api
) -> None:
    (link,) = await sandbox.admin.add_links([{}])
    await sandbox.admin.advance_clock(48 * 3600 + 1)
    reply = await api.get(link["id"])
    assert reply.body["expired"] is True
    assert reply.body["status"] == "PENDING"  # no EXPIRED status: it stays PENDING


async def test_get_uppercase_uuid_finds_the_link(sandbox: SandboxServer, api: Api) -> None:
    (link,) = await sandbox.admin.add_links([{}])
    reply = await api.get(link["id"].upper())
    assert reply.status == 200
    assert reply.body["id"] == link["id"]


async def test_get_other_orgs_link_is_404_and_bad_id_400(sandbox: SandboxServer, api: Api) -> None:
    other = await sandbox.admin.create_org("Otra")
    (theirs,) = await sandbox.admin.add_links([{}], api_key=other["api_key"])
    assert (await api.get(theirs["id"])).status == 404
    assert (await api.get("3f1c2b8e-0000-4000-8000-000000000000")).status == 404
    bad = await api.get("not-a-uuid")
    assert bad.status == 400
    assert bad.body["error"] == "Bad Request"


async def test_create_returns_201_with_a_checkout_url_and_stores_the_link(
    sandbox: SandboxServer, api: Api
) -> None:
    reply = await api.create(create_body(amount="1234.50", ttlMinutes=60))
    assert reply.status == 201
    assert set(reply.body) == {"redirectUrl"}
    checkout_url = reply.body["redirectUrl"]
    assert checkout_url.startswith(sandbox.base_url + "/checkout/")
    link_id = checkout_url.rsplit("/", 1)[1]
    stored = (await api.get(link_id)).body
    assert stored["status"] == "PENDING"
    assert stored["amount"] == 1234.5  # a decimal string in, a JSON number out
    assert stored["redirectUrl"] == "https://tienda.example.mx/gracias"  # the merchant's URL
    assert stored["externalId"] == "order-1234"
    created, expires = parse(stored["createdAt"]), parse(stored["expiresAt"])
    assert expires - created == dt.timedelta(minutes=60)
    assert created.microsecond == 0  # whole seconds, as the docs' examples


async def test_create_defaults_to_48_hours(api: Api) -> None:
    reply = await api.create(create_body())
    link_id = reply.body["redirectUrl"].rsplit("/", 1)[1]
    stored = (await api.get(link_id)).body
    assert parse(stored["expiresAt"]) - parse(stored["createdAt"]) == dt.timedelta(hours=48)


@pytest.mark.parametrize(
    "changes",
    [
        {"amount": 0},
        {"amount": -5},
        {"amount": "abc"},
        {"amount": "NaN"},
        {"amount": True},
        {"amount": "10.005"},
        {"amount": None},
        {"currency": "EUR"},
        {"currency": None},
        {"description": None},
        {"description": "  "},
        {"homepageUrl": "not a url"},
        {"redirectUrl": None},
        {"billingInformation": None},
        {"billingInformation": {"email": 5}},
        {"ttlMinutes": 9},
        {"ttlMinutes": 2881},
        {"ttlMinutes": 60.5},
        {"externalId": 12},
    ],
)
async def test_create_rejects_invalid_bodies(api: Api, changes: dict[str, object]) -> None:
    reply = await api.create(create_body(**changes))
    assert reply.status == 400
    assert reply.body["statusCode"] == 400
    assert isinstance(reply.body["message"], list)
    assert (await api.list()).body["count"] == 0


@pytest.mark.parametrize("ttl", [10, 2880])
async def test_create_accepts_the_ttl_bounds(api: Api, ttl: int) -> None:
    assert (await api.create(create_body(ttlMinutes=ttl))).status == 201


@pytest.mark.parametrize(("amount", "shown"), [(100, 100), ("100.00", 100), (99.99, 99.99)])
async def test_create_amount_number_or_decimal_string(
    api: Api, amount: object, shown: object
) -> None:
    reply = await api.create(create_body(amount=amount, externalId=None))
    link_id = reply.body["redirectUrl"].rsplit("/", 1)[1]
    stored = (await api.get(link_id)).body
    assert stored["amount"] == shown
    assert stored["externalId"] is None  # optional in practice; null when not sent


async def test_create_rejects_non_json(api: Api) -> None:
    async with api.session.post(
        api.base_url + "/api/one-time-payment",
        data=b"{not json",
        headers={"x-api-key": api.api_key, "content-type": "application/json"},
    ) as response:
        assert response.status == 400


async def test_duplicate_external_ids_are_allowed(api: Api) -> None:
    first = await api.create(create_body())
    second = await api.create(create_body())
    assert first.status == second.status == 201
    items = (await api.list()).body["items"]
    assert [item["externalId"] for item in items] == ["order-1234", "order-1234"]


async def test_amounts_from_seeded_data_come_as_numbers_and_strings(
    sandbox: SandboxServer, api: Api
) -> None:
    await sandbox.admin.seed(300, orgs=1)
    items = (await api.list(pageSize=300)).body["items"]
    kinds = {type(item["amount"]) for item in items}
    assert str in kinds
    assert kinds & {int, float}
    assert all(Decimal(str(item["amount"])) > 0 for item in items)


async def test_checkout_page_pays_and_redirects_to_the_merchant(
    sandbox: SandboxServer, api: Api
) -> None:
    reply = await api.create(create_body(externalId="order-77"))
    checkout_url = reply.body["redirectUrl"]
    async with api.session.get(checkout_url) as page:
        assert page.status == 200
        assert "Pagar" in await page.text()
    async with api.session.post(checkout_url + "/pay", allow_redirects=False) as paid:
        assert paid.status == 303
        location = paid.headers["Location"]
    link_id = checkout_url.rsplit("/", 1)[1]
    assert location == f"https://tienda.example.mx/gracias?id={link_id}&externalId=order-77"
    assert (await api.get(link_id)).body["status"] == "CONFIRMED"
    assert (await sandbox.admin.counters())["customer_payments"] == 1


async def test_created_at_follows_the_business_clock(sandbox: SandboxServer, api: Api) -> None:
    await sandbox.admin.advance_clock(86400)
    reply = await api.create(create_body())
    link_id = reply.body["redirectUrl"].rsplit("/", 1)[1]
    created = parse((await api.get(link_id)).body["createdAt"])
    ahead = created - dt.datetime.now(dt.UTC)
    assert dt.timedelta(hours=23) < ahead < dt.timedelta(hours=25)
