"""Money and rounding: the one place that says how amounts are read, rounded and totalled.

WooCommerce sends amounts as strings ("29.35"); `line_items[].price` is an unrounded float and is
never booked from (WooCommerce REST API docs,
https://woocommerce.github.io/woocommerce-rest-api-docs/#orders). Everything here is `Decimal`.

Fortnox computes a document's totals itself from its rows (Fortnox API reference,
https://apps.fortnox.se/apidocs, Invoices: Total, TotalVAT, Net and RoundOff are read-only). woonox fixes
that arithmetic here, the same as the emulator
(services/fortnox_sandbox/arithmetic.py, from a real Fortnox invoice; a unit test holds the two
together):

    row amount    = round(Price × quantity − Discount)       Discount AMOUNT is off the whole row;
                                                              PERCENT takes Price × q × p %
    VAT of rate r = round(Σ row amounts at r × r / 100)       VATIncluded false
                  = round(Σ row amounts at r × r / (100 + r)) VATIncluded true (amounts are gross)
    TotalVAT      = Σ VAT per rate
    Net           = Σ row amounts (VATIncluded false)  /  Σ row amounts − TotalVAT (true)
    RoundOff      = round_to_krona(Net + TotalVAT) − (Net + TotalVAT), with whole-kronor rounding
                    only; never part of VAT (RoundOff is read-only in Fortnox's API reference;
                    the rule itself is undocumented, so it is a setting)
    Total         = Net + TotalVAT + RoundOff

`round` is half-up to the öre. VAT is rounded once per rate, where WooCommerce rounds each line's
tax: the two can differ by an öre or two, which `services.mapper.documents` settles with an
öresutjämning (rounding) row pair, so total and VAT per rate still match WooCommerce exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from libs.common.errors import PermanentError

__all__ = [
    "HUNDRED",
    "MAX_AMOUNT",
    "MAX_QUANTITY",
    "ORE",
    "ZERO",
    "DocumentTotals",
    "amount_of",
    "balancing_shift",
    "document_totals",
    "money",
    "ore",
    "ore_up",
    "quantity",
    "quantity_of",
    "rate_vat",
    "row_amount",
]

ZERO = Decimal(0)
ORE = Decimal("0.01")
HUNDRED = Decimal(100)
KRONA = Decimal(1)
# Bounds past anything a shop sells, so that "1e30" (a valid string amount, which JSON-level checks at
# the edge never see) is refused here at once instead of reaching Fortnox (issue 16). Fortnox's own
# fields are far narrower; these only keep absurd input out of the arithmetic and the writer.
MAX_AMOUNT = Decimal(10) ** 12  # SEK (or the order's currency): a thousand billion
MAX_QUANTITY = Decimal(10) ** 9  # units on one row


def money(value: Any, what: str = "amount") -> Decimal:
    """Read a WooCommerce amount. Empty strings and None are zero (tax strings may be empty)."""
    if value is None or value == "":
        return ZERO
    if isinstance(value, bool):
        raise PermanentError(f"{what} is not an amount: {value!r}", code="bad-amount")
    if isinstance(value, Decimal):
        amount = value  # the mapper's own rows carry Decimals: bounded all the same
    else:
        try:
            # A float (only rate_percent and the unused `price` come as numbers) goes through its
            # shortest repr, which is the decimal text WooCommerce printed.
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            raise PermanentError(f"{what} is not an amount: {value!r}", code="bad-amount") from None
    if not amount.is_finite():  # NaN and Infinity parse, then break every sum (issue 16)
        raise PermanentError(f"{what} is not an amount: {value!r}", code="bad-amount")
    if abs(amount) >= MAX_AMOUNT:
        raise PermanentError(f"{what} {value!r} is out of range (|amount| must be below {MAX_AMOUNT:,})",
                             code="bad-amount")
    return amount


def quantity(value: Any, what: str = "quantity") -> Decimal:
    """Read a quantity: an amount (same parsing and refusals) that is also below MAX_QUANTITY."""
    number = money(value, what)
    if abs(number) >= MAX_QUANTITY:
        raise PermanentError(f"{what} {value!r} is out of range (|quantity| must be below {MAX_QUANTITY:,})",
                             code="bad-amount")
    return number


def ore(value: Decimal) -> Decimal:
    """Round half-up to the öre."""
    return value.quantize(ORE, rounding=ROUND_HALF_UP)


def ore_up(value: Decimal) -> Decimal:
    return value.quantize(ORE, rounding=ROUND_CEILING)


def row_amount(price: Decimal, quantity: Decimal, discount: Decimal = ZERO, discount_type: str = "AMOUNT") -> Decimal:
    gross = price * quantity
    if discount_type == "PERCENT":
        return ore(gross - gross * discount / HUNDRED)
    return ore(gross - discount)


@dataclass
class DocumentTotals:
    """What Fortnox shows for a document: the figures the check table compares with WooCommerce."""

    net: Decimal = ZERO
    vat: Decimal = ZERO
    round_off: Decimal = ZERO
    vat_by_rate: dict[Decimal, Decimal] = field(default_factory=dict)
    amount_by_rate: dict[Decimal, Decimal] = field(default_factory=dict)
    amount_by_account: dict[int, Decimal] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return self.net + self.vat + self.round_off

    @property
    def total_before_round_off(self) -> Decimal:
        return self.net + self.vat


def rate_vat(amount: Decimal, rate: Decimal, *, vat_included: bool) -> Decimal:
    """The VAT of one rate, from the sum of that rate's row amounts (never "-0.00")."""
    if vat_included:
        return ore(amount * rate / (HUNDRED + rate)) + ZERO
    return ore(amount * rate / HUNDRED) + ZERO


