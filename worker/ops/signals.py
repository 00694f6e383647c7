"""SIGTERM and SIGINT as a graceful stop: stop launching, drain, report, then exit 143/130."""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import structlog

log = structlog.get_logger("worker.ops.signals")

T = TypeVar("T")


async def run_until_signalled(main: Callable[[anyio.Event], Awaitable[T]]) -> tuple[T, int | None]:
    """Run ``main(stop)``; the first SIGTERM/SIGINT sets ``stop`` (main drains and returns).

    Returns main's result and the signal received, if any. Later signals are logged and
    otherwise ignored: the drain is already bounded by the grace period, and a second
    Ctrl-C that killed it would lose the report.
    """
    stop = anyio.Event()
    received: int | None = None

    async def watch() -> None:
        nonlocal received
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for signum in signals:
                name = signal.Signals(signum).name
                if received is None:
                    received = signum
                    log.warning("run.signal", signal=name, action="draining")
                    stop.set()
                else:
                    log.warning("run.signal", signal=name, action="ignored: already draining")

    async with anyio.create_task_group() as tg:
        tg.start_soon(watch)
        result = await main(stop)
        tg.cancel_scope.cancel()
    return result, received
