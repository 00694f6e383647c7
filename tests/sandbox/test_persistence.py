"""`db=` / `--db`: a stopped sandbox starts again with its organizations, keys and links."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from sandbox.testing import SandboxServer
from tests.sandbox.helpers import Api


async def test_restart_keeps_orgs_keys_links_and_order(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    async with SandboxServer(db=db, seed=60) as first, aiohttp.ClientSession() as session:
        api = Api(session, first.base_url, first.api_key)
        pending = (await api.list(status="PENDING")).body["items"]
        assert (await api.cancel(pending[0]["id"])).status == 200
        await first.admin.create_org("Nueva", api_key="k-nueva")
        await first.admin.add_links([{"amount": "7.10"}], api_key="k-nueva")
        orgs_before = await first.admin.orgs()
        page_before = (await api.list(pageSize=500)).body

    async with SandboxServer(db=db, seed=60) as second, aiohttp.ClientSession() as session:
        api = Api(session, second.base_url, second.api_key)
        assert await second.admin.orgs() == orgs_before
        assert (await api.list(pageSize=500)).body == page_before  # not seeded twice
        assert (await api.get(pending[0]["id"])).body["status"] == "CANCELLED"
        (theirs,) = (await api.list(key="k-nueva")).body["items"]
        assert theirs["amount"] == "7.10"
        assert (await api.list(status="CANCELLED")).body["count"] == sum(
            item["status"] == "CANCELLED" for item in page_before["items"]
        )


async def test_api_key_given_at_restart_replaces_the_first_orgs_key(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    async with SandboxServer(db=db, api_key="old") as first:
        await first.admin.add_links([{}])
    async with SandboxServer(db=db, api_key="new") as second, aiohttp.ClientSession() as session:
        assert second.api_key == "new"
        api = Api(session, second.base_url, "new")
        assert (await api.list()).body["count"] == 1
        assert (await api.list(key="old")).status == 401


async def test_without_an_api_key_the_stored_key_stays(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    async with SandboxServer(db=db, api_key=None) as first:
        key = first.api_key
    async with SandboxServer(db=db, api_key=None) as second:
        assert second.api_key == key
