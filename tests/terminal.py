"""Reading what a child process writes to a real pseudo-terminal, within a bound."""

from __future__ import annotations

import os
import re
import select
import time

# Colour and cursor sequences, terminal titles, and carriage returns: what a person never reads.
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


def read_until(fd: int, marker: bytes, *, limit_s: float) -> bytes:
    """What the child wrote, up to ``marker`` as a person sees it, its exit, or the bound.

    A marker that can never appear (``b"\\x00"``) reads until the child closes the terminal.
    """
    seen = b""
    deadline = time.monotonic() + limit_s
    while marker not in ANSI.sub(b"", seen) and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    return seen


def read_all(fd: int, *, limit_s: float) -> bytes:
    """Everything the child writes to its terminal until it closes it, within ``limit_s``."""
    return read_until(fd, b"\x00", limit_s=limit_s)
