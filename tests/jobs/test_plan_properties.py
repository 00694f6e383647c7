"""The planner's invariants, over generated links, policies, scopes and exclusions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from jobs import (
    CreatedBefore,
    Decision,
    Duplicates,
    Exclusions,
    ExpiringWithin,
    Link,
    Manifest,
    Plan,
    Policy,
    Reason,
    Scope,
    Status,
    make_plan,
)
from tests.jobs.factories import NOW, uid

# Few distinct values on purpose: ties in createdAt, links expiring exactly at NOW or at
# the window's edge, and shared externalIds are then common, not rare.
MINUTE = timedelta(minutes=1)
links_strategy = st.builds(
    Link,
    id=st.integers(0, 11).map(uid),
    status=st.sampled_from([Status.PENDING] * 4 + [Status.CONFIRMED, Status.CANCELLED]),
    external_id=st.sampled_from([None, "o1", "o2", "o3"]),
    amount=st.just("10.00"),
    currency=st.sampled_from(["MXN", "USD"]),
    created_at=st.integers(-3, 1).map(lambda n: NOW + n * MINUTE),
    expires_at=st.integers(-2, 3).map(lambda n: NOW + n * MINUTE),
)
unique_links = st.lists(links_strategy, max_size=12, unique_by=lambda link: link.id)
policy_choices: list[Policy] = [
    ExpiringWithin(MINUTE),
    ExpiringWithin(2 * MINUTE),
    Duplicates(),
    CreatedBefore(NOW - MINUTE),
    Manifest(ids=frozenset({uid(1), uid(3), uid(20)})),
    Manifest(external_ids=frozenset({"o2"})),
]
policies_strategy = st.lists(st.sampled_from(policy_choices), max_size=4)
scopes = st.sampled_from(
    [Scope(), Scope(currencies=frozenset({"MXN"})), Scope(created_before=NOW - 2 * MINUTE)]
)
exclusions_strategy = st.builds(
    Exclusions,
    ids=st.frozensets(st.integers(0, 11).map(uid), max_size=3),
    external_ids=st.frozensets(st.sampled_from(["o1", "o2", "o3"]), max_size=1),
)
SETTINGS = settings(max_examples=80, deadline=None)


def plan_of(
    links: Sequence[Link], policies: Sequence[Policy], scope: Scope, exclusions: Exclusions
) -> Plan:
    return make_plan(links, policies, scope=scope, exclusions=exclusions, now=NOW)


def every_decision(plan: Plan) -> list[Decision]:
    return [*plan.cancel, *plan.skipped_expired, *plan.excluded]


def expected_reasons(
    links: list[Link], policies: Sequence[Policy]
) -> dict[str, tuple[Reason, ...]]:
    """The oracle: ask each policy directly, as the planner is documented to."""
    pending = sorted(
        (link for link in links if link.status is Status.PENDING), key=lambda link: link.id
    )
    chosen: dict[str, set[Reason]] = {}
    for policy in policies:
        for link_id in policy.select(pending, NOW):
            chosen.setdefault(link_id, set()).add(policy.reason)
    return {
        link_id: tuple(reason for reason in Reason if reason in reasons)
        for link_id, reasons in chosen.items()
    }


@SETTINGS
@given(links=unique_links, others=policies_strategy, scope=scopes, exclusions=exclusions_strategy)
def test_the_newest_of_a_duplicate_group_is_never_cancelled_as_a_duplicate(
    links: list[Link], others: list[Policy], scope: Scope, exclusions: Exclusions
) -> None:
    live = [link for link in links if link.status is Status.PENDING and not link.is_expired(NOW)]
    newest: dict[str, Link] = {}
    for link in live:
        if link.external_id:
            best = newest.get(link.external_id)
            if best is None or (link.created_at, link.id) > (best.created_at, best.id):
                newest[link.external_id] = link
    survivors = {link.id for link in newest.values()}

    alone = plan_of(links, [Duplicates()], scope, exclusions)
    assert survivors.isdisjoint(decision.link.id for decision in every_decision(alone))
    # Every other live member of a group is selected.
    grouped = {link.id for link in live if link.external_id} - survivors
    in_scope = {link.id for link in links if scope.contains(link)}
    assert {decision.link.id for decision in every_decision(alone)} == grouped & in_scope

    mixed = plan_of(links, [Duplicates(), *others], scope, exclusions)
    for decision in mixed.cancel:
        if Reason.DUPLICATE in decision.reasons:
            assert decision.link.id not in survivors


@SETTINGS
@given(links=unique_links, policies=policies_strategy, scope=scopes, exclusions=exclusions_strategy)
def test_only_live_pending_unexcluded_links_are_cancelled(
    links: list[Link], policies: list[Policy], scope: Scope, exclusions: Exclusions
) -> None:
    result = plan_of(links, policies, scope, exclusions)
    for decision in result.cancel:
        assert decision.link.status is Status.PENDING
        assert not decision.link.is_expired(NOW)
        assert not exclusions.covers(decision.link)
        assert scope.contains(decision.link)
    for decision in result.skipped_expired:
        assert decision.link.is_expired(NOW)
    for decision in result.excluded:
        assert exclusions.covers(decision.link)


@SETTINGS
@given(links=unique_links, policies=policies_strategy, scope=scopes, exclusions=exclusions_strategy)
def test_every_selected_link_is_in_exactly_one_bucket_with_every_reason(
    links: list[Link], policies: list[Policy], scope: Scope, exclusions: Exclusions
) -> None:
    result = plan_of(links, policies, scope, exclusions)
    by_id = {link.id: link for link in links}
    wanted = {
        link_id: reasons
        for link_id, reasons in expected_reasons(links, policies).items()
        if link_id in by_id and scope.contains(by_id[link_id])
    }
    decisions = every_decision(result)
    assert len(decisions) == len({decision.link.id for decision in decisions})
    assert {decision.link.id: decision.reasons for decision in decisions} == wanted
    for bucket in (result.cancel, result.skipped_expired, result.excluded):
        keys = [(decision.link.expires_at, decision.link.id) for decision in bucket]
        assert keys == sorted(keys)


@SETTINGS
@given(
    links=st.lists(links_strategy, max_size=14),
    policies=policies_strategy,
    scope=scopes,
    exclusions=exclusions_strategy,
    data=st.data(),
)
def test_the_plan_does_not_depend_on_page_order_or_repeats(
    links: list[Link],
    policies: list[Policy],
    scope: Scope,
    exclusions: Exclusions,
    data: st.DataObject,
) -> None:
    """Records may share an id and even differ (page drift); only the multiset matters."""
    expected = plan_of(links, policies, scope, exclusions)
    shuffled = data.draw(st.permutations(links), label="shuffled")
    assert plan_of(shuffled, policies, scope, exclusions) == expected
    assert plan_of(list(reversed(links)), policies, scope, exclusions) == expected
    repeats = (
        data.draw(st.lists(st.sampled_from(links), max_size=5), label="repeats") if links else []
    )
    repeated = data.draw(st.permutations([*links, *repeats]), label="repeated")
    assert plan_of(repeated, policies, scope, exclusions) == expected


@SETTINGS
@given(links=unique_links, data=st.data())
def test_a_pending_copy_never_revives_a_final_record(
    links: list[Link], data: st.DataObject
) -> None:
    final = [link for link in links if link.status is not Status.PENDING]
    stale = [replace(link, status=Status.PENDING) for link in final]
    mixed = data.draw(st.permutations([*links, *stale]))
    result = plan_of(mixed, [CreatedBefore(NOW + timedelta(days=1))], Scope(), Exclusions())
    final_ids = {link.id for link in final}
    assert final_ids.isdisjoint(decision.link.id for decision in every_decision(result))


@SETTINGS
@given(links=unique_links, policies=policies_strategy, scope=scopes, exclusions=exclusions_strategy)
def test_a_promise_of_unique_ids_changes_nothing_but_the_work(
    links: list[Link], policies: list[Policy], scope: Scope, exclusions: Exclusions
) -> None:
    """``unique_ids=True`` (a scan's links) plans as the general path does."""
    promised = make_plan(
        links, policies, scope=scope, exclusions=exclusions, now=NOW, unique_ids=True
    )
    assert promised == plan_of(links, policies, scope, exclusions)
    assert (
        make_plan(
            iter(links), policies, scope=scope, exclusions=exclusions, now=NOW, unique_ids=True
        )
        == promised
    )


@given(
    links=unique_links,
    policies=policies_strategy,
    scope=scopes,
    exclusions=exclusions_strategy,
    margin=st.integers(1, 150).map(lambda n: n * timedelta(seconds=1)),
)
@SETTINGS
def test_an_expiry_margin_only_moves_links_from_cancel_to_skipped_expired(
    links: list[Link],
    policies: list[Policy],
    scope: Scope,
    exclusions: Exclusions,
    margin: timedelta,
) -> None:
    plain = plan_of(links, policies, scope, exclusions)
    careful = make_plan(
        links, policies, scope=scope, exclusions=exclusions, now=NOW, expiry_margin=margin
    )
    assert careful.excluded == plain.excluded
    assert set(careful.cancel) <= set(plain.cancel)
    assert set(careful.skipped_expired) == set(plain.skipped_expired) | (
        set(plain.cancel) - set(careful.cancel)
    )
    assert all(d.link.expires_at > NOW + margin for d in careful.cancel)
    assert all(d.link.expires_at <= NOW + margin for d in careful.skipped_expired)
