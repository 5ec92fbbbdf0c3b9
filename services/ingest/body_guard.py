"""Hostile but correctly signed bodies, refused at the edge with 400 before anything is published
(issue 16): JSON nested deeper than any WooCommerce resource, non-finite numbers (`NaN`, `Infinity`,
`1e999999`, which Python's json accepts but Decimal arithmetic downstream cannot use), and numbers
no quantity, amount or id reaches."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

__all__ = ["MAX_MAGNITUDE", "HostileBody", "check"]

MAX_MAGNITUDE = Decimal(10) ** 15  # above any amount in SEK, quantity, or WooCommerce id


class HostileBody(ValueError):
    pass


def _number(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise HostileBody(f"not a number: {text[:40]!r}") from None
    if not value.is_finite() or abs(value) >= MAX_MAGNITUDE:
        raise HostileBody(f"number out of range: {text[:40]!r}")
    return value


def _constant(name: str) -> float:
    raise HostileBody(f"non-finite number {name} in the body")


def check(body: bytes) -> None:
    """Raise HostileBody with the reason; a body that is simply not JSON is left to `classify`."""
    try:
        json.loads(body, parse_float=_number, parse_int=_number, parse_constant=_constant)
    except HostileBody:
        raise
    except RecursionError:
        # json's C scanner stops at the interpreter's recursion limit (about 1,000 levels); no
        # WooCommerce resource is more than a handful deep.
        raise HostileBody("JSON nested too deep") from None
    except ValueError:
        return
