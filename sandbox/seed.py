"""The seeder: a realistic, reproducible mix of payment links across organizations.

One `seed_random` always yields the same links (ids, statuses, externalIds, amounts, billing
data, and times *relative to the seeding moment*). Seeding twice with the same `seed_random`
into one store therefore collides on ids and is refused.
"""

from __future__ import annotations

import dataclasses
import random
import secrets
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sandbox import seed_data
from sandbox.clock import whole_seconds
from sandbox.index import id_of
from sandbox.records import CANCELLED, CONFIRMED, PENDING, LinkRow, Org
from sandbox.store import Store

CHUNK = 20_000  # links per insert transaction: bounded memory for the rows in flight
_MINUTE = 60_000
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
_MAX_TTL = 2880 * _MINUTE
_NULL_EXTERNAL_ID = 0.08
_DUPLICATED_ORDER = 0.14  # orders that got 2 to 4 links
_PAID_ORDER = 0.03  # orders already paid, in one of the `_paid_order` shapes, in turn
_TIE = 0.25  # a duplicate created in the same second as the link before it
_AS_TEXT = 0.3
_USD = 0.15
# Version 4 and RFC 4122 variant bits, as uuid.UUID(version=4) sets them, without the object.
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


@dataclasses.dataclass(frozen=True, slots=True)
class SeedSummary:
    """What a seed run created, per organization."""

    created: int
    per_org: tuple[tuple[Org, int], ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with each organization's key (for the control plane and the CLI)."""
        return {
            "created": self.created,
            "orgs": [
                {"id": org.id, "name": org.name, "api_key": org.api_key, "links": links}
                for org, links in self.per_org
            ],
        }


def ensure_orgs(store: Store, count: int) -> list[Org]:
    """The first `count` organizations, creating the missing ones with random keys."""
    orgs = store.orgs()
    while len(orgs) < count:
        name = seed_data.SHOPS[len(orgs) % len(seed_data.SHOPS)]
        orgs.append(store.create_org(name, new_api_key()))
    return orgs[:count]


def new_api_key() -> str:
    """A random organization key."""
    return f"sk_sandbox_{secrets.token_urlsafe(18)}"


def _chunks(
    store: Store, orgs: Sequence[Org], count: int, now_ms: int, seed_random: int
) -> Iterator[list[LinkRow]]:
    """`count` links split evenly over `orgs` (the remainder to the first), in chunks.

    Yields table rows rather than `StoredLink`s: at a million links, building each link
    once, in the form `executemany` takes, is a good part of the seeding time saved.
    """
    rng = random.Random(seed_random)
    customers = [customer(rng) for _ in range(max(1, min(2000, count // 10)))]
    billing_nos = [store.billing_no(customer) for customer in customers]
    quotas = [count // len(orgs)] * len(orgs)
    quotas[0] += count - sum(quotas)
    chunk: list[LinkRow] = []
    for org, quota in zip(orgs, quotas, strict=True):
        first_org = org is orgs[0]
        for link in _org_links(
            rng, org, quota, whole_seconds(now_ms), billing_nos, first_org=first_org
        ):
            chunk.append(link)
            if len(chunk) == CHUNK:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _summary(orgs: Sequence[Org], count: int) -> SeedSummary:
    """What `_chunks` produces once every chunk is stored."""
    quotas = [count // len(orgs)] * len(orgs)
    quotas[0] += count - sum(quotas)
    return SeedSummary(count, tuple(zip(orgs, quotas, strict=True)))


def seed_store(
    store: Store, count: int, *, seed_random: int, orgs: int, now_ms: int
) -> SeedSummary:
    """Seed in one go, never yielding to the event loop (a million links: half a minute).

    Indexing is deferred to one bulk sort at the end, which beats a million single inserts
    into sorted lists; nothing can observe the unindexed links, since nothing else runs.
    """
    targets = ensure_orgs(store, orgs)
    try:
        for chunk in _chunks(store, targets, count, now_ms, seed_random):
            store.insert_rows(chunk, index=False)
    finally:
        store.flush_index()  # also the chunks stored before a refused one
    return _summary(targets, count)


def _org_links(
    rng: random.Random,
    org: Org,
    quota: int,
    now_ms: int,
    customers: Sequence[int | None],
    *,
    first_org: bool,
) -> Iterator[LinkRow]:
    # Hot loop (a million links must seed in seconds): `random()` arithmetic instead of
    # randint/choice, which cost several calls each.
    r = rng.random
    slug = _slug(org.name)
    site = (f"https://{slug}.example.mx/pago/gracias", f"https://{slug}.example.mx/")
    order = paid_orders = 0
    while quota > 0:
        shape = r()
        if _DUPLICATED_ORDER <= shape < _DUPLICATED_ORDER + _PAID_ORDER:
            links = _paid_order(
                rng,
                org,
                paid_orders,
                now_ms,
                customers=customers,
                site=site,
                first_org=first_org,
            )
            paid_orders += 1
            yield from links[:quota]
            quota -= len(links[:quota])
            continue
        size = min(quota, 2 + int(r() * 3)) if shape < _DUPLICATED_ORDER else 1
        order += 1
        external_id = None if shape > 1 - _NULL_EXTERNAL_ID else f"ORD-{100000 + order}"
        created_ms, ttl_ms = _first_link_times(r, now_ms)
        for _ in range(size):
            customer = customers[int(r() * len(customers))]
            yield _link(
                rng, org, external_id, (created_ms, ttl_ms, now_ms), customer=customer, site=site
            )
            if r() >= _TIE:  # the merchant made another link a while later
                created_ms = min(now_ms, created_ms + (1 + int(r() * 7200)) * 1000)
        quota -= size


def _paid_order(
    rng: random.Random,
    org: Org,
    number: int,
    now_ms: int,
    *,
    customers: Sequence[int | None],
    site: tuple[str, str],
    first_org: bool,
) -> list[LinkRow]:
    """An order already paid, in the shape `number` picks in turn (oldest link first).

    0: paid, with one or two live PENDING links left; 1: paid twice, one live link left;
    2: paid, its other links expired; 3: paid in the first organization only: every other
    organization has a live PENDING link of the same externalId, which is not its sibling.
    Their externalIds (`ORD-P00001`) repeat in every organization, on purpose.
    """
    r = rng.random
    external_id = f"ORD-P{number + 1:05d}"
    kind = number % 4
    if kind == 2:  # paid days ago; the links made after it lived a day
        created_ms = now_ms - (3 * _DAY + int(r() * 4 * _DAY // 1000) * 1000)
        ttls = (_MAX_TTL, _DAY, _DAY)
    else:  # paid today; every link lives 48 h, so the ones after it are still live
        created_ms = now_ms - (30 * _MINUTE + int(r() * 20 * _HOUR // 1000) * 1000)
        ttls = (_MAX_TTL, _MAX_TTL, _MAX_TTL)
    statuses = {
        0: (CONFIRMED, PENDING, PENDING)[: 2 + int(r() * 2)],
        1: (CONFIRMED, CONFIRMED, PENDING),
        2: (CONFIRMED, PENDING, PENDING)[: 2 + int(r() * 2)],
        3: (CONFIRMED,) if first_org else (PENDING,),
    }[kind]
    links = []
    for status, ttl_ms in zip(statuses, ttls, strict=False):
        customer = customers[int(r() * len(customers))]
        times = (created_ms, ttl_ms, now_ms)
        links.append(
            _link(rng, org, external_id, times, customer=customer, site=site, status=status)
        )
        created_ms = min(now_ms, created_ms + (1 + int(r() * 3600)) * 1000)
    return links


def _first_link_times(r: Callable[[], float], now_ms: int) -> tuple[int, int]:
    """(createdAt, lifetime) so that expiry falls in a realistic spread around now."""
    # Most merchants keep the default 48 h lifetime; some pick a day, a few anything allowed.
    pick = r()
    ttl_ms = _MAX_TTL if pick < 0.6 else _DAY if pick < 0.8 else (10 + int(r() * 2871)) * _MINUTE
    spread = r()
    if spread < 0.15:  # already expired, still PENDING unless paid or cancelled
        remaining = -(1 + int(r() * 7 * _DAY // 1000)) * 1000
    elif spread < 0.25:  # expiring within the hour
        remaining = (1 + int(r() * 60)) * _MINUTE
    elif spread < 0.60:  # within the day
        remaining = (60 + int(r() * 23 * 60)) * _MINUTE
    else:  # within two days
        remaining = (24 * 60 + int(r() * 24 * 60)) * _MINUTE
    ttl_ms = max(ttl_ms, remaining)
    return now_ms + remaining - ttl_ms, ttl_ms


def _link(
    rng: random.Random,
    org: Org,
    external_id: str | None,
    times: tuple[int, int, int],
    *,
    customer: int | None,
    site: tuple[str, str],
    status: str | None = None,
) -> LinkRow:
    """One link; its status drawn (about 14% paid, 10% cancelled) unless given."""
    r = rng.random
    created_ms, ttl_ms, now_ms = times
    expires_ms = created_ms + ttl_ms
    fate = r()
    if status is None:
        status = CONFIRMED if fate < 0.14 else CANCELLED if fate < 0.24 else PENDING
    updated_ms = created_ms
    if status != PENDING:  # paid or cancelled some time before expiry (and before now)
        updated_ms += int(r() * max(0, min(expires_ms, now_ms) - created_ms) / 1000) * 1000
    cents = 5_000 + int(r() * 2_495_000)
    if r() < 0.4:
        cents -= cents % 100  # whole pesos
    as_text = r() < _AS_TEXT
    if as_text:
        amount = f"{cents // 100}.{cents % 100:02d}"  # "1500.00", as one docs example shows
    else:
        amount = f"{cents // 100}.{cents % 100:02d}".rstrip("0").rstrip(".")  # canonical number
    product = seed_data.PRODUCTS[int(r() * len(seed_data.PRODUCTS))]
    bits = rng.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET
    return LinkRow(
        id_of(bits),
        org.no,
        status,
        external_id,
        amount,
        as_text,
        "USD" if r() < _USD else "MXN",
        f"{product} ({external_id})" if external_id else product,
        site[0],
        site[1],
        customer,
        created_ms,
        updated_ms,
        expires_ms,
    )


def customer(rng: random.Random) -> dict[str, Any]:
    """A customer's billing details, Mexican names and addresses."""
    first = rng.choice(seed_data.FIRST_NAMES)
    surname, second = rng.choice(seed_data.SURNAMES), rng.choice(seed_data.SURNAMES)
    city, state, zip_prefix, area = rng.choice(seed_data.CITIES)
    local = f"{_ascii(first)}.{_ascii(surname)}{rng.randint(1, 99)}"
    return {
        "email": f"{local}@{rng.choice(seed_data.EMAIL_DOMAINS)}",
        "firstName": first,
        "lastName": f"{surname} {second}",
        "phoneNumber": f"+52{area}{rng.randrange(10 ** (10 - len(area))):0{10 - len(area)}d}",
        "address": {
            "addressLine": (
                f"{rng.choice(seed_data.STREETS)} {rng.randint(1, 2999)}, "
                f"Col. {rng.choice(seed_data.NEIGHBOURHOODS)}"
            ),
            "city": city,
            "state": state,
            "zip": f"{zip_prefix}{rng.randint(0, 999):03d}",
        },
    }


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _slug(name: str) -> str:
    return "-".join(_ascii(name).split())
