"""Fortnox's document arithmetic: row totals, Net, VAT per rate, TotalVAT, RoundOff and Total.

As a real Fortnox invoice shows it (Net 1590 + Freight 95 + TotalVAT 421.25 = 2106.25, Total 2106,
RoundOff -0.25): VAT is computed per rate on the sum of that rate's row totals (freight and
administration fee carry their own VAT, FreightVAT / AdministrationFeeVAT, inside TotalVAT); RoundOff
only rounds Total to whole kronor when the company rounds, and never enters VAT (Fortnox API
reference, https://apps.fortnox.se/apidocs, Invoices: RoundOff is read-only; the rule itself is undocumented).
With VATIncluded the row prices include VAT, and the VAT of each rate
is taken out of that rate's gross sum: gross × r / (100 + r).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

__all__ = ["Line", "Totals", "compute", "money", "row_total"]

CENT = Decimal("0.01")
ZERO = Decimal("0")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Line:
    quantity: Decimal
    price: Decimal
    discount: Decimal
    discount_type: str  # PERCENT | AMOUNT
    vat: Decimal


def row_total(line: Line) -> Decimal:
    """Quantity × price less the discount, to the öre. An AMOUNT discount is taken off the row total."""
    gross = line.quantity * line.price
    if line.discount_type == "AMOUNT":
        return money(gross - line.discount)
    return money(gross * (Decimal(100) - line.discount) / Decimal(100))


@dataclass
class Totals:
    rows: list[Decimal]  # each row's Total
    gross: Decimal  # sum of row totals as entered (excl. VAT unless VATIncluded)
    net: Decimal  # rows excl. VAT
    freight_vat: Decimal
    administration_fee_vat: Decimal
    total_vat: Decimal
    round_off: Decimal
    total: Decimal
    vat_by_rate: dict[Decimal, Decimal] = field(default_factory=dict)
    base_by_rate: dict[Decimal, Decimal] = field(default_factory=dict)


def compute(lines: list[Line], *, freight: Decimal = ZERO, freight_vat_rate: Decimal = Decimal(25),
            administration_fee: Decimal = ZERO, fee_vat_rate: Decimal = Decimal(25), vat_included: bool = False,
            rounding: bool = False) -> Totals:
    rows = [row_total(line) for line in lines]
    amounts: dict[Decimal, Decimal] = {}
    for line, total in zip(lines, rows, strict=True):
        amounts[line.vat] = amounts.get(line.vat, ZERO) + total
    extras = [(freight, freight_vat_rate), (administration_fee, fee_vat_rate)]
    for amount, rate in extras:
        if amount:
            amounts[rate] = amounts.get(rate, ZERO) + amount
    vat_by_rate: dict[Decimal, Decimal] = {}
    base_by_rate: dict[Decimal, Decimal] = {}
    for rate, amount in amounts.items():
        if vat_included:
            vat = money(amount * rate / (Decimal(100) + rate))
            base_by_rate[rate] = amount - vat
        else:
            vat = money(amount * rate / Decimal(100))
            base_by_rate[rate] = amount
        vat_by_rate[rate] = vat
    freight_vat, fee_vat = (_vat_of(a, r, vat_included) for a, r in extras)
    total_vat = sum(vat_by_rate.values(), ZERO)
    gross = sum(rows, ZERO)
    rows_vat = total_vat - freight_vat - fee_vat
    net = gross - rows_vat if vat_included else gross
    exact = sum(base_by_rate.values(), ZERO) + total_vat
    total = exact.quantize(Decimal(1), rounding=ROUND_HALF_UP) if rounding else exact
    return Totals(rows, gross, net, freight_vat, fee_vat, total_vat, total - exact, total, vat_by_rate, base_by_rate)


def _vat_of(amount: Decimal, rate: Decimal, vat_included: bool) -> Decimal:
    if not amount:
        return ZERO
    return money(amount * rate / (Decimal(100) + rate)) if vat_included else money(amount * rate / Decimal(100))
