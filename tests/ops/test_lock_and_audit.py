"""--lock-file and --audit-log through the installed console script."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from tests.sweep.helpers import environ_for, link
from tests.threaded import ThreadedSandbox

_SCRIPT = Path(sys.executable).with_name("harmony-sweeper")
SOON = timedelta(minutes=10)


def run_cli(sandbox: ThreadedSandbox, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **environ_for(sandbox.server)}
    return subprocess.run(
        [str(_SCRIPT), "run", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_held_lock_exits_5_without_a_request(
    threaded_sandbox: ThreadedSandbox, tmp_path: Path
) -> None:
    threaded_sandbox.call(threaded_sandbox.server.admin.add_links, [link(expires_in=SOON)])
    lock = tmp_path / "sweeper.lock"
    with lock.open("w") as holder:
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = run_cli(
            threaded_sandbox, "--expiring-within", "1h", "--yes", "--lock-file", str(lock)
        )

    assert result.returncode == 5, result.stderr
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert [event["event"] for event in events] == ["run.locked"]
    counters = threaded_sandbox.call(threaded_sandbox.server.admin.counters)
    assert counters["total"] == 0


def test_a_free_lock_is_taken_and_released(
    threaded_sandbox: ThreadedSandbox, tmp_path: Path
) -> None:
    threaded_sandbox.call(threaded_sandbox.server.admin.add_links, [link(expires_in=SOON)])
    lock = tmp_path / "sweeper.lock"

    first = run_cli(threaded_sandbox, "--expiring-within", "1h", "--yes", "--lock-file", str(lock))
    second = run_cli(threaded_sandbox, "--expiring-within", "1h", "--yes", "--lock-file", str(lock))

    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    # Released: nothing holds it now.
    with lock.open("r+") as probe:
        fcntl.flock(probe.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_audit_log_has_one_line_per_cancellation_across_runs(
    threaded_sandbox: ThreadedSandbox, tmp_path: Path
) -> None:
    admin = threaded_sandbox.server.admin
    first = threaded_sandbox.call(
        admin.add_links, [link(expires_in=SOON, external_id=f"order-{n}") for n in range(3)]
    )
    audit = tmp_path / "audit" / "cancellations.jsonl"
    audit.parent.mkdir()  # a missing folder is a configuration error (exit 2)

    one = run_cli(threaded_sandbox, "--expiring-within", "1h", "--yes", "--audit-log", str(audit))
    second = threaded_sandbox.call(admin.add_links, [link(expires_in=SOON)])
    two = run_cli(threaded_sandbox, "--expiring-within", "1h", "--yes", "--audit-log", str(audit))

    assert (one.returncode, two.returncode) == (0, 0), one.stderr + two.stderr
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert sorted(line["id"] for line in lines) == sorted(row["id"] for row in first + second)
    assert {line["event"] for line in lines} == {"payment.cancelled"}
    assert len({line["run_id"] for line in lines}) == 2
    by_id = {line["id"]: line for line in lines}
    assert by_id[first[0]["id"]]["externalId"] == "order-0"
    assert by_id[first[0]["id"]]["reasons"] == ["expiring_within"]
    assert by_id[first[0]["id"]]["amount"] == "150.00"
    assert all(line["initiator"] for line in lines)
