"""SIGTERM and SIGINT through the installed console script in a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from tests.threaded import ThreadedSandbox

from .helpers import environ_for, link

SOON = timedelta(minutes=10)
_SCRIPT = Path(sys.executable).with_name("harmony-sweeper")


def _wait_for_cancels(sandbox: ThreadedSandbox, at_least: int, *, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        counters = sandbox.call(sandbox.server.admin.counters)
        if len(counters["patches_per_link"]) >= at_least:
            return
        time.sleep(0.05)
    pytest.fail(f"the sweep sent fewer than {at_least} cancels within {limit_s} s")


@pytest.mark.parametrize(
    ("signum", "exit_code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["TERM", "INT"]
)
def test_signal_drains_writes_the_report_and_exits(
    threaded_sandbox: ThreadedSandbox, tmp_path: Path, signum: int, exit_code: int
) -> None:
    admin = threaded_sandbox.server.admin
    threaded_sandbox.call(admin.add_links, [link(expires_in=SOON) for _ in range(60)])
    threaded_sandbox.call(admin.set_knobs, latency_ms=100)
    report_path = tmp_path / "report.json"
    env = {**os.environ, **environ_for(threaded_sandbox.server), "SWEEPER_GRACE_PERIOD": "10s"}
    command = [
        str(_SCRIPT),
        "run",
        "--expiring-within",
        "1h",
        "--yes",
        "--rate",
        "20",
        "--concurrency",
        "2",
        "--report",
        str(report_path),
    ]

    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            _wait_for_cancels(threaded_sandbox, 3, limit_s=30)
            process.send_signal(signum)
            _, stderr = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()

    assert process.returncode == exit_code, stderr
    report = json.loads(report_path.read_text())
    assert report["aborted"] == "interrupted"
    outcomes = [item["outcome"] for item in report["items"]]
    assert len(outcomes) == 60  # every planned link accounted for
    assert "not_attempted" in outcomes
    # What the report calls cancelled is exactly what the server cancelled: in-flight
    # requests were drained, not abandoned.
    state = {row["id"]: row["status"] for row in threaded_sandbox.call(admin.links)}
    cancelled = {item["id"] for item in report["items"] if item["outcome"] == "cancelled"}
    assert cancelled == {link_id for link_id, status in state.items() if status == "CANCELLED"}
    assert '"event":"run.signal"' in stderr
