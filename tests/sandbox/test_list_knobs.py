"""The list knobs: a capped page size (echoed, or not), the list's order, unstable ties."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from sandbox.testing import SandboxAdminError, SandboxServer
from tests.sandbox.helpers import Api, iso

T0 = dt.datetime(2030, 1, 9, 10, 30, tzinfo=dt.UTC)


async def _add(sandbox: SandboxServer, n: int) -> list[str]:
    """`n` links a minute apart, newest first, as the default list order shows them."""
    links = [{"createdAt": iso(T0 - dt.timedelta(minutes=i))} for i in range(n)]
    return [link["id"] for link in await sandbox.admin.add_links(links)]


async def _ids(api: Api, **params: object) -> list[str]:
    reply = await api.list(**params)
    assert reply.status == 200
    return [item["id"] for item in reply.body["items"]]


async def test_page_size_cap_serves_fewer_and_echoes_it(sandbox: SandboxServer, api: Api) -> None:
    newest_first = await _add(sandbox, 7)
    await sandbox.admin.set_knobs(page_size_cap=3)

    reply = await api.list(page=2, pageSize=5)

    assert (reply.body["count"], reply.body["page"], reply.body["pageSize"]) == (7, 2, 3)
    assert [item["id"] for item in reply.body["items"]] == newest_first[3:6]
    assert await _ids(api, page=3, pageSize=5) == newest_first[6:]
    assert len(await _ids(api, pageSize=2)) == 2  # below the cap, the ask is served


async def test_a_lying_echo_says_the_asked_size_and_skips_by_it(
    sandbox: SandboxServer, api: Api
) -> None:
    newest_first = await _add(sandbox, 12)
    await sandbox.admin.set_knobs(page_size_cap=3, page_size_echo="requested")

    first = await api.list(page=1, pageSize=5)
    second = await api.list(page=2, pageSize=5)

    assert (first.body["pageSize"], second.body["pageSize"]) == (5, 5)
    assert [item["id"] for item in first.body["items"]] == newest_first[0:3]
    # Page 2 starts where a page of 5 would: links 3 and 4 are on no page of 5.
    assert [item["id"] for item in second.body["items"]] == newest_first[5:8]
    # Asked for no more than the cap, the pages tile the list again.
    assert await _ids(api, page=2, pageSize=3) == newest_first[3:6]


@pytest.mark.parametrize("order", ["newest_first", "oldest_first", "by_id"])
async def test_list_order(sandbox: SandboxServer, api: Api, order: str) -> None:
    newest_first = await _add(sandbox, 9)
    expected = {
        "newest_first": newest_first,
        "oldest_first": newest_first[::-1],
        "by_id": sorted(newest_first),
    }[order]
    await sandbox.admin.set_knobs(list_order=order)

    pages = [await _ids(api, page=page, pageSize=4) for page in (1, 2, 3)]

    assert [link_id for page in pages for link_id in page] == expected
    assert await _ids(api, pageSize=9) == expected  # stable: the same order every time


async def test_by_id_order_follows_new_links(sandbox: SandboxServer, api: Api) -> None:
    ids = await _add(sandbox, 3)
    await sandbox.admin.set_knobs(list_order="by_id")
    assert await _ids(api) == sorted(ids)
    (late,) = await sandbox.admin.add_links([{"createdAt": iso(T0)}])
    assert await _ids(api) == sorted([*ids, late["id"]])


async def test_shuffled_order_is_new_on_every_request(sandbox: SandboxServer, api: Api) -> None:
    ids = await _add(sandbox, 30)
    await sandbox.admin.set_knobs(list_order="shuffled")

    orders = [await _ids(api, pageSize=30) for _ in range(5)]

    assert all(sorted(order) == sorted(ids) for order in orders)
    assert len({tuple(order) for order in orders}) > 1
    # Pages of separate requests are cut from separate permutations: they overlap.
    pages = [await _ids(api, page=page, pageSize=10) for page in (1, 2, 3)]
    assert len({link_id for page in pages for link_id in page}) < 30


@pytest.mark.parametrize("order", ["newest_first", "oldest_first"])
async def test_unstable_ties_reorder_only_links_sharing_a_created_at(
    sandbox: SandboxServer, api: Api, order: str
) -> None:
    # Six links a minute before T0, twenty sharing T0, six a minute after: the tied ones
    # straddle the boundaries of pages of 10.
    before = [{"createdAt": iso(T0 - dt.timedelta(minutes=1 + i))} for i in range(6)]
    tied = [{"createdAt": iso(T0)} for _ in range(20)]
    after = [{"createdAt": iso(T0 + dt.timedelta(minutes=1 + i))} for i in range(6)]
    await sandbox.admin.add_links([*before, *tied, *after])
    await sandbox.admin.set_knobs(list_order=order)
    stable = await _ids(api, pageSize=32)
    await sandbox.admin.set_knobs(unstable_ties=True)

    orders = [await _ids(api, pageSize=32) for _ in range(5)]

    for seen in orders:
        assert seen[:6] == stable[:6]  # the untied links keep their places
        assert seen[26:] == stable[26:]
        assert sorted(seen[6:26]) == sorted(stable[6:26])
    assert len({tuple(seen[6:26]) for seen in orders}) > 1
    # Pages read one request at a time skip some tied links and repeat others.
    walks = [
        [link_id for page in (1, 2, 3, 4) for link_id in await _ids(api, page=page, pageSize=10)]
        for _ in range(5)
    ]
    assert all(len(walk) == 32 for walk in walks)
    assert any(len(set(walk)) < 32 for walk in walks)


async def test_ties_are_stable_by_default(sandbox: SandboxServer, api: Api) -> None:
    tied = sorted(str(uuid.uuid4()) for _ in range(12))
    await sandbox.admin.add_links([{"id": link_id, "createdAt": iso(T0)} for link_id in tied])
    walks = [
        [link_id for page in (1, 2, 3) for link_id in await _ids(api, page=page, pageSize=5)]
        for _ in range(3)
    ]
    assert walks == [tied[::-1]] * 3


async def test_a_lagging_count_stays_until_it_is_refreshed(
    sandbox: SandboxServer, api: Api
) -> None:
    await _add(sandbox, 3)
    await sandbox.admin.set_knobs(count_lag_s=600)
    assert (await api.list()).body["count"] == 3
    await sandbox.admin.add_links([{"createdAt": iso(T0)}, {"createdAt": iso(T0)}])

    stale = await api.list()

    assert (stale.body["count"], len(stale.body["items"])) == (3, 5)
    assert (await api.list(status="PENDING")).body["count"] == 5  # each filter has its own
    await sandbox.admin.set_knobs(count_lag_s=0)  # setting knobs drops every cached count
    assert (await api.list()).body["count"] == 5


@pytest.mark.parametrize(
    "knobs",
    [
        {"count_lag_s": -1},
        {"page_size_cap": 0},
        {"page_size_cap": 2.5},
        {"page_size_cap": True},
        {"page_size_echo": "asked"},
        {"list_order": "random"},
        {"list_order": None},
        {"unstable_ties": "yes"},
    ],
)
async def test_bad_list_knobs_are_refused(sandbox: SandboxServer, knobs: dict[str, object]) -> None:
    before = await sandbox.admin.knobs()
    with pytest.raises(SandboxAdminError) as refused:
        await sandbox.admin.set_knobs(**knobs)
    assert refused.value.status == 400
    assert str(next(iter(knobs))) in str(refused.value.message)
    assert await sandbox.admin.knobs() == before


async def test_list_knobs_read_back_and_reset() -> None:
    knobs = {"page_size_cap": 100, "list_order": "oldest_first", "unstable_ties": True}
    async with SandboxServer(knobs=knobs) as server:
        assert (await server.admin.knobs()).items() >= {
            **knobs,
            "page_size_echo": "effective",
        }.items()
        await server.admin.reset()
        assert (await server.admin.knobs()).items() >= {
            "page_size_cap": None,
            "page_size_echo": "effective",
            "list_order": "newest_first",
            "unstable_ties": False,
        }.items()
