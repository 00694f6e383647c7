"""A plain HTTP receiver standing in for a Pushgateway that misbehaves."""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass, field
from types import TracebackType

import anyio
from aiohttp import web

_SLOW_FOR = 30.0  # seconds: far past any push timeout a test sets, yet bounded


class Answer(enum.Enum):
    """How the receiver answers every request."""

    OK = "ok"
    ERROR = "error"  # 500
    SLOW = "slow"  # no answer until the test ends (or _SLOW_FOR passes)


@dataclass(frozen=True, slots=True)
class Received:
    """One request as the receiver saw it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: str


@dataclass
class Receiver:
    """An aiohttp app on 127.0.0.1 at a free port; ``async with`` starts and stops it."""

    answer: Answer = Answer.OK
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._release.set()  # a slow handler answers now, so the shutdown needs no waiting
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests.append(
            Received(
                method=request.method,
                path=request.path,
                query=request.query_string,
                headers=dict(request.headers),
                body=(await request.read()).decode("utf-8"),
            )
        )
        if self.answer is Answer.SLOW:
            with anyio.move_on_after(_SLOW_FOR):
                await self._release.wait()
        if self.answer is Answer.ERROR:
            return web.Response(status=500, text="pushgateway exploded")
        return web.Response(status=200)
