"""Several organizations in one run: each its own sweep, limiter and report section.

One organization's failure never stops the others: ``sweep`` reports expected failures
(a refused key, a safety abort) in its report instead of raising. The process's exit code
is the worst of theirs (``worker.cli.exit_codes.worst``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any, TextIO

import anyio
import structlog

from worker.ops.audit import AuditLog
from worker.report import Report, ReportFormat, report_format, write_atomically
from worker.report.writers import (
    ITEM_KEYS,
    SUMMARY_KEYS,
    CsvReportWriter,
    MarkdownReportWriter,
    utc_text,
)
from worker.settings import Settings
from worker.sweep._run import Confirm, SweepObserver, sweep
from worker.sweep.policies import PolicySet

log = structlog.get_logger("worker.sweep.organizations")

MAX_PARALLEL_ORGS = 4
"""Organizations swept at once; each has its own limiter, so they do not slow each other."""


@dataclass(frozen=True, slots=True)
class OrgSweep:
    """One organization's part of the run, validated before any request."""

    name: str
    settings: Settings
    policies: PolicySet


@dataclass(frozen=True, slots=True)
class OrgReport:
    """One organization's report."""

    name: str
    report: Report


async def sweep_organizations(
    orgs: Sequence[OrgSweep],
    *,
    stop: anyio.Event,
    confirm: Confirm | None = None,
    observer: SweepObserver | None = None,
    audit: AuditLog | None = None,
) -> tuple[OrgReport, ...]:
    """Sweep each organization; in parallel, but one at a time when a person must confirm."""
    results: dict[str, Report] = {}
    limiter = anyio.CapacityLimiter(1 if confirm is not None else MAX_PARALLEL_ORGS)

    async def one(org: OrgSweep) -> None:
        async with limiter:
            if stop.is_set():
                return
            structlog.contextvars.bind_contextvars(organization=org.name)
            results[org.name] = await sweep(
                org.settings,
                org.policies,
                stop=stop,
                confirm=confirm,
                observer=observer,
                audit=audit,
            )

    async with anyio.create_task_group() as tg:
        for org in orgs:
            tg.start_soon(one, org)
    return tuple(OrgReport(org.name, results[org.name]) for org in orgs if org.name in results)


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
        for entry in reports:
            section = StringIO()
            CsvReportWriter().write(entry.report, section)
            rows = list(csv.reader(StringIO(section.getvalue())))[1:]
            writer.writerows((entry.name, *row) for row in rows)
    else:
        stream.write(f"# harmony-sweeper report: {len(reports)} organizations\n")
        for entry in reports:
            section = StringIO()
            MarkdownReportWriter().write(entry.report, section)
            stream.write(f"\n# Organization {entry.name}\n\n")
            for line in section.getvalue().splitlines():
                stream.write(("#" + line if line.startswith("#") else line) + "\n")
