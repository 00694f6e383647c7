"""What ``harmony-sweeper run`` does around the sweep itself, for attended and cron runs.

Validate every organization up front, take the lock, sweep (draining on a signal), write
the report, push the metrics, and name the exit code. The CLI parses; this runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from contextlib import ExitStack

import anyio
import structlog
from rich.console import Console

from worker.audit import AuditLog
from worker.errors import ConfigError
from worker.exit_codes import ExitCode, exit_code_for_report, exit_code_for_signal, worst
from worker.lock import AlreadyRunning, exclusive_lock
from worker.metrics import push_metrics
from worker.organizations import (
    OrgReport,
    OrgSweep,
    sweep_organizations,
    write_organizations_report,
)
from worker.policies import policies_from_settings
from worker.progress import SweepProgress, summary_table
from worker.settings import Settings
from worker.signals import run_until_signalled
from worker.terminal import TerminalConfirm, TerminalObserver

log = structlog.get_logger("worker.runner")


def plan_organizations(settings: Settings) -> tuple[OrgSweep, ...]:
    """The organizations this process sweeps (its shard's), with their policies.

    Every organization's policies are loaded and checked, not only the shard's: a config
    error fails every shard alike, before any of them sends a request.
    """
    several = bool(settings.orgs)
    planned = []
    for org in settings.organizations():
        policies = policies_from_settings(org.settings)
        # With several organizations the report is one document, written by the runner.
        org_settings = org.settings.model_copy(update={"report": None}) if several else org.settings
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


def execute(
    settings: Settings, orgs: Sequence[OrgSweep], *, yes: bool, console: Console
) -> ExitCode:
    """Run the sweep of ``orgs`` as the CLI does; returns the process's exit code."""
    if not orgs:
        log.warning("run.no_organizations", shard=str(settings.shard))
        return ExitCode.OK
    try:
        with ExitStack() as stack:
            if settings.lock_file is not None:
                stack.enter_context(exclusive_lock(settings.lock_file))
            audit = (
                stack.enter_context(AuditLog(settings.audit_log))
                if settings.audit_log is not None
                else None
            )
            reports, signal_number = anyio.run(_sweep, orgs, yes, console, audit)
    except AlreadyRunning as exc:
        log.warning("run.locked", lock_file=str(settings.lock_file), error=str(exc))
        return ExitCode.LOCKED
    if settings.orgs and settings.report is not None:
        write_organizations_report(reports, settings.report)
    codes = [exit_code_for_report(entry.report, signal_number=signal_number) for entry in reports]
    if signal_number is not None and len(reports) < len(orgs):
        # Organizations a signal kept from starting count as interrupted too.
        codes.append(exit_code_for_signal(signal_number))
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
        for entry in reports:
            console.print(summary_table(entry.report))
    return worst(codes)


async def _sweep(
    orgs: Sequence[OrgSweep], yes: bool, console: Console, audit: AuditLog | None
) -> tuple[tuple[OrgReport, ...], int | None]:
    dry_run = all(org.settings.dry_run for org in orgs)
    with SweepProgress(console=console, enabled=console.is_terminal) as progress:

        async def main(stop: anyio.Event) -> tuple[OrgReport, ...]:
            confirm = None if dry_run or yes else TerminalConfirm(console, progress, stop)
            return await sweep_organizations(
                orgs,
                stop=stop,
                confirm=confirm,
                observer=TerminalObserver(progress),
                audit=audit,
            )

        return await run_until_signalled(main)


def interactive() -> bool:
    """Whether a person can answer a confirmation prompt."""
    return sys.stdin.isatty() and sys.stderr.isatty()
