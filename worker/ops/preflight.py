"""Local paths checked before the first request: a bad one is exit 2 with nothing sent.

Every ``--report`` is written after irreversible cancels, ``--audit-log`` and ``--lock-file`` are
opened before the sweep: a typo in any of them must fail the run while failing is free.
Each path's directory must exist and be a directory, the path must be a regular file or not
exist yet (the report is renamed into place: over ``/dev/null`` that would replace the
device), and the directory must take a new file. That last check creates and removes a temp file
(``tempfile.TemporaryFile``) rather than asking ``os.access``: access(2) answers "yes" to
root for any mode bits, while a real create meets what the write will meet (read-only
file system, quota, permissions, a full inode table).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from worker.errors import ConfigError
from worker.settings import Settings


def check_local_paths(settings: Settings) -> None:
    """Raise ``ConfigError`` naming the setting and path for the first unusable one."""
    for option, path in (
        *(("--report", report) for report in settings.report),
        ("--audit-log", settings.audit_log),
        ("--lock-file", settings.lock_file),
    ):
        if path is not None:
            check_writable_file(path, option=option)


def check_writable_file(path: Path, *, option: str) -> None:
    """Raise ``ConfigError`` unless a file can be created or replaced at ``path``."""
    directory = path.parent
    if path.is_dir():
        raise ConfigError(f"{option} {path}: is a directory, not a file")
    if path.exists() and not path.is_file():
        raise ConfigError(f"{option} {path}: is not a regular file")
    if not directory.exists():
        raise ConfigError(f"{option} {path}: directory {directory} does not exist")
    if not directory.is_dir():
        raise ConfigError(f"{option} {path}: {directory} is not a directory")
    try:
        with tempfile.TemporaryFile(dir=directory, prefix=f".{path.name}.", suffix=".probe"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"{option} {path}: cannot create a file in {directory}: {reason}"
        ) from None
