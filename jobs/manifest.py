"""``manifest`` and ``exclude``: links named in a file, to cancel or never to cancel.

Three formats, chosen by extension:

- ``.csv``: UTF-8 (a BOM is fine), comma-separated, a header row with a column ``id``
  and/or ``externalId`` (exact names); other columns are ignored, blank lines too.
- ``.jsonl``: one JSON object per line with ``id`` and/or ``externalId``.
- ``.json``: a harmony-sweeper JSON report. As a manifest, only a ``dry-run`` report is
  accepted and only its ``would_cancel`` items' ids are taken, so that exactly what finance
  approved is applied. As exclusions, every item's id is taken, whatever the mode.

Every id must be a UUID written 8-4-4-4-12 in hexadecimal; upper case is accepted and
stored lower case. Anything else (``../x``, braces, ``urn:uuid:``, whitespace, ``%2e``) is
refused here, with the file and line, long before an id can reach a URL.

A row or object that gives both an id and an externalId means, in a manifest, the link
with that id (the narrower reading, so an ambiguous row never cancels more); in an
exclude file, both (the broader reading, so it never protects less). An empty cell or a
null counts as absent; a row with neither is an error.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ClassVar, TypeAlias

from jobs.errors import PolicyInputError
from jobs.links import Link, Status
from jobs.reasons import Reason

# A dry-run report of ~200,000 items, or ~1.7 million ids in a CSV: far beyond what one
# run may cancel (--max-cancellations), and small enough to parse in memory.
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_EXTERNAL_ID_LENGTH = 255

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ID, _EXTERNAL_ID, _OUTCOME = "id", "externalId", "outcome"
# The report's outcome values (``worker.outcomes.Outcome``, which jobs may not import).
_REPORT_OUTCOMES = frozenset(
    {"cancelled", "would_cancel", "conflict", "not_found", "failed", "skipped_expired"}
    | {"not_attempted"}
)
_REPORT_MODES = frozenset({"dry-run", "execute"})

# (where, id, externalId): one row or object of a file, before it is validated.
_Entry: TypeAlias = tuple[str, object, object]


@dataclass(frozen=True, slots=True)
class Manifest:
    """Selects the PENDING links whose id or externalId is listed.

    ``ids`` must be canonical lower-case UUIDs (``load_manifest`` makes them so).
    ``source`` and ``sha256`` identify the file in the report.
    """

    ids: frozenset[str] = frozenset()
    external_ids: frozenset[str] = frozenset()
    source: Path | None = None
    sha256: str | None = None
    reason: ClassVar[Reason] = Reason.MANIFEST
    horizon_safe: ClassVar[bool] = False  # a listed link may be of any age

    def __post_init__(self) -> None:
        _require_canonical_ids(self.ids, "Manifest")

    @property
    def ids_only(self) -> bool:
        """True when it lists no externalId: its links can be fetched by id, no scan needed.

        An empty manifest is ids-only too: there is nothing to fetch.
        """
        return not self.external_ids

    def select(self, links: Sequence[Link], now: datetime) -> Iterator[str]:
        """The ids of PENDING links listed by id or externalId (expired ones included)."""
        ids, external_ids = self.ids, self.external_ids
        for link in links:
            if link.status is Status.PENDING and (
                link.id in ids
                or (link.external_id is not None and link.external_id in external_ids)
            ):
                yield link.id

    def describe(self) -> dict[str, object]:
        """``{"manifest": {"file": ..., "sha256": ..., "ids": N, "external_ids": M}}``."""
        return {
            self.reason.value: _describe_file(self.source, self.sha256, self.ids, self.external_ids)
        }


@dataclass(frozen=True, slots=True)
class Exclusions:
    """Links never to cancel, by id or externalId; the default excludes nothing."""

    ids: frozenset[str] = frozenset()
    external_ids: frozenset[str] = frozenset()
    source: Path | None = None
    sha256: str | None = None

    def __post_init__(self) -> None:
        _require_canonical_ids(self.ids, "Exclusions")

    def covers(self, link: Link) -> bool:
        """Whether ``link`` is excluded, by its id or its externalId."""
        return link.id in self.ids or (
            link.external_id is not None and link.external_id in self.external_ids
        )

    def describe(self) -> dict[str, object]:
        """``{"exclude": {"file": ..., "sha256": ..., "ids": N, "external_ids": M}}``."""
        return {"exclude": _describe_file(self.source, self.sha256, self.ids, self.external_ids)}


def load_manifest(path: Path) -> Manifest:
    """Read a manifest file; raise ``PolicyInputError`` naming the file and line if unusable."""
    kind = _kind(path)
    text, digest = _read(path)
    ids: set[str] = set()
    external_ids: set[str] = set()
    if kind == ".json":
        report = _load_report(path, text)
        if report.mode != "dry-run":
            raise PolicyInputError(
                path,
                f"is a report of mode {_shown(report.mode)}: only a dry-run report can be "
                "applied as a manifest",
            )
        ids.update(
            _canonical_id(path, where, item.get(_ID))
            for where, item in report.items
            if item["outcome"] == "would_cancel"
        )
    else:
        for where, id_value, external_value in _entries(path, text, kind, approved_only=True):
            external_id = _optional_external_id(path, where, external_value)
            if id_value is not None:
                ids.add(_canonical_id(path, where, id_value))
            elif external_id is not None:
                external_ids.add(external_id)
    return Manifest(frozenset(ids), frozenset(external_ids), source=path, sha256=digest)


def load_exclusions(path: Path) -> Exclusions:
    """Read an exclude file; a JSON report contributes all its items' ids, whatever the mode."""
    kind = _kind(path)
    text, digest = _read(path)
    ids: set[str] = set()
    external_ids: set[str] = set()
    if kind == ".json":
        report = _load_report(path, text)
        ids.update(_canonical_id(path, where, item.get(_ID)) for where, item in report.items)
    else:
        for where, id_value, external_value in _entries(path, text, kind):
            external_id = _optional_external_id(path, where, external_value)
            if id_value is not None:
                ids.add(_canonical_id(path, where, id_value))
            if external_id is not None:
                external_ids.add(external_id)
    return Exclusions(frozenset(ids), frozenset(external_ids), source=path, sha256=digest)


