"""Retries: which errors, how long the waits, when the attempts and the run's quota stop them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio
import pytest
from structlog.testing import capture_logs

from worker.api.retry import (
    DEFAULT_QUOTA,
    NO_RESPONSE_RETRY_COST,
    NO_RETRY_REFUND,
    RETRY_COST,
    RetryPolicy,
    RetryQuota,
    with_retries,
)
from worker.errors import AuthError, MalformedResponse, NoResponse, RateLimited, TransientApiError


class Sleeps:
    """An injected sleep that records the waits and does not wait; runs ``during`` instead."""

    def __init__(self, during: Any = None) -> None:
        self.waits: list[float] = []
        self.during = during

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.during is not None:
            self.during()


class Flaky:
    """A call whose attempts raise ``failures`` in turn, then return "done"; counts them."""

    def __init__(self, failures: Sequence[BaseException]) -> None:
        self.failures = failures
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= len(self.failures):
            raise self.failures[self.calls - 1]
        return "done"


class Clock:
    """A monotonic clock that tests move by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def transient(n: int) -> list[BaseException]:
    return [TransientApiError("502 from the gateway", status=502) for _ in range(n)]


def resets(n: int) -> list[BaseException]:
    return [NoResponse("connection reset") for _ in range(n)]


async def test_transient_errors_are_retried_until_one_succeeds() -> None:
    sleep, flaky = Sleeps(), Flaky(transient(3))
    assert await with_retries(flaky, RetryPolicy(), RetryQuota(), sleep=sleep) == "done"
    assert flaky.calls == 4
    assert len(sleep.waits) == 3


async def test_the_attempts_are_capped_and_the_last_error_raised() -> None:
    sleep, failures = Sleeps(), transient(10)
    flaky = Flaky(failures)
    with pytest.raises(TransientApiError) as raised:
        await with_retries(flaky, RetryPolicy(attempts=4), RetryQuota(), sleep=sleep)
    assert raised.value is failures[3]  # the error itself, not tenacity's RetryError
    assert (flaky.calls, len(sleep.waits)) == (4, 3)


@pytest.mark.parametrize(
    "failures",
    [
        [AuthError("refused", status=401)],
        [MalformedResponse("no items")],
        [ValueError("bug")],
        [TransientApiError("502", status=502), AuthError("refused", status=403)],
    ],
)
async def test_other_errors_are_not_retried(failures: list[BaseException]) -> None:
    sleep, flaky, quota = Sleeps(), Flaky(failures), RetryQuota()
    with pytest.raises(type(failures[-1])):
        await with_retries(flaky, RetryPolicy(), quota, sleep=sleep)
    assert flaky.calls == len(failures)
    assert len(sleep.waits) == len(failures) - 1
    assert quota.available == DEFAULT_QUOTA - RETRY_COST * (len(failures) - 1)  # no refund


async def test_cancellation_is_never_retried_nor_swallowed() -> None:
    calls = 0

    async def hangs() -> None:
        nonlocal calls
        calls += 1
        await anyio.sleep(5)

    with anyio.move_on_after(0.05) as scope:
        await with_retries(hangs, RetryPolicy(), RetryQuota(), sleep=Sleeps())
    assert scope.cancelled_caught
    assert calls == 1


