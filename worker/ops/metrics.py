"""Batch-job metrics, pushed once to a Prometheus Pushgateway at the end of a run.

Prometheus' advice for batch jobs: push at the end, one group per job and organization,
with the last success and last completion timestamps so that alerts can tell a run that
failed from a run that never happened. Every push builds a fresh ``CollectorRegistry``: no
process-wide metric state, nothing left over from an earlier push in the same process.

The push is a POST (``pushadd_to_gateway``), not a PUT. A PUT replaces the whole group, so
a failed run, which pushes no ``last_success_timestamp_seconds``, would erase the one an
earlier successful run left there, and "no success for two days" could never be alerted
on. A POST replaces only the metric names it carries. The flip side: a name pushed with no
sample replaces nothing, so every labelled gauge is pushed with all of its label values,
zeros included (an earlier run's ``aborted{reason="declined"} 1`` must be overwritten by a
0, not survive).

Only ``scheme://host:port`` of the gateway URL is ever logged: a path prefix or a reverse
proxy's route can carry something private. No credentials go to the gateway: the inputs
hold no API key, and a URL with user information is refused.
"""

from __future__ import annotations

import http.client
import time
import urllib.error
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import structlog
from prometheus_client import CollectorRegistry, Gauge, pushadd_to_gateway

from worker.__about__ import __version__
from worker.errors import ConfigError
from worker.outcomes import Abort, Outcome
from worker.report import Report, RunStats

__all__ = ["METRIC_PREFIX", "STATUS_CLASSES", "RunStats", "gateway_origin", "push_metrics"]

METRIC_PREFIX = "harmony_sweeper_"
# RunStats.requests_by_class keys; each is pushed, 0 when the run saw none.
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx", "429", "no_answer")

_DEFAULT_PORTS = {"http": 80, "https": 443}

log = structlog.get_logger("worker.ops.metrics")


def push_metrics(
    *,
    gateway: str,
    job: str,
    organization: str,
    report: Report,
    stats: RunStats,
    exit_code: int,
    timeout: float = 10.0,
    clock: Callable[[], float] = time.time,
) -> bool:
    """Push the run's metrics; True when the gateway took them.

    Never raises for a network or HTTP failure, nor for an unusable URL: a push failure is
    logged as ``metrics.push_failed`` and must never change the run's exit code. Blocking;
    ``timeout`` bounds the connect and each read (urllib's socket timeout), not their sum.
    """
    try:
        target = _parse_gateway(gateway)
    except ConfigError as exc:
        log.warning(
            "metrics.push_failed",
            gateway=None,
            job=job,
            organization=organization,
            error=str(exc),
            status=None,
        )
        return False
    registry = _registry(report=report, stats=stats, exit_code=exit_code, now=clock())
    try:
        pushadd_to_gateway(
            target.base,
            job=job,
            registry=registry,
            grouping_key={"organization": organization},
            timeout=timeout,
        )
    # urllib's errors (refused, timed out, HTTP 4xx/5xx) are OSErrors; http.client's own
    # (a garbled status line) are not; ValueError covers a host name IDNA cannot encode.
    except (OSError, http.client.HTTPException, ValueError) as exc:
        log.warning(
            "metrics.push_failed",
            gateway=target.origin,
            job=job,
            organization=organization,
            error=_error_text(exc).replace(target.base, target.origin),
            status=exc.code if isinstance(exc, urllib.error.HTTPError) else None,
        )
        return False
    log.info(
        "metrics.pushed",
        gateway=target.origin,
        job=job,
        organization=organization,
        exit_code=int(exit_code),
    )
    return True


def gateway_origin(url: str) -> str:
    """``scheme://host:port`` of a Pushgateway URL: all of it that may be logged.

    A URL without a scheme means ``http://``, as in prometheus-client. Raises
    ``ConfigError`` for a URL that cannot be pushed to; the message never quotes more of
    the URL than its origin. The CLI can call it to refuse a bad ``--pushgateway`` before
    the run.
    """
    return _parse_gateway(url).origin


