"""Retries: which errors, how long the waits, when the attempts and the run's budget stop them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio
import pytest
from structlog.testing import capture_logs

from worker.errors import AuthError, MalformedResponse, NoResponse, RateLimited, TransientApiError
from worker.retry import RetryBudget, RetryPolicy, retrying, with_retries


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


async def through_the_loop(
    call: Callable[[], Awaitable[str]],
    policy: RetryPolicy,
    budget: RetryBudget,
    *,
    sleep: Sleeps,
) -> str:
    """Every attempt inside tenacity's loop, the first one too: how with_retries used to work."""
    budget.record_attempt()
    async for attempt in retrying(policy, budget, sleep=sleep):
        with attempt:
            return await call()
    raise AssertionError("unreachable")


async def observe(
    run: Callable[..., Awaitable[str]],
    policy: RetryPolicy,
    budget: RetryBudget,
    failures: Sequence[BaseException],
) -> dict[str, Any]:
    """What a caller and the run can see of one call made by ``run``."""
    flaky, sleep = Flaky(failures), Sleeps()
    with capture_logs() as logs:
        try:
            outcome: object = await run(flaky, policy, budget, sleep=sleep)
        except Exception as exc:  # noqa: BLE001 (which error, compared below)
            outcome = failures.index(exc)
    return {
        "outcome": outcome,
        "attempts": flaky.calls,
        "waits": len(sleep.waits),
        "zero_waits": [wait == 0.0 for wait in sleep.waits],  # after a 429
        "first_attempts": budget.first_attempts,
        "retries": budget.retries,
        "logs": [
            {key: value for key, value in log.items() if key != "wait"}  # jitter is random
            for log in logs
        ],
    }


@pytest.mark.parametrize(
    ("attempts", "budget_min", "failures"),
    [
        (5, 20, []),
        (5, 20, transient(1)),
        (5, 20, transient(3)),
        (4, 20, transient(10)),
        (1, 20, transient(1)),
        (5, 2, transient(5)),
        (5, 0, transient(1)),
        (5, 0, [RateLimited("429", retry_after=1.0) for _ in range(3)]),
        (3, 20, [RateLimited("429") for _ in range(5)]),
        (5, 20, [NoResponse("reset"), RateLimited("429"), TransientApiError("503", status=503)]),
        (5, 20, [AuthError("refused", status=401)]),
        (5, 20, [MalformedResponse("no items")]),
        (5, 20, [TransientApiError("502", status=502), AuthError("refused", status=403)]),
    ],
)
async def test_with_retries_retries_exactly_as_the_tenacity_loop_did(
    attempts: int, budget_min: int, failures: list[BaseException]
) -> None:
    """The first attempt is made outside tenacity (CPU); nothing a caller sees changes."""
    policy = RetryPolicy(attempts=attempts)
    looped = await observe(
        through_the_loop, policy, RetryBudget(ratio=0.0, min_retries=budget_min), failures
    )
    direct = await observe(
        with_retries, policy, RetryBudget(ratio=0.0, min_retries=budget_min), failures
    )
    assert direct == looped


async def test_a_first_attempt_that_fails_is_the_loops_attempt_one() -> None:
    budget, sleep = RetryBudget(), Sleeps()
    flaky = Flaky(transient(2))
    with capture_logs() as logs:
        assert await with_retries(flaky, RetryPolicy(), budget, sleep=sleep) == "done"
    assert flaky.calls == 3
    assert (budget.first_attempts, budget.retries) == (1, 2)
    assert [log["attempt"] for log in logs if log["event"] == "retry.scheduled"] == [2, 3]


async def test_with_retries_never_retries_nor_swallows_cancellation() -> None:
    calls = 0

    async def hangs() -> None:
        nonlocal calls
        calls += 1
        await anyio.sleep(5)

    with anyio.move_on_after(0.05) as scope:
        await with_retries(hangs, RetryPolicy(), RetryBudget(), sleep=Sleeps())
    assert scope.cancelled_caught
    assert calls == 1
