"""The run's report: one line per planned link and a summary, written to a file atomically.

The JSON shape is a public interface (issue 3, "Contract"): ``jobs.manifest`` reads a dry
run's report back as a manifest, so every value must round-trip. Money never goes through
``float``: amounts are exact decimal text here (``jobs.Link.amount``) and plain decimal
*strings* in JSON (``"1000"``, never ``"1E+3"``). Timestamps are ISO-8601 UTC ending in
``Z``. How each format looks lives in ``worker.report.writers``.

The CLI calls ``report_format`` and checks the path (``worker.ops.preflight``: its folder must
exist and take a file) before any request, so a bad ``--report`` fails with exit 2 and
nothing sent. ``write_report`` itself still creates missing parent directories, for callers
of the Python API: the report is written after irreversible cancellations, and losing it to
a missing folder would be worse than creating one. The file is replaced atomically (temp
file in the same directory, fsync, ``os.replace``), so a reader never sees half a report and
an older one survives a crash.
The temp file comes from ``tempfile.mkstemp``, so the report is readable by its owner only:
it carries customers' references and amounts.

When the report cannot be written where asked (disk full, a path that changed under the
run), ``write_fallback`` puts it beside the intended path or in the system temp directory
under a new name; the runner says where, and as a last resort logs the JSON document itself.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

from worker.errors import ConfigError
from worker.outcomes import Outcome
from worker.report.writers import (
    ITEM_KEYS,
    SUMMARY_KEYS,
    CsvReportWriter,
    JsonReportWriter,
    MarkdownReportWriter,
    ReportWriter,
    decimal_text,
    json_ready,
    utc_text,
)

Mode = Literal["dry-run", "execute"]


@dataclass(frozen=True, slots=True)
class ReportItem:
    """What happened to one planned link.

    ``amount`` is the link's decimal text (``jobs.Link.amount``: ``Decimal(item.amount)``
    is exact; the text is shared with the link, so a large plan costs no copy of it).
    ``amount``, ``currency``, ``expires_at`` and ``created_at`` are ``None`` only when the
    run knows nothing but the id (a manifest id the API no longer shows); JSON has ``null``.
    ``attempts`` counts the cancel requests sent (0 for a dry run or a link never sent one);
    ``http_status`` is the last cancel response's status, ``None`` when none came.
    """

    id: str
    external_id: str | None
    amount: str | None
    currency: str | None
    expires_at: dt.datetime | None
    created_at: dt.datetime | None
    reasons: tuple[str, ...]
    outcome: Outcome
    http_status: int | None
    attempts: int
    message: str | None

    def to_json_dict(self, keys: Sequence[str] = ITEM_KEYS) -> dict[str, Any]:
        """The item as the report's JSON, keys in ``ITEM_KEYS`` order, or only ``keys``.

        ``keys`` serves the log and audit events (one per cancel), which carry a few of
        the fields: formatting the others, timestamps above all, was wasted CPU.
        """
        return {key: _ITEM_JSON[key](self) for key in keys}


_ITEM_JSON: dict[str, Callable[[ReportItem], Any]] = {
    "id": lambda item: item.id,
    "externalId": lambda item: item.external_id,
    "amount": lambda item: None if item.amount is None else decimal_text(item.amount),
    "currency": lambda item: item.currency,
    "expiresAt": lambda item: None if item.expires_at is None else utc_text(item.expires_at),
    "createdAt": lambda item: None if item.created_at is None else utc_text(item.created_at),
    "reasons": lambda item: [str(reason) for reason in item.reasons],
    "outcome": lambda item: item.outcome.value,
    "http_status": lambda item: item.http_status,
    "attempts": lambda item: item.attempts,
    "message": lambda item: item.message,
}


@dataclass(frozen=True, slots=True)
class Summary:
    """Counts for the run.

    ``planned`` is every link the policies selected, ``skipped_expired`` included, so the
    outcome counts always add up to ``planned``: each planned link is accounted for once.
    """

    scanned: int
    planned: int
    cancelled: int
    would_cancel: int
    conflict: int
    not_found: int
    failed: int
    skipped_expired: int
    not_attempted: int

    @classmethod
    def from_items(cls, items: Sequence[ReportItem], *, scanned: int) -> Summary:
        """Count ``items`` by outcome; ``scanned`` is the number of distinct links listed."""
        counts = dict.fromkeys(Outcome, 0)
        for item in items:
            counts[item.outcome] += 1
        return cls(
            scanned=scanned,
            planned=len(items),
            cancelled=counts[Outcome.CANCELLED],
            would_cancel=counts[Outcome.WOULD_CANCEL],
            conflict=counts[Outcome.CONFLICT],
            not_found=counts[Outcome.NOT_FOUND],
            failed=counts[Outcome.FAILED],
            skipped_expired=counts[Outcome.SKIPPED_EXPIRED],
            not_attempted=counts[Outcome.NOT_ATTEMPTED],
        )

    def to_json_dict(self) -> dict[str, int]:
        """The summary as the report's JSON, keys in ``SUMMARY_KEYS`` order."""
        return {key: getattr(self, key) for key in SUMMARY_KEYS}


