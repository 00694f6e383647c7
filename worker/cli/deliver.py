"""Writing the run's reports: each format asked for, atomically, and never lost.

A report that cannot go where ``--report`` asked goes to a fallback (beside the path, the temp
directory, at last a log line on stderr) and says exit 7 there, as the process will.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

import structlog

from worker.cli.exit_codes import ExitCode, worst
from worker.report import (
    OrgReport,
    Report,
    fallback_directories,
    organizations_json,
    organizations_renderer,
    report_renderer,
    write_atomically,
    write_fallback,
)
from worker.settings import Settings

log = structlog.get_logger(__name__)

__all__ = ["deliver_report", "write_reports"]


def write_reports(settings: Settings, reports: Sequence[OrgReport]) -> list[tuple[str, str]]:
    """Write each report the settings ask for; ``(asked, written to)`` for each, in order.

    Every format renders the same reports, so all the files describe one plan. A report that
    cannot go where asked goes to a fallback and says exit 7 there, as the process will.
    """
    if not settings.report or not (settings.orgs or reports):
        return []
    fallen = tuple(
        OrgReport(entry.name, entry.report.with_exit_code(_fallback_code(entry.report)))
        for entry in reports
    )
    delivered = []
    for path in settings.report:
        render, _ = _renderer(settings, reports, path)
        fallback_render, fallback_document = _renderer(settings, fallen, path)
        written = _deliver(path, render, fallback_document, fallback_render=fallback_render)
        delivered.append((str(path), written))
    log.info("report.written", paths=[written for _, written in delivered])
    return delivered


def _fallback_code(report: Report) -> ExitCode:
    """The code a run whose report went to a fallback exits with (``worst`` ranks 7)."""
    return worst((ExitCode(report.exit_code or ExitCode.OK), ExitCode.REPORT_FALLBACK))


def _renderer(
    settings: Settings, reports: Sequence[OrgReport], path: Path
) -> tuple[Callable[[TextIO], None], Callable[[], object]]:
    """What writes ``reports`` in the format ``path`` names, and their JSON document."""
    if settings.orgs:
        document = lambda: organizations_json(reports)  # noqa: E731 (built only if needed)
        return organizations_renderer(reports, path), document
    (entry,) = reports
    return report_renderer(entry.report, path), entry.report.to_json_dict


def deliver_report(
    path: Path, render: Callable[[TextIO], None], document: Callable[[], object]
) -> bool:
    """Write the report to ``path``, else to the first fallback that takes it; say where.

    The cancels it records cannot be undone, so the outcome must survive a full disk: after
    the files, the last resort is the JSON document itself, as one log line on stderr.
    ``report.fallback`` is logged at critical, the top level: no ``[logging] level`` hides it.
    Returns whether the report went where asked.
    """
    return _deliver(path, render, document) == str(path)


def _deliver(
    path: Path,
    render: Callable[[TextIO], None],
    document: Callable[[], object],
    *,
    fallback_render: Callable[[TextIO], None] | None = None,
) -> str:
    """``deliver_report``, returning where the report went: ``path``, a fallback, "stderr".

    ``fallback_render`` (default ``render``) writes the fallback copies: the report that
    says exit 7.
    """
    try:
        write_atomically(path, render)
    except OSError as exc:
        log.error("report.write_failed", path=str(path), error=_reason(exc))
    else:
        return str(path)
    for directory in fallback_directories(path):
        try:
            written = write_fallback(path, directory, fallback_render or render)
        except OSError as exc:
            log.error("report.write_failed", path=str(directory), error=_reason(exc))
            continue
        log.critical("report.fallback", path=str(path), written_to=str(written))
        return str(written)
    log.critical("report.fallback", path=str(path), written_to="stderr", report=document())
    return "stderr"


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
