"""``paid_sibling`` and ``paid_twice``: exact tables, then properties over generated links."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs import (
    Duplicates,
    Exclusions,
    ExpiringWithin,
    Link,
    PaidLedger,
    PaidSiblings,
    PaidTwice,
    Policy,
    Reason,
    Scope,
    Status,
    live_external_ids,
    make_plan,
    paid_twice,
)
from tests.jobs.factories import NOW, make_link, uid

HOUR = timedelta(hours=1)
PENDING, CONFIRMED, CANCELLED = Status.PENDING, Status.CONFIRMED, Status.CANCELLED


def paid_of(links: list[Link]) -> PaidSiblings:
    """The policy as the worker builds it: CONFIRMED side filtered by the live externalIds."""
    return PaidSiblings.from_confirmed(links, wanted=live_external_ids(links, NOW))


def pending(links: list[Link]) -> list[Link]:
    return [link for link in links if link.status is PENDING]


# Each link: (number, status, externalId, expires hours from NOW); 1 is always the candidate.
SELECTION_CASES = [
    pytest.param([(1, PENDING, "o1", 1), (2, CONFIRMED, "o1", 1)], {1}, id="paid-sibling"),
    pytest.param(
        [(1, PENDING, "o1", 1), (2, CONFIRMED, "o1", -1)], {1}, id="paid-link-itself-expired"
    ),
    pytest.param([(1, PENDING, "o1", -1), (2, CONFIRMED, "o1", 1)], set(), id="sibling-expired"),
    pytest.param([(1, PENDING, "o1", 0), (2, CONFIRMED, "o1", 1)], set(), id="expires-now"),
    pytest.param([(1, PENDING, "o1", 1), (2, CANCELLED, "o1", 1)], set(), id="cancelled-only"),
    pytest.param([(1, PENDING, "o1", 1), (2, PENDING, "o1", 2)], set(), id="pending-only"),
    pytest.param([(1, PENDING, "o1", 1), (2, CONFIRMED, "O1", 1)], set(), id="case-differs"),
    pytest.param([(1, PENDING, "o1", 1), (2, CONFIRMED, "o1 ", 1)], set(), id="space-differs"),
    pytest.param([(1, PENDING, None, 1), (2, CONFIRMED, None, 1)], set(), id="both-null"),
    pytest.param([(1, PENDING, "", 1), (2, CONFIRMED, "", 1)], set(), id="both-empty"),
    pytest.param([(1, PENDING, "o1", 1), (2, CONFIRMED, "o2", 1)], set(), id="other-order"),
    pytest.param([(1, CONFIRMED, "o1", 1), (2, CONFIRMED, "o1", 1)], set(), id="paid-twice"),
    pytest.param([(1, CANCELLED, "o1", 1), (2, CONFIRMED, "o1", 1)], set(), id="cancelled"),
    pytest.param(
        [(1, PENDING, "o1", 1), (2, PENDING, "o1", 2), (3, CONFIRMED, "o1", 1)],
        {1, 2},
        id="every-live-sibling",
    ),
    pytest.param(
        [(1, PENDING, "o1", 1), (2, CANCELLED, "o1", 1), (3, CONFIRMED, "o1", 1)],
        {1},
        id="cancelled-beside-paid",
    ),
]


@pytest.mark.parametrize(("rows", "expected"), SELECTION_CASES)
def test_paid_sibling_selects_exactly_live_pending_siblings_of_a_paid_link(
    rows: list[tuple[int, Status, str | None, int]], expected: set[int]
) -> None:
    links = [
        make_link(number, status=status, external_id=external_id, expires=expires * HOUR)
        for number, status, external_id, expires in rows
    ]
    # The PENDING list, as a scan gives it; the CONFIRMED side comes separately.
    assert set(paid_of(links).select(pending(links), NOW)) == {uid(n) for n in expected}
    # Shown every record, it still selects only PENDING ones.
    assert set(paid_of(links).select(links, NOW)) == {uid(n) for n in expected}


def test_a_link_is_never_its_own_paid_sibling() -> None:
    """Paid between the two reads: its old PENDING record must not select it."""
    paid = make_link(1, status=CONFIRMED, external_id="o1")
    stale = make_link(1, external_id="o1")
    policy = PaidSiblings.from_confirmed([paid], wanted={"o1"})
    assert list(policy.select([stale], NOW)) == []
    assert policy.paid_link_for(stale) is None
    second = make_link(2, status=CONFIRMED, external_id="o1")
    both = PaidSiblings.from_confirmed([paid, second], wanted={"o1"})
    assert list(both.select([stale], NOW)) == [uid(1)]
    assert both.paid_link_for(stale) == uid(2)


def test_paid_link_for_names_the_oldest_paid_link() -> None:
    confirmed = [
        make_link(5, status=CONFIRMED, external_id="o1", created=-HOUR),
        make_link(3, status=CONFIRMED, external_id="o1", created=-2 * HOUR),
        make_link(4, status=CONFIRMED, external_id="o1", created=-2 * HOUR),
    ]
    candidate = make_link(1, external_id="o1")
    policy = PaidSiblings.from_confirmed(reversed(confirmed), wanted={"o1"})
    assert policy.paid == {"o1": (uid(3), uid(4), uid(5))}
    assert policy.paid_link_for(candidate) == uid(3)
    assert policy.paid_link_for(make_link(2, external_id="o2")) is None
    assert policy.paid_link_for(make_link(2)) is None


def test_only_wanted_externalids_are_kept() -> None:
    confirmed = [
        make_link(n, status=CONFIRMED, external_id=f"o{n}", created=-n * HOUR) for n in range(9)
    ]
    policy = PaidSiblings.from_confirmed(iter(confirmed), wanted={"o2", "o7", "o99"})
    assert policy.paid == {"o2": (uid(2),), "o7": (uid(7),)}


def test_the_lookback_leaves_older_paid_links_out() -> None:
    confirmed = [
        make_link(2, status=CONFIRMED, external_id="o1", created=-3 * HOUR),
        make_link(3, status=CONFIRMED, external_id="o1", created=-2 * HOUR),
        make_link(4, status=CONFIRMED, external_id="o2", created=-3 * HOUR),
    ]
    since = NOW - 2 * HOUR
    policy = PaidSiblings.from_confirmed(confirmed, wanted={"o1", "o2"}, since=since)
    assert policy.paid == {"o1": (uid(3),)}
    live = [make_link(10, external_id="o1"), make_link(11, external_id="o2")]
    assert list(policy.select(live, NOW)) == [uid(10)]
    assert policy.describe() == {
        "paid_sibling": {"paid_since": "2026-01-09T08:30:00Z", "paid_orders": 1}
    }
    assert paid_twice(confirmed, since=since) == []
    assert [group.external_id for group in paid_twice(confirmed)] == ["o1"]


def test_live_external_ids_are_those_of_live_pending_links() -> None:
    links = [
        make_link(1, external_id="live"),
        make_link(2, external_id="expired", expires=-HOUR),
        make_link(3, external_id="paid", status=CONFIRMED),
        make_link(4, external_id="gone", status=CANCELLED),
        make_link(5, external_id=""),
        make_link(6),
    ]
    assert live_external_ids(links, NOW) == {"live"}


@pytest.mark.parametrize(
    ("paid", "message"),
    [({"": (uid(1),)}, "non-empty externalId"), ({"o1": ()}, "non-empty externalId")],
)
def test_paid_siblings_refuses_an_empty_entry(
    paid: dict[str, tuple[str, ...]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        PaidSiblings(paid)


def test_paid_siblings_keeps_its_own_copy() -> None:
    paid = {"o1": (uid(2),)}
    policy = PaidSiblings(paid)
    paid["o2"] = (uid(3),)
    assert set(policy.paid) == {"o1"}
    assert PaidSiblings().describe() == {"paid_sibling": {"paid_since": None, "paid_orders": 0}}


def test_paid_twice_groups_orders_with_two_paid_links_sorted() -> None:
    links = [
        make_link(1, status=CONFIRMED, external_id="b", created=-HOUR),
        make_link(2, status=CONFIRMED, external_id="b", created=-2 * HOUR),
        make_link(3, status=CONFIRMED, external_id="a"),
        make_link(4, status=CONFIRMED, external_id="a"),
        make_link(5, status=CONFIRMED, external_id="a"),
        make_link(6, status=CONFIRMED, external_id="c"),
        make_link(7, status=CANCELLED, external_id="c"),
        make_link(8, status=PENDING, external_id="c"),
        make_link(9, status=CONFIRMED, external_id="C"),
        make_link(10, status=CONFIRMED),
        make_link(11, status=CONFIRMED),
        make_link(12, status=CONFIRMED, external_id=""),
        make_link(13, status=CONFIRMED, external_id=""),
        make_link(14, status=CONFIRMED, external_id="d"),
        make_link(14, status=CONFIRMED, external_id="d"),  # listed twice across pages
    ]
    by_number = {link.id: link for link in links}
    assert paid_twice(links) == [
        PaidTwice("a", tuple(by_number[uid(n)] for n in (3, 4, 5))),
        PaidTwice("b", tuple(by_number[uid(n)] for n in (2, 1))),
    ]


def test_a_ledger_fed_page_by_page_equals_one_read() -> None:
    links = [
        make_link(n, status=CONFIRMED, external_id=f"o{n % 3}", created=-n * HOUR)
        for n in range(12)
    ]
    ledger = PaidLedger({"o1", "o2"})
    for start in range(0, len(links), 5):
        ledger.add(links[start : start + 5])
    assert ledger.paid_siblings() == PaidSiblings.from_confirmed(links, wanted={"o1", "o2"})
    assert ledger.paid_twice() == paid_twice(links)
    assert PaidLedger({"o1"}, track_paid_twice=False).paid_twice() == []
    by_id = {link.id: link for link in links}
    assert ledger.confirmed_links("o1") == tuple(by_id[uid(n)] for n in (10, 7, 4, 1))
    single = PaidLedger(())
    single.add([links[3]])
    assert single.confirmed_links("o0") == (links[3],)
    assert single.confirmed_links("o1") == ()


# Properties: few distinct values, so that shared externalIds and ties are common.
MINUTE = timedelta(minutes=1)
EXTERNAL_IDS = [None, "", "o1", "O1", "o2", "o3"]
links_strategy = st.builds(
    Link,
    id=st.integers(0, 11).map(uid),
    status=st.sampled_from([PENDING, PENDING, CONFIRMED, CANCELLED]),
    external_id=st.sampled_from(EXTERNAL_IDS),
    amount=st.just("10.00"),
    currency=st.sampled_from(["MXN", "USD"]),
    created_at=st.integers(-3, 1).map(lambda n: NOW + n * MINUTE),
    expires_at=st.integers(-2, 3).map(lambda n: NOW + n * MINUTE),
)
unique_links = st.lists(links_strategy, max_size=12, unique_by=lambda link: link.id)
SETTINGS = settings(max_examples=120, deadline=None)


def selected_by_oracle(links: list[Link]) -> set[str]:
    """Selected iff PENDING, unexpired and another CONFIRMED link has its externalId."""
    return {
        link.id
        for link in links
        if link.status is PENDING
        and not link.is_expired(NOW)
        and link.external_id
        and any(
            other.status is CONFIRMED
            and other.external_id == link.external_id
            and other.id != link.id
            for other in links
        )
    }


@SETTINGS
@given(links=unique_links)
def test_a_link_is_selected_iff_a_confirmed_link_shares_its_external_id(
    links: list[Link],
) -> None:
    policy = paid_of(links)
    chosen = set(policy.select(pending(links), NOW))
    assert chosen == selected_by_oracle(links)
    by_id = {link.id: link for link in links}
    for link_id in chosen:
        assert by_id[link_id].status is PENDING
        paid_id = policy.paid_link_for(by_id[link_id])
        assert paid_id is not None
        assert by_id[paid_id].status is CONFIRMED
        assert by_id[paid_id].external_id == by_id[link_id].external_id
    # Unfiltered (every CONFIRMED link kept) selects the same: the filter only saves memory.
    everything = PaidSiblings.from_confirmed(
        links, wanted={link.external_id or "" for link in links}
    )
    assert set(everything.select(links, NOW)) == chosen


@SETTINGS
@given(links=unique_links, others=st.lists(st.sampled_from(["dup", "exp"]), max_size=2))
def test_make_plan_unions_paid_siblings_with_other_policies(
    links: list[Link], others: list[str]
) -> None:
    choices: dict[str, Policy] = {"dup": Duplicates(), "exp": ExpiringWithin(MINUTE)}
    policies = [choices[name] for name in others]
    paid = paid_of(links)
    plan = make_plan(
        pending(links), [paid, *policies], scope=Scope(), exclusions=Exclusions(), now=NOW
    )
    alone = make_plan(pending(links), policies, scope=Scope(), exclusions=Exclusions(), now=NOW)
    decisions = [*plan.cancel, *plan.skipped_expired, *plan.excluded]
    planned = {decision.link.id for decision in decisions}
    before = {decision.link.id for decision in [*alone.cancel, *alone.skipped_expired]}
    assert planned == before | selected_by_oracle(links)
    for decision in decisions:
        assert decision.link.status is PENDING
        assert (Reason.PAID_SIBLING in decision.reasons) == (
            decision.link.id in selected_by_oracle(links)
        )
        assert list(decision.reasons) == sorted(decision.reasons, key=list(Reason).index)


@SETTINGS
@given(links=unique_links, excluded=st.sampled_from([None, "o1", "o2"]))
def test_scope_and_exclusions_apply_to_paid_siblings(
    links: list[Link], excluded: str | None
) -> None:
    exclusions = Exclusions(external_ids=frozenset([] if excluded is None else [excluded]))
    plan = make_plan(
        pending(links),
        [paid_of(links)],
        scope=Scope(currencies=frozenset({"MXN"})),
        exclusions=exclusions,
        now=NOW,
    )
    chosen = selected_by_oracle(links)
    in_scope = [link for link in links if link.id in chosen and link.currency == "MXN"]
    assert {decision.link.id for decision in plan.cancel} == {
        link.id for link in in_scope if not exclusions.covers(link)
    }
    assert {decision.link.id for decision in plan.excluded} == {
        link.id for link in in_scope if exclusions.covers(link)
    }


@SETTINGS
@given(links=unique_links, data=st.data())
def test_paid_twice_groups_exactly_the_orders_with_two_confirmed_links(
    links: list[Link], data: st.DataObject
) -> None:
    """Repeated records (pages drifting) and their order change nothing."""
    confirmed_ids: dict[str, set[str]] = {}
    for link in links:
        if link.status is CONFIRMED and link.external_id:
            confirmed_ids.setdefault(link.external_id, set()).add(link.id)
    result = paid_twice(links)
    assert [group.external_id for group in result] == sorted(
        external_id for external_id, ids in confirmed_ids.items() if len(ids) >= 2
    )
    for group in result:
        assert {link.id for link in group.links} == confirmed_ids[group.external_id]
        assert len(group.links) == len(confirmed_ids[group.external_id])
        assert all(link.status is CONFIRMED for link in group.links)
        keys = [(link.created_at, link.id) for link in group.links]
        assert keys == sorted(keys)
    repeats = data.draw(st.lists(st.sampled_from(links), max_size=5)) if links else []
    shuffled = data.draw(st.permutations([*links, *repeats]))
    shuffled_ids = [
        (group.external_id, [link.id for link in group.links]) for group in paid_twice(shuffled)
    ]
    assert shuffled_ids == [
        (group.external_id, [link.id for link in group.links]) for group in result
    ]
