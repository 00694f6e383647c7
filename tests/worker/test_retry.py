"""Retries: which errors, how long the waits, when the attempts and the run's budget stop them."""

from __future__ import annotations

import anyio
import pytest
from structlog.testing import capture_logs

from worker.errors import AuthError, MalformedResponse, RateLimited, TransientApiError
from worker.retry import RetryBudget, RetryPolicy, retrying


class Sleeps:
    """An injected sleep that records the waits and does not wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def call(
    policy: RetryPolicy,
    budget: RetryBudget,
    sleep: Sleeps,
    *,
    failures: list[BaseException],
) -> tuple[list[int], str]:
    """One call whose attempts raise `failures` in turn, then succeed; (attempt numbers, result)."""
    seen: list[int] = []
    budget.record_attempt()
    async for attempt in retrying(policy, budget, sleep=sleep):
        with attempt:
            seen.append(attempt.retry_state.attempt_number)
            if len(seen) <= len(failures):
                raise failures[len(seen) - 1]
    return seen, "done"


def transient(n: int) -> list[BaseException]:
    return [TransientApiError("502 from the gateway", status=502) for _ in range(n)]


async def test_transient_errors_are_retried_until_one_succeeds() -> None:
    sleep = Sleeps()
    seen, result = await call(RetryPolicy(), RetryBudget(), sleep, failures=transient(3))
    assert (seen, result) == ([1, 2, 3, 4], "done")
    assert len(sleep.waits) == 3


async def test_the_attempts_are_capped_and_the_last_error_raised() -> None:
    sleep = Sleeps()
    failures = transient(10)
    with pytest.raises(TransientApiError) as raised:
        await call(RetryPolicy(attempts=4), RetryBudget(), sleep, failures=failures)
    assert raised.value is failures[3]  # the error itself, not tenacity's RetryError
    assert len(sleep.waits) == 3


@pytest.mark.parametrize(
    "error",
    [AuthError("refused", status=401), MalformedResponse("no items"), ValueError("bug")],
)
async def test_other_errors_are_not_retried(error: Exception) -> None:
    sleep, seen = Sleeps(), []

    async def once() -> None:
        async for attempt in retrying(RetryPolicy(), RetryBudget(), sleep=sleep):
            with attempt:
                seen.append(attempt.retry_state.attempt_number)
                raise error

    with pytest.raises(type(error)):
        await once()
    assert seen == [1]
    assert sleep.waits == []


async def test_cancellation_is_never_retried_nor_swallowed() -> None:
    seen = []
    with anyio.move_on_after(0.05) as scope:
        async for attempt in retrying(RetryPolicy(), RetryBudget(), sleep=Sleeps()):
            with attempt:
                seen.append(attempt.retry_state.attempt_number)
                await anyio.sleep(5)
    assert scope.cancelled_caught
    assert seen == [1]


async def test_an_exhausted_budget_stops_retries_for_the_whole_run() -> None:
    budget, sleep = RetryBudget(ratio=0.0, min_retries=2), Sleeps()
    with pytest.raises(TransientApiError), capture_logs() as logs:
        await call(RetryPolicy(attempts=5), budget, sleep, failures=transient(5))
    assert (budget.retries, budget.exhausted) == (2, True)
    assert len(sleep.waits) == 2
    assert [log["event"] for log in logs if log["event"].startswith("retry.budget")] == [
        "retry.budget_exhausted"
    ]
    # The next call gets its first attempt only.
    with pytest.raises(TransientApiError):
        await call(RetryPolicy(attempts=5), budget, sleep, failures=transient(1))
    assert len(sleep.waits) == 2


def test_the_budget_grows_with_first_attempts() -> None:
    budget = RetryBudget(ratio=0.2, min_retries=3)
    assert budget.allowed == 3
    for _ in range(100):
        budget.record_attempt()
    assert budget.allowed == 20
    spent = 0
    while budget.try_spend():
        spent += 1
    assert (spent, budget.retries, budget.exhausted) == (20, 20, True)
    for _ in range(5):
        budget.record_attempt()
    assert not budget.exhausted  # 105 first attempts allow 21


async def test_after_a_429_the_retry_waits_for_nothing_but_the_shared_pause() -> None:
    budget, sleep = RetryBudget(ratio=0.0, min_retries=0), Sleeps()
    failures: list[BaseException] = [RateLimited("429", retry_after=3.0) for _ in range(3)]
    seen, _ = await call(RetryPolicy(), budget, sleep, failures=failures)
    assert seen == [1, 2, 3, 4]
    assert sleep.waits == [0.0, 0.0, 0.0]
    assert budget.retries == 0  # a 429's retry draws nothing from the budget


async def test_429s_still_count_towards_the_attempts() -> None:
    failures: list[BaseException] = [RateLimited("429") for _ in range(5)]
    with pytest.raises(RateLimited):
        await call(RetryPolicy(attempts=3), RetryBudget(), Sleeps(), failures=failures)


@pytest.mark.parametrize(
    "policy",
    [RetryPolicy(), RetryPolicy(attempts=8, initial=0.05, maximum=1.0), RetryPolicy(initial=1)],
)
async def test_waits_are_full_jitter_within_the_capped_exponential(policy: RetryPolicy) -> None:
    budget = RetryBudget(min_retries=100_000)
    by_retry: dict[int, list[float]] = {}
    for _ in range(60):
        sleep = Sleeps()
        with pytest.raises(TransientApiError):
            await call(policy, budget, sleep, failures=transient(policy.attempts))
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
        await call(RetryPolicy(), RetryBudget(), Sleeps(), failures=transient(1))
    [event] = [log for log in logs if log["event"] == "retry.scheduled"]
    assert event["attempt"] == 2
    assert event["error"] == "TransientApiError"
    assert event["status"] == 502
    assert 0 <= event["wait"] <= RetryPolicy().initial


@pytest.mark.parametrize(
    "kwargs",
    [{"attempts": 0}, {"initial": 0}, {"initial": 2.0, "maximum": 1.0}],
)
def test_bad_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"attempts|initial"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
