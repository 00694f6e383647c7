"""When the API does not answer: telling a front end the run is waiting, and giving up.

``watch_silence`` runs beside the gathering of links and tells an observer, once the API
has owed an answer for a few seconds, that the run is waiting and why. ``deadline_passed``
is the verdict when ``scan_deadline`` stops the gathering.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio

from worker.api.client import HarmonyClient
from worker.errors import NoResponse, Unreachable
from worker.sweep.scan import ScanIncomplete

# How often the API's silence is looked at, and how long it must last before the observer
# hears that the run is waiting: a page normally takes well under a second.
WATCH_EVERY_S = 1.0
WAITING_AFTER_S = 3.0


async def watch_silence(
    client: HarmonyClient, waiting: Callable[[str | None], None] | None
) -> None:
    """Call ``waiting(reason)`` while the API owes an answer, ``waiting(None)`` after; until
    cancelled."""
    if waiting is None:
        return
    shown = False
    try:
        while True:
            await anyio.sleep(WATCH_EVERY_S)
            silence = client.silence()
            if silence is not None and silence.seconds >= WAITING_AFTER_S:
                waiting(silence.describe())
                shown = True
            elif shown:
                waiting(None)
                shown = False
    finally:
        if shown:
            waiting(None)


def deadline_passed(client: HarmonyClient, limit: str) -> Unreachable | ScanIncomplete:
    """The error for a gathering stopped by ``scan_deadline``: was the API silent, or slow?"""
    silence = client.silence()
    if silence is None:
        return ScanIncomplete(
            f"the scan did not finish within scan_deadline ({limit}) although the API was "
            "answering: raise scan_deadline for a list this long"
        )
    reason = f"no answer from {client.host} within the scan deadline ({limit})"
    if silence.last_failure is not None:
        reason += f"; last attempt: {silence.last_failure}"
    return Unreachable(reason, reason=reason, cause="deadline", host=client.host)


def network_failure(exc: BaseException) -> NoResponse | Unreachable | None:
    """The unanswered request behind ``exc`` (itself, or its chain of causes), if any."""
    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, NoResponse | Unreachable):
            return current
        current = current.__cause__
    return None
