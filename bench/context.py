"""What every scenario is given: its sizes, where to put plots and scratch files, a voice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.sizes import Sizes


@dataclass(slots=True)
class Context:
    """One benchmark invocation's shared ground."""

    sizes: Sizes
    plots: Path  # PNGs go here
    work: Path  # scratch: child results, logs
    say: Callable[[str], None] = print  # progress lines for whoever watches
    shared: dict[str, Any] = field(default_factory=dict)  # figures one scenario lends another

    def sandbox_log(self, name: str) -> Path:
        """Where a sandbox process's stderr goes."""
        self.work.mkdir(parents=True, exist_ok=True)
        return self.work / f"sandbox-{name}.log"