@pytest.mark.parametrize(
    ("start", "failures", "answered", "available", "retries"),
    [
        # A call answered at once adds 1, up to the capacity and never above it.
        (500, [], True, 500, 0),
        (100, [], True, 101, 0),
        # A retry costs 5, or 10 after no answer; the answer refunds the last retry's cost.
        (100, transient(1), True, 100, 1),
        (100, resets(1), True, 100, 1),
        (100, [*transient(1), *resets(1)], True, 95, 2),
        (100, [*resets(1), *transient(1)], True, 90, 2),
        # A call that ends in failure refunds nothing.
        (100, transient(5), False, 80, 4),
        (100, resets(5), False, 60, 4),
        # 429s cost nothing: the answered call refunds as if it had needed no retry.
        (100, [RateLimited("429"), RateLimited("429")], True, 101, 0),
    ],
)
async def test_the_quota_is_paid_and_refunded_as_botocore_does(
    start: int, failures: list[BaseException], answered: bool, available: int, retries: int
) -> None:
    quota = RetryQuota(500)
    assert quota.try_acquire(500 - start) or start == 500
    before = quota.retries
    try:
        await with_retries(Flaky(failures), RetryPolicy(), quota, sleep=Sleeps())
    except TransientApiError:
        assert not answered
    else:
        assert answered
    assert (quota.available, quota.retries - before) == (available, retries)


def test_the_quota_never_pays_more_than_it_holds_nor_refills_past_its_capacity() -> None:
    quota = RetryQuota(12)
    assert quota.try_acquire(NO_RESPONSE_RETRY_COST)
    assert not quota.try_acquire(RETRY_COST)  # 2 left: refused, and nothing taken
    assert quota.available == 2
    for _ in range(3):
        quota.release(NO_RETRY_REFUND)
    assert quota.try_acquire(RETRY_COST)
    quota.release(1000)
    assert (quota.available, quota.retries) == (12, 2)


async def test_a_server_that_answers_nothing_gets_at_most_capacity_over_cost_retries() -> None:
    """The bound the README states: unanswered calls send one request plus paid retries."""
    quota, policy = RetryQuota(100, pause_initial=0.01, pause_maximum=0.05), RetryPolicy()
    sent = 0
    for _ in range(50):
        flaky = Flaky(transient(policy.attempts))
        with pytest.raises(TransientApiError):
            await with_retries(flaky, policy, quota, sleep=Sleeps())
        sent += flaky.calls
    assert quota.retries == 100 // RETRY_COST
    assert sent == 50 + 100 // RETRY_COST


async def test_a_dry_quota_holds_the_run_and_the_call_asks_again() -> None:
    clock, holds = Clock(), []
    quota = RetryQuota(5, pause_initial=1.0, pause_maximum=3.0, hold=holds.append, clock=clock)
    # The first retry takes the last 5; the next finds it dry, and the run holds for 1 s.
    # Meanwhile another call is answered five times: enough for one more retry.

    def others_answered() -> None:
        clock.now += 1.0
        if quota.dry_pauses:  # while the run is held
            for _ in range(5):
                quota.release(NO_RETRY_REFUND)

    sleep = Sleeps(during=others_answered)
    flaky = Flaky(transient(2))
    with capture_logs() as logs:
        assert await with_retries(flaky, RetryPolicy(), quota, sleep=sleep) == "done"
    assert flaky.calls == 3  # the refused attempt sent nothing
    assert holds == [1.0]
    assert sleep.waits[1] == 1.0  # the second wait is the run's pause, not a jittered one
    assert quota.retries == 2
    [dry] = [log for log in logs if log["event"] == "retry.quota_exhausted"]
    assert dry["pause"] == 1.0
    assert [log["attempt"] for log in logs if log["event"] == "retry.scheduled"] == [2, 4]


async def test_a_call_refused_until_its_attempts_run_out_gives_up_with_its_last_error() -> None:
    clock, holds = Clock(), []
    quota = RetryQuota(0, pause_initial=1.0, pause_maximum=3.0, hold=holds.append, clock=clock)

    def time_passes() -> None:
        clock.now += 10.0

    failures = transient(1)
    flaky = Flaky(failures)
    with pytest.raises(TransientApiError) as raised:
        await with_retries(flaky, RetryPolicy(attempts=5), quota, sleep=Sleeps(time_passes))
    assert raised.value is failures[0]
    assert flaky.calls == 1  # nothing sent unpaid
    assert holds == [1.0, 2.0, 3.0, 3.0]  # growing, bounded by pause_maximum
    assert quota.dry_pauses == 4