def _read(path: Path) -> tuple[str, str]:
    """The file's text and its SHA-256, refusing what is not a small UTF-8 regular file."""
    try:
        # O_NONBLOCK so that a FIFO given by mistake is refused, not waited on forever.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise PolicyInputError(path, "is not a regular file")
            with os.fdopen(fd, "rb", closefd=False) as file:
                # Read one byte past the limit rather than trust st_size, which can change.
                data = file.read(MAX_FILE_BYTES + 1)
        finally:
            os.close(fd)
    except OSError as exc:
        raise PolicyInputError(path, f"cannot be read: {exc.strerror or exc}") from exc
    if len(data) > MAX_FILE_BYTES:
        raise PolicyInputError(path, f"is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    digest = hashlib.sha256(data).hexdigest()
    data = data.removeprefix(b"\xef\xbb\xbf")  # spreadsheet exports often start with a BOM
    nul = data.find(b"\x00")
    if nul >= 0:
        raise PolicyInputError(path, "contains a NUL byte", where=_line_at(data, nul))
    try:
        return data.decode("utf-8"), digest
    except UnicodeDecodeError as exc:
        raise PolicyInputError(path, "is not UTF-8", where=_line_at(data, exc.start)) from exc


def _line_at(data: bytes, offset: int) -> str:
    line = data.count(b"\n", 0, offset) + 1
    return f"line {line}"


def _kind(path: Path) -> str:
    """The file's format, from its extension (checked before the file is even opened)."""
    kind = path.suffix.lower()
    if kind not in (".csv", ".jsonl", ".json"):
        raise PolicyInputError(path, "has an unknown extension: expected .csv, .jsonl or .json")
    return kind


def _entries(path: Path, text: str, kind: str, *, approved_only: bool = False) -> Iterator[_Entry]:
    if kind == ".csv":
        return _csv_entries(path, text, approved_only=approved_only)
    return _jsonl_entries(path, text)


# Outcomes only a run that cancelled can report: such a CSV report is no plan to approve.
_EXECUTED_OUTCOMES = frozenset({"cancelled", "not_attempted"})


def _csv_entries(path: Path, text: str, *, approved_only: bool = False) -> Iterator[_Entry]:
    """The rows' ids and externalIds; with ``approved_only``, a CSV report's would_cancel rows.

    A CSV report (it has an ``outcome`` column) fed back as a manifest must apply what the
    dry run would have cancelled, not every row it lists (skipped, not found...), as the
    JSON report does; a report of a run that cancelled is refused.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    columns: tuple[int | None, int | None] | None = None
    outcome_column: int | None = None
    try:
        for row in reader:
            if all(not cell.strip() for cell in row):
                continue
            if columns is None:
                columns = _csv_columns(path, reader.line_num, row)
                names = [name.strip() for name in row]
                outcome_column = names.index(_OUTCOME) if _OUTCOME in names else None
                continue
            if approved_only and outcome_column is not None:
                outcome = _cell(row, outcome_column)
                if outcome in _EXECUTED_OUTCOMES:
                    raise PolicyInputError(
                        path,
                        f"is the report of a run that cancelled (outcome {_shown(outcome)}): "
                        "only a dry-run report can be applied as a manifest",
                        where=f"line {reader.line_num}",
                    )
                if outcome != "would_cancel":
                    continue
            id_column, external_column = columns
            yield _entry(
                path,
                f"line {reader.line_num}",
                _cell(row, id_column),
                _cell(row, external_column),
                keys=_key_names(columns),
            )
    except csv.Error as exc:
        raise PolicyInputError(
            path, f"is not valid CSV: {exc}", where=f"line {reader.line_num}"
        ) from exc
    if columns is None:
        raise PolicyInputError(path, "has no header row: expected a column `id` or `externalId`")


def _csv_columns(path: Path, line: int, header: list[str]) -> tuple[int | None, int | None]:
    names = [name.strip() for name in header]
    found: list[int | None] = []
    for key in (_ID, _EXTERNAL_ID):
        positions = [index for index, name in enumerate(names) if name == key]
        if len(positions) > 1:
            raise PolicyInputError(path, f"has the column `{key}` twice", where=f"line {line}")
        found.append(positions[0] if positions else None)
    if found == [None, None]:
        raise PolicyInputError(
            path,
            f"has no `id` or `externalId` column in its header (found {_shown(names)})",
            where=f"line {line}",
        )
    return found[0], found[1]


def _key_names(columns: tuple[int | None, int | None]) -> str:
    present = [
        f"`{key}`"
        for key, column in zip((_ID, _EXTERNAL_ID), columns, strict=True)
        if column is not None
    ]
    return " or ".join(present)


def _cell(row: list[str], column: int | None) -> str | None:
    if column is None or column >= len(row) or not row[column]:
        return None
    return row[column]


def _jsonl_entries(path: Path, text: str) -> Iterator[_Entry]:
    # Split on "\n" only: str.splitlines would also split inside a JSON string at U+2028.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        record = _json_loads(path, line, where)
        if not isinstance(record, dict):
            raise PolicyInputError(path, "is not a JSON object", where=where)
        yield _entry(
            path, where, record.get(_ID), record.get(_EXTERNAL_ID), keys="`id` or `externalId`"
        )


def _entry(
    path: Path, where: str, id_value: object, external_value: object, *, keys: str
) -> _Entry:
    if id_value in (None, "") and external_value in (None, ""):
        raise PolicyInputError(path, f"has no value for {keys}", where=where)
    return (
        where,
        None if id_value == "" else id_value,
        None if external_value == "" else external_value,
    )


@dataclass(frozen=True, slots=True)
class _Report:
    mode: object
    items: list[tuple[str, dict[str, object]]]


def _load_report(path: Path, text: str) -> _Report:
    document = _json_loads(path, text, None)
    if not isinstance(document, dict) or "mode" not in document or "items" not in document:
        raise PolicyInputError(path, "is not a harmony-sweeper JSON report (no mode and items)")
    mode, items = document["mode"], document["items"]
    if mode not in _REPORT_MODES:
        raise PolicyInputError(path, f"has an unknown report mode {_shown(mode)}")
    if not isinstance(items, list):
        raise PolicyInputError(path, "has `items` that is not a list")
    checked: list[tuple[str, dict[str, object]]] = []
    for index, item in enumerate(items):
        where = f"items[{index}]"
        if not isinstance(item, dict):
            raise PolicyInputError(path, "is not a JSON object", where=where)
        if item.get("outcome") not in _REPORT_OUTCOMES:
            raise PolicyInputError(
                path, f"has an unknown outcome {_shown(item.get('outcome'))}", where=where
            )
        checked.append((where, item))
    return _Report(mode, checked)


def _json_loads(path: Path, text: str, where: str | None) -> object:
    try:
        return json.loads(text, object_pairs_hook=_refuse_duplicate_keys)
    except json.JSONDecodeError as exc:
        place = where or f"line {exc.lineno}"
        raise PolicyInputError(path, f"is not valid JSON: {exc.msg}", where=place) from exc
    except RecursionError as exc:
        raise PolicyInputError(path, "is nested too deeply", where=where) from exc
    except ValueError as exc:  # a duplicate key, or an integer too long to convert
        raise PolicyInputError(path, f"is not usable JSON: {exc}", where=where) from exc


def _refuse_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    # A key given twice is ambiguous (json keeps the last): refuse rather than guess.
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {_shown(key)} appears twice in one object")
        result[key] = value
    return result


def _canonical_id(path: Path, where: str, value: object) -> str:
    if not isinstance(value, str) or _UUID.fullmatch(value) is None:
        raise PolicyInputError(
            path,
            f"has an id {_shown(value)} that is not a UUID (8-4-4-4-12 hexadecimal digits)",
            where=where,
        )
    return value.lower()


def _optional_external_id(path: Path, where: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise PolicyInputError(
            path, f"has an externalId {_shown(value)} that is not a string", where=where
        )
    if not value.strip() or _CONTROL.search(value) or len(value) > MAX_EXTERNAL_ID_LENGTH:
        raise PolicyInputError(
            path,
            f"has an externalId {_shown(value)} that is blank, holds control characters or "
            f"is longer than {MAX_EXTERNAL_ID_LENGTH} characters",
            where=where,
        )
    return value


def _require_canonical_ids(ids: Iterable[str], owner: str) -> None:
    for value in ids:
        if not isinstance(value, str) or _CANONICAL_UUID.fullmatch(value) is None:
            raise ValueError(f"{owner} ids must be canonical lower-case UUIDs, got {_shown(value)}")


def _describe_file(
    source: Path | None, sha256: str | None, ids: frozenset[str], external_ids: frozenset[str]
) -> dict[str, object]:
    return {
        "file": None if source is None else str(source),
        "sha256": sha256,
        "ids": len(ids),
        "external_ids": len(external_ids),
    }


def _shown(value: object) -> str:
    """``repr`` (escapes control characters), cut short so one bad cell cannot flood a log."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."
