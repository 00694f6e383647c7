"""A year of expired history: the PENDING links an old organization never saw paid.

An expired, unpaid link stays PENDING for good (the sandbox's reading of the docs), so an
organization's PENDING list holds every such link it ever made. ``seed_history`` bulk-loads
them through the seeder's path (table rows in chunks, the index sorted once at the end):
``createdAt`` spread evenly over ``days`` up to ``quiet_hours`` before now, each with a
lifetime the way merchants pick them (mostly the default 48 h), so every one has expired
before now. Nothing in it is live: the live links of a benchmark or a test are added apart.
"""

from __future__ import annotations

import random

from sandbox import seed_data
from sandbox.clock import whole_seconds
from sandbox.index import id_of
from sandbox.records import PENDING, LinkRow, Org
from sandbox.seed import CHUNK, customer
from sandbox.store import Store

DEFAULT_DAYS = 365
# The newest history link is created this long before now, so that even one living the
# longest lifetime allowed (48 h) expired before now.
DEFAULT_QUIET_HOURS = 50
_SECOND = 1000
_MINUTE = 60 * _SECOND
_HOUR = 60 * _MINUTE
_MAX_TTL = 2880 * _MINUTE
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def seed_history(
    store: Store,
    org: Org,
    count: int,
    *,
    now_ms: int,
    days: int = DEFAULT_DAYS,
    quiet_hours: int = DEFAULT_QUIET_HOURS,
    seed_random: int = 1,
) -> int:
    """Add ``count`` expired PENDING links to ``org``, created over the last ``days``.

    Synchronous, never yielding: nothing can see the links before the index is flushed.
    Returns how many were added.
    """
    if count < 0 or days < 1 or quiet_hours * _HOUR >= days * 24 * _HOUR:
        raise ValueError("history needs count >= 0, days >= 1 and quiet_hours under days")
    rng = random.Random(seed_random)
    r = rng.random
    billing = [store.billing_no(customer(rng)) for _ in range(max(1, min(500, count // 100)))]
    newest = whole_seconds(now_ms) - quiet_hours * _HOUR
    span_s = (days * 24 * _HOUR - quiet_hours * _HOUR) // _SECOND
    chunk: list[LinkRow] = []
    try:
        for number in range(count):
            # Hot loop (a million rows): random() arithmetic, as the seeder's.
            created = newest - int(r() * span_s) * _SECOND
            pick = r()
            ttl = (
                _MAX_TTL
                if pick < 0.6
                else 24 * _HOUR
                if pick < 0.8
                else (10 + int(r() * 2871)) * _MINUTE
            )
            cents = 5_000 + int(r() * 2_495_000)
            product = seed_data.PRODUCTS[int(r() * len(seed_data.PRODUCTS))]
            external_id = None if r() < 0.08 else f"HIST-{number + 1:07d}"
            bits = rng.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET
            chunk.append(
                LinkRow(
                    id_of(bits),
                    org.no,
                    PENDING,
                    external_id,
                    f"{cents // 100}.{cents % 100:02d}",
                    True,
                    "MXN",
                    product,
                    "https://example.mx/pago/gracias",
                    "https://example.mx/",
                    billing[int(r() * len(billing))],
                    created,
                    created,
                    created + ttl,
                )
            )
            if len(chunk) == CHUNK:
                store.insert_rows(chunk, index=False)
                chunk = []
        if chunk:
            store.insert_rows(chunk, index=False)
    finally:
        store.flush_index()
    return count
