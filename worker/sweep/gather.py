"""Gather: the links a pass plans over, from a scan or from one GET per listed id.

A pass's gathering is bounded by ``scan_deadline``, retries included, and stops when the
run's ``stop`` is set. When the links cannot be gathered, ``Gatherer.abort_for`` says why,
for the report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import anyio
import structlog

from jobs.links import Link, Status
from jobs.reasons import Reason
from worker.api.client import HarmonyClient
from worker.api.pace import Pace
from worker.api.records import utc_now
from worker.api.retry import RetryPolicy, RetryQuota, with_retries
from worker.errors import ApiError, TransientApiError, Unreachable
from worker.outcomes import Abort, Outcome
from worker.report import item_for, unknown_link_item
from worker.settings import Settings
from worker.settings.durations import format_duration
from worker.sweep._ledger import Ledger
from worker.sweep._observer import SweepObserver
from worker.sweep._silence import deadline_passed, network_failure, watch_silence
from worker.sweep._taskgroups import collapse_errors
from worker.sweep.horizon import Horizon
from worker.sweep.policies import PolicySet
from worker.sweep.scan import ScanIncomplete, ScanStats, scan_pending
from worker.sweep.scanned import ScannedIds

log = structlog.get_logger("worker.sweep.gather")


@dataclass(slots=True)
class Gatherer:
    """Gathers each pass's links; counts the distinct links the run's passes saw."""

    settings: Settings
    policies: PolicySet
    ledger: Ledger
    stop: anyio.Event
    observer: SweepObserver
    retry_policy: RetryPolicy
    quota: RetryQuota
    pace: Pace
    scanned: ScannedIds = field(default_factory=ScannedIds)
    scan_stats: ScanStats | None = None  # the latest scan's, for the report
    clock: Callable[[], datetime] = utc_now

    async def gather(self, client: HarmonyClient, *, last_pass: bool) -> Sequence[Link] | None:
        """The links to plan over: a scan, or one GET per id for a manifest of ids alone.

        Bounded by ``scan_deadline``, retries included.
        """
        result: Sequence[Link] | None = None
        deadline = self.settings.scan_deadline
        with (
            anyio.move_on_after(deadline.total_seconds()) as timer,
            anyio.CancelScope() as scope,
            collapse_errors(),
        ):
            async with anyio.create_task_group() as tg:
                tg.start_soon(_cancel_on, self.stop, scope)
                tg.start_soon(watch_silence, client, getattr(self.observer, "waiting", None))
                if self.policies.needs_scan:
                    scan = await scan_pending(
                        client,
                        policy=self.retry_policy,
                        budget=self.quota,
                        on_page=self.observer.scan_progress,
                        horizon=self.horizon(),
                        gone=self.ledger.cancelled(),
                    )
                    result = scan.links
                    self.scan_stats = scan.stats
                else:
                    result = await self.look_up(client, self.policies.manifest_ids)
                tg.cancel_scope.cancel()
        if timer.cancelled_caught and not self.stop.is_set():
            raise deadline_passed(client, format_duration(deadline))
        if scope.cancelled_caught or result is None:
            return None
        ids = (link.id for link in result)
        # A scan's ids are distinct already; those of links looked up one by one are made so.
        self.scanned.add(ids if self.policies.needs_scan else set(ids), remember=not last_pass)
        return result

    def horizon(self) -> Horizon | None:
        """Where this pass's scan may stop: None when settings or a policy want every link.

        Taken afresh for every pass, from the run's clock.
        """
        scan = self.settings.scan
        if not (scan.horizon and self.policies.horizon_safe):
            return None
        return Horizon.at(
            self.clock(), max_lifetime=scan.max_link_lifetime, margin=scan.horizon_margin
        )

    async def look_up(self, client: HarmonyClient, ids: Sequence[str]) -> list[Link]:
        """GET each id not yet accounted for; report the gone and the final ones now.

        Returns the PENDING links, for the planner to judge (expiry, scope, exclusions).
        """
        pending: list[Link] = []
        limiter = anyio.CapacityLimiter(max(1, self.pace.concurrency))

        async def look_up(link_id: str) -> None:
            async with limiter:
                try:
                    link = await self._get(client, link_id)
                except Unreachable:
                    raise  # every other id would meet the same
                except ApiError as exc:
                    self.ledger.put(unknown_link_item(link_id, Outcome.FAILED, str(exc)))
                    if isinstance(exc, TransientApiError):
                        self.ledger.retriable.add(link_id)
                    return
            if link is None:
                self.ledger.put(
                    unknown_link_item(
                        link_id, Outcome.NOT_FOUND, "no such link in this organization", 404
                    )
                )
            elif link.status is not Status.PENDING:
                message = f"not cancellable: the link is {link.status.value}"
                self.ledger.put(
                    item_for(link, (Reason.MANIFEST,), Outcome.CONFLICT, message=message)
                )
            else:
                pending.append(link)

        with collapse_errors():
            async with anyio.create_task_group() as tg:
                for link_id in ids:
                    if self.ledger.open(link_id):
                        tg.start_soon(look_up, link_id)
        return pending

    async def _get(self, client: HarmonyClient, link_id: str) -> Link | None:
        return await with_retries(lambda: client.get(link_id), self.retry_policy, self.quota)

    def abort_for(self, exc: ScanIncomplete | Unreachable) -> tuple[Abort, str]:
        """Why the links could not be gathered: the abort reason, and the cause in words.

        No answer (after retries) or a permanent network failure means the API could not be
        reached: ``unreachable`` (exit 6), which promises nothing was cancelled. When a
        cancel was already sent (a later pass's scan), the scan is incomplete (exit 4).
        """
        network = network_failure(exc)
        if network is None:
            log.error("run.aborted", reason=Abort.SCAN_INCOMPLETE, error=str(exc))
            return Abort.SCAN_INCOMPLETE, str(exc)
        # The one event that names the cause: retries log only "retry.scheduled".
        log.error("api.unreachable", cause=network.cause, host=network.host, error=network.reason)
        sent = any(item.attempts for item in self.ledger.items.values())
        reason = Abort.SCAN_INCOMPLETE if sent else Abort.UNREACHABLE
        log.error("run.aborted", reason=reason, error=str(exc))
        return reason, network.reason


async def _cancel_on(event: anyio.Event, scope: anyio.CancelScope) -> None:
    await event.wait()
    scope.cancel()
