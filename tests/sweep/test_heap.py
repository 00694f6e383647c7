"""The execution keeps the garbage collector off the run's long-lived objects, and only then."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import timedelta

import pytest

from sandbox.testing import SandboxServer
from worker.outcomes import Outcome
from worker.report import ReportItem
from worker.sweep import NoObserver, sweep
from worker.sweep.policies import policies_from_settings

from .helpers import link, settings_for


class _FreezeWatcher(NoObserver):
    """Observer that notes how many objects were frozen when each outcome came."""

    def __init__(self) -> None:
        self.frozen_at_outcome: list[int] = []

    def outcome(self, item: ReportItem) -> None:
        self.frozen_at_outcome.append(gc.get_freeze_count())


@pytest.fixture
def no_freeze() -> Iterator[None]:
    """Start and end with nothing frozen, whatever the test did."""
    gc.unfreeze()
    yield
    gc.unfreeze()


async def _sweep_with_watcher(sandbox: SandboxServer) -> _FreezeWatcher:
    await sandbox.admin.add_links([link(expires_in=timedelta(minutes=10)) for _ in range(20)])
    settings = settings_for(sandbox, expiring_within="1h")
    watcher = _FreezeWatcher()
    report = await sweep(settings, policies_from_settings(settings), observer=watcher)
    assert report.summary.cancelled == 20
    assert [item.outcome for item in report.items] == [Outcome.CANCELLED] * 20
    return watcher


@pytest.mark.usefixtures("no_freeze")
async def test_the_heap_is_frozen_during_the_execution_and_handed_back(
    sandbox: SandboxServer,
) -> None:
    watcher = await _sweep_with_watcher(sandbox)
    assert len(watcher.frozen_at_outcome) == 20
    assert min(watcher.frozen_at_outcome) > 0  # frozen while cancelling
    assert gc.get_freeze_count() == 0  # and all of it handed back to the collector


@pytest.mark.usefixtures("no_freeze")
async def test_a_freeze_made_by_someone_else_is_left_alone(sandbox: SandboxServer) -> None:
    ours = [[] for _ in range(10)]  # containers: the collector tracks, and freezes, them
    gc.freeze()
    frozen_before = gc.get_freeze_count()
    assert frozen_before > 0
    watcher = await _sweep_with_watcher(sandbox)
    # The sweep froze nothing more (objects that died since only lower the count) ...
    assert max(watcher.frozen_at_outcome) <= frozen_before
    # ... and unfroze nothing: ours are still out of the collector's generations.
    assert gc.get_freeze_count() > 0
    tracked = {id(one) for one in gc.get_objects()}
    assert not any(id(one) in tracked for one in ours)


@pytest.mark.usefixtures("no_freeze")
async def test_a_disabled_collector_is_left_alone(sandbox: SandboxServer) -> None:
    gc.disable()
    try:
        watcher = await _sweep_with_watcher(sandbox)
    finally:
        gc.enable()
    assert set(watcher.frozen_at_outcome) == {0}
    assert gc.get_freeze_count() == 0
