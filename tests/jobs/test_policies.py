"""Each policy's edges, one table per policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from jobs import (
    CreatedBefore,
    Duplicates,
    ExpiringWithin,
    Link,
    Manifest,
    PaidSiblings,
    Policy,
    Reason,
    Scope,
    Status,
)
from tests.jobs.factories import NOW, make_link, uid

MICRO = timedelta(microseconds=1)
WINDOW = timedelta(minutes=30)


def selected(policy: Policy, links: list[Link]) -> set[str]:
    return set(policy.select(links, NOW))


@pytest.mark.parametrize(
    ("expires", "status", "expected"),
    [
        pytest.param(-timedelta(seconds=1), Status.PENDING, False, id="already-expired"),
        pytest.param(timedelta(0), Status.PENDING, False, id="expires-exactly-now"),
        pytest.param(MICRO, Status.PENDING, True, id="just-after-now"),
        pytest.param(WINDOW, Status.PENDING, True, id="exactly-now-plus-window"),
        pytest.param(WINDOW + MICRO, Status.PENDING, False, id="just-past-window"),
        pytest.param(timedelta(minutes=10), Status.CONFIRMED, False, id="confirmed"),
        pytest.param(timedelta(minutes=10), Status.CANCELLED, False, id="cancelled"),
    ],
)
def test_expiring_within_window_edges(
    expires: timedelta, status: Status, *, expected: bool
) -> None:
    link = make_link(1, expires=expires, status=status)
    assert selected(ExpiringWithin(WINDOW), [link]) == ({link.id} if expected else set())


@pytest.mark.parametrize("window", [timedelta(0), -timedelta(seconds=1)])
def test_expiring_within_refuses_a_non_positive_window(window: timedelta) -> None:
    with pytest.raises(ValueError, match="positive window"):
        ExpiringWithin(window)


@pytest.mark.parametrize(
    ("window", "shown"),
    [
        (timedelta(minutes=30), "30m"),
        (timedelta(hours=2), "2h"),
        (timedelta(seconds=3600), "1h"),
        (timedelta(seconds=90), "90s"),
        (timedelta(minutes=61), "61m"),
        (timedelta(days=2), "48h"),
        (timedelta(seconds=1.5), "1.5s"),
    ],
)
def test_expiring_within_describes_its_window_like_the_cli(window: timedelta, shown: str) -> None:
    assert ExpiringWithin(window).describe() == {"expiring_within": shown}


# Each link: (number, externalId, createdAt minutes from NOW, status, expires minutes from NOW).
DUPLICATE_CASES = [
    pytest.param(
        [(1, "o1", -10, Status.PENDING, 60), (2, "o1", -5, Status.PENDING, 60)],
        {1},
        id="older-of-two",
    ),
    pytest.param(
        [
            (1, "o1", -10, Status.PENDING, 60),
            (2, "o1", -5, Status.PENDING, 60),
            (3, "o1", -1, Status.PENDING, 60),
        ],
        {1, 2},
        id="all-but-newest-of-three",
    ),
    pytest.param(
        [(7, "o1", -5, Status.PENDING, 60), (3, "o1", -5, Status.PENDING, 60)],
        {3},
        id="tie-keeps-greater-id",
    ),
    pytest.param(
        [
            (1, "o1", -5, Status.PENDING, 60),
            (2, "o1", -5, Status.PENDING, 60),
            (3, "o1", -9, Status.PENDING, 60),
        ],
        {1, 3},
        id="tie-at-the-top-of-three",
    ),
    pytest.param(
        [(1, None, -10, Status.PENDING, 60), (2, None, -5, Status.PENDING, 60)],
        set(),
        id="null-never-grouped",
    ),
    pytest.param(
        [(1, "", -10, Status.PENDING, 60), (2, "", -5, Status.PENDING, 60)],
        set(),
        id="empty-never-grouped",
    ),
    pytest.param(
        [(1, "o1", -10, Status.PENDING, 60), (2, "o2", -5, Status.PENDING, 60)],
        set(),
        id="different-orders",
    ),
    pytest.param(
        [(1, "o1", -10, Status.PENDING, 60), (2, "O1", -5, Status.PENDING, 60)],
        set(),
        id="case-sensitive",
    ),
    pytest.param(
        [(1, "o1", -10, Status.PENDING, 60), (2, "o1", -5, Status.PENDING, -1)],
        set(),
        id="expired-newest-does-not-count",
    ),
    pytest.param(
        [(1, "o1", -10, Status.PENDING, 60), (2, "o1", -5, Status.PENDING, 0)],
        set(),
        id="newest-expiring-exactly-now",
    ),
    pytest.param(
        [(1, "o1", -10, Status.PENDING, -1), (2, "o1", -5, Status.PENDING, 60)],
        set(),
        id="expired-older-not-selected",
    ),
    pytest.param(
        [(1, "o1", -10, Status.PENDING, 60), (2, "o1", -5, Status.CONFIRMED, 60)],
        set(),
        id="paid-newest-does-not-count",
    ),
    pytest.param(
        [
            (1, "o1", -10, Status.PENDING, 60),
            (2, "o1", -8, Status.PENDING, 60),
            (3, "o1", -5, Status.CANCELLED, 60),
        ],
        {1},
        id="cancelled-newest-ignored",
    ),
    pytest.param(
        [(1, "o1", -10, Status.PENDING, 60), (1, "o1", -10, Status.PENDING, 60)],
        set(),
        id="same-link-listed-twice",
    ),
]


@pytest.mark.parametrize(("specs", "expected"), DUPLICATE_CASES)
def test_duplicates_keep_the_newest_live_link(
    specs: list[tuple[int, str | None, int, Status, int]], expected: set[int]
) -> None:
    links = [
        make_link(
            number,
            external_id=external_id,
            created=timedelta(minutes=created),
            status=status,
            expires=timedelta(minutes=expires),
        )
        for number, external_id, created, status, expires in specs
    ]
    assert sorted(Duplicates().select(links, NOW)) == sorted(uid(n) for n in expected)
    assert sorted(Duplicates().select(list(reversed(links)), NOW)) == sorted(
        uid(n) for n in expected
    )


@pytest.mark.parametrize(
    ("created", "status", "expires", "expected"),
    [
        pytest.param(-MICRO, Status.PENDING, timedelta(hours=1), True, id="just-before"),
        pytest.param(
            timedelta(0), Status.PENDING, timedelta(hours=1), False, id="exactly-at-cutoff"
        ),
        pytest.param(MICRO, Status.PENDING, timedelta(hours=1), False, id="after"),
        pytest.param(
            -timedelta(days=3),
            Status.PENDING,
            -timedelta(days=1),
            True,
            id="expired-still-selected",
        ),
        pytest.param(
            -timedelta(days=3), Status.CONFIRMED, timedelta(hours=1), False, id="confirmed"
        ),
    ],
)
def test_created_before_is_strict(
    created: timedelta, status: Status, expires: timedelta, *, expected: bool
) -> None:
    link = make_link(1, created=created, status=status, expires=expires)
    assert selected(CreatedBefore(NOW), [link]) == ({link.id} if expected else set())


def test_created_before_compares_instants_across_offsets() -> None:
    cutoff = datetime(2026, 1, 9, 4, 30, tzinfo=timezone(timedelta(hours=-6)))  # == NOW
    policy = CreatedBefore(cutoff)
    assert selected(policy, [make_link(1, created=-MICRO), make_link(2, created=timedelta(0))]) == {
        uid(1)
    }
    assert policy.describe() == {"created_before": "2026-01-09T10:30:00Z"}


def test_created_before_refuses_a_naive_cutoff() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CreatedBefore(datetime(2026, 1, 1))  # naive on purpose


def test_duplicates_describe() -> None:
    assert Duplicates().describe() == {"duplicate": "keep_newest"}


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        pytest.param(make_link(1), True, id="listed-id"),
        pytest.param(make_link(9, external_id="order-7"), True, id="listed-external-id"),
        pytest.param(make_link(9, external_id="order-8"), False, id="unlisted"),
        pytest.param(make_link(9), False, id="null-external-id"),
        pytest.param(
            make_link(1, expires=-timedelta(hours=1)), True, id="expired-left-to-the-planner"
        ),
        pytest.param(make_link(1, status=Status.CONFIRMED), False, id="confirmed"),
        pytest.param(
            make_link(9, external_id="order-7", status=Status.CANCELLED), False, id="cancelled"
        ),
    ],
)
def test_manifest_selects_listed_pending_links(link: Link, *, expected: bool) -> None:
    manifest = Manifest(ids=frozenset({uid(1)}), external_ids=frozenset({"order-7"}))
    assert selected(manifest, [link]) == ({link.id} if expected else set())


@pytest.mark.parametrize(
    ("manifest", "ids_only"),
    [
        (Manifest(ids=frozenset({uid(1)})), True),
        (Manifest(ids=frozenset({uid(1)}), external_ids=frozenset({"o"})), False),
        (Manifest(external_ids=frozenset({"o"})), False),
        (Manifest(), True),
    ],
)
def test_manifest_ids_only(manifest: Manifest, *, ids_only: bool) -> None:
    assert manifest.ids_only is ids_only


@pytest.mark.parametrize(
    "bad_id",
    ["../x", "ABCDEF00-0000-4000-8000-000000000001", f"{{{uid(1)}}}", f" {uid(1)}", "0" * 32],
)
def test_manifest_built_in_code_still_requires_canonical_ids(bad_id: str) -> None:
    with pytest.raises(ValueError, match="canonical lower-case UUIDs"):
        Manifest(ids=frozenset({bad_id}))


def test_manifest_describe_without_a_file() -> None:
    manifest = Manifest(ids=frozenset({uid(1), uid(2)}))
    assert manifest.describe() == {
        "manifest": {"file": None, "sha256": None, "ids": 2, "external_ids": 0}
    }


@pytest.mark.parametrize(
    ("scope", "link", "expected"),
    [
        pytest.param(Scope(), make_link(1, currency="XYZ"), True, id="default-contains-all"),
        pytest.param(Scope(currencies=frozenset({"MXN"})), make_link(1), True, id="currency-in"),
        pytest.param(Scope(currencies=frozenset({"USD"})), make_link(1), False, id="currency-out"),
        pytest.param(
            Scope(created_before=NOW), make_link(1, created=-MICRO), True, id="created-before-in"
        ),
        pytest.param(
            Scope(created_before=NOW), make_link(1, created=timedelta(0)), False, id="at-cutoff-out"
        ),
        pytest.param(
            Scope(currencies=frozenset({"MXN"}), created_before=NOW),
            make_link(1, currency="USD", created=-timedelta(days=1)),
            False,
            id="every-filter-must-pass",
        ),
    ],
)
def test_scope_contains(scope: Scope, link: Link, *, expected: bool) -> None:
    assert scope.contains(link) is expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"currencies": frozenset()}, "must not be empty"),
        ({"created_before": datetime(2026, 1, 1)}, "timezone-aware"),
    ],
)
def test_scope_refuses_meaningless_filters(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Scope(**kwargs)  # type: ignore[arg-type]


def test_scope_describe() -> None:
    scope = Scope(currencies=frozenset({"USD", "MXN"}), created_before=NOW)
    assert scope.describe() == {
        "scope": {"currencies": ["MXN", "USD"], "created_before": "2026-01-09T10:30:00Z"}
    }
    assert Scope().describe() == {"scope": {"currencies": None, "created_before": None}}


def test_every_policy_names_its_reason() -> None:
    policies: list[Policy] = [
        ExpiringWithin(WINDOW),
        Duplicates(),
        CreatedBefore(datetime(2026, 1, 1, tzinfo=UTC)),
        Manifest(),
        PaidSiblings(),
    ]
    assert [policy.reason for policy in policies] == list(Reason)
    for policy in policies:
        assert list(policy.describe()) == [policy.reason.value]
