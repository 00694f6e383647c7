"""Requests a sweep makes with and without ``--paid-siblings`` on issue 12's old organization.

Scenario 7's organization (``--history`` expired PENDING links over a year under
``--live`` live ones, ``bench.scenarios.old_org.live_links``) plus a year of paid orders:
``--paid`` CONFIRMED links spread over the last 365 days, and 300 of the live orders paid
within the last day, whose other live links ``paid_sibling`` selects. Each configuration
gets a fresh in-process sandbox and one executed sweep (``--expiring-within 30m
--duplicates``); counts of requests, not times, so one run each is enough.

    python -m bench.paid_requests [--history N] [--paid N] [--live N] [--dry-run]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import uuid
from collections.abc import Sequence
from typing import Any

import structlog

from bench.scenarios.old_org import live_links
from sandbox.testing import SandboxServer
from worker.settings import load_settings
from worker.sweep import sweep
from worker.sweep.policies import policies_from_settings

_BATCH = 1000  # links per add_links call: the control plane's request size limit
_PAID_LIVE_ORDERS = 300


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _paid(external_id: str, created: dt.datetime, rng: random.Random) -> dict[str, Any]:
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "status": "CONFIRMED",
        "externalId": external_id,
        "amount": "100.00",
        "currency": "MXN",
        "createdAt": _iso(created),
        "expiresAt": _iso(created + dt.timedelta(hours=48)),
    }


async def _add(server: SandboxServer, rows: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _BATCH):
        await server.admin.add_links(rows[start : start + _BATCH])


async def _one(args: argparse.Namespace, *, paid_siblings: bool) -> str:
    rng = random.Random(5)
    async with SandboxServer() as server:
        await server.admin.seed_history(args.history)
        live = live_links(args.live)
        await _add(server, [dict(row) for row in live.rows])
        now = dt.datetime.now(dt.UTC)
        year = [
            _paid(f"PAID-{n:07d}", now - dt.timedelta(days=rng.random() * 365), rng)
            for n in range(args.paid)
        ]
        plain = [
            str(row["externalId"])
            for row in live.rows
            if not str(row["externalId"]).startswith(("OLD-S", "OLD-D"))
        ]
        today = [
            _paid(external_id, now - dt.timedelta(hours=rng.uniform(1, 20)), rng)
            for external_id in rng.sample(plain, _PAID_LIVE_ORDERS)
        ]
        await _add(server, year + today)
        flags: dict[str, Any] = {
            "expiring_within": "30m",
            "duplicates": True,
            "rate": "2000",
            "max_cancellations": "100000",
            "dry_run": args.dry_run,
            "paid_siblings": paid_siblings,
        }
        environ = {"HARMONY_API_KEY": server.api_key, "HARMONY_BASE_URL": server.base_url}
        settings = load_settings(environ=environ, **flags)
        report = await sweep(settings, policies_from_settings(settings))
    stats = report.stats
    assert stats is not None
    paid_scan = dict(stats.paid_scan) if stats.paid_scan is not None else None
    return (
        f"paid_siblings={paid_siblings!s:5} requests={sum(stats.requests_by_class.values()):6}"
        f" planned={report.summary.planned:5} cancelled={report.summary.cancelled:5}"
        f" paid_scan={paid_scan}"
    )


async def _main(args: argparse.Namespace) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    print(
        f"{args.history:,} expired PENDING + {args.live:,} live PENDING links;"
        f" {args.paid + _PAID_LIVE_ORDERS:,} CONFIRMED ({args.paid:,} over a year,"
        f" {_PAID_LIVE_ORDERS} of live orders in the last day);"
        f" {'dry run' if args.dry_run else 'executed'}",
        flush=True,
    )
    for paid_siblings in (False, True):
        print(await _one(args, paid_siblings=paid_siblings), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.paid_requests", description=__doc__)
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--live", type=int, default=10_000)
    parser.add_argument("--paid", type=int, default=200_000)
    parser.add_argument("--dry-run", action="store_true")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
