"""The planner: links and policies in, one deterministic plan of decisions out.

A link selected by any policy (a union) and inside the scope lands in exactly one bucket,
checked in this order: ``excluded`` (an exclude file names it), ``skipped_expired`` (past
its ``expiresAt`` at ``now + expiry_margin``: the API would refuse the cancel, or might by
the time it arrives), else ``cancel``.
Non-PENDING links are never planned. Every decision lists all the reasons that selected
its link, in ``Reason`` declaration order.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from jobs.created_before import require_aware
from jobs.duplicates import Duplicates
from jobs.links import Link, Status
from jobs.manifest import Exclusions, Manifest
from jobs.policy import Policy
from jobs.reasons import Reason
from jobs.scope import Scope

_REASONS: tuple[Reason, ...] = tuple(Reason)
_BITS: dict[Reason, int] = {reason: 1 << index for index, reason in enumerate(_REASONS)}
_LINK_ID = operator.attrgetter("link.id")
_EXPIRES_AT = operator.attrgetter("link.expires_at")


@dataclass(frozen=True, slots=True)
class Decision:
    """One selected link and every reason that selected it, in ``Reason`` order.

    ``kept_id`` is, for a link ``Duplicates`` selected, the id of the link kept for its
    externalId (the newest); ``None`` otherwise.
    """

    link: Link
    reasons: tuple[Reason, ...]
    kept_id: str | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """What a run will do; each tuple is ordered soonest-expiring first, then by id.

    ``unmatched_ids`` are manifest ids absent from the links planned over, sorted: the
    worker looks them up (they may have been missed by the scan, or not exist).
    """

    cancel: tuple[Decision, ...] = ()
    skipped_expired: tuple[Decision, ...] = ()
    excluded: tuple[Decision, ...] = ()
    unmatched_ids: tuple[str, ...] = ()


def make_plan(
    links: Iterable[Link],
    policies: Sequence[Policy],
    *,
    scope: Scope,
    exclusions: Exclusions,
    now: datetime,
    unique_ids: bool = False,
    expiry_margin: timedelta = timedelta(0),
) -> Plan:
    """Plan which PENDING links to cancel; the same multiset of links gives the same plan.

    Records sharing an id (page drift) count once; see ``_one_record_per_id`` for which.
    ``unique_ids=True`` is the caller's promise that no two records share an id (a scan
    that deduplicated already): the planner then skips that step and the id-keyed dict it
    needs (~40 MiB for 1M links). Policies see each PENDING link once, in the order the
    links came: they must select by content alone (``Policy``), and every bucket is then
    sorted by (expiresAt, id).

    ``expiry_margin`` moves only the expiry check, not the ``now`` the policies select
    by: a link expiring within it is ``skipped_expired``, whatever selected it.
    """
    require_aware(now, "now")
    if expiry_margin < timedelta(0):
        raise ValueError(f"expiry_margin must not be negative, got {expiry_margin}")
    expired_by = now + expiry_margin
    records = _sequence(links) if unique_ids else tuple(_one_record_per_id(links).values())
    unmatched_ids = _unmatched_ids(records, policies)
    # A scan lists PENDING links only: then the policies walk its own list, not a copy.
    pending: Sequence[Link] = records
    if not all(link.status is Status.PENDING for link in records):
        pending = [link for link in records if link.status is Status.PENDING]

    masks: dict[str, int] = {}
    kept: dict[str, str] = {}
    for policy in policies:
        bit = _BITS[policy.reason]
        if isinstance(policy, Duplicates):
            # The same selection, with the kept link of each duplicate for the report.
            for link_id, kept_id in policy.pairs(pending, now):
                masks[link_id] = masks.get(link_id, 0) | bit
                kept[link_id] = kept_id
            continue
        for link_id in policy.select(pending, now):
            masks[link_id] = masks.get(link_id, 0) | bit

    cancel: list[Decision] = []
    skipped_expired: list[Decision] = []
    excluded: list[Decision] = []
    # Walking ``pending`` (not ``masks``) drops ids a policy made up: the planner never
    # cancels a link it was not shown.
    for link in [link for link in pending if link.id in masks]:
        if not scope.contains(link):
            continue
        decision = Decision(link, _reasons_of(masks[link.id]), kept.get(link.id))
        if exclusions.covers(link):
            excluded.append(decision)
        elif link.is_expired(expired_by):
            skipped_expired.append(decision)
        else:
            cancel.append(decision)

    return Plan(
        cancel=_soonest_first(cancel),
        skipped_expired=_soonest_first(skipped_expired),
        excluded=_soonest_first(excluded),
        unmatched_ids=unmatched_ids,
    )


def _sequence(links: Iterable[Link]) -> Sequence[Link]:
    return links if isinstance(links, Sequence) else list(links)


def _one_record_per_id(links: Iterable[Link]) -> dict[str, Link]:
    """One record per id.

    When records of one id differ, a final status wins (a link never leaves CONFIRMED or
    CANCELLED, so that record is the later truth, and it makes the link unplannable);
    otherwise the greatest by ``_record_rank``: arbitrary, but independent of input order.
    """
    records = _sequence(links)
    # A dict, not a sort by id: walking 1M links in id order jumps all over memory and
    # runs several times slower than walking them in the order they were built.
    by_id = {link.id: link for link in records}
    if len(by_id) == len(records):  # the usual case: the scan deduplicated already
        return by_id
    for link in records:
        current = by_id[link.id]
        if current is not link and _record_rank(link) > _record_rank(current):
            by_id[link.id] = link
    return by_id


def _record_rank(link: Link) -> tuple[object, ...]:
    # Every field takes part, so that two different records never tie.
    return (
        link.status is not Status.PENDING,
        link.status.value,
        link.created_at,
        link.expires_at,
        link.external_id is not None,
        link.external_id or "",
        link.currency,
        link.amount,
    )


@functools.cache
def _reasons_of(mask: int) -> tuple[Reason, ...]:
    # Cached: at most 2**len(Reason) tuples, shared by every decision with the same mask.
    return tuple(reason for reason in _REASONS if mask & _BITS[reason])


def _soonest_first(decisions: list[Decision]) -> tuple[Decision, ...]:
    # Two stable sorts with C-level keys instead of one on an (expiresAt, id) tuple: no
    # key tuple per decision and no Python call per key.
    decisions.sort(key=_LINK_ID)
    decisions.sort(key=_EXPIRES_AT)
    return tuple(decisions)


def _unmatched_ids(records: Sequence[Link], policies: Sequence[Policy]) -> tuple[str, ...]:
    wanted: set[str] = set()
    for policy in policies:
        if isinstance(policy, Manifest):
            wanted.update(policy.ids)
    if wanted:
        # A walk, not a set of every id: ``difference_update`` only probes ``wanted``.
        wanted.difference_update(link.id for link in records)
    return tuple(sorted(wanted))
