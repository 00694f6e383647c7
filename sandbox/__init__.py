"""A stateful local stand-in for Compago's Harmony one-time-payment API, with fault knobs.

Imports nothing from ``worker`` or ``jobs``.
"""

from __future__ import annotations

from sandbox.knobs import KnobError, Knobs
from sandbox.server import RunningSandbox, SandboxConfig, start
from sandbox.testing import SandboxAdmin, SandboxAdminError, SandboxServer

__all__ = [
    "KnobError",
    "Knobs",
    "RunningSandbox",
    "SandboxAdmin",
    "SandboxAdminError",
    "SandboxConfig",
    "SandboxServer",
    "start",
]
