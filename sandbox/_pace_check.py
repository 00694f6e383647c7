"""By-hand pace check: seed a 1,000,000-link organization, then time 500-item pages at depth.

    .venv/bin/python -m sandbox._pace_check [--links 1000000] [--pages 20]

Not a test (no timing assertions in the suite); the figures go in docs/sandbox.md.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import time

import aiohttp

from sandbox.server import SandboxConfig, start

_KEY = "pace-key"


async def _main(links: int, pages: int) -> None:
    began = time.perf_counter()
    config = SandboxConfig(port=0, api_key=_KEY, admin_key="pace-admin", seed=links, orgs=1)
    running = await start(config)
    ready_s = time.perf_counter() - began
    cpu_s = time.process_time()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"seeded {links:,} links and listening in {ready_s:.1f} s wall, {cpu_s:.1f} s CPU; "
        f"peak RSS {rss_mb:.0f} MB"
    )
    try:
        async with aiohttp.ClientSession(headers={"x-api-key": _KEY}) as session:
            for status in (None, "PENDING"):
                await _time_pages(session, running.base_url, status, pages)
    finally:
        await running.stop()


async def _time_pages(
    session: aiohttp.ClientSession, base_url: str, status: str | None, n: int
) -> None:
    url = f"{base_url}/api/one-time-payment"
    filters = {"status": status} if status else {}
    async with session.get(url, params={"pageSize": "1", **filters}) as response:
        count = (await response.json())["count"]
    last = max(1, -(-count // 500))
    spots = [1, last // 2, last] + [1 + (i * 7919) % last for i in range(n)]
    timings, items = [], 0
    for page in spots:
        params = {"page": str(page), "pageSize": "500", **filters}
        began = time.perf_counter()
        async with session.get(url, params=params) as response:
            body = await response.read()  # bytes only: time the server, not our JSON decoder
        timings.append((time.perf_counter() - began) * 1000)
        assert response.status == 200, body  # noqa: S101 - a by-hand script's sanity check
        items += body.count(b'"billingInformation"')
    print(
        f"{status or 'any status'}: count {count:,}; {len(spots)} pages of 500 "
        f"(first, middle, last page {last:,}, and {n} spread), {items:,} items: "
        f"median {statistics.median(timings):.1f} ms, max {max(timings):.1f} ms per page "
        "(loopback HTTP round trip)"
    )


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--links", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(_main(args.links, args.pages))


if __name__ == "__main__":
    main()
