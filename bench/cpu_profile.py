"""Where a client's CPU goes: one run under cProfile, self time grouped by what it does.

Scenario 4 profiles the worker and the raw loop the same way, so that the table shows which
work the worker adds per cancel. cProfile slows Python code down (about 2x), so the figures
are shares and profiled milliseconds, not the unprofiled CPU of the scenario's own table.
"""

from __future__ import annotations

import pstats
from collections.abc import Sequence
from pathlib import Path

# (group, substrings of "file:function" that put a function's self time in it), first match
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("start-up: imports, module code", ("<frozen", "importlib", ":<module>", "marshal")),
    # tenacity makes a concurrent.futures.Future (with its threading.Condition) per attempt
    # and asks inspect, through functools, whether each callback is a coroutine function.
    (
        "retries: tenacity (futures, inspect)",
        ("/tenacity/", "/inspect.py", "/concurrent/futures/", "/threading.py", "_unwrap_partial"),
    ),
    # The redactor's str.replace, the renderer's isoformat, the write of each line.
    (
        "logs: structlog, worker/ops/logs.py, JSON",
        ("/structlog/", "worker/ops/logs.py", "json", "'isoformat'", "TextIOWrapper", "of 'str'"),
    ),
    (
        "parsing: pydantic, worker/api/records.py, uuid",
        ("pydantic", "worker/api/records.py", "/uuid.py", "'astimezone'"),
    ),
    ("HTTP client: aiohttp, yarl, multidict", ("/aiohttp/", "/yarl/", "/multidict/")),
    ("event loop and sockets: asyncio", ("/asyncio/", "/selectors.py", "_socket", "epoll")),
    ("structured concurrency: anyio", ("/anyio/",)),
    ("the worker's own code", ("/worker/", "/jobs/", "/aiolimiter/")),
    ("the raw loop's own code", ("bench/scripts/",)),
)
OTHER = "other (builtins not named above, dataclasses, enum, ...)"


def self_time_by_group(profile: Path) -> dict[str, float]:
    """Seconds of self time per group (``GROUPS``, then ``OTHER``) in a cProfile dump."""
    stats = pstats.Stats(str(profile))
    totals = dict.fromkeys([name for name, _ in GROUPS] + [OTHER], 0.0)
    for (filename, _line, function), entry in stats.stats.items():  # type: ignore[attr-defined]
        self_time = entry[2]
        where = f"{filename}:{function}"
        totals[_group(where)] += self_time
    return totals


def _group(where: str) -> str:
    for name, needles in GROUPS:
        if any(needle in where for needle in needles):
            return name
    return OTHER


def profile_argv(profile: Path, argv: Sequence[str]) -> list[str]:
    """``argv`` (``python -m MODULE ...``) run under cProfile, the dump written to ``profile``."""
    python, dash_m, *rest = argv
    assert dash_m == "-m"
    return [python, "-m", "cProfile", "-o", str(profile), "-m", *rest]
