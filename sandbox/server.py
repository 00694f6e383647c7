"""Start and stop a sandbox on a host and port: what the CLI and `SandboxServer` share."""

from __future__ import annotations

import dataclasses
import os
import secrets

import structlog
from aiohttp import web

from sandbox import history, seed, seed_data
from sandbox.app import create_app
from sandbox.clock import BusinessClock
from sandbox.knobs import Knobs
from sandbox.records import Org
from sandbox.seed import SeedSummary
from sandbox.state import Sandbox
from sandbox.store import Store

_log = structlog.get_logger("sandbox")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_SHUTDOWN_TIMEOUT_S = 5.0


@dataclasses.dataclass(frozen=True, slots=True)
class SandboxConfig:
    """Everything a sandbox starts from."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    api_key: str | None = None  # the first organization's key; random when None
    admin_key: str | None = None  # random when None
    knobs: Knobs = dataclasses.field(default_factory=Knobs)
    seed: int = 0  # links to seed at start, only into a store that has none yet
    seed_random: int = 1
    orgs: int = 1  # organizations to have at start; seeded links are split across them
    db: str | os.PathLike[str] | None = None
    seed_history: int = 0  # expired PENDING links over a year for the first org, into no links
    shutdown_timeout_s: float = DEFAULT_SHUTDOWN_TIMEOUT_S
    # A process of its own (the CLI): after each bulk change, collect and freeze the heap
    # (``Sandbox.settle_heap``). Never in a process it shares with its clients (the tests'
    # SandboxServer): the garbage collector is the whole process's.
    settle_heap: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class RunningSandbox:
    """A started sandbox: where it listens, its keys, and how to stop it."""

    base_url: str
    admin_key: str
    orgs: tuple[Org, ...]
    kept_links: int  # links already in the database file at start
    seeded: SeedSummary | None
    sandbox: Sandbox
    _runner: web.AppRunner

    async def stop(self) -> None:
        """Stop serving (in-flight requests get the shutdown timeout), then close the store."""
        try:
            await self._runner.cleanup()
        finally:
            self.sandbox.store.close()
            _log.info("sandbox.stopped", base_url=self.base_url)


async def start(config: SandboxConfig) -> RunningSandbox:
    """Open the store, make the organizations, seed, and listen; ready when this returns."""
    store = Store(config.db)
    try:
        admin_key = config.admin_key or secrets.token_urlsafe(18)
        _first_org(store, config.api_key)
        kept = store.total()
        seeded = None
        if config.seed and not kept:
            seeded = seed.seed_store(
                store,
                config.seed,
                seed_random=config.seed_random,
                orgs=max(1, config.orgs),
                now_ms=BusinessClock().now_ms(),
            )
        orgs = seed.ensure_orgs(store, max(1, config.orgs))
        if config.seed_history and not kept:
            history.seed_history(
                store,
                orgs[0],
                config.seed_history,
                now_ms=BusinessClock().now_ms(),
                seed_random=config.seed_random,
            )
        _check_admin_key(store, admin_key)
        sandbox = Sandbox(
            store,
            knobs=config.knobs,
            seed_random=config.seed_random,
            settle_heap=config.settle_heap,
        )
        sandbox.settled()
        runner = web.AppRunner(
            create_app(sandbox, admin_key=admin_key),
            access_log=None,  # per-request logging would cost more than serving a page
            shutdown_timeout=config.shutdown_timeout_s,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, config.host, config.port).start()
        except BaseException:
            await runner.cleanup()
            raise
    except BaseException:
        store.close()
        raise
    host, port = runner.addresses[0][:2]
    base_url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    _log.info("sandbox.started", base_url=base_url, orgs=[o.public() for o in orgs], kept=kept)
    return RunningSandbox(base_url, admin_key, tuple(orgs), kept, seeded, sandbox, runner)


def _check_admin_key(store: Store, admin_key: str) -> None:
    if any(org.api_key == admin_key for org in store.orgs()):
        raise ValueError("the admin key must differ from every organization's API key")


def _first_org(store: Store, api_key: str | None) -> Org:
    """The first organization, created on a new store; `api_key` (if given) becomes its key."""
    orgs = store.orgs()
    if not orgs:
        return store.create_org(seed_data.SHOPS[0], api_key or seed.new_api_key())
    return orgs[0] if api_key is None else store.set_api_key(orgs[0], api_key)
