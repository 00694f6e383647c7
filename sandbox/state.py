"""The running sandbox's state and its business operations: create, cancel, pay.

Routes, the control plane and the background customers all act through `Sandbox`, so every
rule (the compare-and-set, injected races, counters) lives in one place.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import random
import time
import uuid
from collections.abc import Mapping

import structlog

from sandbox.clock import BusinessClock, whole_seconds
from sandbox.counters import Counters
from sandbox.knobs import Knobs
from sandbox.ratelimit import SlidingWindowLimiter, WindowPeaks
from sandbox.records import CANCELLED, CONFIRMED, Org, StoredLink
from sandbox.store import Store, Transition
from sandbox.validation import CreateRequest

_log = structlog.get_logger("sandbox")

CUSTOMER_TICK_S = 0.02
_PICKS_PER_PAYMENT = 4  # a random PENDING link may have expired: try a few before giving up
# Paid orders with a live sibling are a few percent of the paid ones in a seeded mix: try a
# few dozen (each an indexed lookup) before this payment is given up.
_PAID_ORDERS_PER_SIBLING_PAYMENT = 32


class Sandbox:
    """One sandbox: its store, business clock, knobs, counters and seeded randomness."""

    def __init__(
        self,
        store: Store,
        *,
        knobs: Knobs | None = None,
        seed_random: int = 1,
        clock: BusinessClock | None = None,
        settle_heap: bool = False,
    ) -> None:
        self.store = store
        self._settle_heap = settle_heap
        self.clock = clock or BusinessClock()
        self.knobs = knobs or Knobs()
        self.counters = Counters()
        self.limiter = SlidingWindowLimiter()
        self.peaks = WindowPeaks()
        self._seed_random = seed_random
        # Injected faults in a row per request ("PATCH /path?query"), for fault_streak_max.
        self.fault_streaks: collections.Counter[str] = collections.Counter()
        self._faults = random.Random(seed_random)
        self._customers = random.Random(seed_random + 1)
        self._order = random.Random(seed_random + 2)
        self._counts: dict[tuple[int, str | None, str | None], tuple[int, float]] = {}

    def list_count(self, org: Org, status: str | None, currency: str | None) -> int:
        """The `count` a list page shows: fresh, or up to `count_lag_s` old (real time)."""
        lag = self.knobs.count_lag_s
        if lag <= 0:
            return self.store.count(org, status, currency)
        key, now = (org.no, status, currency), time.monotonic()
        cached = self._counts.get(key)
        if cached is None or now - cached[1] >= lag:
            cached = self._counts[key] = (self.store.count(org, status, currency), now)
        return cached[0]

    def list_order_rng(self) -> random.Random | None:
        """The seeded stream that reorders a list page, when the knobs ask for it."""
        knobs = self.knobs
        return self._order if knobs.unstable_ties or knobs.list_order == "shuffled" else None

    def draw(self, rate: float) -> bool:
        """True with probability `rate`, from the seeded fault stream."""
        return rate > 0 and self._faults.random() < rate

    def pick(self, n: int) -> int:
        """A uniform index below `n`, from the seeded fault stream."""
        return self._faults.randrange(n)

    def latency_s(self) -> float:
        """This request's added latency: the fixed part plus uniform jitter."""
        knobs = self.knobs
        jitter = self._faults.uniform(0, knobs.latency_jitter_ms) if knobs.latency_jitter_ms else 0
        return (knobs.latency_ms + jitter) / 1000

    def set_knobs(self, changes: Mapping[str, object]) -> Knobs:
        """Apply knob changes (all or none) and return the knobs now in force."""
        self.knobs = self.knobs.replace(changes)
        self._counts.clear()
        _log.info("sandbox.knobs_set", **{name: self.knobs.as_dict()[name] for name in changes})
        return self.knobs

    def create(self, org: Org, request: CreateRequest) -> StoredLink:
        """Store a new PENDING link for `org`, created now with the requested lifetime."""
        created_ms = whole_seconds(self.clock.now_ms())
        link = StoredLink(
            id=str(uuid.uuid4()),
            org_no=org.no,
            status="PENDING",
            external_id=request.external_id,
            amount=request.amount,
            amount_is_text=False,
            currency=request.currency,
            description=request.description,
            redirect_url=request.redirect_url,
            homepage_url=request.homepage_url,
            billing=request.billing,
            created_ms=created_ms,
            updated_ms=created_ms,
            expires_ms=created_ms + request.ttl_minutes * 60_000,
        )
        self.store.insert_links([link])
        return link

    def cancel(self, org: Org, link_id: str) -> tuple[Transition, StoredLink | None]:
        """Cancel `org`'s link; with `race_rate`, a customer may pay it a moment earlier."""
        if self.draw(self.knobs.race_rate):
            raced, _ = self.store.transition(link_id, CONFIRMED, self.clock.now_ms(), org=org)
            if raced is Transition.APPLIED:
                self.counters.event("races")
                self.counters.event("customer_payments")
        return self.store.transition(link_id, CANCELLED, self.clock.now_ms(), org=org)

    def draw_customer(self, rate: float) -> bool:
        """True with probability `rate`, from the seeded customers' stream."""
        return rate > 0 and self._customers.random() < rate

    def pay(self, link_id: str) -> Transition:
        """A customer completes the checkout of a link (any organization's)."""
        outcome, _ = self.store.transition(link_id, CONFIRMED, self.clock.now_ms())
        if outcome is Transition.APPLIED:
            self.counters.event("customer_payments")
        return outcome

    def reset(self) -> None:
        """Empty state (the first organization stays), default knobs, clock and counters."""
        self.store.reset()
        self.knobs = Knobs()
        self.clock.reset()
        self.clear_counters()
        self.fault_streaks.clear()
        self._faults = random.Random(self._seed_random)
        self._customers = random.Random(self._seed_random + 1)
        self._order = random.Random(self._seed_random + 2)
        self._counts.clear()
        self.settled()

    def settled(self) -> None:
        """After a bulk change (start, reset, a load or seed): collect the garbage now, while
        no request waits, and freeze what is left.

        Only with ``settle_heap`` (a sandbox in a process of its own). A full collection
        walks every link held; one that lands mid-run pauses the event loop (26 ms with a
        benchmark's 7,000 links), and requests that arrive meanwhile are counted together
        when it resumes: ~5 more in the next second's window at 200 req/s, enough for a
        client pacing at 97.5 % of the limit to draw a 429 no pacing of its own could avoid.
        Frozen links are still read and changed as before; the collector only stops walking
        them, as a tuned production server's would (``gc.freeze`` after loading).
        """
        if not self._settle_heap:
            return
        gc.unfreeze()  # what an earlier load froze, replaced since, is collectable again
        gc.collect()
        gc.freeze()

    def clear_counters(self) -> None:
        """Counters, peaks and the limiter's history back to zero."""
        self.counters.clear()
        self.peaks.clear()
        self.limiter.clear()

    def counters_snapshot(self) -> dict[str, object]:
        """The counters as `GET /_sandbox/counters` returns them."""
        return self.counters.snapshot(self.peaks.peaks(), self.peaks.peak_times())

    async def run_customers(self) -> None:
        """Forever: customers pay random PENDING links at `pay_rate` per second.

        A `sibling_pay_rate` fraction of those payments go to a PENDING, unexpired sibling
        of a CONFIRMED link instead (an order paid twice).
        """
        credit, last = 0.0, time.monotonic()
        while True:
            await asyncio.sleep(CUSTOMER_TICK_S)
            now, rate = time.monotonic(), self.knobs.pay_rate
            # Capped at one second's worth, so a stalled loop does not end in a burst.
            credit = min(credit + rate * (now - last), max(rate, 1.0)) if rate > 0 else 0.0
            last = now
            while credit >= 1:
                credit -= 1
                self._customer_pays()

    def _customer_pays(self) -> None:
        if self.draw_customer(self.knobs.sibling_pay_rate):
            self._customer_pays_a_sibling()
            return
        for _ in range(_PICKS_PER_PAYMENT):
            link_id = self.store.random_pending(self._customers)
            if link_id is None or self.pay(link_id) is Transition.APPLIED:
                return

    def _customer_pays_a_sibling(self) -> None:
        # No sibling found: this payment is given up rather than sent to a random link, so
        # that sibling_pay_rate = 1 pays nothing but siblings (what a race test needs).
        link_id = self.store.random_paid_sibling(
            self._customers, self.clock.now_ms(), picks=_PAID_ORDERS_PER_SIBLING_PAYMENT
        )
        if link_id is not None and self.pay(link_id) is Transition.APPLIED:
            self.counters.event("sibling_payments")
