"""Benchmarks of issue 5: does the sweep run at the API's limit, at any latency and scale?

``python -m bench`` (``make bench``) runs six scenarios against sandbox processes and writes
``bench/RESULTS.md`` and ``bench/plots/``. Layout:

- ``__main__``, ``run``: the command and the orchestration; ``sizes``: full, quick, smoke.
- ``sandbox_process``: the sandbox in its own process; ``dataset``: the links a run starts
  from and its score; ``worker_run``, ``runs``, ``timeline``: one measured in-process sweep;
  ``processes``, ``child``: measured child processes (CPU, peak RSS).
- ``scenarios/``: one module per scenario; ``scripts/``: the raw loop and the baselines.
- ``results``, ``plots``, ``machine``: RESULTS.md, its PNGs and its machine section.
"""