@dataclass(frozen=True, slots=True)
class _Gateway:
    origin: str  # scheme://host:port, for logs
    base: str  # origin plus the path prefix: what the Pushgateway API paths are appended to


def _parse_gateway(url: str) -> _Gateway:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ConfigError(f"Pushgateway URL: scheme {scheme!r} is not http or https")
    host = parts.hostname
    if not host:
        raise ConfigError("Pushgateway URL: no host")
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:
        raise ConfigError(f"Pushgateway URL {scheme}://{host}: the port is not valid") from None
    origin = f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"
    if parts.username is not None or parts.password is not None:
        raise ConfigError(f"Pushgateway URL {origin}: credentials in the URL are not supported")
    if parts.query or parts.fragment:
        raise ConfigError(f"Pushgateway URL {origin}: a query or fragment is not supported")
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in url):
        # http.client would refuse it with an error that quotes the whole URL.
        raise ConfigError(f"Pushgateway URL {origin}: spaces or control characters")
    return _Gateway(origin=origin, base=f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}")


def _error_text(exc: BaseException) -> str:
    """What went wrong, without the request URL (urllib's ``HTTPError.url`` is not shown)."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return str(exc) or type(exc).__name__


def _registry(*, report: Report, stats: RunStats, exit_code: int, now: float) -> CollectorRegistry:
    """A fresh registry holding this run's gauges, and nothing else."""
    registry = CollectorRegistry()

    def gauge(name: str, documentation: str, labelnames: Iterable[str] = ()) -> Gauge:
        return Gauge(f"{METRIC_PREFIX}{name}", documentation, labelnames, registry=registry)

    gauge("last_completion_timestamp_seconds", "Unix time the last run ended, any way.").set(now)
    if exit_code == 0:
        # Pushed only on success; the POST leaves an earlier success's value in place.
        gauge("last_success_timestamp_seconds", "Unix time the last run exited 0.").set(now)
    gauge("duration_seconds", "How long the last run took.").set(stats.duration_seconds)
    gauge("exit_code", "The last run's process exit status.").set(int(exit_code))
    gauge("dry_run", "1 when the last run was a dry run, else 0.").set(
        1 if report.mode == "dry-run" else 0
    )
    gauge("scanned_links", "Distinct PENDING links the last run listed.").set(
        report.summary.scanned
    )

    links = gauge("links", "Planned links of the last run, by outcome.", ["outcome"])
    outcomes = Counter(item.outcome for item in report.items)
    for outcome in Outcome:
        links.labels(outcome=outcome.value).set(outcomes[outcome])

    requests = gauge(
        "requests", "HTTP requests the last run sent, by answer class.", ["status_class"]
    )
    for status_class in _with_extra(STATUS_CLASSES, stats.requests_by_class):
        requests.labels(status_class=status_class).set(stats.requests_by_class.get(status_class, 0))
    gauge("rate_limited_requests", "Requests of the last run answered 429.").set(stats.rate_limited)
    if report.paid_twice is not None:
        # Only when paid_siblings read the paid links: a run that did not look knows nothing,
        # and must not overwrite what the last run that looked found (a POST keeps it).
        gauge(
            "paid_twice", "Orders with two or more CONFIRMED links, last run that read them."
        ).set(len(report.paid_twice))
    gauge("retries", "Retries the last run made.").set(stats.retries)

    aborted = gauge("aborted", "1 for the reason the last run stopped early, else 0.", ["reason"])
    stopped = None if report.aborted is None else str(report.aborted)
    reasons = [reason.value for reason in Abort]
    for reason in _with_extra(reasons, [] if stopped is None else [stopped]):
        aborted.labels(reason=reason).set(1 if reason == stopped else 0)

    gauge("build_info", "Always 1; the version that pushed is a label.", ["version"]).labels(
        version=__version__
    ).set(1)
    return registry


def _with_extra(known: Iterable[str], seen: Iterable[str]) -> list[str]:
    """``known`` in order, then any value of ``seen`` it lacks, so nothing seen is dropped."""
    values = list(known)
    values.extend(sorted(set(seen) - set(values)))
    return values
