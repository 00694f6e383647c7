"""What the sandbox saw: requests by route and outcome, PATCHes per link, injected events.

Keys here are routes, link ids and organization ids, never API keys.
"""

from __future__ import annotations

import collections
from typing import Any

LIST = "GET /api/one-time-payment"
GET_ONE = "GET /api/one-time-payment/{id}"
CREATE = "POST /api/one-time-payment"
CANCEL = "PATCH /api/one-time-payment/{id}/cancel"
ROUTES = (LIST, GET_ONE, CREATE, CANCEL)
SHORT_NAMES = {LIST: "list", GET_ONE: "get", CREATE: "create", CANCEL: "cancel"}  # for knobs
RESET = "reset"  # the outcome of a request whose connection was dropped
EVENTS = (
    "rate_limited",
    "faults",
    "resets",
    "ambiguous",
    "races",
    "customer_payments",
    "malformed",
    "sibling_payments",
)


class Counters:
    """Monotonic tallies since start or the last `clear`."""

    def __init__(self) -> None:
        self._requests: dict[str, collections.Counter[str]] = {}
        self._patches: collections.Counter[str] = collections.Counter()
        self._events: collections.Counter[str] = collections.Counter()
        self.clear()

    def request(self, route: str, outcome: int | str) -> None:
        """Count one /api request on `route` that ended in `outcome` (a status or "reset")."""
        self._requests[route][str(outcome)] += 1

    def patch(self, link_id: str) -> None:
        """Count one cancel request that named `link_id` (as sent, valid or not)."""
        self._patches[link_id] += 1

    def event(self, name: str) -> None:
        """Count one injected or background event (see `EVENTS`)."""
        if name not in EVENTS:
            raise ValueError(f"unknown counter event {name!r}")
        self._events[name] += 1

    def snapshot(
        self, max_in_window: dict[str, int], max_in_window_at: dict[str, float] | None = None
    ) -> dict[str, Any]:
        """JSON-ready counters; `max_in_window` is the limiter's peaks per organization id,
        `max_in_window_at` when each peak window ended (seconds after that organization's
        first request)."""
        requests = {route: dict(outcomes) for route, outcomes in self._requests.items()}
        return {
            "requests": requests,
            "total": sum(sum(outcomes.values()) for outcomes in self._requests.values()),
            "patches_per_link": dict(self._patches),
            "max_in_window": max_in_window,
            "max_in_window_at": {key: round(at, 3) for key, at in (max_in_window_at or {}).items()},
            **{name: self._events[name] for name in EVENTS},
        }

    def clear(self) -> None:
        """Back to zero."""
        self._requests = {route: collections.Counter() for route in ROUTES}
        self._patches.clear()
        self._events.clear()
