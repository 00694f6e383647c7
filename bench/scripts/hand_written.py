"""What a hand-written script selects, and how it talks to the API: shared by the baselines.

The selection is the policies as people first write them, page by page:

- expiring: ``expiresAt <= now + 30 min`` (no lower bound: already expired links are sent
  too, and refused);
- duplicates: group the page's links by ``externalId``, keep the newest ``createdAt``,
  cancel the others (an expired newest link is kept, so the order's live one goes).
"""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

PATH = "/api/one-time-payment"
PAGE_SIZE = 500
WINDOW = dt.timedelta(minutes=30)


@dataclass(slots=True)
class Tally:
    """What a baseline sent and got back: statuses of list pages and of cancels apart."""

    pages: collections.Counter[int] = field(default_factory=collections.Counter)
    cancels: collections.Counter[int] = field(default_factory=collections.Counter)

    @property
    def requests(self) -> int:
        """Requests sent, every route."""
        return self.pages.total() + self.cancels.total()

    @property
    def rate_limited(self) -> int:
        """429 answers, every route."""
        return self.pages[429] + self.cancels[429]


def select(items: Iterable[Mapping[str, Any]], now: dt.datetime) -> list[str]:
    """The ids a hand-written script cancels among one page's items."""
    items = list(items)
    chosen = [item["id"] for item in items if _time(item["expiresAt"]) <= now + WINDOW]
    orders: dict[str, list[Mapping[str, Any]]] = collections.defaultdict(list)
    for item in items:
        if item.get("externalId"):
            orders[item["externalId"]].append(item)
    for group in orders.values():
        newest = max(group, key=lambda item: _time(item["createdAt"]))
        chosen += [item["id"] for item in group if item is not newest]
    return list(dict.fromkeys(chosen))


def session(api_key: str, *, connections: int) -> aiohttp.ClientSession:
    """An aiohttp session with the key; ``connections`` 0 means no limit."""
    return aiohttp.ClientSession(
        headers={"x-api-key": api_key},
        connector=aiohttp.TCPConnector(limit=connections),
        timeout=aiohttp.ClientTimeout(total=60),
    )


async def list_page(
    client: aiohttp.ClientSession, base_url: str, page: int, tally: Tally
) -> tuple[int, dict[str, Any] | None]:
    """GET one page of PENDING links: (status, body or None)."""
    params = {"status": "PENDING", "page": str(page), "pageSize": str(PAGE_SIZE)}
    async with client.get(base_url.rstrip("/") + PATH, params=params) as response:
        tally.pages[response.status] += 1
        if response.status != 200:
            return response.status, None
        body: dict[str, Any] = await response.json()
        return 200, body


async def cancel(
    client: aiohttp.ClientSession, base_url: str, link_id: str, tally: Tally
) -> tuple[int, str | None]:
    """PATCH one cancel: (status, Retry-After)."""
    url = f"{base_url.rstrip('/')}{PATH}/{link_id}/cancel"
    async with client.patch(url) as response:
        await response.read()
        tally.cancels[response.status] += 1
        return response.status, response.headers.get("Retry-After")


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
