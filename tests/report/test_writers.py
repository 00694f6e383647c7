"""Report files: contents per format, the JSON contract round trip, escaping, atomic writes."""

from __future__ import annotations

import csv
import io
import json
import re
import stat
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from jobs.manifest import load_manifest
from jobs.reasons import Reason
from tests.report.factories import id_only_item, make_item, make_report, mixed_items, uid
from worker.errors import ConfigError
from worker.outcomes import Outcome
from worker.report import ITEM_KEYS, ReportFormat, ReportItem, report_format, write_report

CONTRACT_TOP_KEYS = {"run_id", "mode", "started_at", "finished_at", "policies", "summary", "items"}
CONTRACT_ITEM_KEYS = [
    "id",
    "externalId",
    "amount",
    "currency",
    "expiresAt",
    "createdAt",
    "reasons",
    "outcome",
    "http_status",
    "attempts",
    "message",
    "keptLinkId",  # added by issue 11, at the end
    "paidLinkId",  # added by issue 13, at the end
]

# (id, outcome, amount) per item, read back from each format by its own means; the amount
# as a number, since Markdown shows it for people (1,000.00) and JSON and CSV as plain text.
Row = tuple[str, str, Decimal | None]


def _amount(text: str | None) -> Decimal | None:
    return Decimal(text.replace(",", "")) if text else None


def _rows_from_json(text: str) -> list[Row]:
    return [(i["id"], i["outcome"], _amount(i["amount"])) for i in json.loads(text)["items"]]


def _rows_from_csv(text: str) -> list[Row]:
    rows = csv.DictReader(io.StringIO(text))
    return [(r["id"], r["outcome"], _amount(r["amount"])) for r in rows]


