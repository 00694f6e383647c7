"""``--audit-log``: an append-only JSON-lines file, one line per cancellation, as it happens.

For hosts without log shipping: who cancelled what and why survives across runs. Each
line is flushed to the OS when written (a crash of the process loses nothing) and the file
is fsynced when the run closes it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from worker.errors import ConfigError

# Built once: json.dumps() with any option builds a new encoder for every line.
_ENCODER = json.JSONEncoder(ensure_ascii=False)


class AuditLog:
    """The audit file, open for appending for the length of a run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

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
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None

    def write(self, event: dict[str, Any]) -> None:
        """Append one event as a JSON line and flush it."""
        if self._file is None:
            raise RuntimeError("AuditLog used outside 'with'")
        self._file.write(_ENCODER.encode(event) + "\n")
        self._file.flush()
