"""The project's exceptions: one tree, branched by what the caller does next.

    SweeperError
    ├── AuthError              stop the run: the API refused the key (401/403) (exit 3)
    ├── ApiError               this request failed; the caller decides for this request only
    │   ├── TransientApiError  retry it: 5xx, 408, a reset connection, a timeout
    │   │   ├── RateLimited    429, with the server's Retry-After when it sent one
    │   │   └── NoResponse     no answer: the request may or may not have been applied
    │   ├── Unreachable        give up: retrying cannot help (a bad certificate, a host that
    │   │                      does not exist, the scan deadline passed)
    │   └── MalformedResponse  give up: a body that does not match the documented shape
    ├── SafetyAbort            the run stopped itself before doing harm (exit 4)
    │   ├── ScanIncomplete     (worker.sweep) the links could not all be read, or do not add
    │   │                      up to the count the server announced
    │   └── PaidReadIncomplete (worker.sweep.paid) the CONFIRMED links could not all be
    │                          read: caught in the run, paid_sibling selects nothing
    ├── ConfigError            a local input cannot be used: settings, flags, a manifest, a
    │                          report, audit-log or lock path; nothing sent (exit 2)
    └── AlreadyRunning         another run holds the lock file; nothing sent (exit 5)

Any other ``ApiError`` (an unexpected 4xx) is given up on, like the last two. Inside a run,
a request that failed ends its link ``failed`` or, while links are being gathered, the run
``unreachable`` (exit 6) or ``scan_incomplete`` (exit 4): the report says so, the error
does not reach the CLI. So do the other safety aborts (plan over the cap, the failure
threshold, a declined confirmation): they are the report's ``aborted`` value, not
exceptions. What reaches the CLI becomes its exit code in ``worker.cli.exit_codes``.

Expected outcomes of a cancel (conflict, not found) are values of ``Outcome``, not errors.
aiohttp's exceptions never leave ``worker.api.client``: they become these, ``from`` the original.
"""

from __future__ import annotations

from pathlib import Path


class SweeperError(Exception):
    """Base of every error harmony-sweeper raises on purpose."""


class AuthError(SweeperError):
    """The API key was refused (401/403): no further request may be sent."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ApiError(SweeperError):
    """One request failed: the API answered something the sweep cannot act on, or nothing."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


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


class SafetyAbort(SweeperError):
    """The run stopped itself before doing harm; the message says why."""


class ConfigError(SweeperError):
    """Settings, flags or an input file are invalid; the message names the input."""


class AlreadyRunning(SweeperError):
    """Another run holds the lock file: this one must not send anything."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path}: another run holds the lock")
        self.path = path
