"""Baseline: the bulk script. One page of 500, then every selected cancel fired at once.

What people write when the sequential loop is too slow: ``asyncio.gather`` over the first
page's selection, no limit on connections, no retries (a 429 is just a failure).
"""

from __future__ import annotations

import asyncio
import datetime as dt

from bench.scripts.hand_written import Tally, cancel, list_page, select, session


async def bulk_sweep(base_url: str, api_key: str) -> Tally:
    """One page, then all of its selected cancels concurrently; returns the tally."""
    tally = Tally()
    async with session(api_key, connections=0) as client:
        _, body = await list_page(client, base_url, 1, tally)
        if body is None:
            return tally
        chosen = select(body["items"], dt.datetime.now(dt.UTC))
        await asyncio.gather(*(cancel(client, base_url, link_id, tally) for link_id in chosen))
    return tally
