"""The fault knobs: one immutable record, validated wherever it is changed.

The same snake_case names are used by the control plane (`GET/PUT /_sandbox/knobs`), the
CLI (with dashes) and `SandboxServer(knobs=...)`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

DEFAULT_RATE_WINDOW_S = 1.0


class KnobError(ValueError):
    """A knob name is unknown or its value is out of range; the message names the knob."""


@dataclasses.dataclass(frozen=True, slots=True)
class Knobs:
    """Fault and pace settings of a running sandbox; every default means "behave normally"."""

    rate_limit: int | None = None
    rate_window_s: float = DEFAULT_RATE_WINDOW_S
    rate_limit_headers: bool = True
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    fault_rate: float = 0.0
    reset_rate: float = 0.0
    ambiguous_rate: float = 0.0
    race_rate: float = 0.0
    pay_rate: float = 0.0
    malformed_rate: float = 0.0
    fault_routes: tuple[str, ...] | None = None  # where fault_rate and reset_rate apply; None: all
    page_size_cap: int | None = None  # serve at most this many items per list page
    page_size_echo: str = "effective"  # "requested": echo the asked pageSize, skip by it
    list_order: str = "newest_first"
    unstable_ties: bool = False  # links sharing a createdAt come in a new order every request
    count_lag_s: float = 0.0  # a list's count is cached this long (real seconds)
    # At most this many fault_rate/reset_rate faults in a row for one request (method, path
    # and query); the next one goes through. None: no cap.
    fault_streak_max: int | None = None
    sibling_pay_rate: float = 0.0  # of pay_rate: to a PENDING sibling of a CONFIRMED link
    # The Date header of /api responses runs this many seconds ahead (negative: behind) of
    # the sandbox's wall clock: a server whose clock is off.
    date_skew_s: float = 0.0
    # False: PENDING links past expiresAt are left out of the list and of its count.
    list_expired: bool = True
    # A list request asking for a larger pageSize is a 400: a server whose maximum is
    # smaller than the documented 500 and refuses rather than clamps.
    page_size_max: int | None = None
    # The names of the rate-limit headers: the IETF draft's, or the older X- ones (GitHub's).
    rate_limit_header_names: str = "ratelimit"

    def faults_apply_to(self, route_name: str) -> bool:
        """Whether `fault_rate` and `reset_rate` may hit this route ("list", "cancel", ...)."""
        return self.fault_routes is None or route_name in self.fault_routes

    def replace(self, changes: Mapping[str, object]) -> Knobs:
        """Return a copy with `changes` applied, after checking every name and value."""
        known = {field.name for field in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise KnobError(f"unknown knob(s) {unknown}; known knobs are {sorted(known)}")
        checked: dict[str, Any] = {name: _check(name, value) for name, value in changes.items()}
        return dataclasses.replace(self, **checked)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready mapping of every knob."""
        knobs = dataclasses.asdict(self)
        if self.fault_routes is not None:
            knobs["fault_routes"] = list(self.fault_routes)
        return knobs


KNOB_NAMES: tuple[str, ...] = tuple(field.name for field in dataclasses.fields(Knobs))
_FRACTIONS = frozenset(
    {"fault_rate", "reset_rate", "ambiguous_rate", "race_rate", "malformed_rate"}
    | {"sibling_pay_rate"}
)
_NON_NEGATIVE = frozenset({"latency_ms", "latency_jitter_ms", "pay_rate", "count_lag_s"})
ROUTE_NAMES = ("list", "get", "create", "cancel")
LIST_ORDERS = ("newest_first", "oldest_first", "by_id", "shuffled")
PAGE_SIZE_ECHOES = ("effective", "requested")
RATE_LIMIT_HEADER_NAMES = ("ratelimit", "x-ratelimit")
_CHOICES = {
    "list_order": LIST_ORDERS,
    "page_size_echo": PAGE_SIZE_ECHOES,
    "rate_limit_header_names": RATE_LIMIT_HEADER_NAMES,
}
# knob -> its least value
_OPTIONAL_COUNTS = {"rate_limit": 1, "page_size_cap": 1, "fault_streak_max": 0, "page_size_max": 1}


def _check(name: str, value: object) -> object:
    if name == "fault_routes":
        return _routes(value)
    if name in _CHOICES:
        if value not in _CHOICES[name]:
            raise KnobError(f"knob {name} must be one of {list(_CHOICES[name])}, got {value!r}")
        return value
    if name in ("rate_limit_headers", "unstable_ties", "list_expired"):
        if not isinstance(value, bool):
            raise KnobError(f"knob {name} must be true or false, got {value!r}")
        return value
    if name in _OPTIONAL_COUNTS:
        return _optional_count(name, value)
    number = _number(name, value)
    if name in _FRACTIONS and not 0.0 <= number <= 1.0:
        raise KnobError(f"knob {name} must be between 0 and 1, got {value!r}")
    if name in _NON_NEGATIVE and number < 0:
        raise KnobError(f"knob {name} must be >= 0, got {value!r}")
    if name == "rate_window_s" and number <= 0:
        raise KnobError(f"knob {name} must be > 0, got {value!r}")
    return number


def _optional_count(name: str, value: object) -> int | None:
    if value is None:
        return None
    least = _OPTIONAL_COUNTS[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise KnobError(f"knob {name} must be an integer >= {least} or null, got {value!r}")
    return value


def _routes(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise KnobError(f"knob fault_routes must be a list of {list(ROUTE_NAMES)} or null")
    unknown = [route for route in value if route not in ROUTE_NAMES]
    if unknown:
        raise KnobError(f"knob fault_routes: unknown route(s) {unknown}; use {list(ROUTE_NAMES)}")
    return tuple(value)


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise KnobError(f"knob {name} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise KnobError(f"knob {name} must be finite, got {value!r}")
    return number
