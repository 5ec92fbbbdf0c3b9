"""JSON in and out with money as Decimal (never float) and numbers kept numbers on the wire."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

__all__ = ["dumps", "loads"]


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # repr(float) is the shortest text that round-trips, so a 2-decimal amount such as
        # Decimal("1234.56") is written as 1234.56 exactly; clients parse it back as Decimal.
        exponent = value.as_tuple().exponent
        return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(data: Any) -> bytes:
    return json.dumps(data, default=_default, ensure_ascii=False, separators=(",", ":")).encode()


def loads(raw: bytes | str) -> Any:
    return json.loads(raw, parse_float=Decimal)
