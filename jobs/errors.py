"""The one error ``jobs`` raises on purpose: an input file that cannot be used.

    ValueError
    └── PolicyInputError   a manifest or exclude file is unreadable, malformed or unsafe

The worker turns it into its ``ConfigError`` (exit 2) before any request is sent.
Bad arguments to a policy's constructor (a naive datetime, a window <= 0) are plain
``ValueError``: they are the caller's bug, not an operator's file.
"""

from __future__ import annotations

from pathlib import Path


class PolicyInputError(ValueError):
    """A manifest or exclude file that cannot be used.

    The message reads ``FILE, WHERE: PROBLEM`` (``WHERE`` is ``line 3`` or ``items[4]``
    when the problem has a place), so an operator can go straight to the fix.
    """

    def __init__(self, path: Path, problem: str, *, where: str | None = None) -> None:
        location = str(path) if where is None else f"{path}, {where}"
        super().__init__(f"{location}: {problem}")
        self.path = path
        self.where = where
        self.problem = problem
