"""The report as finance reads it: the header, policies in words, amounts and totals, dates."""

from __future__ import annotations

import dataclasses
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from tests.report.factories import make_item, make_report, uid
from worker.outcomes import Outcome
from worker.report import Report, write_report
from worker.report._encoding import money_text

HEADER = {
    "environment": "sandbox",
    "base_url": "http://127.0.0.1:8080",
    "organization": "acme-mx",
    "initiator": "ana@ops-laptop",
    "version": "9.8.7",
    "exit_code": 4,
}


def _with_header(report: Report) -> Report:
    return dataclasses.replace(report, **HEADER)  # type: ignore[arg-type]


def _markdown(report: Report, tmp_path: Path) -> str:
    path = tmp_path / "run.md"
    write_report(report, path)
    return path.read_text(encoding="utf-8")


_ITEM_COLUMNS = (
    "ID",
    "External ID",
    "Amount",
    "Currency",
    "Expires (UTC)",
    "Created (UTC)",
    "Reasons",
    "Outcome",
    "HTTP",
    "Attempts",
    "Message",
    "Kept link",
    "Paid link",
)


def _table_rows(text: str, heading: str) -> list[list[str]]:
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows]


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        ("20366", "20,366.00"),
        ("8708.1", "8,708.10"),
        ("2589.00", "2,589.00"),
        ("1E+3", "1,000.00"),
        ("0.5", "0.50"),
        ("0", "0.00"),
        ("1234567.891", "1,234,567.891"),  # never rounded away
        ("12345678901234567890.01", "12,345,678,901,234,567,890.01"),
        ("-3.5", "-3.50"),
    ],
)
def test_amounts_read_with_two_decimals_and_thousands_separators(amount: str, shown: str) -> None:
    assert money_text(amount) == shown
    assert money_text(Decimal(amount)) == shown


def test_the_header_names_where_who_what_and_how_it_ended(tmp_path: Path) -> None:
    report = _with_header(make_report((make_item(1),), aborted="plan_over_cap"))

    text = _markdown(report, tmp_path)

    header = text.split("\n## ", 1)[0]
    assert header.splitlines()[2:] == [
        "- **Environment:** sandbox (a loopback host, not production): http://127.0.0.1:8080",
        "- **Organization:** acme-mx",
        "- **Run id:** `run-0001`",
        "- **Initiated by:** ana@ops-laptop",
        "- **Tool version:** harmony-sweeper 9.8.7",
        "- **Mode:** execute: links were cancelled",
        "- **Started:** 2026-01-09 10:30:00 UTC",
        "- **Finished:** 2026-01-09 10:30:42 UTC (after 42.5 s)",
        "- **Exit code:** 4 (safety abort)",
        "- **Stopped early:** plan\\_over\\_cap",
    ]


def test_the_json_report_carries_the_same_header_additively(tmp_path: Path) -> None:
    plain = make_report((make_item(1),))
    path = tmp_path / "run.json"

    write_report(_with_header(plain), path)

    document = json.loads(path.read_text(encoding="utf-8"))
    assert {key: document[key] for key in HEADER} == HEADER
    # Every key of the report before issue 11 keeps its name and value.
    before = plain.to_json_dict()
    assert {key: document[key] for key in before} == before
    assert list(document)[:4] == ["run_id", "mode", "started_at", "finished_at"]


def test_a_report_without_the_header_fields_leaves_them_out_of_json() -> None:
    assert not set(HEADER) & set(make_report((make_item(1),)).to_json_dict())


@pytest.mark.parametrize(
    ("policies", "line"),
    [
        ({"expiring_within": "30m"}, "- Links expiring within 30 minutes"),
        ({"expiring_within": "1h"}, "- Links expiring within 1 hour"),
        ({"expiring_within": "90s"}, "- Links expiring within 90 seconds"),
        (
            {"duplicate": "keep_newest"},
            "- All but the newest link of each externalId (duplicates; the newest is kept)",
        ),
        (
            {"created_before": "2026-01-09T10:30:00Z"},
            "- Links created before 2026-01-09 10:30 UTC",
        ),
        (
            {"scope": {"currencies": ["MXN", "USD"], "created_before": None}},
            "- Only links in MXN, USD",
        ),
        (
            {"manifest": {"file": "plan.csv", "sha256": "ab" * 32, "ids": 3, "external_ids": 1}},
            "- Links listed in plan.csv (3 ids, 1 externalIds; sha256 abababababab…)",
        ),
        (
            {"paid_sibling": {"paid_since": "2026-01-02T00:00:00Z", "paid_orders": 4}},
            "- Other live links of an order already paid (paid since 2026-01-02 00:00 UTC)",
        ),
        (
            {"exclude": {"file": "vip.csv", "sha256": None, "ids": 2, "external_ids": 0}},
            "- Never links listed in vip.csv (2 ids, 0 externalIds)",
        ),
    ],
)
def test_policies_read_as_words(tmp_path: Path, policies: dict[str, object], line: str) -> None:
    text = _markdown(make_report((), policies=policies), tmp_path)

    section = text.split("## Policies\n\n", 1)[1].split("\n\n", 1)[0]
    assert section.splitlines() == [line]


