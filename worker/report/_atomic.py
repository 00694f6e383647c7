"""Report files written whole or not at all, and the fallback when the intended path fails.

The file is replaced atomically (temp file in the same directory, fsync, ``os.replace``),
so a reader never sees half a report and an older one survives a crash. The temp file comes
from ``tempfile.mkstemp``, so the report is readable by its owner only: it carries
customers' references and amounts.

When the report cannot be written where asked (disk full, a path that changed under the
run), ``write_fallback`` puts it beside the intended path or in the system temp directory
under a new name; the runner says where, and as a last resort logs the JSON document itself.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO


def write_atomically(path: Path, render: Callable[[TextIO], None]) -> None:
    """Write what ``render`` puts into a stream to ``path``: all of it, or nothing.

    A temp file in the same directory, fsynced, then renamed over ``path``; parent
    directories are created (losing a report after irreversible cancels would be worse).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temp_name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        # newline="" so the csv module's own \r\n line ends are written as they are.
        with open(descriptor, "w", encoding="utf-8", newline="") as stream:
            render(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp_name, path)
    except BaseException:
        # Re-raised at once: this only removes the temp file, whatever stopped the write.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    _fsync_directory(path.parent)


def fallback_directories(path: Path) -> tuple[Path, ...]:
    """Where a report meant for ``path`` goes when ``path`` fails: beside it, then the temp dir."""
    return (path.parent, Path(tempfile.gettempdir()))


def write_fallback(path: Path, directory: Path, render: Callable[[TextIO], None]) -> Path:
    """Write the report meant for ``path`` into ``directory`` under a new name; returns it.

    ``mkstemp`` picks a name no other file has (``last.fallback-k3j9.json`` for
    ``last.json``), so a fallback never replaces anything, and it is private to its owner.
    """
    descriptor, name = tempfile.mkstemp(
        dir=directory, prefix=f"{path.stem}.fallback-", suffix=path.suffix
    )
    try:
        with open(descriptor, "w", encoding="utf-8", newline="") as stream:
            render(stream)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException:
        # Re-raised at once: a half-written fallback must not pass for the report.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise
    return Path(name)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        # Some file systems refuse fsync on a directory; the data itself is already synced.
        with contextlib.suppress(OSError):
            os.fsync(descriptor)
    finally:
        os.close(descriptor)
