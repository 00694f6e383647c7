"""What ``harmony-sweeper run`` does around the sweep itself, for attended and cron runs.

Validate every organization and every local path up front, take the lock, sweep (draining
on a signal), write the report (to a fallback when it cannot go where asked), push the
metrics, and name the exit code. The CLI parses and maps errors to exit codes; this runs.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from typing import Any, Literal

import anyio
import click
import structlog
from rich.console import Console

from worker.cli.deliver import write_reports
from worker.cli.exit_codes import ExitCode, exit_code_for_report, exit_code_for_signal, worst
from worker.cli.plan_view import DEFAULT_SHOW, plan_view
from worker.cli.progress import SweepProgress, summary_table
from worker.cli.terminal import TerminalConfirm, TerminalObserver
from worker.errors import ConfigError
from worker.ops.audit import AuditLog
from worker.ops.lock import exclusive_lock
from worker.ops.metrics import push_metrics
from worker.ops.preflight import check_local_paths
from worker.ops.signals import run_until_signalled
from worker.report import (
    OrgReport,
    organizations_json,
)
from worker.settings import Settings
from worker.sweep import PlanContext
from worker.sweep.organizations import OrgSweep, sweep_organizations
from worker.sweep.policies import policies_from_settings

log = structlog.get_logger("worker.cli.run")

Output = Literal["text", "json"]
"""What ``--output`` prints on stdout: nothing (text: the human view is on stderr), or
the run's summary as one JSON document."""


def plan_organizations(settings: Settings) -> tuple[OrgSweep, ...]:
    """The organizations this process sweeps (its shard's), with their policies.

    Every organization's policies are loaded and checked, not only the shard's: a config
    error fails every shard alike, before any of them sends a request.
    """
    planned = []
    for org in settings.organizations():
        policies = policies_from_settings(org.settings)
        # The runner writes the report (one document for several organizations), so that
        # a report that cannot be written where asked goes to a fallback it can name.
        org_settings = org.settings.model_copy(update={"report": ()})
        planned.append(OrgSweep(org.name, org_settings, policies))
    shard = settings.shard
    return tuple(org for org in planned if shard is None or shard.owns(org.name))


def api_keys(settings: Settings) -> list[str]:
    """Every key this run may send: what the logs must redact."""
    return [org.settings.api_key.get_secret_value() for org in settings.organizations()]


def check_attendance(settings: Settings, *, yes: bool, interactive: bool) -> None:
    """A live run needs --yes, or a terminal to confirm at; ConfigError otherwise."""
    if settings.dry_run and yes:
        raise ConfigError("--dry-run and --yes contradict each other: give one")
    if not settings.dry_run and not yes and not interactive:
        raise ConfigError(
            "refusing to cancel without --yes when no terminal is attached "
            "(use --dry-run to preview, or --yes to confirm in advance)"
        )


def log_level(settings: Settings, *, quiet: bool, verbose: bool, flag: str | None) -> str:
    """The level to log at: a flag's, else ``[logging] level`` when set, else by audience.

    At a terminal (console rendering) the default is ``warning``: a person watches the
    progress bar, and each cancel is in the audit log and the report. Off a terminal (JSON
    lines for cron and log collectors) it stays ``info``, every event as before.
    """
    given = [name for name, on in (("-q", quiet), ("-v", verbose), ("--log-level", flag)) if on]
    if len(given) > 1:
        raise ConfigError(f"{' and '.join(given)} contradict each other: give one")
    if quiet:
        return "error"
    if verbose:
        return "debug"
    if flag is not None:
        return flag
    if "level" in settings.logging.model_fields_set:
        return settings.logging.level
    renderer = settings.logging.format
    console = renderer == "console" or (renderer == "auto" and sys.stderr.isatty())
    return "warning" if console else settings.logging.level