def test_unset_scope_and_exclude_say_nothing(tmp_path: Path) -> None:
    policies = {
        "expiring_within": "2h",
        "scope": {"currencies": None, "created_before": None},
        "exclude": {"file": None, "sha256": None, "ids": 0, "external_ids": 0},
    }
    text = _markdown(make_report((), policies=policies), tmp_path)

    section = text.split("## Policies\n\n", 1)[1].split("\n\n", 1)[0]
    assert section.splitlines() == ["- Links expiring within 2 hours"]


def test_amounts_are_totalled_per_outcome_and_currency_right_aligned(tmp_path: Path) -> None:
    items = (
        make_item(1, Outcome.CANCELLED, amount="20366", currency="MXN"),
        make_item(2, Outcome.CANCELLED, amount="8708.1", currency="MXN"),
        make_item(3, Outcome.CANCELLED, amount="2589.00", currency="USD"),
        make_item(4, Outcome.CONFLICT, amount="1000", currency="MXN"),
    )

    text = _markdown(make_report(items), tmp_path)

    assert "| Outcome | Currency | Links | Amount |\n|---|---|---:|---:|" in text
    assert _table_rows(text, "Amounts by outcome and currency") == [
        ["cancelled", "MXN", "2", "29,074.10"],
        ["cancelled", "USD", "1", "2,589.00"],
        ["**Total cancelled**", "", "**3**", "**29,074.10 MXN + 2,589.00 USD**"],
        ["conflict", "MXN", "1", "1,000.00"],
        ["**Total conflict**", "", "**1**", "**1,000.00 MXN**"],
        ["**All planned**", "MXN", "**3**", "**30,074.10**"],
        ["**All planned**", "USD", "**1**", "**2,589.00**"],
    ]
    [row] = [r for r in _table_rows(text, "Items") if r[0] == uid(1)]
    assert row[2] == "20,366.00"


def test_no_all_zero_rows_and_the_difference_is_explained(tmp_path: Path) -> None:
    items = (
        *(make_item(n, Outcome.WOULD_CANCEL) for n in range(1, 4)),
        make_item(4, Outcome.SKIPPED_EXPIRED),
    )

    text = _markdown(make_report(items, mode="dry-run", scanned=10), tmp_path)

    rows = _table_rows(text, "Summary")
    assert [row[0] for row in rows] == ["scanned", "planned", "would_cancel", "skipped_expired"]
    assert all(row[-1] != "0" for row in rows[2:])
    assert (
        "The policies selected 4 of the 10 PENDING links listed (6 left alone: no policy"
        " selected them, or they were out of scope or excluded). Of those, 3 would be"
        " cancelled; the other 1: 1 skipped_expired (expired before a cancel could be sent;"
        " none was sent)."
    ) in text


def test_dates_carry_the_year_and_the_zone(tmp_path: Path) -> None:
    text = _markdown(make_report((make_item(1),)), tmp_path)

    [row] = _table_rows(text, "Items")
    assert row[4:6] == ["2026-01-09 11:30 UTC", "2026-01-07 11:30 UTC"]
    assert not re.search(r"(?<!\d{4}-)\b\d{2}-\d{2} \d{2}:\d{2}\b(?! UTC)", text)


def test_a_duplicate_row_names_the_kept_link(tmp_path: Path) -> None:
    duplicate = dataclasses.replace(
        make_item(1, reasons=("duplicate",), external_id="o-1"), kept_link=uid(2)
    )
    both = dataclasses.replace(
        make_item(3, reasons=("expiring_within", "duplicate"), external_id="o-2"),
        kept_link=uid(4),
    )
    kept_but_expiring = make_item(4, external_id="o-2")
    report = make_report((duplicate, both, kept_but_expiring))

    text = _markdown(report, tmp_path)
    csv_path = tmp_path / "run.csv"
    write_report(report, csv_path)

    rows = {row[0]: row for row in _table_rows(text, "Items")}
    kept = _ITEM_COLUMNS.index("Kept link")
    assert rows[uid(1)][kept] == uid(2)
    # The kept link of o-2 is cancelled by another policy: the row says so.
    assert rows[uid(3)][kept] == f"{uid(4)} (itself planned, see its row)"
    assert rows[uid(4)][kept] == ""
    assert csv_path.read_text(encoding="utf-8").splitlines()[1].endswith(f",{uid(2)},")
    assert [item["keptLinkId"] for item in report.to_json_dict()["items"]] == [
        uid(2),
        uid(4),
        None,
    ]
