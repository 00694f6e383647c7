"""``HarmonyClient``: the one place that speaks HTTP to the Harmony API.

Every request goes through the run's ``Pace`` (the limiter and the shared 429 pause), and
every foreign failure becomes a ``worker.errors`` exception here, ``from`` the original:
nothing above this module imports aiohttp. One method call is one attempt; the callers
(scan, execute) decide about retries, because a cancel's retry needs to know what the
earlier attempts saw.

A cancel given ``send_before`` is checked against the client's clock after the pace's wait
(limiter slot, shared pause), the last wait before its bytes leave: when that moment has
come, nothing is sent and ``cancel`` returns ``TooLate``, an expected answer, not an error.

A request that got no answer becomes ``NoResponse`` (retried) or ``Unreachable`` (not:
retrying cannot fix a certificate or a host name that does not exist), with the cause in
plain words; ``HarmonyClient.silence`` tells how long the API has owed an answer.

Past ~300 lines on purpose: naming aiohttp's failures (``_cause`` and the helpers at the
bottom) needs aiohttp's exception classes, and this module is the one boundary that may
import them (STYLE: foreign exceptions are translated in exactly one place).
"""

from __future__ import annotations

import errno
import socket
import ssl
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Self

import aiohttp
from pydantic import SecretStr
from yarl import URL

from jobs.links import Link, Status
from worker.__about__ import __version__
from worker.api._rate_headers import retry_after_seconds
from worker.api.answers import CancelAnswer, Exchange, Silence, TooLate, error_message
from worker.api.pace import Pace
from worker.api.records import Page, canonical_uuid, parse_link, parse_page, utc_now
from worker.errors import (
    ApiError,
    AuthError,
    NoResponse,
    RateLimited,
    TransientApiError,
    Unreachable,
)

PAGE_SIZE_MAX = 500
_PATH = "/api/one-time-payment"

# getaddrinfo's "this name does not exist" (NXDOMAIN) and "it has no address": asking
# again within the run gets the same answer. EAI_AGAIN (no DNS server answered) and the
# others may pass, and are retried as any connection failure. EAI_NODATA is glibc's only.
_DNS_PERMANENT = frozenset(
    code for code in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", None)) if code is not None
)
# The report's name for an answer's status (``requests_by_class``), the usual ones made once.
_STATUS_CLASS = {429: "429", 200: "2xx", 400: "4xx", 404: "4xx"}
# OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH.
_NAME_MISMATCH = frozenset({62, 64})


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: bytes


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
        self.host = _authority(URL(self._base_url))
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self.requests_sent = 0
        self.requests_by_class: Counter[str] = Counter()
        self.last_failure: NoResponse | Unreachable | None = None
        self._in_flight = 0
        self._silent_since: float | None = None
        # Told of every answered request; None in a run, which needs only the pace's view.
        self.on_exchange: Callable[[Exchange], None] | None = None

    def silence(self, now: float | None = None) -> Silence | None:
        """How long the API has owed an answer (``time.monotonic`` seconds); None if it does not.

        Counted from the last answer, or from the first request after it: while a request
        is out, after one went unanswered (a retry may follow), or was abandoned (a deadline).
        """
        if self._silent_since is None:
            return None
        now = time.monotonic() if now is None else now
        failure = None if self.last_failure is None else self.last_failure.reason
        return Silence(seconds=max(0.0, now - self._silent_since), last_failure=failure)

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
        sent_at = self._clock() if self.on_exchange is not None else None
        started = time.monotonic()
        self._in_flight += 1
        if self._silent_since is None:
            self._silent_since = started
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
            self.last_failure = self._no_answer(exc, method, path)
            raise self.last_failure from exc
        finally:
            self._in_flight -= 1
        answered = time.monotonic()
        self._silent_since = answered if self._in_flight else None
        self.last_failure = None
        self.pace.observe(status=status, headers=headers, latency=answered - started)
        self.requests_by_class[_STATUS_CLASS.get(status) or f"{status // 100}xx"] += 1
        if self.on_exchange is not None and sent_at is not None:
            self.on_exchange(
                Exchange(
                    method=method,
                    path=path,
                    status=status,
                    sent_at=sent_at,
                    latency=answered - started,
                    headers={name.lower(): value for name, value in headers.items()},
                )
            )
        return self._classify(method, path, status, headers, body)

    def _no_answer(
        self, exc: aiohttp.ClientError | TimeoutError, method: str, path: str
    ) -> NoResponse | Unreachable:
        """The project error for a request that got no answer, its cause in plain words.

        The words never quote the request: aiohttp's errors name the host, not our headers.
        """
        host = self.host
        if isinstance(exc, aiohttp.ClientConnectorError):
            host = f"{exc.host}:{exc.port}" if exc.port is not None else exc.host
        cause, reason, permanent = _cause(exc, host, self._timeout)
        if permanent:
            return Unreachable(f"{method} {path}: {reason}", reason=reason, cause=cause, host=host)
        return NoResponse(
            f"{method} {path}: no answer ({reason})", reason=reason, cause=cause, host=host
        )

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
                f"{method} {path}: rate limited (429)", retry_after=retry_after_seconds(headers)
            )
        if status >= 500 or status == 408:
            raise TransientApiError(
                f"{method} {path}: server error {status}: {error_message(body)}", status=status
            )
        return _Answer(status=status, body=body)


