"""The combined report of several organizations: totals, then each organization's own.

The format follows the extension, as for one organization. The CSV and Markdown forms are
each organization's own report with an ``organization`` column or heading added.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any, TextIO

from worker.report._atomic import write_atomically
from worker.report._encoding import utc_text
from worker.report.items import ITEM_KEYS
from worker.report.markdown import MarkdownReportWriter
from worker.report.report import Report
from worker.report.summary import SUMMARY_KEYS
from worker.report.writers import CsvReportWriter, ReportFormat, report_format


@dataclass(frozen=True, slots=True)
class OrgReport:
    """One organization's report."""

    name: str
    report: Report


def organizations_json(reports: Sequence[OrgReport]) -> dict[str, Any]:
    """The combined JSON document: totals, then each organization's own report."""
    totals = dict.fromkeys(SUMMARY_KEYS, 0)
    for entry in reports:
        for key, value in entry.report.summary.to_json_dict().items():
            totals[key] += value
    return {
        "mode": reports[0].report.mode if reports else None,
        "started_at": min((utc_text(r.report.started_at) for r in reports), default=None),
        "finished_at": max((utc_text(r.report.finished_at) for r in reports), default=None),
        "summary": totals,
        "organizations": [
            {"organization": entry.name, **entry.report.to_json_dict()} for entry in reports
        ],
    }


def write_organizations_report(reports: Sequence[OrgReport], path: Path) -> None:
    """Write the combined report; the format follows the extension, as for one organization."""
    write_atomically(path, organizations_renderer(reports, path))


def organizations_renderer(reports: Sequence[OrgReport], path: Path) -> Callable[[TextIO], None]:
    """What writes the combined report into a stream in the format ``path`` names."""
    fmt = report_format(path)
    return lambda stream: _render(reports, fmt, stream)


def _render(reports: Sequence[OrgReport], fmt: ReportFormat, stream: TextIO) -> None:
    if fmt is ReportFormat.JSON:
        json.dump(organizations_json(reports), stream, indent=2, ensure_ascii=False)
        stream.write("\n")
    elif fmt is ReportFormat.CSV:
        writer = csv.writer(stream)
        writer.writerow(("organization", *ITEM_KEYS))
        rows = CsvReportWriter().rows
        for entry in reports:
            writer.writerows([entry.name, *row] for row in rows(entry.report))
    else:
        stream.write(f"# harmony-sweeper report: {len(reports)} organizations\n")
        for entry in reports:
            section = StringIO()
            MarkdownReportWriter().write(entry.report, section)
            stream.write(f"\n# Organization {entry.name}\n\n")
            for line in section.getvalue().splitlines():
                stream.write(("#" + line if line.startswith("#") else line) + "\n")
