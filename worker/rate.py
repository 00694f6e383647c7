"""The request rate a run asks for: requests per second, or ``auto``, one value end to end.

``--rate`` is read by ``parse_rate`` (``Settings.rate`` validates with it, so the flag, the
environment and the file read alike), and ``Pace(rate=...)`` in ``worker.api.pace`` runs the
same value: a number is a fixed target; ``AUTO`` has the pace find the rate at run time. It
lives below both stages because settings and api may not import each other.
"""

from __future__ import annotations

import math
from typing import Final, Literal, TypeAlias

__all__ = [
    "AUTO",
    "Rate",
    "parse_rate",
]

AUTO: Final = "auto"
Rate: TypeAlias = float | Literal["auto"]


def parse_rate(value: object) -> Rate:
    """``AUTO`` for ``auto`` in any case (or None: not given), else a positive, finite number.

    ``ValueError`` otherwise, with a message that never repeats the value, even for a wrong
    type (pydantic turns a ``ValueError`` into an error that names the input).
    """
    problem = "must be 'auto' or a number greater than 0"
    if value is None or (isinstance(value, str) and value.strip().lower() == AUTO):
        return AUTO
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(problem)  # noqa: TRY004
    try:
        number = float(value)
    except ValueError:
        raise ValueError(problem) from None
    if not math.isfinite(number) or number <= 0:
        raise ValueError(problem)
    return number
