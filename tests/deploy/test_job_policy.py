"""deploy/kubernetes: schedules, retries and exit codes, as the Job controller reads them."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest

from tests.deploy.manifests import (
    CONTAINER,
    REPORT_MARGIN,
    Resource,
    config_toml,
    env_value,
    is_indexed,
    resource_label,
    workloads,
)
from worker.cli.exit_codes import ExitCode
from worker.settings import DEFAULT_GRACE_PERIOD
from worker.settings.durations import parse_duration

# The CronJob controller checks every 10 s: a shorter deadline can miss every schedule.
MIN_STARTING_DEADLINE = 10


def _fail_at_once(workload: Resource) -> str:
    """The podFailurePolicy action that ends a workload's run at once, without a retry.

    FailJob, except in an Indexed Job with a per-index backoff limit: there FailIndex
    fails the shard and lets the other shards' organizations finish.
    """
    job = workload.job_spec
    assert job is not None
    if is_indexed(workload) and "backoffLimitPerIndex" in job:
        return "FailIndex"
    return "FailJob"


def _action(job: Mapping[str, Any], *, exit_code: int | None, condition: str | None) -> str:
    """What the Job controller does with a failed pod: the first matching rule, else Count."""
    for rule in job.get("podFailurePolicy", {}).get("rules", []):
        codes = rule.get("onExitCodes")
        if (
            exit_code is not None
            and codes is not None
            and codes.get("containerName", CONTAINER) == CONTAINER
            and (exit_code in codes["values"]) == (codes["operator"] == "In")
        ):
            return str(rule["action"])
        for pattern in rule.get("onPodConditions", []):
            if pattern["type"] == condition and pattern.get("status", "True") == "True":
                return str(rule["action"])
    return "Count"


# --- Scheduling, retries and exit codes ----------------------------------------------

# Every exit code of `harmony-sweeper run` but 0, with what Kubernetes must do with it. A new
# code must be added here: someone has to decide whether a retry is safe.
_RETRY = "retry"
_FAIL = "fail at once"
_EXIT_CODE_DECISIONS = {
    ExitCode.FAILURES: _RETRY,
    ExitCode.USAGE: _FAIL,
    ExitCode.UNAUTHORIZED: _FAIL,
    ExitCode.SAFETY_ABORT: _FAIL,
    # Nothing was cancelled; a network or DNS blip may pass by the next pod, and a bad
    # certificate costs a few seconds per retry before the Job fails.
    ExitCode.UNREACHABLE: _RETRY,
    # The cancels are done and the outcome is in the fallback the log names: a retry sweeps
    # again (idempotent, but it writes a report of what is left), and if it succeeds the Job
    # ends Complete, hiding that the first run's outcome sits in a fallback. A person looks.
    ExitCode.REPORT_FALLBACK: _FAIL,
    # Only plain cron uses --lock-file; under a CronJob (concurrencyPolicy Forbid) it cannot
    # happen, and a later schedule is the retry.
    ExitCode.LOCKED: _RETRY,
    ExitCode.SIGINT: _RETRY,
    ExitCode.SIGTERM: _RETRY,
}


# Codes of other commands: the CronJob runs `run` alone, which never exits with them.
_NOT_RUN_CODES = {ExitCode.PROBE_FINDINGS}


def test_every_exit_code_has_a_decision() -> None:
    assert set(_EXIT_CODE_DECISIONS) == set(ExitCode) - {ExitCode.OK} - _NOT_RUN_CODES


@pytest.mark.parametrize("code", sorted(_EXIT_CODE_DECISIONS), ids=lambda c: f"{c.name}={c.value}")
@pytest.mark.parametrize("workload", workloads(), ids=resource_label)
def test_failure_policy_maps_exit_codes(workload: Resource, code: ExitCode) -> None:
    job = workload.job_spec
    assert job is not None
    expected = _fail_at_once(workload) if _EXIT_CODE_DECISIONS[code] == _FAIL else "Count"
    assert _action(job, exit_code=code.value, condition=None) == expected


@pytest.mark.parametrize("workload", workloads(), ids=resource_label)
def test_disruptions_are_not_failures(workload: Resource) -> None:
    job = workload.job_spec
    assert job is not None
    # Evicted or preempted: a pod that drained on SIGTERM exits 143 with this condition.
    assert _action(job, exit_code=ExitCode.SIGTERM, condition="DisruptionTarget") == "Ignore"


@pytest.mark.parametrize("workload", workloads(), ids=resource_label)
def test_job_is_bounded_and_never_runs_twice_at_once(workload: Resource) -> None:
    job = workload.job_spec
    assert job is not None
    pod = workload.pod_spec
    assert pod["restartPolicy"] == "Never"  # podFailurePolicy requires it
    # A replacement pod starts only once the failed one has finished draining.
    assert job["podReplacementPolicy"] == "Failed"
    assert job["activeDeadlineSeconds"] > pod["terminationGracePeriodSeconds"]
    limit = job.get("backoffLimitPerIndex") if is_indexed(workload) else job.get("backoffLimit")
    assert isinstance(limit, int)
    assert 1 <= limit <= 6, "a few retries, for exit 1 only"
    for rule in job["podFailurePolicy"]["rules"]:
        assert rule["action"] in {"FailJob", "FailIndex", "Ignore", "Count"}, rule
        if "onExitCodes" in rule:
            assert rule["onExitCodes"]["containerName"] == CONTAINER
    if workload.kind == "CronJob":
        spec = workload.body["spec"]
        assert spec["concurrencyPolicy"] == "Forbid"
        assert spec["startingDeadlineSeconds"] >= MIN_STARTING_DEADLINE
        assert spec["timeZone"], "a schedule without a time zone follows the controller's"


@pytest.mark.parametrize("workload", workloads(), ids=resource_label)
def test_shards_agree(workload: Resource) -> None:
    job = workload.job_spec
    assert job is not None
    shard_count = env_value(workload.container, "SWEEPER_SHARD_COUNT")
    if not is_indexed(workload):
        assert shard_count is None
        assert job.get("completions", 1) == job.get("parallelism", 1) == 1
        return
    # JOB_COMPLETION_INDEX comes from Kubernetes; the count must be the Job's.
    assert shard_count is not None
    assert int(shard_count) == job["completions"] == job["parallelism"]


@pytest.mark.parametrize("workload", workloads(), ids=resource_label)
def test_termination_grace_outlasts_the_drain(workload: Resource) -> None:
    _, text = config_toml(workload)
    configured = tomllib.loads(text).get("grace_period")
    grace = parse_duration(str(configured)) if configured is not None else DEFAULT_GRACE_PERIOD
    termination = timedelta(seconds=workload.pod_spec["terminationGracePeriodSeconds"])
    assert termination >= grace + REPORT_MARGIN
