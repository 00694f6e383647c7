"""Run a child process to its end and read its own CPU time (``os.wait4``).

``RUSAGE_CHILDREN`` would mix every child reaped so far (the sandbox among them); ``wait4``
returns the usage of exactly the process it reaps. Its ``ru_maxrss`` is not used: Linux
counts in it the memory the child held before ``exec`` (a copy of this process's), so the
children report their own peak (``bench.child``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_POLL_S = 0.05
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class ChildUsage:
    """What one finished child process cost."""

    exit_code: int
    wall_s: float
    cpu_s: float  # user + system


def run_measured(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    timeout: float,
    stdout: Path | None = None,
    stderr: Path | None = None,
) -> ChildUsage:
    """Run ``argv`` to completion (killed after ``timeout`` s: TimeoutError) and measure it."""
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(stdout.open("wb")) if stdout else subprocess.DEVNULL
        err = stack.enter_context(stderr.open("wb")) if stderr else subprocess.DEVNULL
        process = stack.enter_context(
            subprocess.Popen(  # noqa: S603 (fixed argv: our interpreter, our modules)
                list(argv), env=dict(env), stdin=subprocess.DEVNULL, stdout=out, stderr=err
            )
        )
        started = time.monotonic()
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                process.kill()
                os.wait4(process.pid, 0)
                process.returncode = -9
                raise TimeoutError(f"{shown(argv)} still running after {timeout:.0f} s: killed")
            time.sleep(_POLL_S)
        wall = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return ChildUsage(
        exit_code=process.returncode,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
    )


def shown(argv: Sequence[str]) -> str:
    """The first words of a command line, for messages."""
    return " ".join(argv[:6])


def child_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This environment without any ``SWEEPER_``/``HARMONY_`` setting, plus ``extra``, and the
    project's root on ``PYTHONPATH`` so that ``python -m bench.child`` runs from any folder."""
    keep = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SWEEPER_", "HARMONY_", "JOB_COMPLETION_INDEX"))
    }
    paths = [str(PROJECT_ROOT), *filter(None, keep.get("PYTHONPATH", "").split(os.pathsep))]
    return {**keep, "PYTHONPATH": os.pathsep.join(paths), **extra}
