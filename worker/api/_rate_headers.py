"""What a response's headers say about the server's rate limit: Retry-After and RateLimit-*.

The one Retry-After parser (delay-seconds or HTTP date): ``Pace`` pauses by it, and the
client puts it on ``RateLimited``.

RateLimit-* follows draft-ietf-httpapi-ratelimit-headers up to -06 (the form servers deploy):
``RateLimit-Limit: 100`` (quota per window, optionally followed by policies such as
``100;w=1``), ``RateLimit-Remaining: 42`` and ``RateLimit-Reset: 7`` (seconds until the
quota resets), with the window length in ``w=`` of ``RateLimit-Policy`` or of the Limit
field itself. A field that does not parse is ignored, never an error: the headers are hints.
"""

from __future__ import annotations

import email.utils
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from multidict import CIMultiDict, CIMultiDictProxy

# Without a policy the draft leaves the window open; per-second limits are the common case,
# and a longer real window still shows in Remaining/Reset, which Pace honours separately.
DEFAULT_WINDOW = 1.0

_WINDOW = re.compile(r"(?:^|;)\s*w\s*=\s*([0-9]+(?:\.[0-9]+)?)")


@dataclass(frozen=True, slots=True)
class RateLimitHint:
    """The RateLimit-* fields of one response; each is None when absent or unparsable."""

    limit: float | None
    window: float | None
    remaining: float | None
    reset: float | None

    @property
    def limit_per_second(self) -> float | None:
        """The quota as a rate, assuming ``DEFAULT_WINDOW`` when no policy names one."""
        if self.limit is None:
            return None
        return self.limit / (self.window or DEFAULT_WINDOW)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delay-seconds or HTTP-date), or None.

    Fractional seconds are accepted although RFC 9110 allows only digits: some servers send
    them, and reading ``0.5`` as "no advice" would be the worse mistake.
    """
    if value is None:
        return None
    text = value.strip()
    seconds = _number(text)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; parsedate gives naive for "-0000"
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def retry_after_seconds(
    headers: Mapping[str, str] | None, *, now: datetime | None = None
) -> float | None:
    """The Retry-After of a response in seconds, or None when absent or unparsable."""
    if not headers:
        return None
    return parse_retry_after(_lowered(headers).get("retry-after"), now=now)


def parse_rate_limit(headers: Mapping[str, str]) -> RateLimitHint | None:
    """The RateLimit-* hint of a response, or None when it sends none of the fields."""
    fields = _lowered(headers)
    if not fields:  # most answers of a server that sends none: nothing more to look at
        return None
    limit_field = fields.get("ratelimit-limit")
    remaining = _number(_first_item(fields.get("ratelimit-remaining")))
    reset = _number(_first_item(fields.get("ratelimit-reset")))
    if limit_field is None and remaining is None and reset is None:
        return None
    limit = _number(_first_item(limit_field))
    return RateLimitHint(
        limit=limit or None,  # a quota of 0 says nothing about the rate; Remaining does
        window=_window(limit, limit_field, fields.get("ratelimit-policy")),
        remaining=remaining,
        reset=reset,
    )


_FIELDS = (
    "retry-after",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "ratelimit-policy",
)


def _lowered(headers: Mapping[str, str]) -> dict[str, str]:
    # Header names are case-insensitive; aiohttp's mapping knows it, a plain dict does not.
    if isinstance(headers, CIMultiDictProxy | CIMultiDict):
        # Five lookups instead of lowering every header of every answer (~2 % of the CPU
        # per cancel, bench client_cost).
        return {name: headers[name] for name in _FIELDS if name in headers}
    return {name.lower(): value for name, value in headers.items()}


def _first_item(field: str | None) -> str | None:
    """The bare value of a list field's first item: ``100`` of ``100, 100;w=60``."""
    if field is None:
        return None
    return field.split(",", 1)[0].split(";", 1)[0]


def _window(limit: float | None, limit_field: str | None, policy_field: str | None) -> float | None:
    """The window of the policy whose quota is ``limit``, else of the first policy given."""
    items = [*_items(limit_field)[1:], *_items(policy_field)]
    windows: list[tuple[float | None, float]] = []
    for item in items:
        match = _WINDOW.search(item)
        seconds = _number(match.group(1)) if match else None
        if seconds:
            windows.append((_number(item.split(";", 1)[0]), seconds))
    for quota, seconds in windows:
        if quota == limit:
            return seconds
    return windows[0][1] if windows else None


def _items(field: str | None) -> list[str]:
    return [item.strip() for item in field.split(",")] if field else []


def _number(text: str | None) -> float | None:
    """A finite, non-negative number, or None."""
    if text is None:
        return None
    try:
        number = float(text.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None
