"""How the report's values become text: UTC timestamps, decimals, JSON-ready data, cells.

The bottom of ``worker.report``: every other module of the package may import this one, and
it imports none of them.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from decimal import Decimal
from pathlib import PurePath
from typing import Any


def utc_text(moment: dt.datetime) -> str:
    """``moment`` as ISO-8601 UTC ending in ``Z``; a naive datetime is a bug, so it raises."""
    if moment.utcoffset() is None:
        raise ValueError(f"naive datetime in a report: {moment!r}")
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def decimal_text(amount: Decimal | str) -> str:
    """``amount`` (a ``Decimal`` or its text) as plain decimal text: no exponent, no float."""
    return format(Decimal(amount), "f")


def money_text(amount: Decimal | str) -> str:
    """``amount`` for a person: ``1,234.50``; two decimals, more only when the amount has them.

    Never rounded: a report that showed less than the amount would hide money.
    """
    value = Decimal(amount)
    exponent = value.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return f"{value:,.{places}f}"


def json_ready(value: object) -> Any:  # noqa: PLR0911 (a flat type dispatch reads best)
    """``value`` with datetimes, decimals, durations, enums and paths turned into JSON types.

    Policies describe themselves with whatever types are natural to them; the report
    normalises them here rather than trusting every policy to, and refuses anything else so
    that an unserialisable value fails loudly instead of turning into a ``repr``.
    """
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, enum.Enum):
        return json_ready(value.value)
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, dt.datetime):
        return utc_text(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [json_ready(item) for item in items]
    raise TypeError(f"cannot put a {type(value).__name__} into a report: {value!r}")


# Spreadsheets run a cell that starts with one of these as a formula (CSV injection);
# externalId, currency and message come from merchants or the API, so OWASP's advice applies:
# prefix such a cell with a single quote so that it is shown as text.
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(cell: str) -> str:
    """``cell`` with a leading ``'`` when a spreadsheet would run it as a formula."""
    return f"'{cell}" if cell.startswith(_FORMULA_TRIGGERS) else cell


# Characters that Markdown would read as syntax inside a table cell; backslash first, so the
# escapes added for the others are not escaped again. "<" and ">" stop inline HTML.
_MARKDOWN_SPECIAL = "\\`*_[]<>|~"


def markdown_cell(text: str) -> str:
    """``text`` safe inside one Markdown table cell: syntax escaped, on one line."""
    escaped = "".join(f"\\{char}" if char in _MARKDOWN_SPECIAL else char for char in text)
    return " ".join(escaped.splitlines())


def time_text(moment: dt.datetime, *, seconds: bool = False) -> str:
    """``moment`` as ``2026-12-03 12:26 UTC``: the year, and the zone, always said."""
    if moment.utcoffset() is None:
        raise ValueError(f"naive datetime in a report: {moment!r}")
    shape = "%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC"
    return moment.astimezone(dt.UTC).strftime(shape)
