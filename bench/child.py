"""``python -m bench.child worker|raw RESULT_FILE ...``: one client in a fresh process.

Scenarios 4 and 5 run each client here so that all are measured the same way: the parent
reads the whole process's CPU with ``os.wait4``, and this writes to RESULT_FILE (JSON) the
CPU seconds of the client's work alone (``time.process_time`` around it, imports excluded)
and the process's peak RSS.

The peak is ``VmHWM`` of /proc/self/status, read at the end: the high-water mark of this
program's own memory. ``ru_maxrss`` would not do: at ``exec`` Linux folds the high-water mark
of the memory the child had before it (a copy of the parent's, which here is the benchmark
with matplotlib and its own sweeps) into the new program's ``ru_maxrss``.

- ``worker RESULT_FILE ARGS...``: ``harmony-sweeper ARGS...`` (the real CLI; its key and URL
  come from the environment, its logs go to stderr as in production);
- ``raw RESULT_FILE BASE_URL CONCURRENCY``: ``bench.scripts.raw_loop`` (key from
  ``HARMONY_API_KEY``).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path


def _worker(args: list[str]) -> dict[str, object]:
    from worker import cli  # noqa: PLC0415 (each kind imports only what it runs)

    sys.argv = ["harmony-sweeper", *args]
    started = time.process_time()
    try:
        cli.main()
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    return {"cpu_s": time.process_time() - started, "exit_code": code, "peak_rss_bytes": _vm_hwm()}


def _raw(args: list[str]) -> dict[str, object]:
    from bench.scripts.raw_loop import raw_sweep  # noqa: PLC0415

    base_url, concurrency = args[0], int(args[1])
    started = time.process_time()
    result = asyncio.run(
        raw_sweep(base_url, os.environ["HARMONY_API_KEY"], concurrency=concurrency)
    )
    return {
        "cpu_s": time.process_time() - started,
        "exit_code": 0,
        "peak_rss_bytes": _vm_hwm(),
        "cancelled": result.cancelled,
        "requests": result.requests,
        "statuses": result.statuses,
    }


def _vm_hwm() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def main() -> None:
    """Dispatch on the first argument; the result goes to the file named second."""
    kind, result_file, rest = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
    result = _worker(rest) if kind == "worker" else _raw(rest)
    result_file.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
