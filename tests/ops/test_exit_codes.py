"""Errors and several organizations' statuses become one exit code, in worker.cli.exit_codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.cli.exit_codes import ExitCode, exit_code_for_error, worst
from worker.errors import (
    AuthError,
    ConfigError,
    MalformedResponse,
    NoResponse,
    SafetyAbort,
    SweeperError,
    Unreachable,
)
from worker.ops.lock import AlreadyRunning


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ConfigError("--report x: directory y does not exist"), ExitCode.USAGE),
        (AuthError("refused", status=401), ExitCode.UNAUTHORIZED),
        (AlreadyRunning(Path("run.lock")), ExitCode.LOCKED),
        (SafetyAbort("plan over the cap"), ExitCode.SAFETY_ABORT),
        (MalformedResponse("not JSON"), ExitCode.SAFETY_ABORT),
        # What the probe raises when it cannot reach the API: the code a run's abort gets.
        (NoResponse("GET /api: no answer", cause="refused"), ExitCode.UNREACHABLE),
        (
            Unreachable("bad cert", reason="bad cert", cause="certificate", host="h"),
            ExitCode.UNREACHABLE,
        ),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, SweeperError) else str(value),
)
def test_each_expected_error_has_its_exit_code(error: SweeperError, code: ExitCode) -> None:
    assert exit_code_for_error(error) is code


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ((ExitCode.FAILURES, ExitCode.REPORT_FALLBACK), ExitCode.REPORT_FALLBACK),
        ((ExitCode.OK, ExitCode.REPORT_FALLBACK), ExitCode.REPORT_FALLBACK),
        ((ExitCode.SAFETY_ABORT, ExitCode.REPORT_FALLBACK), ExitCode.SAFETY_ABORT),
        ((ExitCode.REPORT_FALLBACK, ExitCode.UNAUTHORIZED), ExitCode.UNAUTHORIZED),
        ((ExitCode.REPORT_FALLBACK, ExitCode.SIGTERM), ExitCode.SIGTERM),
    ],
)
def test_a_report_in_a_fallback_ranks_after_4_and_before_1(
    codes: tuple[ExitCode, ...], expected: ExitCode
) -> None:
    assert worst(codes) is expected
