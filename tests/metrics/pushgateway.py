"""A real Prometheus Pushgateway on a free loopback port, and reading its series back."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from prometheus_client.parser import text_string_to_metric_families

INSTALL_HINT = (
    "prometheus-pushgateway not found: install it to run the end-to-end metrics tests"
    " (Debian/Ubuntu: `apt-get install -y prometheus-pushgateway`; elsewhere put the"
    " upstream `pushgateway` binary on PATH)"
)
_CANDIDATES = ("prometheus-pushgateway", "pushgateway", "/usr/bin/prometheus-pushgateway")
_READY_WITHIN = 15.0  # seconds; a cold start on a loaded CI box takes well under one
_STOP_WITHIN = 5.0
_START_ATTEMPTS = 3  # another process may take the free port between probe and bind

# Series keyed by (sample name, labels without the grouping labels), for one group.
Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def find_pushgateway() -> str | None:
    """The Pushgateway binary's path: Debian's name first, then upstream's."""
    for candidate in _CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


class Pushgateway:
    """``prometheus-pushgateway`` on 127.0.0.1, in memory only, stopped on exit.

    ``route_prefix`` serves the API under a path, as behind a reverse proxy.
    """

    def __init__(self, binary: str, *, log_path: Path, route_prefix: str = "") -> None:
        self._binary = binary
        self._log_path = log_path
        self._route_prefix = route_prefix
        self._process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """The URL to push to, path prefix included."""
        return f"http://127.0.0.1:{self.port}{self._route_prefix}"

    def __enter__(self) -> Pushgateway:
        for _ in range(_START_ATTEMPTS):
            self.port = _free_port()
            if self._start():
                return self
        raise RuntimeError(f"Pushgateway did not start; its log:\n{self._log()}")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop()

    def series(self, *, job: str, organization: str) -> Series:
        """Every sample the gateway exposes for one group, the gateway's own included."""
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=5) as response:  # noqa: S310 (our own http URL)
            text = response.read().decode("utf-8")
        grouping = {"job": job, "organization": organization, "instance": ""}
        found: Series = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                group = {key: sample.labels.get(key) for key in grouping}
                if group != grouping:
                    continue
                labels = frozenset(
                    (key, value) for key, value in sample.labels.items() if key not in grouping
                )
                found[sample.name, labels] = sample.value
        return found

    def _start(self) -> bool:
        """Start on ``self.port`` and wait until ready; False when the process died first."""
        with self._log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    self._binary,
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    f"--web.route-prefix={self._route_prefix or '/'}",
                    "--persistence.file=",  # nothing on disk: a test's series die with it
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + _READY_WITHIN
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                return False
            if self._ready():
                return True
            time.sleep(0.02)
        self._stop()
        raise RuntimeError(
            f"Pushgateway not ready within {_READY_WITHIN} s; its log:\n{self._log()}"
        )

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:  # noqa: S310 (our own http URL)
                return bool(response.status == 200)
        except OSError:  # not listening yet, or not ready (503)
            return False

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=_STOP_WITHIN)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=_STOP_WITHIN)

    def _log(self) -> str:
        return self._log_path.read_text(encoding="utf-8", errors="replace")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
