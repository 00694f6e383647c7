"""What the client answers with: values, not errors, and the human part of an error body.

``CancelAnswer`` (200, 400, 404), ``TooLate`` (a cancel not sent: its moment had passed),
``Silence`` (how long the API has owed an answer) and ``Exchange`` (one answered request, for
the probe). Apart from ``worker.api.client`` so that the client stays about HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jobs.links import Link
from worker.api.records import parse_link
from worker.errors import MalformedResponse

_MESSAGE_LIMIT = 300


@dataclass(frozen=True, slots=True)
class CancelAnswer:
    """The server's answer to one cancel attempt that it did answer (not 401/403/429/5xx)."""

    status: int
    body: bytes
    message: str | None

    @property
    def link(self) -> Link | None:
        """The cancelled payment of a 200, parsed on demand; None when it does not parse.

        On demand because the sweep needs only the status: parsing every 200 body was
        about 5 % of the worker's CPU per cancel (bench, client_cost).
        """
        if self.status != 200:
            return None
        try:
            return parse_link(self.body)
        except MalformedResponse:
            return None


@dataclass(frozen=True, slots=True)
class TooLate:
    """A cancel not sent: the client's clock had reached its ``send_before`` when its turn came."""

    send_before: datetime
    checked_at: datetime


@dataclass(frozen=True, slots=True)
class Silence:
    """The API has owed an answer for ``seconds``; ``last_failure`` is why, if an attempt failed."""

    seconds: float
    last_failure: str | None

    def describe(self) -> str:
        """E.g. "no answer yet (12 s), retrying after connection reset by api.example"."""
        text = f"no answer yet ({self.seconds:.0f} s)"
        return text if self.last_failure is None else f"{text}, retrying after {self.last_failure}"


@dataclass(frozen=True, slots=True)
class Exchange:
    """One answered request, as ``HarmonyClient.on_exchange`` is told of it (the probe's view)."""

    method: str
    path: str
    status: int
    sent_at: datetime  # the client's clock when the request left
    latency: float  # seconds, from the request leaving to its body read
    headers: Mapping[str, str]  # every response header, names lower-cased


def error_message(body: bytes) -> str | None:
    """The human part of an error body: JSON `message` (string or list) or `error`, or text."""
    if not body:
        return None
    try:
        data: Any = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")[:_MESSAGE_LIMIT]
    if isinstance(data, Mapping):
        for key in ("message", "error"):
            value = data.get(key)
            if isinstance(value, list):
                return "; ".join(str(part) for part in value)[:_MESSAGE_LIMIT]
            if value:
                return str(value)[:_MESSAGE_LIMIT]
    return body.decode("utf-8", "replace")[:_MESSAGE_LIMIT]
