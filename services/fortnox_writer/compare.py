"""Does the document Fortnox holds match the desired one? Numbers compare as Decimals."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["differences", "norm"]

# Fields the writer sets on a document header and therefore compares.
_HEADER = ("CustomerNumber", "Currency", "YourReference", "OurReference", "ExternalInvoiceReference1",
           "YourReferenceNumber",
           "VATIncluded", "Freight", "AdministrationFee", "Remarks")


def norm(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value)).normalize()
    if isinstance(value, str):
        try:
            return Decimal(value).normalize()
        except InvalidOperation:
            return value.strip()
    return value


def differences(current: dict[str, Any], desired: dict[str, Any], rows_field: str) -> list[str]:
    out: list[str] = []
    for key in _HEADER:
        if key in desired and norm(desired[key]) != norm(current.get(key)):
            out.append(f"{key}: {current.get(key)!r} -> {desired[key]!r}")
    want = desired.get(rows_field) or []
    have = current.get(rows_field) or []
    if len(want) != len(have):
        out.append(f"{rows_field}: {len(have)} rows -> {len(want)} rows")
        return out
    for i, (w, h) in enumerate(zip(want, have, strict=True)):
        for key, value in w.items():
            if norm(value) != norm(h.get(key)):
                out.append(f"{rows_field}[{i}].{key}: {h.get(key)!r} -> {value!r}")
    return out
