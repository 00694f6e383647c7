"""`GET /api/one-time-payment`: envelope, order, filters, pagination edges, isolation."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from sandbox.testing import SandboxServer
from tests.sandbox.helpers import Api, iso

T0 = dt.datetime(2030, 1, 9, 10, 30, tzinfo=dt.UTC)


async def _add(sandbox: SandboxServer, n: int, **fields: object) -> list[str]:
    links = [{"createdAt": iso(T0 - dt.timedelta(minutes=i)), **fields} for i in range(n)]
    return [link["id"] for link in await sandbox.admin.add_links(links)]


async def test_empty_org_lists_nothing(api: Api) -> None:
    reply = await api.list()
    assert reply.status == 200
    assert reply.body == {"count": 0, "page": 1, "pageSize": 100, "items": []}


async def test_envelope_echoes_paging_and_counts_all_matches(
    sandbox: SandboxServer, api: Api
) -> None:
    await _add(sandbox, 7)
    reply = await api.list(page=2, pageSize=3)
    assert reply.status == 200
    assert (reply.body["count"], reply.body["page"], reply.body["pageSize"]) == (7, 2, 3)
    assert len(reply.body["items"]) == 3


async def test_items_have_the_documented_fields(sandbox: SandboxServer, api: Api) -> None:
    (link_id,) = await _add(sandbox, 1, externalId="order-1", amount=100)
    (item,) = (await api.list()).body["items"]
    assert set(item) == {
        "id", "status", "description", "amount", "currency", "externalId", "expiresAt",
        "redirectUrl", "homepageUrl", "createdAt", "updatedAt", "billingInformation",
    }  # fmt: skip
    assert item["id"] == link_id
    assert item["amount"] == 100
    assert item["createdAt"] == "2030-01-09T10:30:00Z"
    assert item["expiresAt"] == "2030-01-11T10:30:00Z"  # createdAt + 48 h by default
    assert set(item["billingInformation"]["address"]) == {"addressLine", "city", "state", "zip"}


async def test_sorted_by_created_at_desc_then_id_desc(sandbox: SandboxServer, api: Api) -> None:
    tied = sorted(str(uuid.uuid4()) for _ in range(3))
    same_time = iso(T0)
    await sandbox.admin.add_links(
        [
            {"id": tied[1], "createdAt": same_time},
            {"createdAt": iso(T0 - dt.timedelta(hours=1))},
            {"id": tied[0], "createdAt": same_time},
            {"id": tied[2], "createdAt": same_time},
            {"createdAt": iso(T0 + dt.timedelta(hours=1))},
        ]
    )
    items = (await api.list()).body["items"]
    keys = [(item["createdAt"], item["id"]) for item in items]
    assert keys == sorted(keys, reverse=True)
    assert [item["id"] for item in items[1:4]] == tied[::-1]


@pytest.mark.parametrize(
    ("page", "page_size", "expected"),
    [
        (1, 1, 1),  # pageSize 1
        (1, 500, 501),  # pageSize 500: the most a page holds
        (2, 500, 1),  # last page: the remainder
        (3, 500, 0),  # past the end: 200 and empty
        (10**6, 100, 0),  # far past the end
    ],
)
async def test_page_sizes_and_edges(
    sandbox: SandboxServer, api: Api, page: int, page_size: int, expected: int
) -> None:
    await sandbox.admin.seed(501, orgs=1)
    reply = await api.list(page=page, pageSize=page_size)
    assert reply.status == 200
    assert reply.body["count"] == 501
    assert len(reply.body["items"]) == min(expected, page_size)


async def test_walking_every_page_yields_every_link_once(sandbox: SandboxServer, api: Api) -> None:
    await sandbox.admin.seed(230, orgs=1)
    seen: list[str] = []
    page = 1
    while True:
        body = (await api.list(page=page, pageSize=50)).body
        seen += [item["id"] for item in body["items"]]
        if page * 50 >= body["count"]:
            break
        page += 1
    assert len(seen) == len(set(seen)) == 230


@pytest.mark.parametrize(
    "params",
    [
        {"pageSize": 0},
        {"pageSize": 501},
        {"pageSize": -1},
        {"page": 0},
        {"page": -3},
        {"page": "abc"},
        {"page": "1.5"},
        {"pageSize": ""},
        {"status": "EXPIRED"},
        {"status": "pending"},
        {"currency": "EUR"},
        {"externalId": "order-1"},  # no such filter: refused, not silently ignored
    ],
)
async def test_bad_parameters_are_400_with_nest_style_body(
    api: Api, params: dict[str, object]
) -> None:
    reply = await api.list(**params)
    assert reply.status == 400
    assert reply.body["statusCode"] == 400
    assert reply.body["error"] == "Bad Request"
    assert isinstance(reply.body["message"], list)
    assert reply.body["message"]


async def test_repeated_parameter_is_400(api: Api) -> None:
    reply = await api.request(
        "GET", "/api/one-time-payment?status=PENDING&status=CONFIRMED", params=None
    )
    assert reply.status == 400


async def test_status_and_currency_filters_combine(sandbox: SandboxServer, api: Api) -> None:
    combos = [
        ("PENDING", "MXN"), ("PENDING", "USD"), ("CONFIRMED", "MXN"),
        ("CANCELLED", "USD"), ("PENDING", "MXN"),
    ]  # fmt: skip
    await sandbox.admin.add_links([{"status": s, "currency": c} for s, c in combos])
    for status, currency in {*combos, ("CONFIRMED", "USD")}:
        body = (await api.list(status=status, currency=currency)).body
        assert body["count"] == combos.count((status, currency))
        assert {(i["status"], i["currency"]) for i in body["items"]} <= {(status, currency)}
    assert (await api.list(status="PENDING")).body["count"] == 3
    assert (await api.list(currency="USD")).body["count"] == 2


async def test_only_the_callers_organization(sandbox: SandboxServer, api: Api) -> None:
    other = await sandbox.admin.create_org("Otra Tienda")
    mine = await _add(sandbox, 2)
    await sandbox.admin.add_links([{}, {}, {}], api_key=other["api_key"])
    assert {i["id"] for i in (await api.list()).body["items"]} == set(mine)
    theirs = await api.list(key=other["api_key"])
    assert theirs.body["count"] == 3
    assert not {i["id"] for i in theirs.body["items"]} & set(mine)


@pytest.mark.parametrize("key", [None, "", "not-a-key", "test-admin"])
async def test_missing_or_unknown_key_is_401(api: Api, key: str | None) -> None:
    reply = await api.list(key=key)
    assert reply.status == 401
    assert reply.body["statusCode"] == 401
    assert "test-key" not in str(reply.body)


async def test_unknown_api_path_is_a_json_404(api: Api) -> None:
    reply = await api.request("GET", "/api/one-time-payments")
    assert reply.status == 404
    assert reply.body["statusCode"] == 404