@dataclass(frozen=True, slots=True)
class RunStats:
    """How the run used the API: what metrics and the report's ``stats`` object show.

    ``requests_by_class`` keys: "2xx", "3xx", "4xx", "5xx", "429" (counted apart from the
    other 4xx) and "no_answer" (resets, timeouts). ``scan`` is the run's last scan as
    ``worker.sweep.scan.ScanStats`` writes it (pages read, distinct links seen, the count the
    server announced, re-reads); for an incomplete scan, the one that stopped the run.
    """

    requests_by_class: Mapping[str, int]
    rate_limited: int
    retries: int
    duration_seconds: float
    scan: Mapping[str, int] | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """The stats as JSON-ready data."""
        return {
            "requests": sum(self.requests_by_class.values()),
            "requests_by_class": dict(sorted(self.requests_by_class.items())),
            "rate_limited": self.rate_limited,
            "retries": self.retries,
            "duration_seconds": round(self.duration_seconds, 3),
            **({} if self.scan is None else {"scan": dict(self.scan)}),
        }


@dataclass(frozen=True, slots=True)
class Report:
    """Everything a run did, in the order the report lists it.

    ``policies`` is each policy's ``describe()``, keyed by policy name. ``aborted`` says why
    the run stopped early (a safety abort, an interrupt), and is ``None`` when it did not;
    ``abort_detail`` says what caused it in words ("connection refused by api:443"), when
    an error did.
    """

    run_id: str
    mode: Mode
    started_at: dt.datetime
    finished_at: dt.datetime
    policies: Mapping[str, object]
    summary: Summary
    items: tuple[ReportItem, ...]
    aborted: str | None = None
    stats: RunStats | None = None
    abort_detail: str | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data; ``aborted``, its detail and ``stats`` only when set."""
        data: dict[str, Any] = {
            "run_id": self.run_id,
            "mode": self.mode,
            "started_at": utc_text(self.started_at),
            "finished_at": utc_text(self.finished_at),
        }
        if self.aborted is not None:
            data["aborted"] = str(self.aborted)
        if self.abort_detail is not None:
            data["abort_detail"] = self.abort_detail
        data["policies"] = json_ready(self.policies)
        data["summary"] = self.summary.to_json_dict()
        if self.stats is not None:
            data["stats"] = self.stats.to_json_dict()
        data["items"] = [item.to_json_dict() for item in self.items]
        return data


class ReportFormat(enum.StrEnum):
    """A report file format, named by its file extension."""

    JSON = "json"
    CSV = "csv"
    MARKDOWN = "md"


_WRITERS: dict[ReportFormat, ReportWriter] = {
    ReportFormat.JSON: JsonReportWriter(),
    ReportFormat.CSV: CsvReportWriter(),
    ReportFormat.MARKDOWN: MarkdownReportWriter(),
}


def report_format(path: Path) -> ReportFormat:
    """The format ``path``'s extension names; any other extension is a ``ConfigError``."""
    extension = path.suffix.lower().removeprefix(".")
    try:
        return ReportFormat(extension)
    except ValueError:
        supported = ", ".join(f".{fmt.value}" for fmt in ReportFormat)
        raise ConfigError(
            f"report file {path}: unsupported extension {path.suffix or '(none)'!r};"
            f" use one of {supported}"
        ) from None


def write_report(report: Report, path: Path) -> None:
    """Write ``report`` to ``path`` in the format its extension names, atomically."""
    write_atomically(path, report_renderer(report, path))


def report_renderer(report: Report, path: Path) -> Callable[[TextIO], None]:
    """What writes ``report`` into a stream in the format ``path``'s extension names."""
    writer = _WRITERS[report_format(path)]
    return lambda stream: writer.write(report, stream)


def write_atomically(path: Path, render: Callable[[TextIO], None]) -> None:
    """Write what ``render`` puts into a stream to ``path``: all of it, or nothing.

    A temp file in the same directory, fsynced, then renamed over ``path``; parent
    directories are created (losing a report after irreversible cancels would be worse).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temp_name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        # newline="" so the csv module's own \r\n line ends are written as they are.
        with open(descriptor, "w", encoding="utf-8", newline="") as stream:
            render(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp_name, path)
    except BaseException:
        # Re-raised at once: this only removes the temp file, whatever stopped the write.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    _fsync_directory(path.parent)


def fallback_directories(path: Path) -> tuple[Path, ...]:
    """Where a report meant for ``path`` goes when ``path`` fails: beside it, then the temp dir."""
    return (path.parent, Path(tempfile.gettempdir()))


def write_fallback(path: Path, directory: Path, render: Callable[[TextIO], None]) -> Path:
    """Write the report meant for ``path`` into ``directory`` under a new name; returns it.

    ``mkstemp`` picks a name no other file has (``last.fallback-k3j9.json`` for
    ``last.json``), so a fallback never replaces anything, and it is private to its owner.
    """
    descriptor, name = tempfile.mkstemp(
        dir=directory, prefix=f"{path.stem}.fallback-", suffix=path.suffix
    )
    try:
        with open(descriptor, "w", encoding="utf-8", newline="") as stream:
            render(stream)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException:
        # Re-raised at once: a half-written fallback must not pass for the report.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise
    return Path(name)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        # Some file systems refuse fsync on a directory; the data itself is already synced.
        with contextlib.suppress(OSError):
            os.fsync(descriptor)
    finally:
        os.close(descriptor)
