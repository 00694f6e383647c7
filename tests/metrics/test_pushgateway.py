"""End to end: push to a real Prometheus Pushgateway on loopback and read /metrics back."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jobs import Link, PaidTwice, Status
from tests.metrics.factories import FINISHED_AT, make_report, make_stats
from tests.metrics.pushgateway import Pushgateway, Series
from worker.__about__ import __version__
from worker.cli.exit_codes import ExitCode
from worker.ops.metrics import push_metrics
from worker.outcomes import Abort, Outcome
from worker.report import Report, RunStats

JOB = "harmony-sweeper"
ORG = "acme"
LATER = FINISHED_AT + 86_400.0
P = "harmony_sweeper_"


def _push(
    url: str,
    report: Report,
    exit_code: int,
    *,
    stats: RunStats | None = None,
    organization: str = ORG,
    at: float = FINISHED_AT,
) -> bool:
    return push_metrics(
        gateway=url,
        job=JOB,
        organization=organization,
        report=report,
        stats=make_stats() if stats is None else stats,
        exit_code=exit_code,
        clock=lambda: at,
    )


def _key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return f"{P}{name}", frozenset(labels.items())


def _ours(series: Series) -> Series:
    """Our series only: without the gateway's own push_time_seconds and friends."""
    return {key: value for key, value in series.items() if key[0].startswith(P)}


def _labelled(name: str, label: str, values: Mapping[str, float]) -> Series:
    return {_key(name, **{label: value}): number for value, number in values.items()}


def test_a_run_reads_back_as_every_series_grouped_by_job_and_organization(
    pushgateway: Pushgateway,
) -> None:
    report = make_report(
        {Outcome.CANCELLED: 7, Outcome.CONFLICT: 2, Outcome.SKIPPED_EXPIRED: 1}, scanned=1234
    )
    stats = make_stats(
        {"2xx": 9, "4xx": 2, "429": 3, "no_answer": 1},
        rate_limited=3,
        retries=4,
        duration_seconds=61.25,
    )

    assert _push(pushgateway.url, report, ExitCode.OK, stats=stats) is True

    series = pushgateway.series(job=JOB, organization=ORG)
    outcomes = dict.fromkeys((outcome.value for outcome in Outcome), 0.0)
    outcomes |= {"cancelled": 7, "conflict": 2, "skipped_expired": 1}
    assert _ours(series) == {
        _key("last_completion_timestamp_seconds"): FINISHED_AT,
        _key("last_success_timestamp_seconds"): FINISHED_AT,
        _key("duration_seconds"): 61.25,
        _key("exit_code"): 0,
        _key("dry_run"): 0,
        _key("scanned_links"): 1234,
        **_labelled("links", "outcome", outcomes),
        **_labelled(
            "requests",
            "status_class",
            {"2xx": 9, "3xx": 0, "4xx": 2, "5xx": 0, "429": 3, "no_answer": 1},
        ),
        _key("rate_limited_requests"): 3,
        _key("retries"): 4,
        **_labelled("aborted", "reason", dict.fromkeys((reason.value for reason in Abort), 0)),
        _key("build_info", version=__version__): 1,
    }
    # The gateway's own bookkeeping for the group: it took the push, and none failed.
    assert series[("push_time_seconds", frozenset())] > 0
    assert series[("push_failure_time_seconds", frozenset())] == 0


def test_a_failed_run_keeps_the_last_success_an_earlier_run_pushed(
    pushgateway: Pushgateway,
) -> None:
    assert _push(pushgateway.url, make_report({Outcome.CANCELLED: 3}), ExitCode.OK)
    failed = make_report({Outcome.CANCELLED: 1, Outcome.FAILED: 2})

    assert _push(pushgateway.url, failed, ExitCode.FAILURES, at=LATER) is True

    series = pushgateway.series(job=JOB, organization=ORG)
    assert series[_key("last_success_timestamp_seconds")] == FINISHED_AT
    assert series[_key("last_completion_timestamp_seconds")] == LATER
    assert series[_key("exit_code")] == ExitCode.FAILURES
    assert series[_key("links", outcome="failed")] == 2
    assert series[_key("links", outcome="cancelled")] == 1


