"""The planner on hand-picked cases: buckets, order, reasons, unmatched ids, dedupe."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar

import pytest

from jobs import (
    CreatedBefore,
    Decision,
    Duplicates,
    Exclusions,
    ExpiringWithin,
    Link,
    Manifest,
    PaidSiblings,
    Plan,
    Policy,
    Reason,
    Scope,
    Status,
    make_plan,
)
from tests.jobs.factories import NOW, make_link, uid

HOUR = timedelta(hours=1)


def plan(
    links: Sequence[Link] | Iterator[Link],
    policies: Sequence[Policy],
    *,
    scope: Scope | None = None,
    exclusions: Exclusions | None = None,
) -> Plan:
    return make_plan(
        links,
        policies,
        scope=scope or Scope(),
        exclusions=exclusions or Exclusions(),
        now=NOW,
    )


def ids(decisions: tuple[Decision, ...]) -> list[str]:
    return [decision.link.id for decision in decisions]


@dataclass
class SelectsGiven:
    """A test policy that selects fixed ids, and records the links it was shown."""

    chosen: frozenset[str]
    seen: list[list[str]] = field(default_factory=list)
    reason: ClassVar[Reason] = Reason.MANIFEST

    def select(self, links: Sequence[Link], now: datetime) -> Iterator[str]:
        self.seen.append([link.id for link in links])
        return iter(sorted(self.chosen))

    def describe(self) -> dict[str, object]:
        return {self.reason.value: sorted(self.chosen)}


def test_each_selected_link_lands_in_one_bucket() -> None:
    live = make_link(1, expires=HOUR)
    expired = make_link(2, expires=-HOUR)
    excluded_by_id = make_link(3)
    excluded_by_external_id = make_link(4, external_id="keep-me")
    excluded_and_expired = make_link(5, expires=-HOUR)
    out_of_scope = make_link(6, currency="USD")
    unselected = make_link(7)
    links = [live, expired, excluded_by_id, excluded_by_external_id, excluded_and_expired]
    result = plan(
        [*links, out_of_scope, unselected],
        [Manifest(ids=frozenset({uid(n) for n in range(1, 7)}))],
        scope=Scope(currencies=frozenset({"MXN"})),
        exclusions=Exclusions(ids=frozenset({uid(3), uid(5)}), external_ids=frozenset({"keep-me"})),
    )
    assert ids(result.cancel) == [live.id]
    assert ids(result.skipped_expired) == [expired.id]
    assert ids(result.excluded) == [
        excluded_and_expired.id,
        excluded_by_id.id,
        excluded_by_external_id.id,
    ]
    assert result.unmatched_ids == ()


def test_expiring_exactly_now_is_skipped_not_cancelled() -> None:
    link = make_link(1, expires=timedelta(0))
    result = plan([link], [CreatedBefore(NOW)])
    assert ids(result.skipped_expired) == [link.id]
    assert result.cancel == ()


SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("margin", "skipped", "cancelled"),
    [
        (timedelta(0), [1], [2, 3, 4, 5]),
        (5 * SECOND, [1, 2, 3], [4, 5]),
        (2 * HOUR, [1, 2, 3, 4, 5], []),
    ],
)
def test_a_link_expiring_within_the_margin_is_skipped_not_cancelled(
    margin: timedelta, skipped: list[int], cancelled: list[int]
) -> None:
    links = [
        make_link(1, expires=timedelta(0)),
        make_link(2, expires=4 * SECOND),
        make_link(3, expires=5 * SECOND),  # now + margin is expired, as now is
        make_link(4, expires=5 * SECOND + timedelta(milliseconds=1)),
        make_link(5, expires=HOUR),
    ]
    result = make_plan(
        links,
        [CreatedBefore(NOW)],
        scope=Scope(),
        exclusions=Exclusions(),
        now=NOW,
        expiry_margin=margin,
    )
    assert ids(result.skipped_expired) == [uid(n) for n in skipped]
    assert ids(result.cancel) == [uid(n) for n in cancelled]


def test_the_margin_moves_the_expiry_check_not_the_policies_now() -> None:
    # Selected by the window from the real now; a policy given now + margin would miss the
    # first link (already "expired") and take in the last one (beyond the window).
    soon = make_link(1, expires=3 * SECOND)
    later = make_link(2, expires=10 * SECOND)
    beyond = make_link(3, expires=12 * SECOND)
    result = make_plan(
        [soon, later, beyond],
        [ExpiringWithin(10 * SECOND)],
        scope=Scope(),
        exclusions=Exclusions(),
        now=NOW,
        expiry_margin=5 * SECOND,
    )
    assert result.skipped_expired == (Decision(soon, (Reason.EXPIRING_WITHIN,)),)
    assert result.cancel == (Decision(later, (Reason.EXPIRING_WITHIN,)),)


def test_a_negative_margin_is_refused() -> None:
    with pytest.raises(ValueError, match="expiry_margin"):
        make_plan(
            [make_link(1)],
            [CreatedBefore(NOW)],
            scope=Scope(),
            exclusions=Exclusions(),
            now=NOW,
            expiry_margin=-SECOND,
        )


def test_cancel_is_ordered_soonest_expiring_first_then_by_id() -> None:
    links = [
        make_link(4, expires=2 * HOUR),
        make_link(3, expires=HOUR),
        make_link(9, expires=HOUR),
        make_link(1, expires=3 * HOUR),
        make_link(2, expires=HOUR),
    ]
    result = plan(links, [CreatedBefore(NOW)])
    assert ids(result.cancel) == [uid(2), uid(3), uid(9), uid(4), uid(1)]


def test_a_link_selected_twice_carries_every_reason_in_enum_order() -> None:
    older = make_link(1, external_id="o1", created=-2 * HOUR, expires=timedelta(minutes=10))
    newer = make_link(2, external_id="o1", created=-HOUR, expires=timedelta(minutes=20))
    manifest = Manifest(ids=frozenset({older.id}))
    paid = PaidSiblings({"o1": (uid(3),)})
    policies: list[Policy] = [
        manifest,
        paid,
        CreatedBefore(NOW),
        Duplicates(),
        ExpiringWithin(HOUR),
    ]
    for order in (policies, list(reversed(policies))):
        result = plan([newer, older], order)
        assert result.cancel == (
            # The duplicate names the link kept for its externalId.
            Decision(older, tuple(Reason), kept_id=newer.id),
            Decision(newer, (Reason.EXPIRING_WITHIN, Reason.CREATED_BEFORE, Reason.PAID_SIBLING)),
        )


def test_non_pending_links_are_never_planned_even_if_a_policy_names_them() -> None:
    paid = make_link(1, status=Status.CONFIRMED)
    cancelled = make_link(2, status=Status.CANCELLED)
    live = make_link(3)
    policy = SelectsGiven(frozenset({paid.id, cancelled.id, live.id, uid(99)}))
    result = plan([paid, cancelled, live], [policy])
    assert ids(result.cancel) == [live.id]
    assert result.skipped_expired == result.excluded == ()
    assert policy.seen == [[live.id]]


def test_policies_see_each_pending_link_once_in_the_order_they_came() -> None:
    links = [make_link(n) for n in (5, 2, 9, 2, 7)]
    policy = SelectsGiven(frozenset())
    plan(iter(links), [policy])
    assert policy.seen == [[uid(5), uid(2), uid(9), uid(7)]]


def test_records_of_one_id_count_once() -> None:
    link = make_link(1)
    result = plan([link, link, link], [CreatedBefore(NOW)])
    assert result.cancel == (Decision(link, (Reason.CREATED_BEFORE,)),)


@pytest.mark.parametrize("status", [Status.CONFIRMED, Status.CANCELLED])
def test_a_final_status_wins_over_a_stale_pending_record(status: Status) -> None:
    stale = make_link(1)
    final = make_link(1, status=status)
    for links in ([stale, final], [final, stale]):
        assert plan(links, [CreatedBefore(NOW)]) == Plan()


def test_differing_pending_records_resolve_the_same_whatever_the_order() -> None:
    one = make_link(1, expires=HOUR)
    other = make_link(1, expires=2 * HOUR)
    first = plan([one, other], [CreatedBefore(NOW)])
    assert first == plan([other, one], [CreatedBefore(NOW)])
    assert len(first.cancel) == 1


def test_unmatched_manifest_ids_are_sorted_and_skip_any_link_seen() -> None:
    seen_paid = make_link(5, status=Status.CONFIRMED)
    seen_live = make_link(1)
    manifest = Manifest(ids=frozenset({uid(9), uid(1), uid(5), uid(3)}))
    other = Manifest(ids=frozenset({uid(7)}), external_ids=frozenset({"x"}))
    result = plan([seen_live, seen_paid], [manifest, other])
    assert result.unmatched_ids == (uid(3), uid(7), uid(9))
    assert ids(result.cancel) == [seen_live.id]


def test_no_policy_plans_nothing() -> None:
    assert plan([make_link(1)], []) == Plan()


def test_scope_narrows_the_union_before_exclusions() -> None:
    old_usd = make_link(1, currency="USD", created=-2 * HOUR)
    old_mxn = make_link(2, created=-2 * HOUR)
    new_mxn = make_link(3, created=timedelta(0))
    result = plan(
        [old_usd, old_mxn, new_mxn],
        [Manifest(ids=frozenset({uid(1), uid(2), uid(3)}))],
        scope=Scope(currencies=frozenset({"MXN"}), created_before=NOW - HOUR),
        exclusions=Exclusions(ids=frozenset({uid(1)})),
    )
    assert ids(result.cancel) == [old_mxn.id]
    assert result.excluded == ()  # out of scope first: never selected, so never "excluded"


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        make_plan(
            [],
            [],
            scope=Scope(),
            exclusions=Exclusions(),
            now=datetime(2026, 1, 9),  # naive on purpose
        )
