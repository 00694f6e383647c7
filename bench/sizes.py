"""How big each scenario is: the full benchmark, ``--quick`` (about a minute), and the smoke
test's tiny sizes. Every scenario reads its sizes and limits from here, nothing else."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Sizes:
    """One profile of the benchmark."""

    name: str
    runs: int  # repetitions of every measured configuration (median, min, max)
    # 1 and 2: a known limit
    known_limit: int  # L, requests per 1 s sliding window
    known_latency_ms: float
    known_links: int  # eligible links
    latencies_ms: tuple[float, ...]
    # 3: an unknown limit
    unknown_limit: int
    unknown_links: int
    # 4: client cost
    cost_cancels: int
    cost_concurrency: int
    # 5: scale (PENDING links; the sandbox seeds a realistic mix, ~76 % of it PENDING)
    scale_links: tuple[int, ...]
    scale_limit: int
    # 6: baselines
    baseline_links: int
    race_rate: float
    sequential_runs: int  # the sequential loop is latency-bound: minutes per run at full size
    # 7: an old organization (expired PENDING history over a year, under live links)
    old_history: int = 1_000_000
    old_live: int = 10_000
    old_limit: int = 50


FULL = Sizes(
    name="full",
    runs=3,
    known_limit=200,
    known_latency_ms=50,
    known_links=5_000,
    latencies_ms=(5, 50, 200, 500),
    unknown_limit=100,
    unknown_links=4_000,
    cost_cancels=20_000,
    cost_concurrency=64,
    scale_links=(10_000, 100_000, 1_000_000),
    scale_limit=50,
    baseline_links=5_000,
    race_rate=0.05,
    sequential_runs=1,
    old_history=1_000_000,
    old_live=10_000,
    old_limit=50,
)

QUICK = Sizes(
    name="quick",
    runs=1,
    known_limit=200,
    known_latency_ms=50,
    known_links=300,
    latencies_ms=(5, 50, 500),
    unknown_limit=100,
    unknown_links=300,
    cost_cancels=3_000,
    cost_concurrency=64,
    scale_links=(10_000, 50_000),
    scale_limit=50,
    baseline_links=150,
    race_rate=0.05,
    sequential_runs=1,
    old_history=20_000,
    old_live=1_000,
    old_limit=50,
)

SMOKE = Sizes(
    name="smoke",
    runs=1,
    known_limit=20,
    known_latency_ms=5,
    known_links=20,
    latencies_ms=(5, 20),
    unknown_limit=20,
    unknown_links=20,
    cost_cancels=100,
    cost_concurrency=8,
    scale_links=(500, 2_000),
    scale_limit=50,
    baseline_links=20,
    race_rate=0.05,
    sequential_runs=1,
    old_history=2_000,
    old_live=300,
    old_limit=50,
)

PROFILES = {sizes.name: sizes for sizes in (FULL, QUICK, SMOKE)}
