"""The knobs the probe needs: a skewed Date, expired links left out, a smaller maximum pageSize."""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Mapping

import pytest

from sandbox.testing import SandboxAdminError, SandboxServer
from tests.sandbox.helpers import Api, iso


def _date(headers: Mapping[str, str]) -> dt.datetime:
    value = headers.get("Date")
    assert value is not None
    return email.utils.parsedate_to_datetime(value)


@pytest.mark.parametrize("skew", [3600.0, -7200.0])
async def test_date_skew_shifts_the_date_header(
    sandbox: SandboxServer, api: Api, skew: float
) -> None:
    await sandbox.admin.set_knobs(date_skew_s=skew)
    before = dt.datetime.now(dt.UTC)
    reply = await api.list()
    after = dt.datetime.now(dt.UTC)

    assert reply.status == 200
    shifted = _date(reply.headers)
    # Whole seconds in the header: within a second either side of the shifted local clock.
    low = before + dt.timedelta(seconds=skew - 1)
    high = after + dt.timedelta(seconds=skew + 1)
    assert low <= shifted <= high


async def test_date_is_the_wall_clock_by_default(sandbox: SandboxServer, api: Api) -> None:
    before = dt.datetime.now(dt.UTC)
    reply = await api.list()
    assert before - dt.timedelta(seconds=1) <= _date(reply.headers)
    assert _date(reply.headers) <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)


async def test_hidden_expired_links_leave_the_list_and_its_count(
    sandbox: SandboxServer, api: Api
) -> None:
    now = dt.datetime.now(dt.UTC)
    live = [
        {
            "createdAt": iso(now - dt.timedelta(minutes=i)),
            "expiresAt": iso(now + dt.timedelta(hours=1)),
        }
        for i in range(3)
    ]
    expired = [
        {
            "createdAt": iso(now - dt.timedelta(hours=50 + i)),
            "expiresAt": iso(now - dt.timedelta(hours=2)),
        }
        for i in range(4)
    ]
    paid = [{"status": "CONFIRMED", "createdAt": iso(now - dt.timedelta(hours=60))}]
    added = await sandbox.admin.add_links([*live, *expired, *paid])
    live_ids = [link["id"] for link in added[:3]]

    listed = await api.list(status="PENDING")
    assert (listed.body["count"], len(listed.body["items"])) == (7, 7)

    await sandbox.admin.set_knobs(list_expired=False)
    hidden = await api.list(status="PENDING")
    every = await api.list()
    second = await api.list(status="PENDING", page=2, pageSize=2)

    assert hidden.body["count"] == 3
    assert [item["id"] for item in hidden.body["items"]] == live_ids
    assert every.body["count"] == 4  # the CONFIRMED link stays, expired or not
    assert [item["id"] for item in second.body["items"]] == live_ids[2:]
    assert (await api.get(added[3]["id"])).status == 200  # GET one still finds it


async def test_a_smaller_maximum_page_size_refuses_larger_asks(
    sandbox: SandboxServer, api: Api
) -> None:
    await sandbox.admin.add_links([{} for _ in range(3)])
    await sandbox.admin.set_knobs(page_size_max=100)

    refused = await api.list(pageSize=101)
    taken = await api.list(pageSize=100)

    assert refused.status == 400
    assert refused.body["message"] == ["pageSize must not be greater than 100"]
    assert (taken.status, taken.body["count"], taken.body["pageSize"]) == (200, 3, 100)


@pytest.mark.parametrize(
    ("names", "prefix"), [("ratelimit", "RateLimit"), ("x-ratelimit", "X-RateLimit")]
)
async def test_rate_limit_header_names(
    sandbox: SandboxServer, api: Api, names: str, prefix: str
) -> None:
    await sandbox.admin.set_knobs(rate_limit=5, rate_limit_header_names=names)

    reply = await api.list()

    assert reply.headers[f"{prefix}-Limit"] == "5"
    assert reply.headers[f"{prefix}-Remaining"] == "4"
    other = "RateLimit" if prefix == "X-RateLimit" else "X-RateLimit"
    assert f"{other}-Limit" not in reply.headers


@pytest.mark.parametrize(
    "knobs",
    [
        {"rate_limit_header_names": "draft"},
        {"date_skew_s": "ahead"},
        {"date_skew_s": float("inf")},
        {"list_expired": "no"},
        {"page_size_max": 0},
        {"page_size_max": 10.5},
    ],
)
async def test_bad_clock_and_expiry_knobs_are_refused(
    sandbox: SandboxServer, knobs: dict[str, object]
) -> None:
    before = await sandbox.admin.knobs()
    with pytest.raises(SandboxAdminError) as refused:
        await sandbox.admin.set_knobs(**knobs)
    assert refused.value.status == 400
    assert str(next(iter(knobs))) in str(refused.value.message)
    assert await sandbox.admin.knobs() == before
