"""Request validation in the style of a NestJS ValidationPipe: every problem, as a list.

The real API's messages are not documented; these follow class-validator's wording, since
the error bodies (`{statusCode, message, error}`) point at NestJS.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol
from urllib.parse import urlsplit

from sandbox.records import STATUSES
from sandbox.shapes import number_text

CURRENCIES = ("MXN", "USD")
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
DEFAULT_TTL_MINUTES = 2880
MIN_TTL_MINUTES = 10
MAX_AMOUNT = Decimal("9999999999.99")
_LIST_PARAMS = frozenset({"page", "pageSize", "status", "currency"})
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_INTEGER = re.compile(r"^[+-]?\d+$")
_BILLING_FIELDS = ("email", "firstName", "lastName", "phoneNumber")
_ADDRESS_FIELDS = ("addressLine", "city", "state", "zip")


class Invalid(ValueError):
    """The request breaks one or more rules; `problems` lists each one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class QueryParams(Protocol):
    """A multi-valued query string, such as aiohttp's `request.query`."""

    def __iter__(self) -> Iterator[str]: ...
    def getall(self, key: str, default: list[str], /) -> list[str]: ...


@dataclasses.dataclass(frozen=True, slots=True)
class ListQuery:
    """Validated query of `GET /api/one-time-payment`."""

    page: int
    page_size: int
    status: str | None
    currency: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class CreateRequest:
    """Validated body of `POST /api/one-time-payment`."""

    amount: str
    currency: str
    external_id: str | None
    description: str
    homepage_url: str
    redirect_url: str
    billing: dict[str, Any]
    ttl_minutes: int


def canonical_uuid(text: str) -> str | None:
    """Lower-case UUID text, or None when `text` is not a UUID in 8-4-4-4-12 form."""
    return text.lower() if _UUID.match(text) else None


def list_query(query: QueryParams) -> ListQuery:
    """Parse and check list parameters: out of range, repeated or unknown ones are a 400."""
    problems = [f"property {name} should not exist" for name in query if name not in _LIST_PARAMS]
    single: dict[str, str] = {}
    for name in _LIST_PARAMS:
        values = query.getall(name, [])
        if len(values) > 1:
            problems.append(f"{name} must be a single value")
        elif values:
            single[name] = values[0]
    page = _int_param(single, "page", default=1, low=1, high=None, problems=problems)
    page_size = _int_param(
        single, "pageSize", default=DEFAULT_PAGE_SIZE, low=1, high=MAX_PAGE_SIZE, problems=problems
    )
    status = _enum_param(single, "status", STATUSES, problems)
    currency = _enum_param(single, "currency", CURRENCIES, problems)
    if problems:
        raise Invalid(problems)
    return ListQuery(page, page_size, status, currency)


def _int_param(
    query: Mapping[str, str],
    name: str,
    *,
    default: int,
    low: int,
    high: int | None,
    problems: list[str],
) -> int:
    text = query.get(name)
    if text is None:
        return default
    if not _INTEGER.match(text):
        problems.append(f"{name} must be an integer number")
        return default
    value = int(text)
    if value < low:
        problems.append(f"{name} must not be less than {low}")
    elif high is not None and value > high:
        problems.append(f"{name} must not be greater than {high}")
    return value


def _enum_param(
    query: Mapping[str, str], name: str, allowed: tuple[str, ...], problems: list[str]
) -> str | None:
    text = query.get(name)
    if text is not None and text not in allowed:
        problems.append(f"{name} must be one of the following values: {', '.join(allowed)}")
    return text


def parse_amount(value: object) -> Decimal:
    """A finite decimal from a JSON number (parsed as Decimal) or a decimal string."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float | str):
        raise Invalid(["amount must be a number or a decimal string"])
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        raise Invalid(["amount must be a number or a decimal string"]) from None
    if not amount.is_finite():
        raise Invalid(["amount must be a finite number"])
    return amount


def create_request(body: object) -> CreateRequest:
    """Check a create body against section 5 of the reference; unknown fields are ignored."""
    if not isinstance(body, dict):
        raise Invalid(["request body must be a JSON object"])
    problems: list[str] = []
    amount = _amount(body.get("amount"), problems)
    currency = body.get("currency")
    if currency not in CURRENCIES:
        problems.append(f"currency must be one of the following values: {', '.join(CURRENCIES)}")
    external_id = body.get("externalId")
    if external_id is not None and not isinstance(external_id, str):
        problems.append("externalId must be a string")
    description = body.get("description")
    if not isinstance(description, str) or not description.strip():
        problems.append("description should not be empty")
    homepage_url = _url(body, "homepageUrl", problems)
    redirect_url = _url(body, "redirectUrl", problems)
    billing = _billing(body.get("billingInformation"), problems)
    ttl = body.get("ttlMinutes", DEFAULT_TTL_MINUTES)
    if isinstance(ttl, bool) or not isinstance(ttl, int):
        problems.append("ttlMinutes must be an integer number")
    elif not MIN_TTL_MINUTES <= ttl <= DEFAULT_TTL_MINUTES:
        problems.append(
            f"ttlMinutes must be between {MIN_TTL_MINUTES} and {DEFAULT_TTL_MINUTES} minutes"
        )
    if problems:
        raise Invalid(problems)
    return CreateRequest(
        amount=number_text(amount),
        currency=str(currency),
        external_id=external_id,
        description=str(description),
        homepage_url=homepage_url,
        redirect_url=redirect_url,
        billing=billing,
        ttl_minutes=int(ttl),
    )


def _amount(value: object, problems: list[str]) -> Decimal:
    if value is None:
        problems.append("amount should not be empty")
        return Decimal(0)
    try:
        amount = parse_amount(value)
    except Invalid as exc:
        problems.extend(exc.problems)
        return Decimal(0)
    if amount <= 0:
        problems.append("amount must be a positive number")
    elif amount > MAX_AMOUNT:
        problems.append(f"amount must not be greater than {MAX_AMOUNT}")
    elif -amount.as_tuple().exponent > 2:  # type: ignore[operator]  # finite: int exponent
        problems.append("amount must have at most 2 decimal places")
    return amount


def _url(body: Mapping[str, object], name: str, problems: list[str]) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        problems.append(f"{name} must be a URL address")
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        problems.append(f"{name} must be a URL address")
    return value


def _billing(value: object, problems: list[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        problems.append("billingInformation must be an object")
        return {}
    for name in _BILLING_FIELDS:
        if name in value and not isinstance(value[name], str):
            problems.append(f"billingInformation.{name} must be a string")
    address = value.get("address")
    if address is not None:
        if not isinstance(address, dict):
            problems.append("billingInformation.address must be an object")
        else:
            for name in _ADDRESS_FIELDS:
                if name in address and not isinstance(address[name], str):
                    problems.append(f"billingInformation.address.{name} must be a string")
    return value
