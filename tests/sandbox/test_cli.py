"""`harmony-sweeper sandbox`: flags, the ready line, and a clean exit on SIGTERM."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import structlog
from click.testing import CliRunner

from sandbox.cli import sandbox_command
from sandbox.knobs import KNOB_NAMES
from worker.cli import cli

READY = re.compile(r"^sandbox listening on (http://127\.0\.0\.1:\d+)$")
WAIT_S = 30


class RunningCli:
    """The sandbox command in a subprocess, read up to its ready line."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "worker", "sandbox", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.lines: list[str] = []
        stdout = self.proc.stdout
        assert stdout is not None
        # Raw reads after select: a buffered readline would hide lines select cannot see.
        pending, deadline = b"", time.monotonic() + WAIT_S
        while (left := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([stdout], [], [], left)
            chunk = os.read(stdout.fileno(), 65536) if readable else b""
            if not chunk:  # EOF (the process died) or the deadline passed
                break
            *lines, pending = (pending + chunk).split(b"\n")
            self.lines += [line.decode() for line in lines]
            for line in self.lines:
                if match := READY.match(line):
                    self.base_url = match.group(1)
                    return
        self.proc.kill()
        _, err = self.proc.communicate(timeout=WAIT_S)
        pytest.fail(f"no ready line; exit {self.proc.returncode}; stderr: {err.decode()}")

    def get(self, path: str, key: str) -> tuple[int, dict[str, object]]:
        request = urllib.request.Request(self.base_url + path, headers={"x-api-key": key})  # noqa: S310 - loopback http
        with urllib.request.urlopen(request, timeout=WAIT_S) as response:  # noqa: S310
            return response.status, json.loads(response.read())

    def stop(self) -> int:
        """SIGTERM, then the exit code (killed, and failed, if it does not stop in time)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.communicate(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            pytest.fail("the sandbox did not stop on SIGTERM")
        return self.proc.returncode


@pytest.mark.timeout(90)
def test_cli_serves_pending_links_stops_on_sigterm_and_keeps_its_db(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.db")
    first = RunningCli("--seed", "60", "--api-key", "k1", "--admin-key", "a1", "--db", db)
    try:
        output = "\n".join(first.lines)
        assert "x-admin-key: a1" in output
        assert "x-api-key: k1" in output
        assert len(re.findall(r"x-api-key: ", output)) == 3  # --orgs defaults to 3
        status, page = first.get("/api/one-time-payment?status=PENDING", "k1")
        assert status == 200
        assert page["count"]
        assert {item["status"] for item in page["items"]} == {"PENDING"}  # type: ignore[attr-defined]
    finally:
        assert first.stop() == 0

    second = RunningCli("--seed", "60", "--api-key", "k1", "--admin-key", "a1", "--db", db)
    try:
        assert any(line.startswith("kept 60 links") for line in second.lines)
        assert second.get("/api/one-time-payment?status=PENDING", "k1")[1]["count"] == page["count"]
    finally:
        assert second.stop() == 0


@pytest.mark.timeout(90)
def test_cli_list_knob_flags_shape_the_list() -> None:
    running = RunningCli(
        "--seed", "60", "--api-key", "k1", "--page-size-cap", "4", "--page-size-echo",
        "requested", "--list-order", "oldest_first", "--unstable-ties",
    )  # fmt: skip
    try:
        status, page = running.get("/api/one-time-payment?pageSize=10", "k1")
        assert status == 200
        assert page["pageSize"] == 10  # the asked size, echoed as the knob says
        items: list[dict[str, str]] = page["items"]  # type: ignore[assignment]
        assert len(items) == 4
        created = [item["createdAt"] for item in items]
        assert created == sorted(created)
    finally:
        assert running.stop() == 0


def test_help_lists_every_knob_as_a_flag() -> None:
    result = CliRunner().invoke(cli, ["sandbox", "--help"])
    assert result.exit_code == 0
    for name in KNOB_NAMES:
        assert f"--{name.replace('_', '-')}" in result.output
    for flag in ("--host", "--port", "--db", "--seed", "--seed-random", "--orgs", "--api-key"):
        assert flag in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["--fault-rate", "1.5"],
        ["--rate-limit", "0"],
        ["--port", "-1"],
        ["--latency-ms", "-5"],
        ["--page-size-cap", "0"],
        ["--page-size-echo", "asked"],
        ["--list-order", "random"],
        ["--sibling-pay-rate", "1.5"],
    ],
)
def test_bad_flags_are_usage_errors(args: list[str]) -> None:
    result = CliRunner().invoke(sandbox_command, args)
    assert result.exit_code == 2


def test_unusable_db_is_a_clean_error(tmp_path: Path) -> None:
    configured = structlog.is_configured()
    try:
        result = CliRunner().invoke(
            sandbox_command, ["--port", "0", "--db", str(tmp_path / "missing" / "x.db")]
        )
    finally:
        if not configured:  # the command configures logging once; leave no trace of it
            structlog.reset_defaults()
    assert result.exit_code == 1
    assert "unable to open database file" in result.output
