"""The combined report of several organizations, pinned byte for byte where it is a contract."""

from __future__ import annotations

import json
from pathlib import Path

from tests.report.factories import make_item, make_report, mixed_items, uid
from worker.outcomes import Outcome
from worker.report import OrgReport, write_organizations_report

# Text from outside that the CSV must quote (comma, quote, line breaks) or neutralise.
AWKWARD = make_item(
    9,
    Outcome.FAILED,
    external_id='=cmd|"a, b"',
    currency="-MXN",
    http_status=503,
    attempts=2,
    message='line one\r\nline "two", end',
)


def _reports() -> tuple[OrgReport, ...]:
    return (
        OrgReport("acme-mx", make_report(mixed_items()[:3])),
        OrgReport("globex, s.a.", make_report((AWKWARD,))),
        OrgReport("initech", make_report(())),
    )


EXPECTED_CSV = (
    "organization,id,externalId,amount,currency,expiresAt,createdAt,reasons,outcome,"
    "http_status,attempts,message,keptLinkId,paidLinkId\r\n"
    f"acme-mx,{uid(1)},order-1,100.00,MXN,2026-01-09T11:30:00Z,2026-01-07T11:30:00Z,"
    "expiring_within,cancelled,200,1,,,\r\n"
    f"acme-mx,{uid(2)},order-2,1000,MXN,2026-01-09T11:30:00Z,2026-01-07T11:30:00Z,"
    "expiring_within;duplicate,conflict,400,1,refused (400): the customer paid first (CONFIRMED),,"
    "\r\n"
    f"acme-mx,{uid(3)},,100.00,USD,2026-01-09T11:30:00Z,2026-01-07T11:30:00Z,"
    "expiring_within,not_found,404,1,,,\r\n"
    f'"globex, s.a.",{uid(9)},"\'=cmd|""a, b""",100.00,\'-MXN,2026-01-09T11:30:00Z,'
    '2026-01-07T11:30:00Z,expiring_within,failed,503,2,"line one\r\nline ""two"", end",,\r\n'
)


def test_combined_csv_is_each_organizations_rows_behind_its_name(tmp_path: Path) -> None:
    path = tmp_path / "orgs.csv"

    write_organizations_report(_reports(), path)

    assert path.read_bytes() == EXPECTED_CSV.encode()


def test_combined_csv_of_no_organization_is_its_header(tmp_path: Path) -> None:
    path = tmp_path / "orgs.csv"

    write_organizations_report((), path)

    assert path.read_bytes() == EXPECTED_CSV.split("\r\n", 1)[0].encode() + b"\r\n"


def test_combined_json_totals_the_organizations(tmp_path: Path) -> None:
    path = tmp_path / "orgs.json"

    write_organizations_report(_reports(), path)

    document = json.loads(path.read_text(encoding="utf-8"))
    assert [entry["organization"] for entry in document["organizations"]] == [
        "acme-mx",
        "globex, s.a.",
        "initech",
    ]
    assert document["summary"]["planned"] == 4
    assert document["summary"]["failed"] == 1
    assert document["organizations"][1]["items"][0]["externalId"] == '=cmd|"a, b"'


def test_combined_markdown_demotes_each_organizations_headings(tmp_path: Path) -> None:
    path = tmp_path / "orgs.md"

    write_organizations_report(_reports(), path)

    text = path.read_text(encoding="utf-8")
    assert text.startswith("# harmony-sweeper report: 3 organizations\n\n# Organization acme-mx\n")
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings[1:4] == [
        "# Organization acme-mx",
        "## harmony-sweeper execute report `run-0001`",
        "### Policies",
    ]
    assert f'| {uid(9)} | =cmd\\|"a, b" | 100.00 | -MXN |' in text  # escaped, on one line
    assert text.count("# Organization ") == 3
