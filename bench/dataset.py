"""The links a benchmark run starts from, which of them the policies select, and the score.

Scenarios 1, 2, 3 and 6 share one mix, built so that the policies (``--expiring-within 30m
--duplicates``) select exactly ``eligible`` links and so that a hand-written script can err:

- ``soon``: PENDING, expiring in 10-28 minutes: selected (expiring_within).
- ``dup``: orders with three live PENDING links: the two older ones are selected
  (duplicates), the newest is kept.
- ``trap``: orders with an older live PENDING link and a newer one that is PENDING but
  already expired: nothing is selected (an expired link is never a group's survivor, so the
  live one is the order's only payable link). "Keep the newest createdAt" cancels the live one.
- ``later``: PENDING, expiring in 1-40 hours: not selected.
- ``expired``: PENDING but past ``expiresAt``: not selected (the API refuses their cancel).
- ``paid``, ``cancelled``: CONFIRMED and CANCELLED links, not in the PENDING list.

``createdAt`` is spread over the last 40 hours independently of the expiry, so the list
(sorted by createdAt) interleaves them all. The score is read from the server's final state.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.testing import SandboxAdmin

EXPIRING_WITHIN = "30m"
PAGE_SIZE = 500
BATCH = 2_000  # links per add_links call
_HOUR = dt.timedelta(hours=1)
_MINUTE = dt.timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Mix:
    """Per eligible link, how many links of each other kind to add (fractions of eligible)."""

    dup_groups: float = 0.1  # orders of three live links: 2 selected each
    trap_groups: float = 0.05  # orders of a live link and a newer expired one
    later: float = 0.4
    expired: float = 0.05
    paid: float = 0.1
    cancelled: float = 0.1


MIXED = Mix()
ONLY_ELIGIBLE = Mix(0, 0, 0, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class Dataset:
    """Links to insert, and what the policies select among them at ``now``."""

    links: tuple[dict[str, Any], ...]
    eligible: frozenset[str]
    initially_cancelled: frozenset[str]
    pending: int

    @property
    def pages(self) -> int:
        """Pages of 500 a scan of the PENDING list reads."""
        return max(1, math.ceil(self.pending / PAGE_SIZE))

    @property
    def lower_bound_requests(self) -> int:
        """The fewest requests a run needs: one scan, one cancel per selected link."""
        return self.pages + len(self.eligible)


@dataclass(frozen=True, slots=True)
class Score:
    """A run judged by the server's final state."""

    eligible: int
    cancelled: int  # eligible links now CANCELLED
    paid: int  # eligible links a customer paid first (race_rate)
    left_pending: int  # eligible links nobody touched: what the run missed
    wrongful: int  # links CANCELLED now that the policies did not select

    @property
    def coverage(self) -> float:
        """Share of the eligible links that ended CANCELLED."""
        return self.cancelled / self.eligible if self.eligible else 1.0


def build(
    eligible: int, *, mix: Mix = MIXED, seed: int = 1, now: dt.datetime | None = None
) -> Dataset:
    """``eligible`` selected links plus the mix around them, reproducible from ``seed``."""
    rng = random.Random(seed)
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    links: list[dict[str, Any]] = []
    selected: set[str] = set()
    cancelled: set[str] = set()
    serial = iter(range(10**9))

    def add(*, expires: dt.datetime, created: dt.datetime, status: str = "PENDING",
            external_id: str | None = None) -> str:  # fmt: skip
        link_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        links.append(
            {
                "id": link_id,
                "status": status,
                "externalId": external_id if external_id is not None else f"ORD-{next(serial)}",
                "amount": f"{rng.randint(100, 20_000)}.00",
                "createdAt": _iso(created),
                "expiresAt": _iso(expires),
            }
        )
        return link_id

    def created_before(latest: dt.datetime) -> dt.datetime:
        return latest - rng.uniform(0, 40) * _HOUR

    def later() -> dt.datetime:
        return now + rng.uniform(1, 40) * _HOUR

    groups = round(eligible * mix.dup_groups)
    groups = min(groups, eligible // 2)
    for _ in range(groups):
        order, start = f"DUP-{next(serial)}", created_before(now - _HOUR)
        for step in range(3):
            link_id = add(expires=later(), created=start + step * _MINUTE, external_id=order)
            if step < 2:
                selected.add(link_id)
    for _ in range(eligible - 2 * groups):
        expires = now + rng.uniform(10, 28) * _MINUTE
        selected.add(add(expires=expires, created=created_before(now - _MINUTE)))
    for _ in range(round(eligible * mix.trap_groups)):
        order, start = f"TRAP-{next(serial)}", created_before(now - _HOUR)
        add(expires=later(), created=start, external_id=order)
        expired = now - rng.uniform(1, 30) * _MINUTE
        add(expires=expired, created=start + _MINUTE, external_id=order)
    for _ in range(round(eligible * mix.later)):
        add(expires=later(), created=created_before(now - _MINUTE))
    for _ in range(round(eligible * mix.expired)):
        expired = now - rng.uniform(1, 60) * _MINUTE
        add(expires=expired, created=created_before(expired - _MINUTE))
    for _ in range(round(eligible * mix.paid)):
        add(expires=later(), created=created_before(now - _MINUTE), status="CONFIRMED")
    for _ in range(round(eligible * mix.cancelled)):
        link_id = add(expires=later(), created=created_before(now), status="CANCELLED")
        cancelled.add(link_id)
    rng.shuffle(links)  # insertion order must not matter; the list sorts by createdAt
    pending = sum(1 for link in links if link["status"] == "PENDING")
    return Dataset(
        links=tuple(links),
        eligible=frozenset(selected),
        initially_cancelled=frozenset(cancelled),
        pending=pending,
    )


async def load(admin: SandboxAdmin, dataset: Dataset, *, knobs: Mapping[str, Any]) -> None:
    """A fresh start: reset the sandbox, insert the links, set the knobs, zero the counters."""
    await admin.reset()
    links: Sequence[dict[str, Any]] = dataset.links
    for start in range(0, len(links), BATCH):
        await admin.add_links(links[start : start + BATCH])
    if knobs:
        await admin.set_knobs(**knobs)
    await admin.reset_counters()


async def score(admin: SandboxAdmin, dataset: Dataset) -> Score:
    """Judge the run by the final status of every link of the organization."""
    final = {link["id"]: link["status"] for link in await admin.links()}
    eligible = dataset.eligible
    now_cancelled = {link_id for link_id, status in final.items() if status == "CANCELLED"}
    return Score(
        eligible=len(eligible),
        cancelled=len(eligible & now_cancelled),
        paid=sum(1 for link_id in eligible if final.get(link_id) == "CONFIRMED"),
        left_pending=sum(1 for link_id in eligible if final.get(link_id) == "PENDING"),
        wrongful=len(now_cancelled - eligible - dataset.initially_cancelled),
    )


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
