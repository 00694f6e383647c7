"""``--audit-log``: an append-only JSON-lines file, one line per cancellation, as it happens.

For hosts without log shipping: who cancelled what and why survives across runs. Each
line is flushed to the OS when written (a crash of the process loses nothing) and the file
is fsynced when the run closes it.

A file that stops taking lines mid-run (a full disk) must not stop the run: the cancels
already sent need their report. The failure is logged once (``audit.write_failed``), a
partly written line is cut off again so the file stays valid JSON lines, and no further
line is attempted; the same events are in the log on stderr (``payment.cancelled``).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import structlog

from worker.errors import ConfigError

log = structlog.get_logger("worker.ops.audit")

# Built once: json.dumps() with any option builds a new encoder for every line.
_ENCODER = json.JSONEncoder(ensure_ascii=False)


class AuditLog:
    """The audit file, open for appending for the length of a run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None
        self._failed = False

    def __enter__(self) -> Self:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        except OSError as exc:
            raise ConfigError(f"--audit-log {self.path}: cannot open: {exc.strerror}") from exc
        self._file = os.fdopen(fd, "a", encoding="utf-8")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._file is not None:
            try:
                self._file.flush()
                os.fsync(self._file.fileno())
            except OSError as error:
                self._fail(error)
            with contextlib.suppress(OSError):  # what could be written is written
                self._file.close()
            self._file = None

    def write(self, event: dict[str, Any]) -> None:
        """Append one event as a JSON line and flush it; after a failure, do nothing."""
        if self._failed:
            return
        if self._file is None:
            raise RuntimeError("AuditLog used outside 'with'")
        size = os.fstat(self._file.fileno()).st_size
        try:
            self._file.write(_ENCODER.encode(event) + "\n")
            self._file.flush()
        except OSError as exc:
            self._fail(exc)
            # Drop the unwritten rest and cut the partial line: the file ends on a line.
            with contextlib.suppress(OSError, ValueError):
                self._file.close()
            with contextlib.suppress(OSError):
                os.truncate(self.path, size)
            self._file = None

    def _fail(self, exc: OSError) -> None:
        if not self._failed:
            log.error(
                "audit.write_failed", path=str(self.path), error=exc.strerror or type(exc).__name__
            )
        self._failed = True