def _markdown_cells(line: str) -> list[str]:
    """The cells of one Markdown table row, split on pipes that are not escaped."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def _markdown_item_rows(text: str) -> list[list[str]]:
    items = text.split("## Items", 1)[1]
    rows = [line for line in items.splitlines() if line.startswith("|")]
    return [_markdown_cells(line) for line in rows[2:]]  # skip the header and its rule


def _rows_from_markdown(text: str) -> list[Row]:
    return [(cells[0], cells[7], _amount(cells[2])) for cells in _markdown_item_rows(text)]


READERS: dict[str, Callable[[str], list[Row]]] = {
    "json": _rows_from_json,
    "csv": _rows_from_csv,
    "md": _rows_from_markdown,
}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("run.json", ReportFormat.JSON),
        ("run.csv", ReportFormat.CSV),
        ("run.md", ReportFormat.MARKDOWN),
        ("RUN.JSON", ReportFormat.JSON),
        ("2026-01-09.run.md", ReportFormat.MARKDOWN),
    ],
)
def test_format_follows_the_extension(name: str, expected: ReportFormat) -> None:
    assert report_format(Path("reports") / name) is expected


@pytest.mark.parametrize("name", ["run.txt", "run", "run.json.bak", "run.yaml", "run."])
def test_an_unknown_extension_is_a_config_error_naming_the_path(name: str) -> None:
    path = Path("reports") / name

    with pytest.raises(ConfigError) as caught:
        report_format(path)

    message = str(caught.value)
    assert str(path) in message
    assert ".json" in message
    assert ".csv" in message
    assert ".md" in message


@pytest.mark.parametrize("extension", sorted(READERS))
def test_every_item_is_in_the_file(tmp_path: Path, extension: str) -> None:
    items = mixed_items()
    path = tmp_path / f"run.{extension}"

    write_report(make_report(items), path)

    rows = READERS[extension](path.read_text(encoding="utf-8"))
    assert rows == [(i.id, i.outcome.value, _amount(i.amount)) for i in items]


@pytest.mark.parametrize("extension", sorted(READERS))
def test_an_empty_plan_still_writes_a_readable_file(tmp_path: Path, extension: str) -> None:
    path = tmp_path / f"run.{extension}"

    write_report(make_report((), scanned=0), path)

    assert READERS[extension](path.read_text(encoding="utf-8")) == []


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _item_from_json(data: dict[str, Any]) -> ReportItem:
    """Reads an item back the way a consumer of the contract would."""
    return ReportItem(
        id=data["id"],
        external_id=data["externalId"],
        amount=data["amount"],
        currency=data["currency"],
        expires_at=_moment(data["expiresAt"]),
        created_at=_moment(data["createdAt"]),
        reasons=tuple(data["reasons"]),
        outcome=Outcome(data["outcome"]),
        http_status=data["http_status"],
        attempts=data["attempts"],
        message=data["message"],
    )


@pytest.mark.parametrize("aborted", [None, "interrupted"])
def test_json_round_trips_and_keeps_the_contract(tmp_path: Path, aborted: str | None) -> None:
    report = make_report(mixed_items(), aborted=aborted)
    path = tmp_path / "run.json"

    write_report(report, path)
    data = json.loads(path.read_text(encoding="utf-8"))

    expected_top = CONTRACT_TOP_KEYS | ({"aborted"} if aborted else set())
    assert set(data) == expected_top
    assert data == report.to_json_dict()
    assert data["mode"] in {"dry-run", "execute"}
    assert data["summary"]["planned"] == len(data["items"])
    for item in data["items"]:
        assert list(item) == CONTRACT_ITEM_KEYS
        if item["amount"] is not None:  # None only for a link known by its id alone
            assert isinstance(item["amount"], str)
            assert item["expiresAt"].endswith("Z")
            assert item["createdAt"].endswith("Z")
        assert set(item["reasons"]) <= {reason.value for reason in Reason}
    # Amounts come back as the plain decimal text the report writes ("1E+3" as "1000").
    plain = tuple(
        replace(i, amount=None if i.amount is None else format(Decimal(i.amount), "f"))
        for i in report.items
    )
    assert tuple(_item_from_json(item) for item in data["items"]) == plain
    assert datetime.fromisoformat(data["started_at"]) == report.started_at
    assert datetime.fromisoformat(data["finished_at"]) == report.finished_at


def test_json_keeps_every_digit_of_an_amount(tmp_path: Path) -> None:
    amount = "12345678901234567890.0100"
    path = tmp_path / "run.json"

    write_report(make_report((make_item(1, amount=amount),)), path)

    text = path.read_text(encoding="utf-8")
    assert '"amount": "12345678901234567890.0100"' in text
    assert json.loads(text)["items"][0]["amount"] == amount


def test_a_link_known_only_by_id_is_null_in_json_and_empty_elsewhere(tmp_path: Path) -> None:
    report = make_report((id_only_item(8),))
    json_path, csv_path, md_path = (tmp_path / f"run.{ext}" for ext in ("json", "csv", "md"))

    for path in (json_path, csv_path, md_path):
        write_report(report, path)

    [item] = json.loads(json_path.read_text(encoding="utf-8"))["items"]
    assert item["amount"] is None
    assert item["currency"] is None
    assert item["expiresAt"] is None
    assert item["createdAt"] is None
    with csv_path.open(newline="", encoding="utf-8") as stream:
        row = next(csv.DictReader(stream))
    assert (row["amount"], row["currency"], row["expiresAt"]) == ("", "", "")
    [cells] = _markdown_item_rows(md_path.read_text(encoding="utf-8"))
    assert cells[:6] == [uid(8), "", "", "", "", ""]
    assert "| not_found |  | 1 | 0.00 |" in md_path.read_text(encoding="utf-8")


def test_csv_header_is_the_item_keys_with_reasons_joined(tmp_path: Path) -> None:
    item = make_item(2, Outcome.CONFLICT, reasons=("expiring_within", "duplicate"))
    path = tmp_path / "run.csv"

    write_report(make_report((item,)), path)

    with path.open(newline="", encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    assert tuple(rows[0]) == ITEM_KEYS
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["reasons"] == "expiring_within;duplicate"
    assert row["externalId"] == ""  # None
    assert row["message"] == ""
    assert row["http_status"] == ""


FORMULAS = ['=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1:A9)", "\tcmd", "\rcmd"]


@pytest.mark.parametrize("payload", FORMULAS)
def test_csv_neutralises_formulas_in_text_from_outside(tmp_path: Path, payload: str) -> None:
    item = make_item(1, Outcome.FAILED, external_id=payload, currency=payload, message=payload)
    path = tmp_path / "run.csv"

    write_report(make_report((item,)), path)

    with path.open(newline="", encoding="utf-8") as stream:
        row = next(csv.DictReader(stream))
    assert row["externalId"] == f"'{payload}"
    assert row["currency"] == f"'{payload}"
    assert row["message"] == f"'{payload}"
    assert row["id"] == uid(1)


def test_csv_leaves_harmless_text_alone(tmp_path: Path) -> None:
    item = make_item(1, external_id="order=1", message="HTTP 503 - retry later")
    path = tmp_path / "run.csv"

    write_report(make_report((item,)), path)

    with path.open(newline="", encoding="utf-8") as stream:
        row = next(csv.DictReader(stream))
    assert row["externalId"] == "order=1"
    assert row["message"] == "HTTP 503 - retry later"


def test_markdown_escapes_cells_so_rows_keep_their_shape(tmp_path: Path) -> None:
    item = make_item(
        1,
        Outcome.CONFLICT,
        external_id="a|b <script>x</script> *bold*",
        message="first line\nsecond | line",
    )
    path = tmp_path / "run.md"

    write_report(make_report((item,)), path)

    text = path.read_text(encoding="utf-8")
    [cells] = _markdown_item_rows(text)
    assert len(cells) == len(ITEM_KEYS)
    assert cells[1] == r"a\|b \<script\>x\</script\> \*bold\*"
    assert cells[10] == r"first line second \| line"
    assert "<script>" not in text


def test_markdown_is_a_report_for_finance(tmp_path: Path) -> None:
    # Issue 11 changed the Markdown layout (header as labelled lines, readable UTC times,
    # policies in words, formatted amounts with totals): this pins the new one.
    items = (
        make_item(1, Outcome.WOULD_CANCEL, amount="100.50"),
        make_item(2, Outcome.WOULD_CANCEL, amount="0.50"),
        make_item(3, Outcome.WOULD_CANCEL, amount="7", currency="USD"),
        make_item(4, Outcome.SKIPPED_EXPIRED),
    )
    path = tmp_path / "run.md"

    write_report(make_report(items, mode="dry-run", aborted="interrupted"), path)

    text = path.read_text(encoding="utf-8")
    assert text.startswith("# harmony-sweeper dry-run report `run-0001`\n")
    assert "- **Started:** 2026-01-09 10:30:00 UTC" in text
    assert "- **Finished:** 2026-01-09 10:30:42 UTC (after 42.5 s)" in text
    assert "- **Stopped early:** interrupted" in text
    assert '- expiring\\_within: {"window": "2h"}' in text  # a shape no words exist for
    assert "| would_cancel | would be cancelled (dry run: nothing was sent) | 3 |" in text
    assert "| planned | selected by policy; each ends in one outcome below | 4 |" in text
    # Amounts are totalled per outcome and currency, never across currencies.
    assert "| would_cancel | MXN | 2 | 101.00 |" in text
    assert "| would_cancel | USD | 1 | 7.00 |" in text


@pytest.mark.parametrize("extension", sorted(READERS))
def test_write_leaves_no_temp_file_and_replaces_the_old_report(
    tmp_path: Path, extension: str
) -> None:
    path = tmp_path / f"run.{extension}"
    path.write_text("an older report\n", encoding="utf-8")

    write_report(make_report(mixed_items()), path)

    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    assert "an older report" not in path.read_text(encoding="utf-8")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("extension", ["json", "md"])
def test_a_failed_write_keeps_the_old_report_and_no_temp_file(
    tmp_path: Path, extension: str
) -> None:
    path = tmp_path / f"run.{extension}"
    path.write_text("an older report\n", encoding="utf-8")
    broken = make_report(mixed_items(), policies={"policy": object()})

    with pytest.raises(TypeError):
        write_report(broken, path)

    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    assert path.read_text(encoding="utf-8") == "an older report\n"


def test_write_creates_missing_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "reports" / "2026" / "run.json"

    write_report(make_report(mixed_items()), path)

    assert json.loads(path.read_text(encoding="utf-8"))["run_id"] == "run-0001"


def test_an_unknown_extension_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        write_report(make_report(mixed_items()), tmp_path / "run.xlsx")

    assert list(tmp_path.iterdir()) == []


def test_a_dry_run_report_reads_back_as_the_manifest_finance_approved(tmp_path: Path) -> None:
    items = (
        make_item(1, Outcome.WOULD_CANCEL, external_id="=cmd|' /C calc'!A0"),
        make_item(2, Outcome.SKIPPED_EXPIRED),
        make_item(3, Outcome.WOULD_CANCEL, reasons=("duplicate", "created_before")),
    )
    path = tmp_path / "approved.json"
    write_report(make_report(items, mode="dry-run"), path)

    manifest = load_manifest(path)

    assert manifest.ids == {uid(1), uid(3)}
    assert manifest.external_ids == frozenset()
