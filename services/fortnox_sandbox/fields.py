"""Reading request values the way Fortnox does: numbers as number or string, "API_BLANK" clears a field.

Fortnox API reference (https://apps.fortnox.se/apidocs): send the string "API_BLANK" to clear a field;
quantities
are strings in Fortnox's documents ("10.00") but numbers are accepted on the way in.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from services.fortnox_sandbox.errors import NOT_BOOLEAN, NOT_NUMERIC, bad_request

__all__ = ["BLANK", "as_bool", "as_decimal", "as_int", "quantity_text", "today", "wrapped"]

BLANK = "API_BLANK"


def as_decimal(value: Any, name: str, default: Decimal | None = None) -> Decimal:
    if value is None or value == "" or value == BLANK:
        if default is None:
            return Decimal(0)
        return default
    if isinstance(value, bool):
        raise bad_request(f"Ogiltigt värde för {name}: inte numeriskt", NOT_NUMERIC)
    try:
        return Decimal(str(value).replace(",", ".")) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise bad_request(f"Ogiltigt värde för {name}: inte numeriskt", NOT_NUMERIC) from None


def as_int(value: Any, name: str) -> int:
    number = as_decimal(value, name)
    if number != number.to_integral_value():
        raise bad_request(f"Ogiltigt värde för {name}: inte ett heltal", NOT_NUMERIC)
    return int(number)


def as_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise bad_request(f"Ogiltigt värde för {name}: inte booleskt", NOT_BOOLEAN)


def quantity_text(value: Decimal) -> str:
    return f"{value:.2f}"


def wrapped(body: Any, key: str) -> dict[str, Any]:
    """The object inside Fortnox's wrapper (`{"Order": {...}}`); a missing wrapper is an empty body."""
    from services.fortnox_sandbox.errors import EMPTY_BODY

    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise bad_request(f"Felaktig eller tom begäran: {key} saknas", EMPTY_BODY)
    inner: dict[str, Any] = body[key]
    return inner


def today() -> date:
    """The sandbox's date of today (UTC; Fortnox's own day is Swedish time, a few hours off at most)."""
    return datetime.now(UTC).date()
