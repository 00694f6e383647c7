"""The plan view's words and sums: policies as a person reads them, money to two decimals."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.report.factories import id_only_item, make_item
from worker.cli.plan_view import apply_command, confirm_question, policies_in_words


@pytest.mark.parametrize(
    ("described", "words"),
    [
        ({"expiring_within": "30m"}, "expiring within 30m"),
        ({"duplicate": "keep_newest"}, "duplicates of an externalId (the newest kept)"),
        ({"created_before": "2026-01-09T10:30:00Z"}, "created before 2026-01-09T10:30:00Z"),
        ({"manifest": {"file": "plan.json", "ids": 3}}, "listed in plan.json"),
        (
            {
                "expiring_within": "2h",
                "scope": {"currencies": ["MXN", "USD"], "created_before": None},
                "exclude": {"file": None, "sha256": None, "ids": 0, "external_ids": 0},
            },
            "expiring within 2h; only in MXN, USD",
        ),
        (
            {"duplicate": "keep_newest", "exclude": {"file": "vip.csv", "ids": 2}},
            "duplicates of an externalId (the newest kept); never the links vip.csv lists",
        ),
    ],
)
def test_policies_read_as_words(described: dict[str, object], words: str) -> None:
    assert policies_in_words(described) == words


def test_the_question_sums_each_currency_exactly_to_two_decimals() -> None:
    items = (
        make_item(1, amount="1234567", currency="MXN"),
        make_item(2, amount="0.1", currency="MXN"),
        make_item(3, amount="20", currency="USD"),
        id_only_item(4),  # an id alone has no amount: counted, not summed
    )

    question = confirm_question(items, "https://api.harmony.compago.com")

    assert question == (
        "This cannot be undone. Cancel 4 links (MXN 1,234,567.10; USD 20.00) "
        "on api.harmony.compago.com?"
    )


@pytest.mark.parametrize(
    ("base_url", "report", "command"),
    [
        (
            "https://api.harmony.compago.com",
            "plan.json",
            "harmony-sweeper run --manifest plan.json --yes",
        ),
        (
            "http://127.0.0.1:8080",
            "out/plan.JSON",
            "harmony-sweeper run --base-url http://127.0.0.1:8080 --manifest out/plan.JSON --yes",
        ),
        ("https://api.harmony.compago.com", "plan.md", "add --report plan.json"),
        ("https://api.harmony.compago.com", None, "add --report plan.json"),
    ],
)
def test_the_apply_command_uses_a_json_report_or_says_to_write_one(
    base_url: str, report: str | None, command: str
) -> None:
    assert command in apply_command(base_url, None if report is None else Path(report))
