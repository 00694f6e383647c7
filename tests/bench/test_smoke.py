"""Every benchmark scenario at tiny sizes, through the code ``make bench`` runs.

No timing assertions (figures on a shared machine prove nothing here): each scenario must
run to its end, write its part of a RESULTS.md and its plots, and produce rows whose figures
are sane. RESULTS.md and the plots go to tmp_path, never to bench/.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from bench.run import run_benchmark
from bench.scenarios import SCENARIOS
from bench.sizes import SMOKE


def _run(key: str, tmp_path: Path) -> tuple[list[dict[str, Any]], str, list[Path]]:
    results = tmp_path / "RESULTS.md"
    [section] = run_benchmark(
        SMOKE,
        scenarios=[key],
        results=results,
        plots=tmp_path / "plots",
        command=f"smoke {key}",
        say=lambda _line: None,
    )
    text = results.read_text()
    assert section.title in text
    assert "## Headline" in text
    assert "## Machine" in text
    for plot in section.plots:
        assert plot.is_relative_to(tmp_path)
        assert plot.read_bytes().startswith(b"\x89PNG")
    assert section.goals or key == "baselines"
    return section.rows, text, section.plots


def _fraction(value: float) -> bool:
    return 0 <= value <= 1.05  # a burst-free limiter may still end a hair above its target


def test_known_limit(tmp_path: Path) -> None:
    rows, _, _ = _run("known_limit", tmp_path)
    assert {row["rate"] for row in rows} == {str(SMOKE.known_limit), "auto"}
    for row in rows:
        assert row["utilisation"] > 0
        assert _fraction(row["utilisation"])
        assert row["planned"] == row["eligible"] == SMOKE.known_links
        assert row["coverage"] == 1.0
        assert row["requests_per_link"] >= 1.0
        assert row["rate_limited"] >= 0


def test_latency(tmp_path: Path) -> None:
    rows, _, plots = _run("latency", tmp_path)
    assert {row["latency_ms"] for row in rows} == set(SMOKE.latencies_ms)
    assert all(row["utilisation"] > 0 for row in rows)
    assert [plot.name for plot in plots] == ["utilisation_vs_latency.png"]


def test_unknown_limit(tmp_path: Path) -> None:
    rows, _, plots = _run("unknown_limit", tmp_path)
    assert {row["variant"] for row in rows} == {"no headers", "RateLimit-* headers"}
    for row in rows:
        assert _fraction(row["utilisation"])
        assert row["utilisation"] > 0
        assert 0 <= row["rate_limited_share"] <= 1
    assert [plot.name for plot in plots] == ["auto_rate_unknown_limit.png"]


def test_client_cost(tmp_path: Path) -> None:
    rows, _, _ = _run("client_cost", tmp_path)
    clients = [row for row in rows if row["client"] != "ratio"]
    assert {row["client"] for row in clients} == {"worker", "raw loop"}
    for row in clients:
        assert row["cancelled"] == SMOKE.cost_cancels
        assert row["per_thousand"] > 0
    [ratio] = [row["ratio"] for row in rows if row["client"] == "ratio"]
    assert math.isfinite(ratio)
    assert ratio > 0


def test_scale(tmp_path: Path) -> None:
    rows, _, plots = _run("scale", tmp_path)
    assert len(rows) == len(SMOKE.scale_links) * SMOKE.runs
    for row, target in zip(rows, SMOKE.scale_links, strict=True):
        assert row["pending"] == pytest.approx(target, rel=0.1)
        assert row["requests"] >= row["pending"] / 500
        assert 0 < row["planned"] < row["pending"]
        assert row["peak_rss_mib"] > 10
        assert row["sweep_s"] > 0
    assert [plot.name for plot in plots] == ["rss_growth.png"]


def test_baselines(tmp_path: Path) -> None:
    rows, text, _ = _run("baselines", tmp_path)
    by_client = {row["client"]: row for row in rows}
    assert set(by_client) == {
        "worker (--rate auto)",
        "sequential loop",
        "bulk script (one page, all at once)",
    }
    for row in rows:
        assert 0 <= row["coverage"] <= 1
        assert row["wrongful"] >= 0
        assert row["requests"] > 0
    assert by_client["worker (--rate auto)"]["wrongful"] == 0
    # Every cancel at once, at a limit of 20 per second: the server refuses some.
    assert by_client["bulk script (one page, all at once)"]["rate_limited"] > 0
    assert "wrongful cancels" in text


def test_old_org(tmp_path: Path) -> None:
    rows, text, _ = _run("old_org", tmp_path)
    by_config: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_config.setdefault(row["config"], []).append(row)
    assert {config: len(runs) for config, runs in by_config.items()} == {
        "horizon": SMOKE.runs,
        "no horizon": SMOKE.runs,
    }
    for row in rows:
        assert row["cancelled"] > 0
        assert row["wrongful"] == row["missed"] == 0  # both cancel exactly the selection
        assert row["peak_rss_mib"] > 10
    (horizon,) = by_config["horizon"]
    (full,) = by_config["no horizon"]
    assert horizon["cancelled"] == full["cancelled"]
    assert horizon["ended"] == "horizon"
    assert full["ended"] == "full"
    # The history costs the full scan pages on every pass; the horizon reads past the live
    # links by a few pages at most.
    assert full["pages_read"] >= (SMOKE.old_history + SMOKE.old_live) / 500
    assert horizon["pages_read"] < full["pages_read"]
    assert horizon["requests"] < full["requests"]
    assert "7. An old organization" in text


def test_every_scenario_has_a_smoke_test() -> None:
    tested = {name.removeprefix("test_") for name in globals() if name.startswith("test_")}
    assert set(SCENARIOS) <= tested
