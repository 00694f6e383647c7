"""Task-group errors as the caller expects them: one project error, not an ExceptionGroup.

anyio 4 wraps whatever a task group's children raise in an ExceptionGroup. The sweep's
callers branch on the project error (``AuthError`` -> exit 3, ``ScanIncomplete`` -> exit 4),
so a group made only of project errors is collapsed to its most decisive member. Anything
else (cancellation, a bug) propagates untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from worker.errors import AuthError, SweeperError


def _leaves(group: BaseExceptionGroup[SweeperError]) -> list[SweeperError]:
    leaves: list[SweeperError] = []
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            leaves.extend(_leaves(exc))
        else:
            leaves.append(exc)
    return leaves


@contextmanager
def collapse_errors() -> Iterator[None]:
    """Re-raise a group of ``SweeperError`` as its first ``AuthError``, else its first member."""
    try:
        yield
    except* SweeperError as group:
        leaves = _leaves(group)
        decisive = next((exc for exc in leaves if isinstance(exc, AuthError)), leaves[0])
        # Keep the error's own cause (the aiohttp error behind it), not the group.
        raise decisive from decisive.__cause__