def test_an_aborted_run_is_flagged_and_a_clean_run_after_it_clears_the_flag(
    pushgateway: Pushgateway,
) -> None:
    declined = make_report({Outcome.NOT_ATTEMPTED: 4}, aborted=Abort.DECLINED)

    assert _push(pushgateway.url, declined, ExitCode.SAFETY_ABORT)

    series = pushgateway.series(job=JOB, organization=ORG)
    flags = {key: value for key, value in series.items() if key[0] == f"{P}aborted"}
    assert flags == {
        _key("aborted", reason=reason.value): float(reason is Abort.DECLINED) for reason in Abort
    }
    assert _key("last_success_timestamp_seconds") not in series

    assert _push(pushgateway.url, make_report({Outcome.CANCELLED: 4}), ExitCode.OK, at=LATER)

    series = pushgateway.series(job=JOB, organization=ORG)
    assert {value for key, value in series.items() if key[0] == f"{P}aborted"} == {0}
    assert series[_key("last_success_timestamp_seconds")] == LATER


def test_each_organization_is_its_own_group(pushgateway: Pushgateway) -> None:
    # A "/" and a space in the name: the grouping key must still round-trip.
    other = "globex/mx west"
    assert _push(pushgateway.url, make_report({Outcome.CANCELLED: 5}), ExitCode.OK)
    dry_run = make_report({Outcome.WOULD_CANCEL: 3}, mode="dry-run")
    assert _push(pushgateway.url, dry_run, ExitCode.OK, organization=other, at=LATER)

    acme = pushgateway.series(job=JOB, organization=ORG)
    globex = pushgateway.series(job=JOB, organization=other)
    assert (acme[_key("dry_run")], globex[_key("dry_run")]) == (0, 1)
    assert (
        acme[_key("links", outcome="cancelled")],
        acme[_key("links", outcome="would_cancel")],
    ) == (5, 0)
    assert (
        globex[_key("links", outcome="cancelled")],
        globex[_key("links", outcome="would_cancel")],
    ) == (0, 3)
    assert acme[_key("last_completion_timestamp_seconds")] == FINISHED_AT
    assert globex[_key("last_completion_timestamp_seconds")] == LATER


def test_a_gateway_behind_a_path_prefix(pushgateway_binary: str, tmp_path: Path) -> None:
    with Pushgateway(
        pushgateway_binary, log_path=tmp_path / "pushgateway.log", route_prefix="/pushgateway"
    ) as gateway:
        # A trailing slash, as people paste URLs.
        pushed = _push(f"{gateway.url}/", make_report({Outcome.CANCELLED: 1}), ExitCode.OK)

        assert pushed is True
        series = gateway.series(job=JOB, organization=ORG)
        assert series[_key("links", outcome="cancelled")] == 1


def test_the_orders_paid_twice_are_pushed_only_by_a_run_that_read_the_paid_links(
    pushgateway: Pushgateway,
) -> None:
    paid = _paid_twice_group()
    report = dataclasses.replace(make_report({}), paid_twice=(paid, paid))
    assert _push(pushgateway.url, report, ExitCode.OK) is True
    assert pushgateway.series(job=JOB, organization=ORG)[_key("paid_twice")] == 2

    # A later run without paid_siblings knows nothing of it: the last value stays.
    assert _push(pushgateway.url, make_report({}), ExitCode.OK, at=LATER) is True
    assert pushgateway.series(job=JOB, organization=ORG)[_key("paid_twice")] == 2


def _paid_twice_group() -> PaidTwice:
    made = datetime(2026, 1, 8, 12, 0, tzinfo=UTC)
    links = tuple(
        Link(
            id=f"00000000-0000-4000-8000-00000000000{n}",
            status=Status.CONFIRMED,
            external_id="ORD-1",
            amount="10.00",
            currency="MXN",
            created_at=made,
            expires_at=made + timedelta(hours=1),
        )
        for n in (1, 2)
    )
    return PaidTwice("ORD-1", links)
