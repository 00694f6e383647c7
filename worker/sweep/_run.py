"""The core coroutine: scan, plan, guard, execute, repeat; returns the run's ``Report``.

This is the Python API for teams that embed harmony-sweeper: it never exits, never prints
and never reads the terminal. Expected ways for a run to end early (a safety guard, a
refused key, a signal) are recorded in ``Report.aborted`` rather than raised, so that every
planned link is still accounted for in the report. Each stage has its module: ``gather``
(a scan, or look-ups), ``plan``, ``guard``, ``execute``; ``_Run`` holds what they share.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import datetime
from typing import Literal

import anyio
import structlog

from jobs.plan import Decision
from worker.__about__ import __version__
from worker.api.client import HarmonyClient
from worker.api.pace import Pace
from worker.api.records import utc_now
from worker.api.retry import RetryPolicy, RetryQuota
from worker.errors import AuthError, ConfigError, Unreachable
from worker.ops.audit import AuditLog
from worker.outcomes import Abort, Outcome
from worker.report import (
    Report,
    ReportItem,
    RunStats,
    Summary,
    item_for,
    utc_text,
    write_report,
)
from worker.settings import Settings
from worker.sweep._heap import FrozenHeap
from worker.sweep._ledger import Ledger
from worker.sweep._observer import NoObserver, SweepObserver
from worker.sweep.execute import Executor
from worker.sweep.gather import Gatherer
from worker.sweep.guard import Confirm, FailureThreshold, Guard
from worker.sweep.plan import Planner
from worker.sweep.policies import PolicySet
from worker.sweep.scan import ScanIncomplete

log = structlog.get_logger("worker.sweep")


async def sweep(
    settings: Settings,
    policies: PolicySet,
    *,
    stop: anyio.Event | None = None,
    confirm: Confirm | None = None,
    observer: SweepObserver | None = None,
    audit: AuditLog | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Report:
    """Run one sweep as ``settings`` and ``policies`` say, and return its report.

    ``stop`` set from outside (a signal handler) stops launching cancels, lets in-flight
    ones finish within ``settings.grace_period``, and ends the run with ``aborted`` =
    ``interrupted``. The report is also written to each of ``settings.report``. Each
    cancellation is an audit event in the logs and, when ``audit`` is given or
    ``settings.audit_log`` is set, a line of that file.
    """
    if settings.orgs:
        raise ConfigError(
            "these settings list several organizations ([[orgs]]): sweep each of "
            "settings.organizations(), or use worker.sweep.organizations.sweep_organizations"
        )
    with ExitStack() as stack:
        if audit is None and settings.audit_log is not None:
            audit = stack.enter_context(AuditLog(settings.audit_log))
        run = _Run(
            settings=settings,
            policies=policies,
            stop=stop or anyio.Event(),
            confirm=confirm,
            observer=observer or NoObserver(),
            audit=audit,
            clock=clock,
        )
        report = await run.execute()
    for path in settings.report:
        write_report(report, path)
    return report


class _Run:
    """One run: the parts its stages share, and its passes."""

    def __init__(
        self,
        *,
        settings: Settings,
        policies: PolicySet,
        stop: anyio.Event,
        confirm: Confirm | None,
        observer: SweepObserver,
        audit: AuditLog | None,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.policies = policies
        self.stop = stop
        self.observer = observer
        self.audit_log = audit
        self.clock = clock
        self.run_id = str(uuid.uuid4())
        self._audit_events = log  # bound to the run's fields when an execution starts
        self.heap = FrozenHeap()
        self.mode: Literal["dry-run", "execute"] = "dry-run" if settings.dry_run else "execute"
        self.ledger = Ledger()
        self.retry_policy = RetryPolicy(
            attempts=settings.retry.attempts,
            initial=settings.retry.initial.total_seconds(),
            maximum=settings.retry.maximum.total_seconds(),
        )
        self.pace = Pace(
            rate=settings.rate, ceiling=settings.rate_ceiling, concurrency=settings.concurrency
        )
        # A dry quota holds the whole run, in the same shared pause as a 429.
        self.quota = RetryQuota(
            settings.retry.quota,
            pause_initial=self.retry_policy.initial,
            pause_maximum=self.retry_policy.maximum,
            hold=lambda seconds: self.pace.hold(seconds, cause="retry_quota"),
        )
        self.gatherer = Gatherer(
            settings=settings,
            policies=policies,
            ledger=self.ledger,
            stop=stop,
            observer=observer,
            retry_policy=self.retry_policy,
            quota=self.quota,
            pace=self.pace,
            clock=clock,
        )
        self.planner = Planner(
            settings=settings,
            policies=policies,
            ledger=self.ledger,
            gatherer=self.gatherer,
            clock=clock,
            observer=observer,
        )
        self.guard = Guard(
            settings=settings, ledger=self.ledger, observer=observer, confirm=confirm
        )

    async def execute(self) -> Report:
        started = self.clock()
        structlog.contextvars.bind_contextvars(run_id=self.run_id)
        log.info(
            "run.started",
            mode=self.mode,
            policies=self.policies.describe(),
            base_url=self.settings.base_url,
            initiator=self.settings.initiator,
        )
        aborted: Abort | None = None
        abort_detail: str | None = None
        client = HarmonyClient(
            base_url=self.settings.base_url,
            api_key=self.settings.api_key,
            pace=self.pace,
            request_timeout=self.settings.request_timeout.total_seconds(),
            connect_timeout=self.settings.connect_timeout.total_seconds(),
            clock=self.clock,
        )
        try:
            async with client:
                with self.heap:
                    aborted = await self._passes(client)
        except AuthError as exc:
            log.error("run.aborted", reason=Abort.UNAUTHORIZED, error=str(exc))
            aborted, abort_detail = Abort.UNAUTHORIZED, str(exc)
        except (ScanIncomplete, Unreachable) as exc:
            aborted, abort_detail = self.gatherer.abort_for(exc)
            if isinstance(exc, ScanIncomplete):
                self.gatherer.scan_stats = exc.stats or self.gatherer.scan_stats
        finally:
            structlog.contextvars.unbind_contextvars("run_id")
        kept, paid = self.ledger.kept, self.ledger.paid_links
        items = tuple(
            dataclasses.replace(item, kept_link=kept.get(item.id), paid_link=paid.get(item.id))
            if item.id in kept or item.id in paid
            else item
            for item in self.ledger.items.values()
        )
        finished = self.clock()
        scan_stats = self.gatherer.scan_stats
        stats = RunStats(
            requests_by_class=dict(client.requests_by_class),
            rate_limited=self.pace.snapshot().rate_limited,
            retries=self.quota.retries,
            duration_seconds=(finished - started).total_seconds(),
            scan=None if scan_stats is None else scan_stats.to_json_dict(),
            paid_scan=self.ledger.paid_scan,
        )
        paid_twice = None
        # Only a run that read the paid links knows: one whose reads all failed says nothing.
        if self.ledger.confirmed is not None or self.ledger.paid_twice:
            paid_twice = tuple(group for _, group in sorted(self.ledger.paid_twice.items()))
        report = Report(
            run_id=self.run_id,
            mode=self.mode,
            started_at=started,
            finished_at=finished,
            policies=self.policies.describe(),
            summary=Summary.from_items(items, scanned=self.gatherer.scanned.count),
            items=items,
            aborted=aborted,
            stats=stats,
            abort_detail=abort_detail,
            environment=self.settings.api_environment(),
            base_url=self.settings.base_url,
            organization=self.settings.org_name,
            initiator=self.settings.initiator,
            version=__version__,
            paid_twice=paid_twice,
        )
        log.info(
            "run.finished",
            run_id=self.run_id,
            mode=self.mode,
            aborted=aborted,
            abort_detail=abort_detail,
            requests=client.requests_sent,
            rate_limited=stats.rate_limited,
            retries=stats.retries,
            **report.summary.to_json_dict(),
            **({} if paid_twice is None else {"paid_twice": len(paid_twice)}),
        )
        return report

    async def _passes(self, client: HarmonyClient) -> Abort | None:
        passes = 1 if self.settings.dry_run else self.settings.passes
        for number in range(1, passes + 1):
            if self.stop.is_set():
                return Abort.INTERRUPTED
            fresh = await self.planner.plan(
                client, first_pass=number == 1, last_pass=number == passes
            )
            if fresh is None:
                return Abort.INTERRUPTED
            if not fresh:
                return None
            if self.settings.dry_run:
                for decision in fresh:
                    self.ledger.put(item_for(decision.link, decision.reasons, Outcome.WOULD_CANCEL))
                self.observer.planned(tuple(self.ledger.items.values()))
                return None
            self.planner.account_not_attempted(fresh)
            aborted = await self.guard.check(first_pass=number == 1)
            if aborted is None:
                aborted = await self._execute(client, fresh)
            if aborted is not None:
                return aborted
        return None

    async def _execute(self, client: HarmonyClient, fresh: Sequence[Decision]) -> Abort | None:
        executor = Executor(
            client=client,
            policy=self.retry_policy,
            quota=self.quota,
            threshold=FailureThreshold(
                ratio=self.settings.safety.failure_ratio,
                minimum=self.settings.safety.failure_min,
            ),
            now=self.clock,
            audit=self._audit,
            on_outcome=self.observer.outcome,
            stop=self.stop,
            grace=self.settings.grace_period.total_seconds(),
            expiry_margin=self.settings.safety.expiry_margin,
            paid_orders=None
            if self.ledger.confirmed is None
            else self.ledger.confirmed.confirmed_links,
        )
        self.observer.executing(len(fresh))
        # One logger for the pass's audit events, their constant fields bound once: the
        # module's logger is a proxy that assembles a logger per event (see ops/logs.py).
        self._audit_events = log.bind(
            run_id=self.run_id,
            organization=self.settings.org_name,
            initiator=self.settings.initiator,
        )
        self.heap.refreeze()
        results = await executor.run(fresh)
        # A race lost adds to (or extends) the orders paid twice the reads found.
        self.ledger.paid_twice.update(executor.state.paid_twice)
        for item in results.values():
            self.ledger.items[item.id] = item
        self.ledger.retriable -= results.keys()
        self.ledger.retriable |= executor.state.retriable
        if self.stop.is_set():
            return Abort.INTERRUPTED
        if executor.state.threshold_tripped:
            return Abort.FAILURE_THRESHOLD
        return None

    def _audit(self, item: ReportItem) -> None:
        """One cancellation: a log event, and a line of the audit file when there is one."""
        fields = item.audit_fields()
        self._audit_events.info("payment.cancelled", **fields)
        if self.audit_log is not None:
            self.audit_log.write(
                {
                    "event": "payment.cancelled",
                    "timestamp": utc_text(self.clock()),
                    "run_id": self.run_id,
                    "organization": self.settings.org_name,
                    "initiator": self.settings.initiator,
                    **fields,
                }
            )