def _authority(url: URL) -> str:
    """``host`` or ``host:port`` when the port is not the scheme's default."""
    host = url.host or ""
    return host if url.explicit_port is None else f"{host}:{url.port}"


def _seconds(value: float | None) -> str:
    return "(no limit)" if value is None else f"{value:g}s"


_Cause = tuple[str, str, bool]
"""(cause, reason in plain words, permanent) of a request that got no answer."""


def _cause(
    exc: aiohttp.ClientError | TimeoutError, host: str, timeout: aiohttp.ClientTimeout
) -> _Cause:
    """Why no answer came; ``permanent`` when a retry within the run would meet the same."""
    if isinstance(exc, aiohttp.ClientSSLError | aiohttp.ServerFingerprintMismatch):
        return _tls_cause(exc, host)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return _connect_cause(exc, host)
    if isinstance(exc, TimeoutError):
        # aiohttp's connect timeout (TLS handshake included) is a TimeoutError too.
        connecting = isinstance(exc, aiohttp.ConnectionTimeoutError)
        words = (
            f"no connection to {host} within {_seconds(timeout.connect)}"
            if connecting
            else f"no answer from {host} within {_seconds(timeout.total)}"
        )
        return ("connect_timeout" if connecting else "timeout"), words, False
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "reset", f"connection closed by {host} before it answered", False
    reset = isinstance(exc, ConnectionResetError) or getattr(exc, "errno", None) == errno.ECONNRESET
    if reset:
        return "reset", f"connection reset by {host}", False
    return "no_answer", f"{type(exc).__name__}: {exc}", False


def _tls_cause(
    exc: aiohttp.ClientSSLError | aiohttp.ServerFingerprintMismatch, host: str
) -> _Cause:
    if isinstance(exc, aiohttp.ServerFingerprintMismatch):
        return "certificate", f"TLS certificate fingerprint mismatch for {host}", True
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        problem = exc.certificate_error
        detail = getattr(problem, "verify_message", None) or str(problem)
        if getattr(problem, "verify_code", None) in _NAME_MISMATCH:
            return "hostname", f"TLS certificate does not match {exc.host}: {detail}", True
        return "certificate", f"TLS certificate verify failed for {exc.host}: {detail}", True
    if isinstance(exc.os_error, ssl.SSLEOFError | ssl.SSLZeroReturnError | ConnectionError):
        # Cut off mid-handshake: what a reset looks like there, and as transient.
        return "reset", f"connection closed during the TLS handshake with {host}", False
    detail = getattr(exc.os_error, "reason", None) or exc.strerror or str(exc.os_error)
    return "tls", f"TLS handshake with {host} failed: {detail}", True


def _connect_cause(exc: aiohttp.ClientConnectorError, host: str) -> _Cause:
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        permanent = exc.os_error.errno in _DNS_PERMANENT
        return "dns", f"DNS lookup failed for host {exc.host}: {exc.strerror}", permanent
    if isinstance(exc.os_error, ConnectionRefusedError):
        # Retried: a server restarting, or a balancer with no healthy backend for a moment,
        # refuses too; a wrong port costs only a few quick attempts within the budget.
        return "refused", f"connection refused by {host}", False
    return "connect", f"cannot connect to {host}: {exc.strerror}", False
