"""``HarmonyClient``: the one place that speaks HTTP to the Harmony API.

Every request goes through the run's ``Pace`` (the limiter and the shared 429 pause), and
every foreign failure becomes a ``worker.errors`` exception here, ``from`` the original:
nothing above this module imports aiohttp. One method call is one attempt; the callers
(scan, execute) decide about retries, because a cancel's retry needs to know what the
earlier attempts saw.

A cancel given ``send_before`` is checked against the client's clock after the pace's wait
(limiter slot, shared pause), the last wait before its bytes leave: when that moment has
come, nothing is sent and ``cancel`` returns ``TooLate``, an expected answer, not an error.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import aiohttp
from pydantic import SecretStr
from yarl import URL

from jobs.links import Link, Status
from worker.__about__ import __version__
from worker.errors import (
    ApiError,
    AuthError,
    MalformedResponse,
    NoResponse,
    RateLimited,
    TransientApiError,
)
from worker.pace import Pace
from worker.records import Page, canonical_uuid, parse_link, parse_page, utc_now

PAGE_SIZE_MAX = 500
_MESSAGE_LIMIT = 300
_PATH = "/api/one-time-payment"


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
class _Answer:
    status: int
    body: bytes


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


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: Pace parses those itself from the headers it observes


class HarmonyClient:
    """An async client of the one-time-payment endpoints, scoped to one API key."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: SecretStr,
        pace: Pace,
        request_timeout: float,
        connect_timeout: float,
        max_connections: int = 256,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.pace = pace
        self._clock = clock
        self._timeout = aiohttp.ClientTimeout(total=request_timeout, connect=connect_timeout)
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self.requests_sent = 0
        self.requests_by_class: Counter[str] = Counter()

    def __repr__(self) -> str:
        return f"HarmonyClient(base_url={self._base_url!r})"

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession(
            timeout=self._timeout,
            connector=aiohttp.TCPConnector(limit=self._max_connections),
            headers={
                "User-Agent": f"harmony-sweeper/{__version__}",
                # Once per session rather than merged into every request's headers.
                "x-api-key": self._api_key.get_secret_value(),
            },
            raise_for_status=False,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def list_page(
        self, page: int, *, page_size: int = PAGE_SIZE_MAX, status: Status = Status.PENDING
    ) -> Page:
        """One page of the organization's links with ``status``."""
        params = {"page": str(page), "pageSize": str(page_size), "status": status.value}
        answer = await self._send("GET", _PATH, params=params)
        if answer.status != 200:
            raise ApiError(
                f"listing page {page} answered {answer.status}: {error_message(answer.body)}",
                status=answer.status,
            )
        return parse_page(answer.body)

    async def get(self, link_id: str) -> Link | None:
        """One link by id, or ``None`` when the organization has no such link (404)."""
        answer = await self._send("GET", f"{_PATH}/{canonical_uuid(link_id)}")
        if answer.status == 404:
            return None
        if answer.status != 200:
            raise ApiError(
                f"fetching {link_id} answered {answer.status}: {error_message(answer.body)}",
                status=answer.status,
            )
        return parse_link(answer.body)

    async def cancel(
        self, link_id: str, *, send_before: datetime | None = None
    ) -> CancelAnswer | TooLate:
        """One cancel attempt; 200, 400 and 404 are answers, the rest raise.

        With ``send_before``, nothing is sent (``TooLate``) once the clock has reached it
        by the time the pace lets the request go.
        """
        path = f"{_PATH}/{canonical_uuid(link_id)}/cancel"
        await self.pace.acquire()
        # After the last wait: a request that leaves now may still arrive before the deadline.
        if send_before is not None and (now := self._clock()) >= send_before:
            return TooLate(send_before=send_before, checked_at=now)
        answer = await self._request("PATCH", path)
        if answer.status == 200:
            # The cancel happened: a body we cannot parse must not turn it into a failure,
            # so it is not even read here (``CancelAnswer.link`` parses it when asked).
            return CancelAnswer(status=200, body=answer.body, message=None)
        if answer.status in (400, 404):
            return CancelAnswer(
                status=answer.status, body=answer.body, message=error_message(answer.body)
            )
        raise ApiError(
            f"cancelling {link_id} answered {answer.status}: {error_message(answer.body)}",
            status=answer.status,
        )

    async def _send(
        self, method: str, path: str, *, params: Mapping[str, str] | None = None
    ) -> _Answer:
        await self.pace.acquire()
        return await self._request(method, path, params=params)

    async def _request(
        self, method: str, path: str, *, params: Mapping[str, str] | None = None
    ) -> _Answer:
        """One request, at once: the caller has taken its slot of the pace."""
        if self._session is None:
            raise RuntimeError("HarmonyClient used outside 'async with'")
        self.requests_sent += 1
        started = time.monotonic()
        try:
            async with self._session.request(
                method,
                # Already encoded: our paths are fixed text and canonical UUIDs, and parsing
                # and re-quoting every request's URL was ~4 % of the CPU per cancel.
                URL(self._base_url + path, encoded=True),
                params=params,
            ) as response:
                body = await response.read()
                status, headers = response.status, response.headers
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.pace.observe(status=None, headers=None, latency=time.monotonic() - started)
            self.requests_by_class["no_answer"] += 1
            # str(exc) of aiohttp errors names the host and path, never request headers.
            raise NoResponse(f"{method} {path}: no answer ({type(exc).__name__}: {exc})") from exc
        self.pace.observe(status=status, headers=headers, latency=time.monotonic() - started)
        self.requests_by_class["429" if status == 429 else f"{status // 100}xx"] += 1
        return self._classify(method, path, status, headers, body)

    @staticmethod
    def _classify(
        method: str, path: str, status: int, headers: Mapping[str, str], body: bytes
    ) -> _Answer:
        if status in (401, 403):
            raise AuthError(
                f"{method} {path}: the API refused the key ({status}): {error_message(body)}",
                status=status,
            )
        if status == 429:
            raise RateLimited(
                f"{method} {path}: rate limited (429)", retry_after=_retry_after(headers)
            )
        if status >= 500 or status == 408:
            raise TransientApiError(
                f"{method} {path}: server error {status}: {error_message(body)}", status=status
            )
        return _Answer(status=status, body=body)
