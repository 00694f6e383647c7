"""The core coroutine: scan, plan, guard, execute, repeat; returns the run's ``Report``.

This is the Python API for teams that embed harmony-sweeper: it never exits, never prints
and never reads the terminal. Expected ways for a run to end early (a safety guard, a
refused key, a signal) are recorded in ``Report.aborted`` rather than raised, so that every
planned link is still accounted for in the report.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import ExitStack
from datetime import datetime
from typing import Literal, Protocol

import anyio
import structlog

from jobs.links import Link, Status
from jobs.plan import Decision, Plan, make_plan
from jobs.policy import Policy
from jobs.reasons import Reason
from worker.__about__ import __version__
from worker.api.client import HarmonyClient
from worker.api.pace import Pace
from worker.api.records import utc_now
from worker.api.retry import RetryPolicy, RetryQuota, with_retries
from worker.errors import AuthError, ConfigError, SweeperError, TransientApiError, Unreachable
from worker.ops.audit import AuditLog
from worker.outcomes import Abort, Outcome
from worker.report import (
    Report,
    ReportItem,
    RunStats,
    Summary,
    item_for,
    payment_fields,
    unknown_link_item,
    utc_text,
    write_report,
)
from worker.settings import Settings
from worker.settings.durations import format_duration
from worker.sweep._silence import deadline_passed, network_failure, watch_silence
from worker.sweep._taskgroups import collapse_errors
from worker.sweep.execute import Executor, FailureThreshold
from worker.sweep.policies import PolicySet
from worker.sweep.scan import ScanIncomplete, ScannedIds, ScanStats, scan_pending

log = structlog.get_logger("worker.sweep")

_AUDIT_KEYS = ("id", "externalId", "amount", "currency", "reasons", "attempts")

Confirm = Callable[[Sequence[ReportItem]], Awaitable[bool]]
"""Asked once, with the would-cancel items, before the first cancel of an attended run."""


class SweepObserver(Protocol):
    """Progress hooks for a front end (the CLI's progress bar); every method is optional work."""

    def scan_progress(self, seen: int, total: int) -> None: ...
    def planned(self, items: Sequence[ReportItem]) -> None: ...
    def executing(self, total: int) -> None: ...
    def outcome(self, item: ReportItem) -> None: ...

    def waiting(self, reason: str | None) -> None:
        """The API owes an answer, and why ("no answer yet (12 s), retrying after ..."); None
        once it answers again. Optional: an observer without this method is not told."""


class _NoObserver:
    def scan_progress(self, seen: int, total: int) -> None:
        pass

    def planned(self, items: Sequence[ReportItem]) -> None:
        pass

    def executing(self, total: int) -> None:
        pass

    def outcome(self, item: ReportItem) -> None:
        pass

    def waiting(self, reason: str | None) -> None:
        pass


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
            observer=observer or _NoObserver(),
            audit=audit,
            clock=clock,
        )
        report = await run.execute()
    for path in settings.report:
        write_report(report, path)
    return report


