"""JSON with money intact: Decimals travel as JSON numbers with their exact digits, and numbers
with a fraction come back as Decimals. Fortnox types amounts as JSON numbers; the standard
library would only write them through float, and pydantic writes Decimals as strings."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

__all__ = ["dumps", "loads"]


def dumps(obj: Any) -> bytes:
    marker = uuid.uuid4().hex
    numbers: list[str] = []

    def default(value: Any) -> Any:
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise ValueError(f"not a finite amount: {value}")
            numbers.append(format(value, "f"))
            return f"{marker}{len(numbers) - 1}"
        if isinstance(value, datetime | date):
            return value.isoformat()
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    text = json.dumps(obj, default=default, separators=(",", ":"), ensure_ascii=False)
    for index in range(len(numbers) - 1, -1, -1):
        text = text.replace(f'"{marker}{index}"', numbers[index])
    return text.encode()


def loads(data: bytes | str) -> Any:
    return json.loads(data, parse_float=Decimal)
