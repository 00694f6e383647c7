"""A sandbox on its own event loop thread, for tests that drive the synchronous CLI."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from anyio.from_thread import BlockingPortal, start_blocking_portal

from sandbox.testing import SandboxServer

T = TypeVar("T")


@dataclass
class ThreadedSandbox:
    """A started sandbox and the portal to call its admin client from synchronous code."""

    portal: BlockingPortal
    server: SandboxServer

    def call(self, func: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        async def invoke() -> T:
            return await func(*args, **kwargs)

        return self.portal.call(invoke)


@contextmanager
def threaded_sandbox_running() -> Iterator[ThreadedSandbox]:
    """A started sandbox served from a thread of its own."""
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(SandboxServer()) as server,
    ):
        yield ThreadedSandbox(portal, server)