class _Run:
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
        self.confirm = confirm
        self.observer = observer
        self.audit_log = audit
        self.clock = clock
        self.run_id = str(uuid.uuid4())
        self.mode: Literal["dry-run", "execute"] = "dry-run" if settings.dry_run else "execute"
        self.items: dict[str, ReportItem] = {}
        # A duplicate's id -> the id of the link kept for its externalId, for the report.
        self.kept: dict[str, str] = {}
        # Ids whose item is ``failed`` for a transient reason: a later pass may try them again.
        self.retriable: set[str] = set()
        self.scanned = ScannedIds()
        self.scan_stats: ScanStats | None = None  # the latest scan's, for the report
        self.planned_total = 0
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
                aborted = await self._passes(client)
        except AuthError as exc:
            log.error("run.aborted", reason=Abort.UNAUTHORIZED, error=str(exc))
            aborted, abort_detail = Abort.UNAUTHORIZED, str(exc)
        except (ScanIncomplete, Unreachable) as exc:
            aborted, abort_detail = self._gathering_failed(exc)
            if isinstance(exc, ScanIncomplete):
                self.scan_stats = exc.stats or self.scan_stats
        finally:
            structlog.contextvars.unbind_contextvars("run_id")
        kept = self.kept
        items = tuple(
            dataclasses.replace(item, kept_link=kept[item.id]) if item.id in kept else item
            for item in self.items.values()
        )
        finished = self.clock()
        stats = RunStats(
            requests_by_class=dict(client.requests_by_class),
            rate_limited=self.pace.snapshot().rate_limited,
            retries=self.quota.retries,
            duration_seconds=(finished - started).total_seconds(),
            scan=None if self.scan_stats is None else self.scan_stats.to_json_dict(),
        )
        report = Report(
            run_id=self.run_id,
            mode=self.mode,
            started_at=started,
            finished_at=finished,
            policies=self.policies.describe(),
            summary=Summary.from_items(items, scanned=self.scanned.count),
            items=items,
            aborted=aborted,
            stats=stats,
            abort_detail=abort_detail,
            environment=self.settings.api_environment(),
            base_url=self.settings.base_url,
            organization=self.settings.org_name,
            initiator=self.settings.initiator,
            version=__version__,
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
            **_summary_fields(report.summary),
        )
        return report

    def _gathering_failed(self, exc: ScanIncomplete | Unreachable) -> tuple[Abort, str]:
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
        sent = any(item.attempts for item in self.items.values())
        reason = Abort.SCAN_INCOMPLETE if sent else Abort.UNREACHABLE
        log.error("run.aborted", reason=reason, error=str(exc))
        return reason, network.reason

    async def _passes(self, client: HarmonyClient) -> Abort | None:
        passes = 1 if self.settings.dry_run else self.settings.passes
        for number in range(1, passes + 1):
            if self.stop.is_set():
                return Abort.INTERRUPTED
            fresh = await self._plan(client, first_pass=number == 1, last_pass=number == passes)
            if fresh is None:
                return Abort.INTERRUPTED
            if not fresh:
                return None
            if self.settings.dry_run:
                for decision in fresh:
                    self._put(item_for(decision.link, decision.reasons, Outcome.WOULD_CANCEL))
                self.observer.planned(tuple(self.items.values()))
                return None
            aborted = await self._guard(fresh, first_pass=number == 1)
            if aborted is None:
                aborted = await self._execute(client, fresh)
            if aborted is not None:
                return aborted
        return None

    async def _guard(self, fresh: Sequence[Decision], *, first_pass: bool) -> Abort | None:
        """Account the pass's new decisions as not attempted yet; the cap; the confirmation.

        A link tried again after a transient failure keeps its ``failed`` item until its new
        outcome replaces it, and counts once towards the cap.
        """
        for decision in fresh:
            if decision.link.id not in self.items:
                self.planned_total += 1
                self._put(item_for(decision.link, decision.reasons, Outcome.NOT_ATTEMPTED))
        if self.planned_total > self.settings.max_cancellations:
            log.error(
                "run.aborted",
                reason=Abort.PLAN_OVER_CAP,
                planned=self.planned_total,
                max_cancellations=self.settings.max_cancellations,
            )
            return Abort.PLAN_OVER_CAP
        if first_pass:
            waiting = tuple(i for i in self.items.values() if i.outcome is Outcome.NOT_ATTEMPTED)
            self.observer.planned(waiting)
            if self.confirm is not None and not await self.confirm(waiting):
                log.warning("run.aborted", reason=Abort.DECLINED)
                return Abort.DECLINED
        return None

    async def _gather(self, client: HarmonyClient, *, last_pass: bool) -> Sequence[Link] | None:
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
                    )
                    result = scan.links
                    self.scan_stats = scan.stats
                else:
                    result = await self._look_up(client, self.policies.manifest_ids)
                tg.cancel_scope.cancel()
        if timer.cancelled_caught and not self.stop.is_set():
            raise deadline_passed(client, format_duration(deadline))
        if scope.cancelled_caught or result is None:
            return None
        ids = (link.id for link in result)
        # A scan's ids are distinct already; those of links looked up one by one are made so.
        self.scanned.add(ids if self.policies.needs_scan else set(ids), remember=not last_pass)
        return result

    async def _look_up(self, client: HarmonyClient, ids: Sequence[str]) -> list[Link]:
        """GET each id not yet accounted for; report the gone and the final ones now.

        Returns the PENDING links, for the planner to judge (expiry, scope, exclusions).
        """
        pending: list[Link] = []
        limiter = anyio.CapacityLimiter(max(1, self.pace.concurrency))

        async def look_up(link_id: str) -> None:
            async with limiter:
                try:
                    link = await self._get(client, link_id)
                except (AuthError, Unreachable):
                    raise  # every other id would meet the same
                except SweeperError as exc:
                    self._put(unknown_link_item(link_id, Outcome.FAILED, str(exc)))
                    if isinstance(exc, TransientApiError):
                        self.retriable.add(link_id)
                    return
            if link is None:
                self._put(
                    unknown_link_item(
                        link_id, Outcome.NOT_FOUND, "no such link in this organization", 404
                    )
                )
            elif link.status is not Status.PENDING:
                message = f"not cancellable: the link is {link.status.value}"
                self._put(item_for(link, (Reason.MANIFEST,), Outcome.CONFLICT, message=message))
            else:
                pending.append(link)

        with collapse_errors():
            async with anyio.create_task_group() as tg:
                for link_id in ids:
                    if self._open(link_id):
                        tg.start_soon(look_up, link_id)
        return pending

    async def _get(self, client: HarmonyClient, link_id: str) -> Link | None:
        return await with_retries(lambda: client.get(link_id), self.retry_policy, self.quota)

    def _open(self, link_id: str) -> bool:
        """Whether this pass may act on the link: never accounted for, or failed transiently."""
        return link_id not in self.items or link_id in self.retriable

    def _account(self, plan: Plan) -> list[Decision]:
        """Record the skipped links; return the decisions not yet accounted for.

        A link that failed transiently comes back only when this pass's own plan selects
        it again (still PENDING, in scope, not expired): one item per link, replaced later.
        """
        for decision in plan.skipped_expired:
            if decision.link.id not in self.items:
                self._put(
                    item_for(
                        decision.link,
                        decision.reasons,
                        Outcome.SKIPPED_EXPIRED,
                        message=self._expired_message,
                    )
                )
        return [d for d in plan.cancel if self._open(d.link.id)]

    async def _plan(
        self, client: HarmonyClient, *, first_pass: bool, last_pass: bool
    ) -> list[Decision] | None:
        """Gather links, plan, account; None when a stop interrupted the gathering."""
        links = await self._gather(client, last_pass=last_pass)
        if links is None:
            return None
        # A scan deduplicated by id; links looked up one by one are planned as any input.
        plan = self._make_plan(links, self.policies.policies, unique_ids=self.policies.needs_scan)
        fresh = self._account(plan)
        self.kept.update(
            (d.link.id, d.kept_id)
            for d in (*plan.cancel, *plan.skipped_expired)
            if d.kept_id is not None
        )
        if first_pass and plan.unmatched_ids and self.policies.manifest is not None:
            # Manifest ids the scan did not show: drift, paid, cancelled, or unknown. Judge the
            # PENDING ones by the manifest alone: other policies need the whole scan.
            found = await self._look_up(client, plan.unmatched_ids)
            fresh += self._account(
                self._make_plan(found, (self.policies.manifest,), unique_ids=False)
            )
        log.info(
            "plan.ready",
            scanned=len(links),
            cancel=len(fresh),
            skipped_expired=len(plan.skipped_expired),
            excluded=len(plan.excluded),
            unmatched=len(plan.unmatched_ids),
        )
        return fresh

    def _make_plan(
        self, links: Sequence[Link], policies: Sequence[Policy], *, unique_ids: bool
    ) -> Plan:
        return make_plan(
            links,
            policies,
            scope=self.policies.scope,
            exclusions=self.policies.exclusions,
            now=self.clock(),
            unique_ids=unique_ids,
            expiry_margin=self.settings.safety.expiry_margin,
        )

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
        )
        self.observer.executing(len(fresh))
        results = await executor.run(fresh)
        for item in results.values():
            self.items[item.id] = item
        self.retriable -= results.keys()
        self.retriable |= executor.state.retriable
        if self.stop.is_set():
            return Abort.INTERRUPTED
        if executor.state.threshold_tripped:
            return Abort.FAILURE_THRESHOLD
        return None

    def _audit(self, item: ReportItem) -> None:
        """One cancellation: a log event, and a line of the audit file when there is one."""
        event: dict[str, object] = {
            "run_id": self.run_id,
            "organization": self.settings.org_name,
            "initiator": self.settings.initiator,
            **payment_fields(item, _AUDIT_KEYS),
        }
        log.info("payment.cancelled", **event)
        if self.audit_log is not None:
            self.audit_log.write(
                {"event": "payment.cancelled", "timestamp": utc_text(self.clock()), **event}
            )

    def _put(self, item: ReportItem) -> None:
        self.items[item.id] = item
        self.retriable.discard(item.id)

    @property
    def _expired_message(self) -> str:
        margin = format_duration(self.settings.safety.expiry_margin)
        return f"expired (within the {margin} margin) when planned: never sent"


async def _cancel_on(event: anyio.Event, scope: anyio.CancelScope) -> None:
    await event.wait()
    scope.cancel()


def _summary_fields(summary: Summary) -> dict[str, int]:
    return {
        "scanned": summary.scanned,
        "planned": summary.planned,
        "cancelled": summary.cancelled,
        "would_cancel": summary.would_cancel,
        "conflict": summary.conflict,
        "not_found": summary.not_found,
        "failed": summary.failed,
        "skipped_expired": summary.skipped_expired,
        "not_attempted": summary.not_attempted,
    }
