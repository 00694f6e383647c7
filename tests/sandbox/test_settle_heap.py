"""A sandbox in a process of its own collects and freezes its heap after bulk changes."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from sandbox.server import SandboxConfig
from sandbox.state import Sandbox
from sandbox.store import Store


@pytest.fixture
def store() -> Iterator[Store]:
    gc.unfreeze()
    store = Store()
    try:
        yield store
    finally:
        store.close()
        gc.unfreeze()  # this test process is the sandbox's here: hand everything back


def test_a_settling_sandbox_freezes_its_heap_after_a_reset(store: Store) -> None:
    sandbox = Sandbox(store, settle_heap=True)
    garbage: list[object] = []
    garbage.append(garbage)  # a cycle only the collector can free
    del garbage
    sandbox.reset()
    assert gc.get_freeze_count() > 0
    assert not gc.garbage


def test_a_sandbox_sharing_its_process_leaves_the_collector_alone(store: Store) -> None:
    sandbox = Sandbox(store)
    sandbox.reset()
    sandbox.settled()
    assert gc.get_freeze_count() == 0


def test_only_the_standalone_process_settles() -> None:
    # The tests' SandboxServer shares the process with the sweep under test, whose own
    # freezing (worker/sweep/_run.py) must not meet the sandbox's.
    assert SandboxConfig().settle_heap is False
