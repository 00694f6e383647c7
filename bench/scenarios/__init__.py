"""The six scenarios of issue 5 and issue 12's old organization, in order; each is
``run(context) -> Section``."""

from __future__ import annotations

from collections.abc import Callable

from bench.context import Context
from bench.results import Section
from bench.scenarios import (
    baselines,
    client_cost,
    known_limit,
    latency,
    old_org,
    scale,
    unknown_limit,
)

SCENARIOS: dict[str, Callable[[Context], Section]] = {
    "known_limit": known_limit.run,
    "latency": latency.run,
    "unknown_limit": unknown_limit.run,
    "client_cost": client_cost.run,
    "scale": scale.run,
    "baselines": baselines.run,
    "old_org": old_org.run,
}

__all__ = ["SCENARIOS"]
