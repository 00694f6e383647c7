"""The report records and their JSON shape (the public contract)."""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.report.factories import NOW, make_item, make_report, mixed_items, uid
from worker.outcomes import Outcome
from worker.report import ITEM_KEYS, SUMMARY_KEYS, ReportItem, Summary, utc_text
from worker.report._encoding import json_ready

CONTRACT_SUMMARY_KEYS = {
    "scanned",
    "planned",
    "cancelled",
    "would_cancel",
    "conflict",
    "not_found",
    "failed",
    "skipped_expired",
}


def test_summary_counts_each_outcome() -> None:
    summary = Summary.from_items(mixed_items(), scanned=1000)

    assert summary == Summary(
        scanned=1000,
        planned=8,
        cancelled=1,
        would_cancel=1,
        conflict=1,
        not_found=2,
        failed=1,
        skipped_expired=1,
        not_attempted=1,
    )


@given(st.lists(st.sampled_from(Outcome), max_size=40), st.integers(min_value=0))
def test_summary_accounts_for_every_planned_link(outcomes: list[Outcome], scanned: int) -> None:
    items = [make_item(number, outcome) for number, outcome in enumerate(outcomes)]

    counts = Summary.from_items(items, scanned=scanned).to_json_dict()

    assert counts["planned"] == len(items)
    assert sum(counts[outcome.value] for outcome in Outcome) == counts["planned"]
    assert counts["scanned"] == scanned


def test_summary_keys_cover_the_contract() -> None:
    assert set(SUMMARY_KEYS) >= CONTRACT_SUMMARY_KEYS
    assert set(SUMMARY_KEYS) == {"scanned", "planned"} | {outcome.value for outcome in Outcome}


def test_item_json_uses_the_contract_keys_and_text_for_money() -> None:
    item = make_item(
        2,
        Outcome.CONFLICT,
        external_id="order-2",
        amount="1E+3",
        reasons=("expiring_within", "duplicate"),
        http_status=400,
        attempts=1,
        message="refused",
    )

    assert item.to_json_dict() == {
        "id": uid(2),
        "externalId": "order-2",
        "amount": "1000",
        "currency": "MXN",
        "expiresAt": "2026-01-09T11:30:00Z",
        "createdAt": "2026-01-07T11:30:00Z",
        "reasons": ["expiring_within", "duplicate"],
        "outcome": "conflict",
        "http_status": 400,
        "attempts": 1,
        "message": "refused",
        "keptLinkId": None,  # added by issue 11: set for a duplicate's row
        "paidLinkId": None,  # added by issue 13: set for a paid sibling's row
    }
    assert tuple(item.to_json_dict()) == ITEM_KEYS


@pytest.mark.parametrize("item", mixed_items(), ids=lambda item: item.outcome.value)
def test_the_audit_fields_are_the_report_json_of_their_keys(item: ReportItem) -> None:
    # audit_fields() is written out for speed; it must stay the report's own JSON.
    keys = ("id", "externalId", "amount", "currency", "reasons", "attempts")
    assert item.audit_fields() == item.to_json_dict(keys)
    assert list(item.audit_fields()) == list(keys)


def test_report_json_has_aborted_only_when_set() -> None:
    plain = make_report(mixed_items()).to_json_dict()
    stopped = make_report(mixed_items(), aborted="interrupted").to_json_dict()

    assert "aborted" not in plain
    assert stopped["aborted"] == "interrupted"
    assert set(plain) == {
        "run_id",
        "mode",
        "started_at",
        "finished_at",
        "policies",
        "summary",
        "items",
    }
    assert plain["started_at"] == "2026-01-09T10:30:00Z"
    assert plain["finished_at"] == "2026-01-09T10:30:42.500000Z"


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 1, 9, 10, 30, tzinfo=UTC), "2026-01-09T10:30:00Z"),
        (
            datetime(2026, 1, 9, 4, 30, tzinfo=timezone(timedelta(hours=-6))),
            "2026-01-09T10:30:00Z",
        ),
        (datetime(2026, 1, 9, 10, 30, 0, 1, tzinfo=UTC), "2026-01-09T10:30:00.000001Z"),
    ],
)
def test_timestamps_are_utc_with_z(moment: datetime, text: str) -> None:
    assert utc_text(moment) == text


def test_a_naive_timestamp_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        utc_text(datetime(2026, 1, 9, 10, 30))


class _Colour(enum.StrEnum):
    RED = "red"


def test_policies_are_made_json_ready() -> None:
    described = {
        "created_before": {"cutoff": NOW, "amount": Decimal("0.10")},
        "expiring_within": {"window": timedelta(hours=2)},
        "manifest": {"path": PurePosixPath("/srv/finance/approved.json"), "ids": (uid(1), uid(2))},
        "flags": {"colour": _Colour.RED, "on": True, "none": None, "tags": frozenset({"b", "a"})},
    }

    assert json_ready(described) == {
        "created_before": {"cutoff": "2026-01-09T10:30:00Z", "amount": "0.10"},
        "expiring_within": {"window": 7200.0},
        "manifest": {"path": "/srv/finance/approved.json", "ids": [uid(1), uid(2)]},
        "flags": {"colour": "red", "on": True, "none": None, "tags": ["a", "b"]},
    }


def test_an_unserialisable_policy_value_fails_loudly() -> None:
    with pytest.raises(TypeError, match="object"):
        json_ready({"policy": object()})
