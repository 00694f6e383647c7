"""The policies of a report in words a finance reader knows: "Links expiring within 2 hours".

A policy this module does not know is shown as its JSON; an unset scope or exclude file says
nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator, Mapping

from worker.report._encoding import json_ready, markdown_cell, time_text

_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day"}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")


def policy_lines(policies: Mapping[str, object]) -> Iterator[str]:
    """One line per policy, in words; one a reader would not recognise is shown as JSON."""
    for name, value in json_ready(policies).items():
        words = _POLICY_WORDS.get(name)
        text = words(value) if words is not None else None
        if text is None and name in _QUIET_WHEN_EMPTY:
            continue
        if text is None:
            text = f"{name}: {json.dumps(value, ensure_ascii=False)}"
        yield f"- {markdown_cell(text)}"


def _duration_words(text: str) -> str:
    """``2h`` as ``2 hours``, ``1h30m`` as ``1 hour 30 minutes``; other text as it is."""
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return text
    return " ".join(f"{n} {_UNITS[u]}{'' if n == '1' else 's'}" for n, u in parts)


def _instant_words(text: object) -> str:
    try:
        return time_text(dt.datetime.fromisoformat(str(text)))
    except ValueError:
        return str(text)


def _file_words(value: object) -> str | None:
    if not isinstance(value, Mapping) or value.get("file") is None:
        return None
    counts = f"{value.get('ids', 0)} ids, {value.get('external_ids', 0)} externalIds"
    digest = str(value.get("sha256") or "")[:12]
    return f"{value['file']} ({counts}" + (f"; sha256 {digest}…)" if digest else ")")


def _scope_words(value: object) -> str | None:
    if not isinstance(value, Mapping):
        return None
    limits = []
    if value.get("currencies"):
        limits.append("in " + ", ".join(map(str, value["currencies"])))
    if value.get("created_before"):
        limits.append(f"created before {_instant_words(value['created_before'])}")
    return "Only links " + " and ".join(limits) if limits else None


def _manifest_words(value: object) -> str | None:
    listed = _file_words(value)
    return None if listed is None else f"Links listed in {listed}"


def _exclude_words(value: object) -> str | None:
    listed = _file_words(value)
    return None if listed is None else f"Never links listed in {listed}"


_POLICY_WORDS: dict[str, Callable[[object], str | None]] = {
    "expiring_within": lambda value: (
        f"Links expiring within {_duration_words(value)}" if isinstance(value, str) else None
    ),
    "duplicate": lambda value: (
        "All but the newest link of each externalId (duplicates; the newest is kept)"
        if value == "keep_newest"
        else None
    ),
    "created_before": lambda value: (
        f"Links created before {_instant_words(value)}" if isinstance(value, str) else None
    ),
    "manifest": _manifest_words,
    "paid_sibling": lambda value: (
        "Other live links of an order already paid"
        + (
            f" (paid since {_instant_words(value['paid_since'])})"
            if isinstance(value, Mapping) and value.get("paid_since")
            else (
                f" (paid within the last {_duration_words(str(value['lookback']))})"
                if isinstance(value, Mapping) and value.get("lookback")
                else ""
            )
        )
    ),
    "exclude": _exclude_words,
    "scope": _scope_words,
}
# Settings that, when unset, say nothing worth a line: no exclude file, no scope limits.
_QUIET_WHEN_EMPTY = frozenset({"exclude", "scope"})
