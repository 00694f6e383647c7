"""How a report looks in each format (.json, .csv, .md), and which format a path names.

The CLI calls ``report_format`` and checks the path (``worker.ops.preflight``: its folder must
exist and take a file) before any request, so a bad ``--report`` fails with exit 2 and
nothing sent. ``write_report`` itself still creates missing parent directories, for callers
of the Python API: the report is written after irreversible cancellations, and losing it to
a missing folder would be worse than creating one (``worker.report._atomic``).
"""

from __future__ import annotations

import csv
import enum
import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO

from worker.errors import ConfigError
from worker.report._atomic import write_atomically
from worker.report._encoding import (
    decimal_text,
    json_ready,
    markdown_cell,
    neutralise_formula,
    utc_text,
)
from worker.report.items import ITEM_KEYS
from worker.report.summary import SUMMARY_KEYS

if TYPE_CHECKING:
    from worker.report.report import Report


# How a scan ended, after its figures: a horizon scan reads a prefix, so its "seen" is short
# of "announced" by design (``worker.sweep.horizon``).
_SCAN_ENDINGS = {
    "horizon": "; stopped at the lifetime horizon: the links past it expired before the run",
    "fallback": "; read in full after the lifetime horizon failed a check",
}


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


# Only text that came from outside goes through ``neutralise_formula``: amounts are numbers we
# formatted, and a leading "-" there would be a sign, not a formula.
_UNTRUSTED_CSV_KEYS = frozenset({"externalId", "currency", "message"})


class CsvReportWriter:
    """One row per item, header ``ITEM_KEYS``, reasons joined with ``;``, None as empty."""

    def write(self, report: Report, stream: TextIO) -> None:
        """Write the items of ``report`` as CSV."""
        writer = csv.writer(stream)
        writer.writerow(ITEM_KEYS)
        writer.writerows(self.rows(report))

    def rows(self, report: Report) -> Iterator[list[str]]:
        """The cells of each item's row, in ``ITEM_KEYS`` order, before CSV quoting."""
        for item in report.items:
            data = item.to_json_dict()
            data["reasons"] = ";".join(data["reasons"])
            row = []
            for key in ITEM_KEYS:
                value = data[key]
                cell = "" if value is None else str(value)
                row.append(neutralise_formula(cell) if key in _UNTRUSTED_CSV_KEYS else cell)
            yield row


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
                + _SCAN_ENDINGS.get(str(scan.get("ended")), "")
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


class ReportFormat(enum.StrEnum):
    """A report file format, named by its file extension."""

    JSON = "json"
    CSV = "csv"
    MARKDOWN = "md"


_WRITERS: dict[ReportFormat, ReportWriter] = {
    ReportFormat.JSON: JsonReportWriter(),
    ReportFormat.CSV: CsvReportWriter(),
    ReportFormat.MARKDOWN: MarkdownReportWriter(),
}


def report_format(path: Path) -> ReportFormat:
    """The format ``path``'s extension names; any other extension is a ``ConfigError``."""
    extension = path.suffix.lower().removeprefix(".")
    try:
        return ReportFormat(extension)
    except ValueError:
        supported = ", ".join(f".{fmt.value}" for fmt in ReportFormat)
        raise ConfigError(
            f"report file {path}: unsupported extension {path.suffix or '(none)'!r};"
            f" use one of {supported}"
        ) from None


def write_report(report: Report, path: Path) -> None:
    """Write ``report`` to ``path`` in the format its extension names, atomically."""
    write_atomically(path, report_renderer(report, path))


def report_renderer(report: Report, path: Path) -> Callable[[TextIO], None]:
    """What writes ``report`` into a stream in the format ``path``'s extension names."""
    writer = _WRITERS[report_format(path)]
    return lambda stream: writer.write(report, stream)
