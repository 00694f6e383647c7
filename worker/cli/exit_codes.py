"""Exit codes: the one place where outcomes and errors become a process status.

- 0: every planned link ended cancelled (or would_cancel in a dry run), or skipped for a
  documented non-fatal reason: conflict, not_found, skipped_expired.
- 1: some cancellations failed after retries.
- 2: usage or configuration error (flags, config, manifest, report path); nothing sent.
- 3: the API refused the key (401/403); nothing sent after that answer.
- 4: safety abort: plan over --max-cancellations, failure threshold, incomplete scan,
  confirmation declined.
- 5: another run holds --lock-file; nothing sent.
- 6: the API could not be reached (DNS, refused, TLS, no answer within the scan deadline)
  before anything was cancelled; nothing cancelled. Unreachable later, during the cancels,
  those links end ``failed`` (exit 1); on a later pass's scan, an incomplete scan (exit 4).
- 7: the run finished but its report could not be written where --report asked; it was
  written to the fallback a ``report.fallback`` log line names (beside the path, the temp
  directory, or that log line itself). Each organization's own code would otherwise apply.
- 8: ``harmony-sweeper probe`` only: the API behaves in a way the sweep must work around,
  or the probe could not check something within ``--max-requests``; its verdicts say what
  and what the sweep will do about it. ``run`` never exits 8 (and the CronJob runs ``run``).
- 130 / 143: interrupted by SIGINT / SIGTERM; in-flight requests drained, report written.

With several organizations, the process exits with the worst of theirs: interrupted, then
3, then 4, then 6, then 7, then 1, then 0.
"""

from __future__ import annotations

import enum
import signal
from collections.abc import Iterable

from worker.errors import (
    AlreadyRunning,
    AuthError,
    ConfigError,
    NoResponse,
    SweeperError,
    Unreachable,
)
from worker.outcomes import Abort
from worker.report import Report


class ExitCode(enum.IntEnum):
    """The process status of ``harmony-sweeper run`` (and ``probe``)."""

    OK = 0
    FAILURES = 1
    USAGE = 2
    UNAUTHORIZED = 3
    SAFETY_ABORT = 4
    LOCKED = 5
    UNREACHABLE = 6
    REPORT_FALLBACK = 7
    PROBE_FINDINGS = 8
    SIGINT = 128 + signal.SIGINT
    SIGTERM = 128 + signal.SIGTERM


_ABORTS = {
    Abort.PLAN_OVER_CAP: ExitCode.SAFETY_ABORT,
    Abort.FAILURE_THRESHOLD: ExitCode.SAFETY_ABORT,
    Abort.SCAN_INCOMPLETE: ExitCode.SAFETY_ABORT,
    Abort.DECLINED: ExitCode.SAFETY_ABORT,
    Abort.UNAUTHORIZED: ExitCode.UNAUTHORIZED,
    Abort.UNREACHABLE: ExitCode.UNREACHABLE,
}


def exit_code_for_report(report: Report, *, signal_number: int | None = None) -> ExitCode:
    """The status of a run that produced a report."""
    if report.aborted == Abort.INTERRUPTED:
        return exit_code_for_signal(signal_number)
    if report.aborted is not None:
        return _ABORTS[Abort(report.aborted)]
    if report.summary.failed:
        return ExitCode.FAILURES
    return ExitCode.OK


def exit_code_for_signal(signal_number: int | None) -> ExitCode:
    """The status of a run a signal interrupted (SIGTERM unless it was SIGINT)."""
    return ExitCode.SIGINT if signal_number == signal.SIGINT else ExitCode.SIGTERM


def exit_code_for_error(exc: SweeperError) -> ExitCode:
    """The status of a run that ended in an error before it had a report."""
    if isinstance(exc, ConfigError):
        return ExitCode.USAGE
    if isinstance(exc, AuthError):
        return ExitCode.UNAUTHORIZED
    if isinstance(exc, AlreadyRunning):
        return ExitCode.LOCKED
    if _network_failure(exc):
        return ExitCode.UNREACHABLE
    return ExitCode.SAFETY_ABORT


def _network_failure(exc: BaseException) -> bool:
    """Whether ``exc`` or one of its causes is a request that got no answer."""
    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, NoResponse | Unreachable):
            return True
        current = current.__cause__
    return False


# Most severe first: what an operator must hear about before anything else.
_SEVERITY = (
    ExitCode.SIGTERM,
    ExitCode.SIGINT,
    ExitCode.UNAUTHORIZED,
    ExitCode.SAFETY_ABORT,
    ExitCode.UNREACHABLE,
    # The outcome is safe in a fallback, but someone must fetch it: above a failed cancel.
    ExitCode.REPORT_FALLBACK,
    ExitCode.FAILURES,
    ExitCode.OK,
)


def worst(codes: Iterable[ExitCode]) -> ExitCode:
    """The most severe of several organizations' exit codes (OK for none)."""
    found = set(codes)
    return next((code for code in _SEVERITY if code in found), ExitCode.OK)
