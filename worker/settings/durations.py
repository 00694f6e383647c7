"""Durations as operators write them: ``90s``, ``30m``, ``2h``, ``1h30m``, ``1d``, ``250ms``.

The grammar is one or more ``<whole number><unit>`` parts, largest unit first, each unit at
most once (units: ``d``, ``h``, ``m``, ``s``, ``ms``, ``us``), or a plain number of seconds
(``90``, ``0.5``). Zero, negative and out-of-range durations are errors: every duration the
sweeper reads (windows, timeouts, grace periods, backoff) must be positive.

Error messages describe the problem without repeating the input, so that a secret pasted into
the wrong place never reaches a log through them.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation

__all__ = ["as_duration", "format_duration", "parse_duration"]

# Largest first: parse_duration insists on this order, format_duration walks it.
_UNITS: tuple[tuple[str, int], ...] = (
    ("d", 86_400_000_000),
    ("h", 3_600_000_000),
    ("m", 60_000_000),
    ("s", 1_000_000),
    ("ms", 1_000),
    ("us", 1),
)
_MICROSECONDS = dict(_UNITS)
_RANK = {unit: rank for rank, (unit, _) in enumerate(_UNITS)}
# ASCII digits only: \d would also take other scripts' digits (full-width or Arabic-Indic ones).
_PART = re.compile(r"([0-9]+)(ms|us|d|h|m|s)")
_PARTS = re.compile(r"(?:[0-9]+(?:ms|us|d|h|m|s))+")
_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_MAX_MICROSECONDS = timedelta.max // timedelta(microseconds=1)
# Far longer than any real duration; keeps int() away from its digit limit.
_MAX_LENGTH = 64

_EXPECTED = "expected a number and a unit (d, h, m, s, ms, us) like 90s, 30m, 2h or 1h30m"


def parse_duration(text: str) -> timedelta:
    """Parse ``90s``, ``30m``, ``2h``, ``1h30m``, ``1d``, ``250ms`` or a number of seconds."""
    text = text.strip()
    if not text:
        raise ValueError(f"empty duration: {_EXPECTED}")
    if len(text) > _MAX_LENGTH:
        raise ValueError(f"duration too long: {_EXPECTED}")
    if text.startswith("-"):
        raise ValueError("duration must be greater than zero")
    if _SECONDS.fullmatch(text):
        scaled = Decimal(text).scaleb(6).to_integral_value()
        return _from_microseconds(int(scaled))
    if not _PARTS.fullmatch(text):
        raise ValueError(f"not a duration: {_EXPECTED}")
    total = 0
    last_rank = -1
    for number, unit in _PART.findall(text):
        if _RANK[unit] <= last_rank:
            raise ValueError("duration units must go from largest to smallest, each at most once")
        last_rank = _RANK[unit]
        total += int(number) * _MICROSECONDS[unit]
    return _from_microseconds(total)


def as_duration(value: object) -> timedelta:
    """A duration from text (``parse_duration``), a number of seconds, or a ``timedelta``."""
    if isinstance(value, timedelta):
        return _from_microseconds(value // timedelta(microseconds=1))
    if isinstance(value, str):
        return parse_duration(value)
    # bool is an int subclass; `true` meaning one second is never what someone meant.
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError("duration must be a finite number of seconds")
        try:
            scaled = Decimal(value).scaleb(6).to_integral_value()
        except InvalidOperation:  # pragma: no cover - finite numbers always convert
            raise ValueError(f"not a duration: {_EXPECTED}") from None
        return _from_microseconds(int(scaled))
    raise ValueError(f"not a duration: {_EXPECTED}, or a number of seconds")


def format_duration(td: timedelta) -> str:
    """The shortest text that ``parse_duration`` reads back as ``td`` (``0s`` for zero)."""
    total = td // timedelta(microseconds=1)
    if total < 0:
        raise ValueError("cannot format a negative duration")
    if total == 0:
        return "0s"
    # Try each unit as the leading one (90s rather than 1m30s, 90m rather than 1h30m); on a
    # tie the larger leading unit wins (1m rather than 60s).
    candidates = [_greedy(total, first) for first in range(len(_UNITS))]
    return min((c for c in candidates if c), key=len)


def _greedy(total: int, first: int) -> str:
    """``total`` microseconds in units from ``_UNITS[first]`` down, or "" if that cannot start."""
    if total < _UNITS[first][1]:
        return ""
    parts = []
    for unit, size in _UNITS[first:]:
        count, total = divmod(total, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def _from_microseconds(total: int) -> timedelta:
    if total <= 0:
        raise ValueError("duration must be greater than zero")
    if total > _MAX_MICROSECONDS:
        raise ValueError("duration too large")
    return timedelta(microseconds=total)
