"""`harmony-sweeper sandbox`: serve the sandbox until Ctrl-C or SIGTERM.

Prints the URL, the admin key and every organization's key on stdout, then, last and
flushed, the line `sandbox listening on http://HOST:PORT` that scripts wait for.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

import click
import structlog

from sandbox.knobs import (
    DEFAULT_RATE_WINDOW_S,
    KNOB_NAMES,
    LIST_ORDERS,
    PAGE_SIZE_ECHOES,
    RATE_LIMIT_HEADER_NAMES,
    ROUTE_NAMES,
    KnobError,
    Knobs,
)
from sandbox.server import DEFAULT_HOST, DEFAULT_PORT, RunningSandbox, SandboxConfig, start

READY_LINE = "sandbox listening on {base_url}"
_FRACTION = click.FloatRange(0.0, 1.0)
_NON_NEGATIVE = click.FloatRange(min=0.0)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to bind (only it).")
@click.option(
    "--port",
    default=DEFAULT_PORT,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="0 picks a free port.",
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite file that keeps state across restarts (default: in memory).",
)
@click.option(
    "--seed",
    default=0,
    type=click.IntRange(min=0),
    help="Links to seed at start (only into an empty store).",
)
@click.option(
    "--seed-history",
    default=0,
    type=click.IntRange(min=0),
    help="Expired PENDING links spread over the last year for the first organization "
    "(an old organization's history; only into an empty store).",
)
@click.option(
    "--settle-heap/--no-settle-heap",
    default=True,
    show_default=True,
    help="After start, reset and each load or seed, collect the garbage and freeze the heap, "
    "as a tuned server would; with --no-settle-heap a full collection may pause the server "
    "mid-run (~26 ms with 7,000 links), bunching the arrivals it counts.",
)
@click.option("--seed-random", default=1, show_default=True, help="Seed of all randomness.")
@click.option(
    "--orgs",
    default=3,
    show_default=True,
    type=click.IntRange(min=1),
    help="Organizations to create; seeded links are split across them.",
)
@click.option("--api-key", help="The first organization's API key (default: random).")
@click.option("--admin-key", help="Key of the /_sandbox/ control plane (default: random).")
@click.option(
    "--rate-limit",
    type=click.IntRange(min=1),
    help="Requests per window per API key (sliding window); 429 beyond it.",
)
@click.option(
    "--rate-window-s",
    default=DEFAULT_RATE_WINDOW_S,
    show_default=True,
    type=click.FloatRange(min=0.0, min_open=True),
    help="Length of the rate-limit window in seconds.",
)
@click.option(
    "--rate-limit-headers/--no-rate-limit-headers",
    default=True,
    show_default=True,
    help="Send RateLimit-Limit/-Remaining/-Reset (Retry-After is always sent on 429).",
)
@click.option("--latency-ms", default=0.0, type=_NON_NEGATIVE, help="Added latency per request.")
@click.option(
    "--latency-jitter-ms", default=0.0, type=_NON_NEGATIVE, help="Extra uniform random latency."
)
@click.option("--fault-rate", default=0.0, type=_FRACTION, help="Fraction answered 502/503.")
@click.option("--reset-rate", default=0.0, type=_FRACTION, help="Fraction of connections reset.")
@click.option(
    "--ambiguous-rate",
    default=0.0,
    type=_FRACTION,
    help="Fraction of cancels applied, then the connection dropped before the response.",
)
@click.option(
    "--race-rate",
    default=0.0,
    type=_FRACTION,
    help="Fraction of cancels that find the link paid by a customer a moment earlier.",
)
@click.option("--pay-rate", default=0.0, type=_NON_NEGATIVE, help="Customer payments per second.")
@click.option(
    "--malformed-rate",
    default=0.0,
    type=_FRACTION,
    help="Fraction of list pages with one corrupted item.",
)
@click.option(
    "--fault-routes",
    multiple=True,
    type=click.Choice(ROUTE_NAMES),
    help="Limit --fault-rate and --reset-rate to these routes (repeatable; default: all).",
)
@click.option(
    "--page-size-cap",
    type=click.IntRange(min=1),
    help="Serve at most this many items per list page (the echoed pageSize says so).",
)
@click.option(
    "--page-size-echo",
    default="effective",
    show_default=True,
    type=click.Choice(PAGE_SIZE_ECHOES),
    help="'requested': under --page-size-cap, echo (and skip by) the asked pageSize instead.",
)
@click.option(
    "--list-order",
    default="newest_first",
    show_default=True,
    type=click.Choice(LIST_ORDERS),
    help="Order of the list: by createdAt either way, by id alone, or reshuffled per request.",
)
@click.option(
    "--unstable-ties/--stable-ties",
    default=False,
    show_default=True,
    help="Links sharing a createdAt come back in a new order on every list request.",
)
@click.option(
    "--count-lag-s",
    default=0.0,
    type=_NON_NEGATIVE,
    help="Cache each list's count this many seconds, as a server caching COUNT(*) would.",
)
@click.option(
    "--fault-streak-max",
    default=None,
    type=click.IntRange(min=0),
    help="At most this many faults in a row for one request (default: no cap).",
)
@click.option(
    "--sibling-pay-rate",
    default=0.0,
    type=_FRACTION,
    help="Fraction of customer payments that go to a PENDING sibling of a paid order.",
)
@click.option(
    "--date-skew-s",
    default=0.0,
    type=float,
    help="Shift the Date header of /api answers by this many seconds (a server clock off).",
)
@click.option(
    "--list-expired/--hide-expired",
    default=True,
    show_default=True,
    help="List PENDING links past expiresAt, or leave them out of the list and its count.",
)
@click.option(
    "--page-size-max",
    type=click.IntRange(min=1),
    help="Answer 400 to a list request asking for a larger pageSize (no clamping).",
)
@click.option(
    "--rate-limit-header-names",
    default="ratelimit",
    show_default=True,
    type=click.Choice(RATE_LIMIT_HEADER_NAMES),
    help="'x-ratelimit': send X-RateLimit-Limit/-Remaining/-Reset instead.",
)
def sandbox_command(**options: Any) -> None:
    """Run the local Harmony one-time-payment API sandbox."""
    options["fault_routes"] = options["fault_routes"] or None  # none given: every route
    try:
        knobs = Knobs().replace({name: options[name] for name in KNOB_NAMES})
    except KnobError as exc:
        raise click.UsageError(str(exc)) from exc
    config = SandboxConfig(
        host=options["host"],
        port=options["port"],
        api_key=options["api_key"],
        admin_key=options["admin_key"],
        knobs=knobs,
        seed=options["seed"],
        seed_random=options["seed_random"],
        orgs=options["orgs"],
        seed_history=options["seed_history"],
        db=options["db"],
        settle_heap=options["settle_heap"],
    )
    if not structlog.is_configured():
        # Logs go to stderr: stdout carries the keys and the ready line for scripts.
        structlog.configure(logger_factory=_stderr_logger)
    try:
        asyncio.run(_serve(config))
    except (OSError, sqlite3.Error) as exc:  # port taken, host not bindable, db unusable
        raise click.ClickException(str(exc)) from exc
    except ValueError as exc:  # e.g. the admin key equals an organization's key
        raise click.UsageError(str(exc)) from exc


def _stderr_logger(*_args: object) -> structlog.PrintLogger:
    # Looked up at each use, not bound once: sys.stderr may be swapped (click's test runner).
    return structlog.PrintLogger(sys.stderr)


async def _serve(config: SandboxConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    running = await start(config)
    try:
        _announce(running, config)
        await stop.wait()
    finally:
        await running.stop()


def _announce(running: RunningSandbox, config: SandboxConfig) -> None:
    store = "in memory" if config.db is None else str(config.db)
    click.echo(f"sandbox API: {running.base_url}/api  (state {store})")
    if running.kept_links:
        click.echo(f"kept {running.kept_links} links from {store}")
    if running.seeded is not None:
        click.echo(f"seeded {running.seeded.created} links (seed-random {config.seed_random})")
    click.echo(f"control plane: {running.base_url}/_sandbox/  x-admin-key: {running.admin_key}")
    for org in running.sandbox.store.orgs():
        links = running.sandbox.store.count(org)
        click.echo(f"organization {org.name!r} ({org.id}, {links} links)  x-api-key: {org.api_key}")
    click.echo(READY_LINE.format(base_url=running.base_url))
    sys.stdout.flush()
