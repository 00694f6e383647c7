"""``harmony-sweeper probe``: what the live API does where its docs are silent, read-only.

``await probe(settings)`` sends only GET requests, at most ``max_requests``, and returns a
``ProbeResult``: a ``Verdict`` per check and recommendations for the settings.
"""

from __future__ import annotations

from worker.probe._records import Evidence, Level, ProbeResult, Verdict
from worker.probe._run import DEFAULT_MAX_REQUESTS, PROBE_RATE, probe

__all__ = [
    "DEFAULT_MAX_REQUESTS",
    "PROBE_RATE",
    "Evidence",
    "Level",
    "ProbeResult",
    "Verdict",
    "probe",
]
