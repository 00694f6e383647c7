"""How a report looks in each format (.json, .csv, .md), and how its values become text.

The value encoders live here rather than in ``worker.report`` so that the writers need the
report's records only for type checking: ``worker.report`` imports this module to pick a
writer, and the reverse import would be a cycle.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import json
from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from worker.outcomes import Outcome

if TYPE_CHECKING:
    from worker.report._model import Report

#: The keys of one JSON item, in order; also the CSV header.
ITEM_KEYS: tuple[str, ...] = (
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
)

#: The summary's keys, in order: ``scanned``, ``planned``, then one count per outcome.
SUMMARY_KEYS: tuple[str, ...] = ("scanned", "planned", *(outcome.value for outcome in Outcome))


def utc_text(moment: dt.datetime) -> str:
    """``moment`` as ISO-8601 UTC ending in ``Z``; a naive datetime is a bug, so it raises."""
    if moment.utcoffset() is None:
        raise ValueError(f"naive datetime in a report: {moment!r}")
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def decimal_text(amount: Decimal | str) -> str:
    """``amount`` (a ``Decimal`` or its text) as plain decimal text: no exponent, no float."""
    return format(Decimal(amount), "f")


def json_ready(value: object) -> Any:  # noqa: PLR0911 (a flat type dispatch reads best)
    """``value`` with datetimes, decimals, durations, enums and paths turned into JSON types.

    Policies describe themselves with whatever types are natural to them; the report
    normalises them here rather than trusting every policy to, and refuses anything else so
    that an unserialisable value fails loudly instead of turning into a ``repr``.
    """
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, enum.Enum):
        return json_ready(value.value)
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, dt.datetime):
        return utc_text(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [json_ready(item) for item in items]
    raise TypeError(f"cannot put a {type(value).__name__} into a report: {value!r}")


class ReportWriter(Protocol):
    """Renders a report into an open text stream."""

    def write(self, report: Report, stream: TextIO) -> None:
        """Write all of ``report`` to ``stream``."""


class JsonReportWriter:
    """The contract's JSON document; ``jobs.manifest`` reads it back."""

    def write(self, report: Report, stream: TextIO) -> None:
        """Write ``report`` as indented JSON."""
        json.dump(report.to_json_dict(), stream, indent=2, ensure_ascii=False)
        stream.write("\n")


# Spreadsheets run a cell that starts with one of these as a formula (CSV injection);
# externalId, currency and message come from merchants or the API, so OWASP's advice applies:
# prefix such a cell with a single quote so that it is shown as text.
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Only text that came from outside is guarded: amounts are numbers we formatted, and a
# leading "-" there would be a sign, not a formula.
_UNTRUSTED_CSV_KEYS = frozenset({"externalId", "currency", "message"})


def neutralise_formula(cell: str) -> str:
    """``cell`` with a leading ``'`` when a spreadsheet would run it as a formula."""
    return f"'{cell}" if cell.startswith(_FORMULA_TRIGGERS) else cell


class CsvReportWriter:
    """One row per item, header ``ITEM_KEYS``, reasons joined with ``;``, None as empty."""

    def write(self, report: Report, stream: TextIO) -> None:
        """Write the items of ``report`` as CSV."""
        writer = csv.writer(stream)
        writer.writerow(ITEM_KEYS)
        for item in report.items:
            data = item.to_json_dict()
            data["reasons"] = ";".join(data["reasons"])
            row = []
            for key in ITEM_KEYS:
                value = data[key]
                cell = "" if value is None else str(value)
                row.append(neutralise_formula(cell) if key in _UNTRUSTED_CSV_KEYS else cell)
            writer.writerow(row)


# Characters that Markdown would read as syntax inside a table cell; backslash first, so the
# escapes added for the others are not escaped again. "<" and ">" stop inline HTML.
_MARKDOWN_SPECIAL = "\\`*_[]<>|~"


def markdown_cell(text: str) -> str:
    """``text`` safe inside one Markdown table cell: syntax escaped, on one line."""
    escaped = "".join(f"\\{char}" if char in _MARKDOWN_SPECIAL else char for char in text)
    return " ".join(escaped.splitlines())


def _table(header: tuple[str, ...], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


_ITEM_HEADER = (
    "ID",
    "External ID",
    "Amount",
    "Currency",
    "Expires at",
    "Created at",
    "Reasons",
    "Outcome",
    "HTTP",
    "Attempts",
    "Message",
)


class MarkdownReportWriter:
    """A report for finance: title, time span, policies, summary, totals, then every item."""

    def write(self, report: Report, stream: TextIO) -> None:
        """Write ``report`` as Markdown."""
        stream.write("\n".join(self._lines(report)) + "\n")

    def _lines(self, report: Report) -> list[str]:
        lines = [
            f"# harmony-sweeper {report.mode} report `{report.run_id}`",
            "",
            f"- Started: {utc_text(report.started_at)}",
            f"- Finished: {utc_text(report.finished_at)}",
        ]
        if report.aborted is not None:
            lines.append(f"- **Stopped early:** {markdown_cell(str(report.aborted))}")
        if report.stats is not None and report.stats.scan is not None:
            scan = report.stats.scan
            lines.append(
                f"- Scan: {scan['links_seen']} distinct PENDING links seen of"
                f" {scan['count_announced']} the server announced ({scan['pages_read']} pages"
                f" read, {scan['rereads']} re-reads)"
            )
        if report.abort_detail is not None:
            lines.append(f"- Cause: {markdown_cell(report.abort_detail)}")
        lines += ["", "## Policies", ""]
        policies = json_ready(report.policies)
        lines += [
            f"- {markdown_cell(name)}: {markdown_cell(json.dumps(value, ensure_ascii=False))}"
            for name, value in policies.items()
        ] or ["- (none)"]
        summary = report.summary.to_json_dict()
        lines += ["", "## Summary", ""]
        lines += _table(("", "Links"), [[key, str(summary[key])] for key in SUMMARY_KEYS])
        lines += ["", "## Amounts by outcome and currency", ""]
        lines += _table(("Outcome", "Currency", "Links", "Amount"), _totals(report))
        lines += ["", "## Items", ""]
        rows = []
        for item in report.items:
            data = item.to_json_dict()
            cells = [
                "" if data[key] is None else str(data[key])
                for key in ("id", "externalId", "amount", "currency", "expiresAt", "createdAt")
            ]
            rows.append(
                [markdown_cell(cell) for cell in cells]
                + [
                    markdown_cell(", ".join(data["reasons"])),
                    item.outcome.value,
                    "" if item.http_status is None else str(item.http_status),
                    str(item.attempts),
                    markdown_cell(item.message or ""),
                ]
            )
        lines += _table(_ITEM_HEADER, rows)
        return lines


def _totals(report: Report) -> list[list[str]]:
    """Link counts and amount sums per outcome and currency: currencies are never added up.

    Links known only by their id count under an empty currency and add nothing.
    """
    counts: defaultdict[tuple[str, str], int] = defaultdict(int)
    sums: defaultdict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for item in report.items:
        key = (item.outcome.value, item.currency or "")
        counts[key] += 1
        if item.amount is not None:
            sums[key] += Decimal(item.amount)
    rows = []
    for outcome, currency in sorted(counts):
        key = (outcome, currency)
        rows.append([outcome, markdown_cell(currency), str(counts[key]), decimal_text(sums[key])])
    return rows
