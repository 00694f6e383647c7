"""Plan: each pass's decisions over the gathered links, by policy, and their accounting.

``jobs.plan.make_plan`` decides; this stage feeds it the pass's links and accounts for what
it decided: expired links are reported at once, links to cancel not yet accounted for come
back for the guard and execute.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog

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
from worker.sweep.gather import Gatherer
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
        # A scan deduplicated by id; links looked up one by one are planned as any input.
        plan = self._make_plan(links, self.policies.policies, unique_ids=self.policies.needs_scan)
        fresh = self._account(plan)
        self.ledger.kept.update(
            (d.link.id, d.kept_id)
            for d in (*plan.cancel, *plan.skipped_expired)
            if d.kept_id is not None
        )
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
