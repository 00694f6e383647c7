"""How a report looks in each format (.json, .csv, .md), and which format a path names.

The Markdown report, the one written for finance, has its own module
(``worker.report.markdown``).

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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO

from worker.errors import ConfigError
from worker.report._atomic import write_atomically
from worker.report._encoding import neutralise_formula
from worker.report.items import ITEM_KEYS
from worker.report.markdown import MarkdownReportWriter

if TYPE_CHECKING:
    from worker.report.report import Report


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
