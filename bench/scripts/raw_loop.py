"""The least a client can do: list the PENDING ids, then PATCH each, N in flight, with aiohttp.

No policy, no parsing beyond the ids, no retries, no logs: the floor of the CPU a cancel
costs in Python, against which scenario 4 weighs the worker.
"""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass

import aiohttp

PATH = "/api/one-time-payment"
PAGE_SIZE = 500


@dataclass(frozen=True, slots=True)
class RawResult:
    """Statuses of the PATCHes sent, and the requests in all."""

    statuses: dict[int, int]
    requests: int

    @property
    def cancelled(self) -> int:
        """PATCHes answered 200."""
        return self.statuses.get(200, 0)


async def raw_sweep(base_url: str, api_key: str, *, concurrency: int) -> RawResult:
    """Read every page of PENDING ids first (cancelling while paging would shift the offsets),
    then cancel them with ``concurrency`` requests in flight."""
    url = base_url.rstrip("/") + PATH
    statuses: collections.Counter[int] = collections.Counter()
    ids: list[str] = []
    pages = 0
    async with aiohttp.ClientSession(
        headers={"x-api-key": api_key},
        connector=aiohttp.TCPConnector(limit=concurrency),
        timeout=aiohttp.ClientTimeout(total=30),
    ) as session:
        while True:
            pages += 1
            params = {"status": "PENDING", "page": str(pages), "pageSize": str(PAGE_SIZE)}
            async with session.get(url, params=params) as response:
                page = await response.json()
            ids += [item["id"] for item in page["items"]]
            if not page["items"] or pages * PAGE_SIZE >= page["count"]:
                break
        todo = iter(ids)

        async def cancel_each() -> None:
            for link_id in todo:
                async with session.patch(f"{url}/{link_id}/cancel") as response:
                    await response.read()
                    statuses[response.status] += 1

        await asyncio.gather(*(cancel_each() for _ in range(concurrency)))
    return RawResult(statuses=dict(statuses), requests=pages + sum(statuses.values()))
