"""structlog set-up: JSON lines for machines, console lines for people, secrets never shown.

``configure_logging`` is called once, by the CLI; nothing configures logging at import time.
Bind the run's id once with ``structlog.contextvars.bind_contextvars(run_id=...)`` and every
event of the run carries it.

Event names are stable identifiers (values go in fields, never into the name). The engine's
catalogue, with the fields each event carries (``run_id`` is bound to every event of a run):

    run.started            mode, policies, base_url, initiator
    scan.page              page, items, count (debug)
    scan.finished          links, pages, count, page_size, rereads, ended
    scan.horizon           cutoff, lookahead: the scan will stop at the lifetime horizon
    scan.horizon_fallback  reason (order, lifetime, suspect_page, repeats) and its evidence
                           (page, link, ...): the scan reads the whole list instead
    scan.page_size         asked, echoed, served, using: the server serves fewer than asked
    scan.suspect_page      page, echoed_page, page_size, echoed, items, count: a page that
                           came back short (count says more follow) or echoing other paging
    scan.drift             short, links_seen, count: a shortfall count's moves explain
    scan.count_stale       short, links_seen, count, drift, gone: a later pass's shortfall
                           within the links the run cancelled, which a cached count still
                           includes (accepted, not re-read)
    scan.reread            short, links_seen, count, drift, suspect_pages, rereads
    scan.short             links_seen, count, drift, suspect_pages, rereads: incomplete
    plan.ready             scanned, cancel, skipped_expired, excluded, unmatched
    payment.cancelled      the audit event: id, externalId, amount, currency, reasons,
                           attempts, initiator
    payment.conflict       the report item's fields; message says which 400 case it was
    payment.not_found      the report item's fields
    payment.failed         the report item's fields; message is the last error
    payment.skipped_expired the report item's fields: a cancel too close to expiry when its
                           turn came (``[safety] expiry_margin``), not sent
    payment.retry          id, attempt
    payment.lookup_failed  id, error: the GET after a refused cancel got no usable answer
    retry.scheduled        attempt, wait, error, status
    retry.quota_exhausted  available, retries, pause (the run pauses; pace.paused follows)
    pace.rate_changed      rate (new, per second), previous, cause
    pace.paused            seconds, cause (429 Retry-After, RateLimit headers, retry_quota):
                           info for ``quota_used`` (ordinary pacing), a warning otherwise
    run.failure_threshold  finished, failed, ratio
    run.signal             signal, action: SIGTERM/SIGINT received (draining, or ignored)
    run.draining           grace_period: a signal came; no new cancels, in-flight ones finish
    run.aborted            reason (a ``worker.outcomes.Abort`` value), error
    api.unreachable        cause, host, error: why the API could not be reached, said once
    run.locked             lock_file, error: another run holds --lock-file (exit 5)
    run.no_organizations   shard: this shard owns no organization (exit 0)
    run.crashed            a bug: the traceback (redacted)
    run.failed             error, error_type, exit_code: an expected error no report covers
    report.write_failed    path, error: the report (or a fallback) could not be written there
    report.fallback        path, written_to (a file, or "stderr" with the JSON in report):
                           where the report went instead (critical; exit 7)
    report.written         paths: where each --report went, in order (a fallback's path,
                           or "stderr", for one that could not go where asked)
    audit.write_failed     path, error: --audit-log stopped taking lines; the run goes on
    run.finished           mode, aborted, abort_detail (the cause in words, when an error
                           stopped the run), requests, rate_limited, retries and the summary's
                           counts: the one canonical summary line of a run (per organization)
    metrics.pushed         gateway (scheme://host:port), job, organization, exit_code
    metrics.push_failed    gateway, job, organization, error, status

Payment events use the report's item keys (``externalId``, ``http_status``) so that a log
line and a report row join on the same names. Amounts are decimal strings, as in the report.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import PurePath
from typing import Any, Literal, TextIO, cast

import orjson
import structlog
from structlog.tracebacks import ExceptionDictTransformer
from structlog.typing import EventDict, Processor, WrappedLogger

from worker.errors import ConfigError

REDACTED = "***"

Renderer = Literal["auto", "json", "console"]


def configure_logging(
    *,
    renderer: Renderer = "auto",
    level: str = "info",
    secrets: Sequence[str] = (),
    stream: TextIO | None = None,
    console_words: Mapping[str, Callable[[Any], object]] | None = None,
) -> None:
    """Send log events to ``stream`` (the current ``sys.stderr`` when ``None``).

    ``auto`` renders for a console when the stream is a TTY and as JSON lines otherwise.
    Every occurrence of a ``secrets`` value is replaced with ``***`` before anything is
    written, wherever it hides (nested values, exception text, an f-string in the event).
    ``console_words`` maps a field to how a person reads it (``policies`` as words rather
    than a dict); it applies to console lines only, JSON keeps the data.
    """
    level_number = _level_number(level)
    target = stream if stream is not None else cast(TextIO, _CurrentStderr())
    console = renderer == "console" or (renderer == "auto" and _isatty(target))
    redactor = _Redactor(secrets)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        _UtcTimestamp(),
        _WhenAsked("stack_info", structlog.processors.StackInfoRenderer()),
    ]
    # Exceptions become text or data *before* redaction, so that their messages are redacted
    # too. Tracebacks never show local variables: those can hold the API key or customers'
    # data, and rich's coloured console tracebacks could split a secret with colour codes
    # where no redaction would find it. Hence plain text on the console.
    final: list[Processor]
    if console:
        final = [
            _Worded(console_words or {}),
            structlog.processors.format_exc_info,
            redactor,
            _RedactedOutput(structlog.dev.ConsoleRenderer(colors=_colors(target)), redactor),
        ]
    else:
        # No walk of the event before rendering, as the console needs: json.dumps escapes
        # strings character by character (ASCII only), so a secret in any string, key or
        # number it writes itself shows in the line as it is or as json.dumps(secret)[1:-1],
        # both of which the redaction of the finished line replaces. Only what the encoder
        # cannot write goes through ``default``, which redacts it before the encoder escapes
        # it. Walking every event first cost more CPU than rendering it (benchmark scenario
        # 4: one event per cancel).
        final = [
            _WhenAsked(
                "exc_info",
                structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False)),
            ),
            _RedactedOutput(
                structlog.processors.JSONRenderer(_dumps, default=redactor.json_default),
                redactor,
            ),
        ]
    # One WriteLogger for every event: loggers are assembled per event (not cached, below),
    # and structlog.WriteLoggerFactory would build a WriteLogger, and look up its file's
    # lock, each time.
    writer = structlog.WriteLogger(target)
    structlog.configure(
        processors=[*shared, *final],
        wrapper_class=structlog.make_filtering_bound_logger(level_number),
        logger_factory=lambda *args: writer,
        # Not cached: modules hold loggers from import time, and caching would pin them to
        # whichever configuration they first met, defeating structlog.testing.capture_logs()
        # and any reconfiguration. Assembling one per event costs a few microseconds.
        cache_logger_on_first_use=False,
    )


_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


def _level_number(level: str) -> int:
    number = _LEVELS.get(level.lower())
    if number is None:
        raise ConfigError(f"log level {level!r} is not one of {', '.join(_LEVELS)}")
    return number


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _colors(stream: TextIO) -> bool:
    """Colour when the stream is a TTY; NO_COLOR turns it off and wins over FORCE_COLOR."""
    if os.environ.get("NO_COLOR", ""):
        return False
    if os.environ.get("FORCE_COLOR", ""):
        return True
    return _isatty(stream)


class _Worded:
    """Rewrites the fields it knows as words, for a console line."""

    def __init__(self, words: Mapping[str, Callable[[Any], object]]) -> None:
        self._words = words

    def __call__(self, logger: WrappedLogger, name: str, event_dict: EventDict) -> EventDict:
        for key, word in self._words.items():
            if key in event_dict:
                event_dict[key] = word(event_dict[key])
        return event_dict


class _UtcTimestamp:
    """``timestamp``: now, in ISO 8601 UTC with microseconds and ``Z``
    (``2026-12-03T17:18:37.123456Z``).

    What ``structlog.processors.TimeStamper(fmt="iso", utc=True)`` writes, by hand because
    this runs for every event, one per cancel, and TimeStamper's ``datetime.now()``,
    ``isoformat()`` and ``replace()`` were the costliest step of the chain (benchmark
    scenario 4): here the date and time are formatted once per second. One difference:
    the microseconds are always written, also when they are 0 (``isoformat`` drops them).
    """

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, logger: WrappedLogger, name: str, event_dict: EventDict) -> EventDict:
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        event_dict["timestamp"] = f"{self._prefix}.{int((now - second) * 1_000_000):06d}Z"
        return event_dict


class _WhenAsked:
    """Runs ``processor`` only for an event that carries ``key`` (``exc_info``,
    ``stack_info``): one dict lookup instead of a call for every event, where one per
    cancel is the rule (benchmark scenario 4)."""

    def __init__(self, key: str, processor: Processor) -> None:
        self._key = key
        self._processor = processor

    def __call__(self, logger: WrappedLogger, name: str, event_dict: EventDict) -> EventDict:
        if self._key in event_dict:
            return cast(EventDict, self._processor(logger, name, event_dict))
        return event_dict


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time of writing.

    rich's live progress swaps ``sys.stderr`` for a proxy that prints lines above the bar;
    holding the original stream would draw log lines through the bar instead.
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return _isatty(sys.stderr)


class _Redactor:
    """Replaces every occurrence of a secret, anywhere in an event, with ``***``.

    Defence in depth: the key is a ``SecretStr`` everywhere it is held, but someone may still
    log a URL, a header dict or an exception that quotes it.
    """

    def __init__(self, secrets: Sequence[str]) -> None:
        # Each secret also as repr() and JSON escape it: that is how renderers would show it.
        # Longest first, so a secret that contains another is replaced whole. An empty
        # string would "occur" everywhere, so it is no secret.
        forms = {
            form
            for secret in secrets
            if secret
            for form in (secret, repr(secret)[1:-1], json.dumps(secret)[1:-1])
        }
        self._secrets = sorted(forms, key=len, reverse=True)

    def __call__(self, logger: WrappedLogger, name: str, event_dict: EventDict) -> EventDict:
        if not self._secrets:
            return event_dict
        return {self.text(key): self.value(value) for key, value in event_dict.items()}

    def text(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def value(self, value: object) -> object:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, bytes | bytearray):
            return self.text(bytes(value).decode("utf-8", errors="backslashreplace"))
        if isinstance(value, Mapping):
            return {self.value(key): self.value(item) for key, item in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            # Rendered as JSON arrays anyway; the container's own type does not matter here.
            return [self.value(item) for item in value]
        # Anything else is rendered with str() or repr() later; redact that text now if it
        # would show a secret (an exception, a URL object, a header multidict).
        if isinstance(value, _PLAIN) or not self._shows_secret(value):
            return value
        return self.text(str(value))

    def _shows_secret(self, value: object) -> bool:
        shown = f"{value!s}\n{value!r}"
        return any(secret in shown for secret in self._secrets)

    def json_default(self, value: object) -> Any:
        """``_json_default`` for a value the JSON encoder cannot write, redacted as ``value``
        would have done it before rendering (bytes as text, mappings as objects)."""
        redacted = self.value(value) if self._secrets else value
        if isinstance(redacted, str | list | dict):
            return redacted  # the encoder writes it, and calls this again for what is inside
        return _json_default(redacted)


# Values whose rendering cannot contain a secret.
_PLAIN = (type(None), bool, int, float, Decimal, dt.datetime, dt.date, dt.timedelta)


class _RedactedOutput:
    """Wraps the renderer: the finished line is redacted once more, the last line of defence."""

    def __init__(self, renderer: Processor, redactor: _Redactor) -> None:
        self._renderer = renderer
        self._redactor = redactor

    def __call__(self, logger: WrappedLogger, name: str, event_dict: EventDict) -> str:
        rendered = self._renderer(logger, name, event_dict)
        if isinstance(rendered, bytes | bytearray):
            rendered = bytes(rendered).decode("utf-8", errors="replace")
        elif not isinstance(rendered, str):
            raise TypeError(f"log renderer returned {type(rendered).__name__}, not text")
        return self._redactor.text(rendered)


# Non-string keys written as text, as json.dumps does; dataclasses through ``default`` (as
# their repr, redacted), as json.dumps does, rather than orjson's own walk of their fields.
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS


def _dumps(event: object, *, default: Callable[[object], Any]) -> bytes | str:
    """orjson, structlog's recommended serializer (a JSON line per cancel, 3x json.dumps's
    speed), or json.dumps for what orjson refuses (an integer beyond 64 bits).

    Either escapes a secret in a string as JSON does (or writes it as it is), the two forms
    the redaction of the finished line looks for; orjson writes non-ASCII text as UTF-8.
    """
    try:
        return orjson.dumps(event, default=default, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        return json.dumps(event, default=default)


def _json_default(value: object) -> Any:
    """JSON for the types the engine logs; money stays a decimal string, never a float."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return repr(value)