def execute(
    settings: Settings,
    orgs: Sequence[OrgSweep],
    *,
    yes: bool,
    console: Console,
    show: int = DEFAULT_SHOW,
    output: Output = "text",
) -> ExitCode:
    """Run the sweep of ``orgs`` as the CLI does; returns the process's exit code.

    Raises ``ConfigError`` for a local path that cannot be used and ``AlreadyRunning`` for
    a held lock, both before any request; the CLI maps them to exit codes.
    """
    # Before the shard check: a bad path fails every shard alike, as a bad config does.
    check_local_paths(settings)
    if not orgs:
        log.warning("run.no_organizations", shard=str(settings.shard))
        if output == "json":
            _print_json(summary_document(settings, (), ExitCode.OK))
        return ExitCode.OK
    contexts: dict[str, PlanContext] = {}
    with ExitStack() as stack:
        if settings.lock_file is not None:
            stack.enter_context(exclusive_lock(settings.lock_file))
        audit = (
            stack.enter_context(AuditLog(settings.audit_log))
            if settings.audit_log is not None
            else None
        )
        reports, signal_number = anyio.run(
            functools.partial(_sweep, orgs, yes, console, audit, show=show, contexts=contexts)
        )
        codes = [
            exit_code_for_report(entry.report, signal_number=signal_number) for entry in reports
        ]
        # Each report says how its organization's run ended: the code is known by now.
        reports = tuple(
            OrgReport(entry.name, entry.report.with_exit_code(code))
            for entry, code in zip(reports, codes, strict=True)
        )
        # Under the lock: the next run must not start before these reports are in place.
        delivered = write_reports(settings, reports)
    where_asked = all(asked == str(written) for asked, written in delivered)
    if signal_number is not None and len(reports) < len(orgs):
        # Organizations a signal kept from starting count as interrupted too.
        codes.append(exit_code_for_signal(signal_number))
    if not where_asked:
        # The report is one for all: each organization's status (and metric) says so too.
        codes = [worst((code, ExitCode.REPORT_FALLBACK)) for code in codes]
    if settings.pushgateway is not None:
        for entry, code in zip(reports, codes, strict=False):
            if entry.report.stats is None:
                continue
            push_metrics(
                gateway=settings.pushgateway,
                job=settings.metrics_job,
                organization=entry.name,
                report=entry.report,
                stats=entry.report.stats,
                exit_code=code,
            )
    if console.is_terminal:
        _tell_the_terminal(console, settings, reports, contexts, delivered, show=show)
    code = worst(codes)
    if output == "json":
        _print_json(summary_document(settings, reports, code))
    return code


def _tell_the_terminal(
    console: Console,
    settings: Settings,
    reports: Sequence[OrgReport],
    contexts: Mapping[str, PlanContext],
    delivered: Sequence[tuple[str, str]],
    *,
    show: int,
) -> None:
    """A dry run's plan view, each organization's summary, and where each report went."""
    for entry in reports:
        context = contexts.get(entry.name)
        if entry.report.mode == "dry-run" and context is not None:
            view = plan_view(
                entry.report.items,
                context,
                show=show,
                dry_run=True,
                report=next((p for p in settings.report if p.suffix == ".json"), None),
                width=console.width,
                apply_hint=not settings.orgs,
            )
            console.print(view)
        console.print(summary_table(entry.report))
    for asked, written in delivered:
        # Plain text: a person at a terminal should not have to read a log event for it.
        where = "" if asked == written else f" (could not be written there: went to {written})"
        console.print(f"Report: {asked}{where}", markup=False, highlight=False)


def summary_document(
    settings: Settings, reports: Sequence[OrgReport], exit_code: ExitCode
) -> dict[str, Any]:
    """What ``--output json`` prints: the JSON report without its items, and the exit code.

    One organization: the report's own keys (run_id, mode, times, aborted, policies,
    summary, stats) and its ``organization`` and ``base_url``. Several: the combined
    report's shape, each organization without items. Both add ``exit_code`` and ``reports``
    (the paths asked for, maybe none).
    """
    document: dict[str, Any]
    if settings.orgs or len(reports) != 1:
        document = organizations_json(reports)
        for entry in document["organizations"]:
            entry.pop("items", None)
    else:
        (entry,) = reports
        document = {
            "organization": entry.name,
            "base_url": settings.base_url,
            **entry.report.to_json_dict(),
        }
        document.pop("items", None)
    document["exit_code"] = int(exit_code)
    document["reports"] = [str(path) for path in settings.report]
    return document


def _print_json(document: dict[str, Any]) -> None:
    # stdout is for machines: one document, nothing else, whatever stderr shows.
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


async def _sweep(
    orgs: Sequence[OrgSweep],
    yes: bool,
    console: Console,
    audit: AuditLog | None,
    *,
    show: int,
    contexts: dict[str, PlanContext],
) -> tuple[tuple[OrgReport, ...], int | None]:
    """Sweep ``orgs``; ``contexts`` is filled with each organization's plan context."""
    dry_run = all(org.settings.dry_run for org in orgs)
    with SweepProgress(console=console, enabled=console.is_terminal) as progress:
        observer = TerminalObserver(progress)

        async def main(stop: anyio.Event) -> tuple[OrgReport, ...]:
            confirm = (
                None
                if dry_run or yes
                else TerminalConfirm(console, progress, stop, observer=observer, show=show)
            )
            return await sweep_organizations(
                orgs, stop=stop, confirm=confirm, observer=observer, audit=audit
            )

        try:
            return await run_until_signalled(main)
        finally:
            contexts.update(observer.contexts)


def interactive() -> bool:
    """Whether a person can answer a confirmation prompt."""
    return sys.stdin.isatty() and sys.stderr.isatty()
