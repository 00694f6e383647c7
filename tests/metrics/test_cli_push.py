"""The run command pushes its metrics at the end, and a dead gateway changes no exit code."""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from tests.metrics.pushgateway import Pushgateway
from tests.sweep.helpers import environ_for, link
from tests.threaded import ThreadedSandbox
from worker.cli import cli

SOON = timedelta(minutes=10)


def _run(sandbox: ThreadedSandbox, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["run", *args], env=environ_for(sandbox.server), catch_exceptions=False
    )
    return result.exit_code, result.output


def test_a_run_pushes_its_outcomes(
    threaded_sandbox: ThreadedSandbox, pushgateway: Pushgateway
) -> None:
    admin = threaded_sandbox.server.admin
    threaded_sandbox.call(admin.add_links, [link(expires_in=SOON) for _ in range(3)])

    code, output = _run(
        threaded_sandbox, "--expiring-within", "1h", "--yes", "--pushgateway", pushgateway.url
    )

    assert code == 0, output
    series = pushgateway.series(job="harmony-sweeper", organization="default")
    assert series[("harmony_sweeper_links", frozenset({("outcome", "cancelled")}))] == 3
    assert series[("harmony_sweeper_exit_code", frozenset())] == 0
    assert ("harmony_sweeper_last_success_timestamp_seconds", frozenset()) in series


def test_an_interrupted_or_refused_run_still_pushes(
    threaded_sandbox: ThreadedSandbox, pushgateway: Pushgateway
) -> None:
    result = CliRunner().invoke(
        cli,
        ["run", "--expiring-within", "1h", "--yes", "--pushgateway", pushgateway.url],
        env=environ_for(threaded_sandbox.server, api_key="revoked"),
        catch_exceptions=False,
    )

    assert result.exit_code == 3, result.output
    series = pushgateway.series(job="harmony-sweeper", organization="default")
    assert series[("harmony_sweeper_exit_code", frozenset())] == 3
    assert series[("harmony_sweeper_aborted", frozenset({("reason", "unauthorized")}))] == 1
    assert ("harmony_sweeper_last_success_timestamp_seconds", frozenset()) not in series


def test_a_dead_gateway_changes_nothing(threaded_sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    threaded_sandbox.call(threaded_sandbox.server.admin.add_links, [link(expires_in=SOON)])
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"

    code, output = _run(threaded_sandbox, "--expiring-within", "1h", "--yes", "--pushgateway", dead)

    assert code == 0, output
    assert "metrics.push_failed" in output
