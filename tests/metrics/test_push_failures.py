"""A push that fails is logged and reported as False, never raised; what is sent and logged."""

from __future__ import annotations

import functools
import socket
from collections.abc import MutableMapping
from typing import Any

import anyio
import pytest
from structlog.testing import capture_logs

from tests.metrics.factories import make_report, make_stats
from tests.metrics.receiver import Answer, Receiver
from worker.cli.exit_codes import ExitCode
from worker.ops.metrics import push_metrics
from worker.outcomes import Outcome

JOB = "harmony-sweeper"
ORG = "acme"
# Stands for anything private a gateway URL's path or query may carry.
PRIVATE = "s3cret-route-token"


async def _push(gateway: str, *, exit_code: int = ExitCode.OK, push_timeout: float = 5.0) -> bool:
    """Push from a worker thread, as the CLI does: the receiver runs on this event loop."""
    push = functools.partial(
        push_metrics,
        gateway=gateway,
        job=JOB,
        organization=ORG,
        report=make_report({Outcome.CANCELLED: 2}),
        stats=make_stats(),
        exit_code=exit_code,
        timeout=push_timeout,
        clock=lambda: 1_767_927_642.5,
    )
    return await anyio.to_thread.run_sync(push)


def _failure(events: list[MutableMapping[str, Any]]) -> MutableMapping[str, Any]:
    [event] = events
    assert event["event"] == "metrics.push_failed"
    assert event["log_level"] == "warning"
    assert (event["job"], event["organization"]) == (JOB, ORG)
    assert PRIVATE not in repr(event)
    return event


async def test_a_gateway_that_is_down_gives_false_and_a_log_event() -> None:
    # Bound but not listening: connections are refused, and no other process can take it.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        with capture_logs() as events:
            pushed = await _push(f"http://127.0.0.1:{port}/{PRIVATE}")

    assert pushed is False
    event = _failure(events)
    assert event["gateway"] == f"http://127.0.0.1:{port}"
    assert event["status"] is None
    assert "refused" in event["error"].lower()


@pytest.mark.parametrize(
    ("answer", "status", "error"),
    [
        (Answer.ERROR, 500, "HTTP 500 Internal Server Error"),
        (Answer.SLOW, None, "timed out"),
    ],
)
async def test_a_gateway_that_fails_or_stalls_gives_false_and_a_log_event(
    receiver: Receiver, answer: Answer, status: int | None, error: str
) -> None:
    receiver.answer = answer

    with capture_logs() as events:
        pushed = await _push(f"{receiver.url}/{PRIVATE}/", push_timeout=0.5)

    assert pushed is False
    assert len(receiver.requests) == 1
    event = _failure(events)
    assert (event["gateway"], event["status"], event["error"]) == (receiver.url, status, error)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://127.0.0.1:{port}/gw?token=" + PRIVATE, id="query"),
        pytest.param("http://127.0.0.1:{port}/gw#" + PRIVATE, id="fragment"),
        pytest.param("http://sweeper:" + PRIVATE + "@127.0.0.1:{port}/", id="credentials"),
        pytest.param("ftp://127.0.0.1:{port}/" + PRIVATE, id="scheme"),
    ],
)
async def test_an_unusable_url_sends_nothing_and_logs_none_of_it(
    receiver: Receiver, url: str
) -> None:
    with capture_logs() as events:
        pushed = await _push(url.format(port=receiver.port))

    assert pushed is False
    assert receiver.requests == []
    assert _failure(events)["status"] is None


async def test_the_push_is_a_post_to_the_group_under_the_path_prefix(
    receiver: Receiver,
) -> None:
    with capture_logs() as events:
        pushed = await _push(f"{receiver.url}/{PRIVATE}/")

    assert pushed is True
    [request] = receiver.requests
    assert (request.method, request.path, request.query) == (
        "POST",
        f"/{PRIVATE}/metrics/job/{JOB}/organization/{ORG}",
        "",
    )
    assert request.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "Authorization" not in request.headers
    assert "harmony_sweeper_exit_code 0.0" in request.body.splitlines()
    assert events == [
        {
            "event": "metrics.pushed",
            "log_level": "info",
            "gateway": receiver.url,
            "job": JOB,
            "organization": ORG,
            "exit_code": 0,
        }
    ]


async def test_each_push_starts_from_a_fresh_registry(receiver: Receiver) -> None:
    assert await _push(receiver.url, exit_code=ExitCode.OK)
    assert await _push(receiver.url, exit_code=ExitCode.FAILURES)

    success, failure = (request.body for request in receiver.requests)
    assert "harmony_sweeper_last_success_timestamp_seconds" in success
    # Nothing of the first push lingers in the second: a failed run claims no success.
    assert "harmony_sweeper_last_success_timestamp_seconds" not in failure
    assert "harmony_sweeper_exit_code 1.0" in failure.splitlines()
