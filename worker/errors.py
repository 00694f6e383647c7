"""The project's exceptions: one tree, branched by the decision the caller must make.

    SweeperError
    ├── ConfigError            bad settings, flags or manifest: nothing sent (exit 2)
    ├── ApiError               the API answered something we cannot act on
    │   ├── AuthError          401/403: stop at once (exit 3)
    │   ├── TransientApiError  5xx, 429, connection errors, timeouts: retry
    │   │   ├── RateLimited    429, with the server's Retry-After when it sent one
    │   │   └── NoResponse     no answer: the request may or may not have been applied
    │   ├── MalformedResponse  a body that does not match the documented shape (exit 4)
    │   └── Unreachable        no answer and retrying cannot help: a bad certificate, a host
    │                          that does not exist, the scan deadline passed: stop (exit 6)
    └── SafetyAbort            plan over the cap, failure threshold, incomplete scan (exit 4)

Expected outcomes of a cancel (conflict, not found) are values of ``Outcome``, not errors.
aiohttp's exceptions never leave ``worker.api.client``: they become these, ``from`` the original.
"""

from __future__ import annotations


class SweeperError(Exception):
    """Base of every error harmony-sweeper raises on purpose."""


class ConfigError(SweeperError):
    """Settings, flags or an input file are invalid; the message names the input."""


class ApiError(SweeperError):
    """The API answered with something the sweep cannot act on."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthError(ApiError):
    """The API key was refused (401/403): no further request may be sent."""


class TransientApiError(ApiError):
    """A failure worth retrying: 5xx, 429, a reset connection, a timeout."""


class RateLimited(TransientApiError):
    """429 Too Many Requests; ``retry_after`` is in seconds when the server said."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, status=429)
        self.retry_after = retry_after


class NoResponse(TransientApiError):
    """No answer came (reset, timeout): the server may or may not have acted on the request.

    ``reason`` says why in plain words ("connection refused by 127.0.0.1:8080"); ``cause``
    names the kind as a stable identifier (``refused``, ``dns``, ``timeout``, ``reset``...)
    and ``host`` the host it was sent to, for logs and reports.
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        cause: str | None = None,
        host: str | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason or message
        self.cause = cause
        self.host = host


class MalformedResponse(ApiError):
    """A response body that does not match the documented shape."""


class SafetyAbort(SweeperError):
    """The run stopped itself before doing harm; the message says which guard tripped."""


class Unreachable(ApiError):
    """The API cannot be reached and retrying will not help; never retried.

    A certificate that does not verify or names another host, a host name that does not
    exist (NXDOMAIN), a TLS handshake that fails, or a scan with no answer by its deadline.
    ``reason``, ``cause`` and ``host`` as for ``NoResponse``.
    """

    def __init__(self, message: str, *, reason: str, cause: str, host: str | None) -> None:
        super().__init__(message)
        self.reason = reason
        self.cause = cause
        self.host = host