def quantity_of(row: Mapping[str, Any]) -> Decimal:
    for key in ("DeliveredQuantity", "Quantity", "OrderedQuantity"):
        if key in row:
            return quantity(row[key], key)
    return Decimal(1)


def amount_of(row: Mapping[str, Any]) -> Decimal:
    return row_amount(
        money(row.get("Price"), "Price"),
        quantity_of(row),
        money(row.get("Discount"), "Discount"),
        str(row.get("DiscountType") or "AMOUNT"),
    )


def document_totals(
    rows: Iterable[Mapping[str, Any]], *, vat_included: bool, whole_kronor: bool = False
) -> DocumentTotals:
    """Fortnox's totals of a document, computed from its rows as Fortnox does (module docstring)."""
    totals = DocumentTotals()
    for row in rows:
        amount = amount_of(row)
        rate = money(row.get("VAT"), "VAT")
        totals.amount_by_rate[rate] = totals.amount_by_rate.get(rate, ZERO) + amount
        account = int(row.get("AccountNumber") or 0)
        totals.amount_by_account[account] = totals.amount_by_account.get(account, ZERO) + amount
    for rate, amount in totals.amount_by_rate.items():
        totals.vat_by_rate[rate] = rate_vat(amount, rate, vat_included=vat_included)
    totals.vat = sum(totals.vat_by_rate.values(), ZERO)
    gross = sum(totals.amount_by_rate.values(), ZERO)
    totals.net = gross - totals.vat if vat_included else gross
    if whole_kronor:
        before = totals.total_before_round_off
        totals.round_off = before.quantize(KRONA, rounding=ROUND_HALF_UP) - before
    return totals


def balancing_shift(amount: Decimal, rate: Decimal, target_vat: Decimal, *, vat_included: bool) -> Decimal | None:
    """The smallest shift s (in öre) with rate_vat(amount − s) == target_vat, or None.

    Moving s from rate r to a 0 % row keeps the document's total and brings the VAT of rate r to
    WooCommerce's per-line-rounded figure. A shift is only sought within a few öre of VAT."""
    if rate == ZERO:
        return ZERO if target_vat == ZERO else None
    divisor = rate / (HUNDRED + rate) if vat_included else rate / HUNDRED
    centre = ((amount * divisor - target_vat) / divisor).quantize(ORE)
    reach = int((ORE / divisor / ORE).to_integral_value(rounding=ROUND_CEILING)) + 2
    candidates = sorted((centre + ORE * k for k in range(-reach, reach + 1)), key=abs)
    for shift in candidates:
        if rate_vat(amount - shift, rate, vat_included=vat_included) == target_vat:
            return shift
    return None
