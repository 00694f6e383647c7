"""An attended run on a real terminal (a pty): the plan is shown and a person says yes or no."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tests.terminal import read_until
from tests.threaded import ThreadedSandbox

from .helpers import environ_for, link

SOON = timedelta(minutes=10)
_SCRIPT = Path(sys.executable).with_name("harmony-sweeper")
_PROMPT = b"cannot be undone"


@pytest.mark.parametrize(
    ("answer", "exit_code", "status"), [(b"y", 0, "CANCELLED"), (b"n", 4, "PENDING")]
)
def test_the_plan_is_confirmed_at_the_terminal(
    threaded_sandbox: ThreadedSandbox, answer: bytes, exit_code: int, status: str
) -> None:
    admin = threaded_sandbox.server.admin
    rows = threaded_sandbox.call(admin.add_links, [link(expires_in=SOON) for _ in range(2)])
    env = {**os.environ, **environ_for(threaded_sandbox.server), "COLUMNS": "120"}
    env.pop("CI", None)
    controller, terminal = pty.openpty()
    with subprocess.Popen(
        [str(_SCRIPT), "run", "--expiring-within", "1h"],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=env,
    ) as process:
        os.close(terminal)
        try:
            shown = read_until(controller, _PROMPT, limit_s=30)
            assert _PROMPT in shown, shown.decode(errors="replace")
            assert rows[0]["id"].encode() in shown  # the plan table lists the links
            # Nothing is cancelled while the question is open.
            counters = threaded_sandbox.call(admin.counters)
            assert counters["patches_per_link"] == {}
            os.write(controller, answer + b"\n")
            read_until(controller, b"\x00", limit_s=30)  # drain until the child exits
            assert process.wait(timeout=30) == exit_code
        finally:
            if process.poll() is None:
                process.kill()
            os.close(controller)

    state = {row["id"]: row["status"] for row in threaded_sandbox.call(admin.links)}
    assert {state[row["id"]] for row in rows} == {status}
