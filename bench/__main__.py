"""``python -m bench [--quick] [--scenario NAME ...]``: run the benchmarks of issue 5."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.run import headline, run_benchmark
from bench.scenarios import SCENARIOS
from bench.sizes import FULL, QUICK

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, one run each (about a minute)"
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=list(SCENARIOS),
        help="run only this scenario (repeatable); default: all, in order",
    )
    parser.add_argument(
        "--results",
        type=Path,
        help="where to write RESULTS.md (default: bench/RESULTS.md for a full run of every "
        "scenario, a temporary folder otherwise, so a partial run never replaces it)",
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    scenarios = args.scenario or list(SCENARIOS)
    complete = not args.quick and args.scenario is None
    results = args.results
    if results is None:
        folder = HERE if complete else Path(tempfile.mkdtemp(prefix="harmony-sweeper-bench-out-"))
        results = folder / "RESULTS.md"
    plots = results.parent / "plots"
    command = " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])])
    sections = run_benchmark(
        sizes, scenarios=scenarios, results=results, plots=plots, command=command.strip()
    )
    print()
    print(headline(sections))
    print()
    print(f"written: {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
