"""The command line: a thin shell that parses options and calls one core coroutine."""

from __future__ import annotations

from worker.cli._commands import cli, main

__all__ = [
    "cli",
    "main",
]
