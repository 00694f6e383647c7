"""Servers that fail the way networks do: a TLS certificate nobody trusts, or one for another
host; a port that accepts and never answers; a port with nothing listening; a host name that
does not exist. Real loopback sockets, served from a thread so that both the async tests
and the synchronous CLI can aim at them.
"""

from __future__ import annotations

import socket
import ssl
import threading
from types import TracebackType

import trustme

# A host name that can never resolve (RFC 6761 reserves .invalid).
MISSING_HOST = "harmony-sweeper-test.invalid"
_ACCEPT_POLL_S = 0.1
_HANDSHAKE_LIMIT_S = 5.0


class SilentServer:
    """Listens on 127.0.0.1, counts connections, and never answers a request.

    With ``certificate`` (a trustme leaf) each connection first gets a TLS handshake with
    it; a client that rejects the certificate ends the connection there.
    """

    def __init__(self, certificate: trustme.LeafCert | None = None) -> None:
        self._tls: ssl.SSLContext | None = None
        if certificate is not None:
            self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            certificate.configure_cert(self._tls)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(_ACCEPT_POLL_S)
        self.port: int = self._listener.getsockname()[1]
        self._held: list[socket.socket] = []
        self._count = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="silent-server", daemon=True)

    @property
    def connections(self) -> int:
        """TCP connections accepted so far: one per attempt to reach the server."""
        with self._lock:
            return self._count

    @property
    def base_url(self) -> str:
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=_HANDSHAKE_LIMIT_S + 1)
        self._listener.close()
        for held in self._held:
            held.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._count += 1
            if self._tls is not None:
                connection.settimeout(_HANDSHAKE_LIMIT_S)
                try:
                    connection = self._tls.wrap_socket(connection, server_side=True)
                except (ssl.SSLError, OSError):
                    connection.close()  # the client refused the certificate
                    continue
            self._held.append(connection)  # open, and never a byte of answer


def free_port() -> int:
    """A loopback port with nothing listening on it (refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def missing_host_fails_fast() -> str | None:
    """Why ``MISSING_HOST`` cannot serve as a DNS failure here, or None when it can.

    It must fail as "no such name" (EAI_NONAME) and quickly: a machine whose resolver
    cannot be reached says "try again" (EAI_AGAIN), which is retried, or hangs.
    """
    outcome: list[BaseException | None] = []

    def resolve() -> None:
        try:
            socket.getaddrinfo(MISSING_HOST, 443)
        except OSError as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=resolve, daemon=True)
    thread.start()
    thread.join(timeout=5)
    if not outcome:
        return f"resolving {MISSING_HOST} took over 5 s on this machine"
    error = outcome[0]
    if not isinstance(error, socket.gaierror) or error.errno != socket.EAI_NONAME:
        return f"resolving {MISSING_HOST} did not fail with EAI_NONAME here: {error!r}"
    return None
