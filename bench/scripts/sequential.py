"""Baseline: the sequential loop. Page by page, each selected link cancelled in turn.

The loop people write first: list a page, cancel what it selects one request at a time,
go to the next page. It waits out a 429's Retry-After and tries the same request again (a
few times). Cancelling while paging shifts the offset list under it, so links slide past
unseen.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from bench.scripts.hand_written import PAGE_SIZE, Tally, cancel, list_page, select, session

MAX_PAGES = 100_000  # bounded, whatever the server's count says
TRIES = 10  # per request, when answered 429


async def sequential_sweep(base_url: str, api_key: str) -> Tally:
    """Run the loop to the end of the list; returns what it sent and got back."""
    tally = Tally()
    async with session(api_key, connections=1) as client:
        for page in range(1, MAX_PAGES + 1):
            for _ in range(TRIES):
                status, body = await list_page(client, base_url, page, tally)
                if status != 429:
                    break
                await asyncio.sleep(1)
            if body is None or not body["items"]:
                break
            for link_id in select(body["items"], dt.datetime.now(dt.UTC)):
                for _ in range(TRIES):
                    status, retry_after = await cancel(client, base_url, link_id, tally)
                    if status != 429:
                        break
                    await asyncio.sleep(float(retry_after or 1))
            if page * PAGE_SIZE >= body["count"]:
                break
    return tally
