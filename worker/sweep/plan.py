"""Plan: each pass's decisions over the gathered links, by policy, and their accounting.

``jobs.plan.make_plan`` decides; this stage feeds it the pass's links and accounts for what
it decided: expired links are reported at once, links to cancel not yet accounted for come
back for the guard and execute.

With ``paid_siblings`` on, each pass also reads the CONFIRMED links (``worker.sweep.paid``)
and plans with the ``PaidSiblings`` policy they make. A read that cannot complete (a page
that cannot be had, the scan deadline, a stop) leaves that policy out of the pass: it
cancels nothing on a partial view of what is paid, while the other policies, which do not
depend on it, proceed. ``paid.incomplete`` and the report's ``stats.paid_scan`` say so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import anyio
import structlog

from jobs import PaidLedger, PaidSiblings, Reason, live_external_ids
from jobs.links import Link
from jobs.plan import Decision, Plan, make_plan
from jobs.policy import Policy
from worker.api.client import HarmonyClient
from worker.outcomes import Outcome
from worker.report import item_for
from worker.settings import Settings
from worker.settings.durations import format_duration
from worker.sweep._ledger import Ledger
from worker.sweep._observer import PlanContext, SweepObserver
from worker.sweep._taskgroups import collapse_errors
from worker.sweep.gather import Gatherer
from worker.sweep.paid import PaidReadIncomplete, read_confirmed
from worker.sweep.policies import PolicySet

log = structlog.get_logger("worker.sweep.plan")


@dataclass(slots=True)
class Planner:
    """Plans each pass over the links its ``Gatherer`` brings, and accounts for the plan."""

    settings: Settings
    policies: PolicySet
    ledger: Ledger
    gatherer: Gatherer
    clock: Callable[[], datetime]
    observer: SweepObserver

    async def plan(
        self, client: HarmonyClient, *, first_pass: bool, last_pass: bool
    ) -> list[Decision] | None:
        """Gather links, plan, account; None when a stop interrupted the gathering."""
        links = await self.gatherer.gather(client, last_pass=last_pass)
        if links is None:
            return None
        policies = self.policies.policies
        paid = await self._paid_siblings(client, links, first_pass=first_pass)
        if paid is not None:
            policies = (*policies, paid)
        # A scan deduplicated by id; links looked up one by one are planned as any input.
        plan = self._make_plan(links, policies, unique_ids=self.policies.needs_scan)
        fresh = self._account(plan)
        selected = (*plan.cancel, *plan.skipped_expired)
        self.ledger.kept.update((d.link.id, d.kept_id) for d in selected if d.kept_id is not None)
        if paid is not None:
            for decision in selected:
                paid_id = paid.paid_link_for(decision.link)
                if Reason.PAID_SIBLING in decision.reasons and paid_id is not None:
                    self.ledger.paid_links[decision.link.id] = paid_id
        if first_pass and plan.unmatched_ids and self.policies.manifest is not None:
            # Manifest ids the scan did not show: drift, paid, cancelled, or unknown. Judge the
            # PENDING ones by the manifest alone: other policies need the whole scan.
            found = await self.gatherer.look_up(client, plan.unmatched_ids)
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
        plan_ready = getattr(self.observer, "plan_ready", None)
        if plan_ready is not None:
            plan_ready(
                PlanContext(
                    organization=self.settings.org_name,
                    base_url=self.settings.base_url,
                    policies=self.policies.describe(),
                    scanned=len(links),
                    cancel=len(fresh),
                    skipped_expired=len(plan.skipped_expired),
                    excluded=len(plan.excluded),
                    unmatched=len(plan.unmatched_ids),
                )
            )
        return fresh

    async def _paid_siblings(
        self, client: HarmonyClient, links: Sequence[Link], *, first_pass: bool
    ) -> PaidSiblings | None:
        """The pass's ``PaidSiblings`` from a read of CONFIRMED links; None to plan without.

        The first pass reads even when no live link has an externalId, for the orders paid
        twice; a later pass reads only when some live link could be a paid order's sibling.
        """
        lookback = self.policies.paid_lookback
        if lookback is None:
            return None
        now = self.clock()
        wanted = live_external_ids(links, now)
        if not wanted and not first_pass:
            return None
        ledger = PaidLedger(wanted, since=now - lookback)
        stats = None
        error = "the scan deadline passed"
        deadline = self.settings.scan_deadline.total_seconds()
        try:
            with anyio.move_on_after(deadline), collapse_errors():
                async with anyio.create_task_group() as tg:
                    tg.start_soon(_cancel_on, self.gatherer.stop, tg.cancel_scope)
                    stats = await read_confirmed(
                        client,
                        ledger,
                        since=now - lookback,
                        policy=self.gatherer.retry_policy,
                        budget=self.gatherer.quota,
                    )
                    tg.cancel_scope.cancel()
        except PaidReadIncomplete as exc:
            error = str(exc)
        if stats is None:
            if self.gatherer.stop.is_set():
                error = "interrupted"
            log.warning("paid.incomplete", error=error, policy="paid_sibling")
            self.ledger.paid_scan = {"complete": False, "error": error}
            return None
        self.ledger.paid_scan = stats.to_json_dict()
        self.ledger.confirmed = ledger
        for group in ledger.paid_twice():
            self.ledger.paid_twice[group.external_id] = group
        return ledger.paid_siblings()

    def account_not_attempted(self, fresh: Sequence[Decision]) -> None:
        """Account the pass's new decisions as not attempted yet.

        A link tried again after a transient failure keeps its ``failed`` item until its new
        outcome replaces it, and counts once towards the cap.
        """
        for decision in fresh:
            if decision.link.id not in self.ledger.items:
                self.ledger.planned += 1
                self.ledger.put(item_for(decision.link, decision.reasons, Outcome.NOT_ATTEMPTED))

    def _account(self, plan: Plan) -> list[Decision]:
        """Record the skipped links; return the decisions not yet accounted for.

        A link that failed transiently comes back only when this pass's own plan selects
        it again (still PENDING, in scope, not expired): one item per link, replaced later.
        """
        for decision in plan.skipped_expired:
            if decision.link.id not in self.ledger.items:
                self.ledger.put(
                    item_for(
                        decision.link,
                        decision.reasons,
                        Outcome.SKIPPED_EXPIRED,
                        message=self._expired_message,
                    )
                )
        return [d for d in plan.cancel if self.ledger.open(d.link.id)]

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

    @property
    def _expired_message(self) -> str:
        margin = format_duration(self.settings.safety.expiry_margin)
        return f"expired (within the {margin} margin) when planned: never sent"


async def _cancel_on(event: anyio.Event, scope: anyio.CancelScope) -> None:
    await event.wait()
    scope.cancel()
