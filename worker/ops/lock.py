"""``--lock-file``: one run at a time on a host, for cron.

Hand-written on ``fcntl.flock`` rather than the filelock package: filelock can fall back to
a "soft" lock (the file's existence is the lock), which a killed run leaves behind and
which then blocks every later run. A flock is released by the kernel when the process
ends, however it ends, which is exactly the property an unattended job needs.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from worker.errors import AlreadyRunning, ConfigError


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive, non-blocking flock on ``path`` for the block's duration.

    ``AlreadyRunning`` only when another process holds the lock; a lock file that cannot be
    opened (missing folder, a directory) is a ``ConfigError``, not a reason to think so.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"--lock-file {path}: cannot open: {reason}") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise AlreadyRunning(path) from exc
        # The holder's pid, for an operator wondering who holds it; the lock is the flock,
        # so a full disk that refuses these few bytes must not stop the run.
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock
