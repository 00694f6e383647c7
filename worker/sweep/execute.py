"""Execute: cancel the planned links concurrently, under the run's pace, and record outcomes.

Each link ends in exactly one ``Outcome``:

- 200 -> ``cancelled``.
- 400 -> ``conflict`` (paid first, already cancelled, or expired meanwhile); one GET says
  which, for the report. A link the customer paid while we cancelled it, whose order
  (externalId) has another CONFIRMED link in the run's read of paid links (``paid_orders``),
  is an order now paid twice: the message says so and ``ExecutionState.paid_twice`` keeps
  it for the report. When an earlier attempt of ours got no answer and the retry gets
  400, a GET that shows CANCELLED means our first attempt worked: ``cancelled``.
- 404 -> ``not_found``.
- 5xx, resets, timeouts, 429 -> retried (``worker.api.retry``); ``failed`` once the attempts run
  out. Such a link is ``ExecutionState.retriable``: the sweep's next pass tries it again.
- Too late -> ``skipped_expired``, and nothing sent for that attempt. Every attempt, the
  retries too, must leave before the link's ``expiresAt`` less ``expiry_margin`` (latency,
  clock skew); the client checks after the last wait (``HarmonyClient.cancel``), so the
  concurrency slot, the backoff and the pace's limiter and 429 pause all come before it.
  When a retry comes too late after an earlier attempt got no answer, that attempt may
  have cancelled the link: one GET (fine on an expired link) tells. CANCELLED ->
  ``cancelled``; CONFIRMED -> ``conflict``; still PENDING -> ``skipped_expired``; no
  usable answer -> ``failed``, its outcome unknown. Earlier attempts that were answered
  (5xx, 429) did not cancel it: ``skipped_expired`` without a GET.
- 401/403 -> ``AuthError`` propagates: the task group stops every other request at once.

Launching stops (the rest are ``not_attempted``) when ``stop`` is set (a signal) or when the
failure threshold trips.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import anyio
import structlog

from jobs import PaidTwice
from jobs.links import Link, Status
from jobs.plan import Decision
from worker.api.answers import CancelAnswer, TooLate
from worker.api.client import HarmonyClient
from worker.api.retry import RetryPolicy, RetryQuota, with_retries
from worker.errors import ApiError, NoResponse, TransientApiError
from worker.outcomes import Outcome
from worker.report import ReportItem, item_for, payment_fields
from worker.settings.durations import format_duration
from worker.sweep._taskgroups import collapse_errors
from worker.sweep.guard import FailureThreshold

log = structlog.get_logger("worker.sweep.execute")


@dataclass(slots=True)
class ExecutionState:
    """Shared, mutable bookkeeping of one execution (single event loop, no locks needed)."""

    finished: int = 0
    failed: int = 0
    threshold_tripped: bool = False
    items: dict[str, ReportItem] = field(default_factory=dict)
    # Ids that ended ``failed`` for a transient reason (5xx, reset, timeout, 429): worth
    # another pass. Not a 401, a malformed answer, nor an interrupted cancel's unknown fate.
    retriable: set[str] = field(default_factory=set)
    # Orders a lost race left paid twice: externalId -> its CONFIRMED links, oldest first.
    paid_twice: dict[str, PaidTwice] = field(default_factory=dict)


OnOutcome = Callable[[ReportItem], None]


def _conflict_message(link: Link | None, *, now_expired: bool) -> str:
    """Why a cancel was refused, as the follow-up GET tells it."""
    if link is None:
        return "refused (400); the link is no longer visible"
    if link.status is Status.CONFIRMED:
        return "refused (400): the customer paid first (CONFIRMED)"
    if link.status is Status.CANCELLED:
        return "refused (400): already CANCELLED"
    if now_expired:
        return "refused (400): expired meanwhile"
    return "refused (400): still PENDING and not expired"


@dataclass(slots=True)
class Executor:
    """Cancels decisions with one client; one instance per execution pass."""

    client: HarmonyClient
    policy: RetryPolicy
    quota: RetryQuota
    threshold: FailureThreshold
    now: Callable[[], datetime]
    audit: Callable[[ReportItem], None]
    on_outcome: OnOutcome | None = None
    stop: anyio.Event = field(default_factory=anyio.Event)
    grace: float = 10.0
    expiry_margin: timedelta = timedelta(0)
    # externalId -> the CONFIRMED links the run read for it (``PaidLedger.confirmed_links``).
    paid_orders: Callable[[str], tuple[Link, ...]] | None = None
    state: ExecutionState = field(default_factory=ExecutionState)

    async def run(self, decisions: Sequence[Decision]) -> dict[str, ReportItem]:
        """Cancel every decision, or stop early; returns an item per launched decision.

        After ``stop`` is set, requests in flight get ``grace`` seconds to finish; those
        still unanswered then are cancelled and reported ``failed`` (their fate unknown).
        """
        pending = iter(decisions)
        in_flight: dict[str, Decision] = {}
        workers = max(1, min(len(decisions), self.client.pace.max_concurrency))
        limiter = anyio.CapacityLimiter(max(1, self.client.pace.concurrency))

        async def worker() -> None:
            # Tokens are held on behalf of this worker rather than of "the current task":
            # anyio would ask asyncio for the current task, which on Python 3.11 costs a
            # getpid() system call each time, two per cancel (benchmark scenario 4).
            borrower = object()
            pace = self.client.pace
            for decision in pending:
                if self._halted():
                    return
                # A free token is taken without awaiting ``acquire``, which even then walks
                # the cancel scopes and yields to the event loop in a shielded scope:
                # measurable CPU per cancel, and the request that follows is a checkpoint
                # anyway. Waiting tasks still go first: the nowait form refuses while any
                # is queued.
                try:
                    limiter.acquire_on_behalf_of_nowait(borrower)
                except anyio.WouldBlock:
                    await limiter.acquire_on_behalf_of(borrower)
                try:
                    if self._halted():
                        return
                    in_flight[decision.link.id] = decision
                    item = await self.cancel_one(decision)
                    del in_flight[decision.link.id]
                    wanted = max(1, pace.concurrency)
                    if wanted != limiter.total_tokens:
                        limiter.total_tokens = wanted
                finally:
                    limiter.release_on_behalf_of(borrower)
                self._record(item)

        try:
            with collapse_errors():
                async with anyio.create_task_group() as outer:
                    async with anyio.create_task_group() as crew:
                        outer.start_soon(self._drain, crew.cancel_scope)
                        for _ in range(workers):
                            crew.start_soon(worker)
                    outer.cancel_scope.cancel()
        finally:
            for decision in in_flight.values():
                self._record(
                    item_for(
                        decision.link,
                        decision.reasons,
                        Outcome.FAILED,
                        message="interrupted after the cancel was sent: its outcome is unknown",
                    )
                )
        return self.state.items

    def _halted(self) -> bool:
        return self.stop.is_set() or self.state.threshold_tripped

    async def _drain(self, crew: anyio.CancelScope) -> None:
        """On stop: let requests in flight finish within the grace period, then cancel them."""
        await self.stop.wait()
        log.warning("run.draining", grace_period=self.grace)
        await anyio.sleep(self.grace)
        crew.cancel()

    def _record(self, item: ReportItem) -> None:
        state = self.state
        state.items[item.id] = item
        state.finished += 1
        if item.outcome is Outcome.FAILED:
            state.failed += 1
            log.warning("payment.failed", **payment_fields(item))
        elif item.outcome is Outcome.CANCELLED:
            self.audit(item)
        elif item.outcome is Outcome.CONFLICT:
            log.info("payment.conflict", **payment_fields(item))
        elif item.outcome is Outcome.NOT_FOUND:
            log.info("payment.not_found", **payment_fields(item))
        elif item.outcome is Outcome.SKIPPED_EXPIRED:
            log.info("payment.skipped_expired", **payment_fields(item))
        if not state.threshold_tripped and self.threshold.tripped(state.finished, state.failed):
            state.threshold_tripped = True
            log.error(
                "run.failure_threshold",
                finished=state.finished,
                failed=state.failed,
                ratio=self.threshold.ratio,
            )
        if self.on_outcome is not None:
            self.on_outcome(item)

    async def cancel_one(self, decision: Decision) -> ReportItem:
        """Cancel one link with retries; never raises but for ``AuthError`` and cancellation."""
        link, reasons = decision.link, [str(reason) for reason in decision.reasons]
        attempts = 0
        unanswered = False
        send_before = link.expires_at - self.expiry_margin

        async def attempt() -> CancelAnswer | TooLate:
            nonlocal attempts, unanswered
            attempts += 1
            if attempts > 1:
                log.info("payment.retry", id=link.id, attempt=attempts)
            try:
                answer = await self.client.cancel(link.id, send_before=send_before)
            except NoResponse:
                unanswered = True
                raise
            if isinstance(answer, TooLate):
                attempts -= 1  # not sent: ``attempts`` counts the requests that left
            return answer

        try:
            answer = await with_retries(attempt, self.policy, self.quota)
        except ApiError as exc:
            if isinstance(exc, TransientApiError):
                self.state.retriable.add(link.id)
            return item_for(
                link,
                reasons,
                Outcome.FAILED,
                http_status=exc.status,
                attempts=attempts,
                message=str(exc),
            )
        if isinstance(answer, TooLate):
            return await self._too_late(decision, attempts=attempts, unanswered=unanswered)
        if answer.status == 200:
            return item_for(link, reasons, Outcome.CANCELLED, http_status=200, attempts=attempts)
        if answer.status == 404:
            return item_for(
                link,
                reasons,
                Outcome.NOT_FOUND,
                http_status=404,
                attempts=attempts,
                message=answer.message,
            )
        current = await self._look_up(link.id)
        if unanswered and current is not None and current.status is Status.CANCELLED:
            return item_for(
                link,
                reasons,
                Outcome.CANCELLED,
                http_status=400,
                attempts=attempts,
                message="an earlier attempt's answer was lost; the link is CANCELLED",
            )
        expired = current is not None and current.is_expired(self.now())
        message = _conflict_message(current, now_expired=expired)
        if current is not None and current.status is Status.CONFIRMED:
            message += self._paid_twice(current)
        return item_for(
            link,
            reasons,
            Outcome.CONFLICT,
            http_status=400,
            attempts=attempts,
            message=message,
        )

    def _paid_twice(self, paid: Link) -> str:
        """For a link just paid: the words, and the record, when its order is now paid twice."""
        if self.paid_orders is None or not paid.external_id:
            return ""
        others = [other for other in self.paid_orders(paid.external_id) if other.id != paid.id]
        if not others:
            return ""
        earlier = self.state.paid_twice.get(paid.external_id)
        links = {other.id: other for other in (*(earlier.links if earlier else ()), *others)}
        links[paid.id] = paid
        ordered = sorted(links.values(), key=lambda one: (one.created_at, one.id))
        self.state.paid_twice[paid.external_id] = PaidTwice(paid.external_id, tuple(ordered))
        log.warning(
            "payment.paid_twice", id=paid.id, externalId=paid.external_id, paid=others[0].id
        )
        return f"; order {paid.external_id} is now paid twice (also paid by {others[0].id})"

    async def _too_late(self, decision: Decision, *, attempts: int, unanswered: bool) -> ReportItem:
        """The outcome of a cancel whose next attempt would have left too close to expiry."""
        link, reasons = decision.link, [str(reason) for reason in decision.reasons]
        within = f"expired (within the {format_duration(self.expiry_margin)} margin)"
        if attempts == 0:
            message = f"{within} when its turn came: never sent"
        elif not unanswered:
            message = f"{within} before its retry: not sent again ({attempts} sent, none applied)"
        else:
            current = await self._look_up(link.id)
            if current is None:
                message = (
                    f"{within} before its retry, and an earlier attempt got no answer: "
                    "its outcome is unknown"
                )
                return item_for(link, reasons, Outcome.FAILED, attempts=attempts, message=message)
            if current.status is Status.CANCELLED:
                message = "an earlier attempt's answer was lost; the link is CANCELLED"
                return item_for(
                    link, reasons, Outcome.CANCELLED, attempts=attempts, message=message
                )
            if current.status is Status.CONFIRMED:
                message = "an earlier attempt got no answer; the customer paid (CONFIRMED)"
                return item_for(link, reasons, Outcome.CONFLICT, attempts=attempts, message=message)
            message = (
                f"{within} before its retry; an earlier attempt got no answer and the link "
                "is still PENDING: not sent again"
            )
        return item_for(link, reasons, Outcome.SKIPPED_EXPIRED, attempts=attempts, message=message)

    async def _look_up(self, link_id: str) -> Link | None:
        """The link's current state after a 400, or None when it cannot be had."""
        try:
            return await with_retries(lambda: self.client.get(link_id), self.policy, self.quota)
        except ApiError as exc:
            log.warning("payment.lookup_failed", id=link_id, error=str(exc))
        return None