async def test_calls_refused_during_one_pause_join_it_and_the_run_goes_on_as_long_after() -> None:
    clock, holds = Clock(), []
    quota = RetryQuota(0, pause_initial=1.0, pause_maximum=8.0, hold=holds.append, clock=clock)
    assert quota.back_off() == 1.0
    clock.now += 0.25
    assert quota.back_off() == 0.75  # the same pause
    clock.now += 1.25
    assert quota.back_off() == 0.5  # the run goes on for a second: this call waits alone
    clock.now += 0.5
    assert quota.back_off() == 2.0  # still dry after it: a longer pause
    quota.release(NO_RETRY_REFUND)
    clock.now += 10.0
    assert quota.back_off() == 1.0  # an answer came in between: start over
    assert holds == [1.0, 2.0, 1.0]
    assert quota.dry_pauses == 3


async def test_after_a_429_the_retry_waits_for_nothing_but_the_shared_pause() -> None:
    quota, sleep = RetryQuota(0), Sleeps()
    failures: list[BaseException] = [RateLimited("429", retry_after=3.0) for _ in range(3)]
    flaky = Flaky(failures)
    assert await with_retries(flaky, RetryPolicy(), quota, sleep=sleep) == "done"
    assert flaky.calls == 4
    assert sleep.waits == [0.0, 0.0, 0.0]
    assert (quota.retries, quota.dry_pauses) == (0, 0)  # a 429's retry draws nothing


async def test_429s_still_count_towards_the_attempts() -> None:
    flaky = Flaky([RateLimited("429") for _ in range(5)])
    with pytest.raises(RateLimited):
        await with_retries(flaky, RetryPolicy(attempts=3), RetryQuota(), sleep=Sleeps())
    assert flaky.calls == 3


@pytest.mark.parametrize(
    "policy",
    [RetryPolicy(), RetryPolicy(attempts=8, initial=0.05, maximum=1.0), RetryPolicy(initial=1)],
)
async def test_waits_are_full_jitter_within_the_capped_exponential(policy: RetryPolicy) -> None:
    quota = RetryQuota(1_000_000)
    by_retry: dict[int, list[float]] = {}
    for _ in range(60):
        sleep = Sleeps()
        with pytest.raises(TransientApiError):
            await with_retries(Flaky(transient(policy.attempts)), policy, quota, sleep=sleep)
        assert len(sleep.waits) == policy.attempts - 1
        for n, wait in enumerate(sleep.waits):
            by_retry.setdefault(n, []).append(wait)
    for n, waits in by_retry.items():
        high = min(policy.maximum, policy.initial * 2**n)
        assert all(0 <= wait <= high for wait in waits)
        # Full jitter: spread over the whole range, not bunched at its top.
        assert min(waits) < high / 4
        assert max(waits) > high * 3 / 4


async def test_each_scheduled_retry_is_logged_as_data() -> None:
    with capture_logs() as logs:
        await with_retries(Flaky(transient(2)), RetryPolicy(), RetryQuota(), sleep=Sleeps())
    events = [log for log in logs if log["event"] == "retry.scheduled"]
    assert [event["attempt"] for event in events] == [2, 3]  # the first attempt is the loop's 1
    assert events[0]["error"] == "TransientApiError"
    assert events[0]["status"] == 502
    assert 0 <= events[0]["wait"] <= RetryPolicy().initial


@pytest.mark.parametrize(
    "kwargs",
    [{"attempts": 0}, {"initial": 0}, {"initial": 2.0, "maximum": 1.0}],
)
def test_bad_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"attempts|initial"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs", [{"capacity": -1}, {"pause_initial": 0.0}, {"pause_initial": 2, "pause_maximum": 1}]
)
def test_bad_quotas_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"capacity|pause"):
        RetryQuota(**kwargs)  # type: ignore[arg-type]
