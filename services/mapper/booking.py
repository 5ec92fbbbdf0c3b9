"""Booking a set of WooCommerce lines as Fortnox rows that add up to WooCommerce's figures.

Used for an order's document and for each refund's credit. Fortnox rounds VAT once per rate
(services.mapper.rounding); WooCommerce rounds each line's tax. So the rows are laid out in the
convention that reproduces WooCommerce's VAT per rate, in this order of preference:

1. VATIncluded as the shop's prices are (`prices_include_tax`), one row per line;
2. the other convention, one row per line;
3. the shop's convention plus an öresutjämning row pair per rate that still differs (a few öre of
   that rate's amount moved to a 0 % row on the rounding account: total unchanged, VAT exact).

Only when none of these works (WooCommerce's own lines do not add up) is the result unbalanced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from libs.common.shop_settings import Region, ShopSettings
from services.mapper.lines import Line
from services.mapper.rounding import ZERO, DocumentTotals, balancing_shift, document_totals
from services.mapper.rows import DocKind, books_swedish_vat, rounding_rows, rows_for

__all__ = ["Booking", "book_lines", "woo_vat_by_rate"]


@dataclass
class Booking:
    rows: list[dict[str, Any]]
    vat_included: bool
    totals: DocumentTotals
    shifts: dict[Decimal, Decimal] = field(default_factory=dict)
    unbalanced: list[Decimal] = field(default_factory=list)  # rates whose VAT could not be matched


def woo_vat_by_rate(lines: Sequence[Line], region: Region) -> dict[Decimal, Decimal]:
    """WooCommerce's Swedish VAT per rate (none where the sale books no Swedish VAT)."""
    if not books_swedish_vat(region):
        return {}
    by_rate: dict[Decimal, Decimal] = {}
    for line in lines:
        by_rate[line.rate] = by_rate.get(line.rate, ZERO) + line.tax
    return by_rate


def _mismatches(totals: DocumentTotals, wanted: dict[Decimal, Decimal]) -> list[Decimal]:
    rates = set(wanted) | {r for r, v in totals.vat_by_rate.items() if v != ZERO}
    return sorted(r for r in rates if totals.vat_by_rate.get(r, ZERO) != wanted.get(r, ZERO))


def book_lines(
    lines: Sequence[Line],
    *,
    kind: DocKind,
    region: Region,
    settings: ShopSettings,
    prefer_vat_included: bool,
    fixed_convention: bool = False,
) -> Booking:
    """`fixed_convention`: keep `prefer_vat_included` (a credit follows its document's convention)."""
    wanted = woo_vat_by_rate(lines, region)
    whole_kronor = settings.rounding.whole_kronor
    first: Booking | None = None
    conventions = (prefer_vat_included,) if fixed_convention else (prefer_vat_included, not prefer_vat_included)
    for vat_included in conventions:
        rows = rows_for(lines, kind=kind, region=region, settings=settings, vat_included=vat_included)
        totals = document_totals(rows, vat_included=vat_included, whole_kronor=whole_kronor)
        booking = Booking(rows, vat_included, totals, unbalanced=_mismatches(totals, wanted))
        if not booking.unbalanced:
            return booking
        first = first or booking
    assert first is not None
    shifts: dict[Decimal, Decimal] = {}
    unbalanced: list[Decimal] = []
    for rate in first.unbalanced:
        shift = balancing_shift(first.totals.amount_by_rate.get(rate, ZERO), rate, wanted.get(rate, ZERO),
                                vat_included=first.vat_included)
        if shift is None or shift == ZERO:
            unbalanced.append(rate)
        else:
            shifts[rate] = shift
    rows = first.rows + rounding_rows(shifts, kind=kind, region=region, settings=settings)
    totals = document_totals(rows, vat_included=first.vat_included, whole_kronor=whole_kronor)
    return Booking(rows, first.vat_included, totals, shifts, unbalanced or _mismatches(totals, wanted))
