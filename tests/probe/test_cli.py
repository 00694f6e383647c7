"""``harmony-sweeper probe`` through the real command and the console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.sweep.netfaults import free_port
from tests.threaded import ThreadedSandbox
from worker.cli import cli
from worker.cli.exit_codes import ExitCode

from .helpers import environ_for, only_gets, seed

_SCRIPT = Path(sys.executable).with_name("harmony-sweeper")
CANARY = "hs_canary_probe_Zq81xP"


def _invoke(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["probe", *args], env=env, catch_exceptions=False)
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


def _counters(sandbox: ThreadedSandbox) -> dict[str, Any]:
    counters: dict[str, Any] = sandbox.call(sandbox.server.admin.counters)
    return counters


def test_json_output_and_exit_0_against_the_default_sandbox(
    threaded_sandbox: ThreadedSandbox,
) -> None:
    threaded_sandbox.call(seed, threaded_sandbox.server)

    code, stdout, _ = _invoke(environ_for(threaded_sandbox.server), "--output", "json")

    document = json.loads(stdout)
    assert code == ExitCode.OK
    assert ExitCode.OK.value == 0
    assert document["holds"] is True
    assert [v["check"] for v in document["verdicts"]] == [
        "key",
        "page_size",
        "order",
        "ties",
        "count",
        "expired",
        "lifetime",
        "rate_limit",
        "latency",
        "clock",
    ]
    assert document["requests"] == _counters(threaded_sandbox)["total"] <= 40
    assert only_gets(_counters(threaded_sandbox))


def test_the_table_and_exit_8_when_the_sweep_must_work_around_the_api(
    threaded_sandbox: ThreadedSandbox,
) -> None:
    threaded_sandbox.call(seed, threaded_sandbox.server)
    threaded_sandbox.call(
        threaded_sandbox.server.admin.set_knobs, unstable_ties=True, date_skew_s=60
    )

    env = {**environ_for(threaded_sandbox.server), "COLUMNS": "250"}  # no wrapped words

    code, stdout, _ = _invoke(env, "--max-requests", "30")

    assert code == ExitCode.PROBE_FINDINGS
    assert ExitCode.PROBE_FINDINGS.value == 8
    assert "unstable" in stdout
    assert "exceeds the expiry margin" in stdout
    assert "raise [safety] expiry_margin to" in stdout
    assert _counters(threaded_sandbox)["total"] <= 30
    assert only_gets(_counters(threaded_sandbox))


def test_a_refused_key_exits_3_in_one_line_without_the_key(
    threaded_sandbox: ThreadedSandbox,
) -> None:
    env = environ_for(threaded_sandbox.server)
    env["HARMONY_API_KEY"] = CANARY

    code, stdout, stderr = _invoke(env)

    assert code == ExitCode.UNAUTHORIZED
    assert ExitCode.UNAUTHORIZED.value == 3
    [event] = [json.loads(line) for line in stderr.splitlines() if '"run.failed"' in line]
    assert "refused the key (401)" in event["error"]
    assert CANARY not in stdout + stderr
    assert _counters(threaded_sandbox)["total"] == 1  # nothing after the refusal


def test_an_unreachable_host_exits_6_naming_the_cause() -> None:
    port = free_port()
    env = {
        "HARMONY_API_KEY": CANARY,
        "HARMONY_BASE_URL": f"http://127.0.0.1:{port}",
        "SWEEPER_RETRY__INITIAL": "5ms",
        "SWEEPER_RETRY__MAXIMUM": "20ms",
    }

    code, stdout, stderr = _invoke(env)

    assert code == ExitCode.UNREACHABLE
    assert ExitCode.UNREACHABLE.value == 6
    assert f"connection refused by 127.0.0.1:{port}" in stderr
    assert CANARY not in stdout + stderr


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--max-requests", "0"], "--max-requests"),
        (["--output", "yaml"], "--output"),
        (["--base-url", "http://api.example.com"], "https"),
        (["--config", "no-such.toml"], "no-such.toml"),
    ],
    ids=["max-requests", "output", "base-url", "config"],
)
def test_bad_input_exits_2_naming_it_and_sends_nothing(
    threaded_sandbox: ThreadedSandbox, args: list[str], named: str
) -> None:
    code, stdout, stderr = _invoke(environ_for(threaded_sandbox.server), *args)

    assert code == ExitCode.USAGE
    assert ExitCode.USAGE.value == 2
    assert named in stdout + stderr
    assert _counters(threaded_sandbox)["total"] == 0


def test_the_console_script_probes_a_capped_sandbox(threaded_sandbox: ThreadedSandbox) -> None:
    threaded_sandbox.call(seed, threaded_sandbox.server)
    threaded_sandbox.call(
        threaded_sandbox.server.admin.set_knobs, page_size_cap=100, list_order="by_id"
    )
    env = {**os.environ, **environ_for(threaded_sandbox.server), "COLUMNS": "120"}

    done = subprocess.run(
        [str(_SCRIPT), "probe", "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )

    assert done.returncode == 8, done.stderr
    document = json.loads(done.stdout)
    levels = {v["check"]: v["level"] for v in document["verdicts"]}
    assert (levels["page_size"], levels["order"]) == ("note", "warn")
    assert "Traceback" not in done.stderr
    assert only_gets(_counters(threaded_sandbox))
