"""The sandbox in a process of its own, so that it and the client never share a core.

Started as ``python -m worker sandbox --port 0 ...`` (the same command as
``harmony-sweeper sandbox``), waited for until it prints its ready line, and always stopped
(SIGTERM, a bounded wait, then SIGKILL) when the ``with`` block ends.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from sandbox.testing import SandboxAdmin

API_KEY = "bench-key"
ADMIN_KEY = "bench-admin"
READY_TIMEOUT_S = 240.0  # seeding 1.3M links at start takes ~40 s, more on a loaded machine
STOP_TIMEOUT_S = 10.0
_READY = re.compile(r"sandbox listening on (http://\S+)")


@dataclass(frozen=True, slots=True)
class RunningSandboxProcess:
    """A started sandbox process: where it listens and how to reach its two planes."""

    pid: int
    base_url: str
    api_key: str
    admin_key: str
    command: tuple[str, ...]

    def admin(self) -> SandboxAdmin:
        """A new control-plane client; close it (``await admin.close()``) in the same loop."""
        return SandboxAdmin(self.base_url, self.admin_key)

    def peak_rss_bytes(self) -> int | None:
        """The sandbox's peak resident memory so far (VmHWM), None when unreadable."""
        return _vm_hwm(self.pid)


def knob_flags(knobs: Mapping[str, object]) -> list[str]:
    """Sandbox command-line flags for knobs: ``{"rate_limit": 200}`` -> ``--rate-limit 200``."""
    flags: list[str] = []
    for name, value in knobs.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            flags.append(flag if value else "--no-" + name.replace("_", "-"))
        elif value is not None:
            flags += [flag, str(value)]
    return flags


def sandbox_command(
    *,
    seed: int = 0,
    orgs: int = 1,
    knobs: Mapping[str, object] = {},
    seed_history: int = 0,
    settle_heap: bool = True,
) -> list[str]:
    """The argv that starts a sandbox on a free port with the bench's keys."""
    history = ["--seed-history", str(seed_history)] if seed_history else []
    unsettled = [] if settle_heap else ["--no-settle-heap"]
    return [
        sys.executable,
        "-m",
        "worker",
        "sandbox",
        "--port",
        "0",
        "--seed",
        str(seed),
        "--orgs",
        str(orgs),
        "--api-key",
        API_KEY,
        "--admin-key",
        ADMIN_KEY,
        *history,
        *unsettled,
        *knob_flags(knobs),
    ]


def shown_command(argv: list[str] | tuple[str, ...]) -> str:
    """``argv`` as a reader would type it: the console script instead of the interpreter."""
    words = list(argv)
    if words[:3] == [sys.executable, "-m", "worker"]:
        words = ["harmony-sweeper", *words[3:]]
    elif words[:2] == [sys.executable, "-m"]:
        words = ["python", "-m", *words[2:]]
    return " ".join(words)


@contextlib.contextmanager
def sandbox_process(
    *,
    seed: int = 0,
    orgs: int = 1,
    knobs: Mapping[str, object] = {},
    log: Path | None = None,
    seed_history: int = 0,
    settle_heap: bool = True,
) -> Iterator[RunningSandboxProcess]:
    """Start a sandbox process, yield it once ready, stop it whatever happens."""
    argv = sandbox_command(
        seed=seed, orgs=orgs, knobs=knobs, seed_history=seed_history, settle_heap=settle_heap
    )
    with contextlib.ExitStack() as stack:
        stderr = stack.enter_context(log.open("ab")) if log is not None else subprocess.DEVNULL
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and module, fixed argv)
            argv, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL
        )
        try:
            base_url = _wait_ready(process, READY_TIMEOUT_S)
            yield RunningSandboxProcess(
                pid=process.pid,
                base_url=base_url,
                api_key=API_KEY,
                admin_key=ADMIN_KEY,
                command=tuple(argv),
            )
        finally:
            stop_process(process)


def stop_process(process: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM, wait up to ``timeout``, then SIGKILL and reap; closes its pipes."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def _wait_ready(process: subprocess.Popen[bytes], timeout: float) -> str:
    """Read stdout until the ready line; RuntimeError on exit or timeout."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    buffer = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while (left := deadline - time.monotonic()) > 0:
            if not selector.select(min(left, 1.0)):
                if process.poll() is not None:
                    break
                continue
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                break
            buffer += chunk
            if match := _READY.search(buffer.decode("utf-8", "replace")):
                return match.group(1)
    raise RuntimeError(
        f"the sandbox did not become ready within {timeout:.0f} s "
        f"(exit code {process.poll()}); it printed: {buffer.decode('utf-8', 'replace')[-500:]}"
    )


def _vm_hwm(pid: int) -> int | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return None
