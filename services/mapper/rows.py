"""Document rows: one Fortnox row per WooCommerce line, with its own VAT rate and sales account.

A row reproduces its line to the öre under Fortnox's arithmetic (services.mapper.rounding):
Price is the unit price before coupons where that is a whole number of öre, and the coupon's share
of the line is the row's Discount (AMOUNT, for the whole row), so a shop owner sees the discount
where it was given; where the unit price is not a whole number of öre (3 for 251.89), Price is
rounded towards the line total and Discount takes the remaining öre.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, Literal

from libs.common.shop_settings import Region, ShopSettings
from services.mapper.accounts import sales_account
from services.mapper.article_numbers import article_number
from services.mapper.lines import Line
from services.mapper.rounding import ORE, ZERO

__all__ = ["QUANTITY_FIELDS", "ROWS_FIELD", "books_swedish_vat", "foreign_tax_rows", "line_amount",
           "price_and_discount", "rounding_rows", "rows_for", "vat_value"]

DocKind = Literal["order", "invoice", "offer"]
ROWS_FIELD: dict[str, str] = {"order": "OrderRows", "invoice": "InvoiceRows", "offer": "OfferRows"}
# An order row carries both: createinvoice invoices the delivered quantity (Fortnox API reference,
# https://apps.fortnox.se/apidocs, Orders).
QUANTITY_FIELDS: dict[str, tuple[str, ...]] = {
    "order": ("OrderedQuantity", "DeliveredQuantity"),
    "invoice": ("DeliveredQuantity",),
    "offer": ("Quantity",),
}
DESCRIPTION_MAX = 255  # openapi.json InvoiceRow.Description


def books_swedish_vat(region: Region) -> bool:
    """Reverse charge and export book no Swedish VAT (Mervärdesskattelag (2023:200); BAS accounts
    3108, 3105)."""
    return region in ("se", "eu_consumer")


def vat_value(rate: Decimal) -> int | Decimal:
    """Fortnox types InvoiceRow.VAT as an integer; a fractional (OSS) rate stays a Decimal."""
    return int(rate) if rate == rate.to_integral_value() else rate.normalize()


def price_and_discount(list_amount: Decimal, amount: Decimal, quantity: Decimal) -> tuple[Decimal, Decimal]:
    """(Price, Discount) with round(Price × quantity − Discount) == amount exactly and Discount ≥ 0."""
    if quantity > ZERO and list_amount >= amount >= ZERO:
        unit = list_amount / quantity
        if unit == unit.quantize(ORE):
            return unit, list_amount - amount
    unit = amount / quantity
    if unit == unit.quantize(ORE):
        return unit, ZERO
    # Round the unit price so that Price × quantity is at least the amount; the rest is discount.
    price = unit.quantize(ORE, rounding=ROUND_CEILING if quantity > ZERO else ROUND_FLOOR)
    return price, price * quantity - amount


def line_amount(line: Line, *, vat_included: bool, swedish_vat: bool) -> tuple[Decimal, Decimal]:
    """(list amount, amount) of a line as its row books them: gross with VATIncluded, else net.
    Without Swedish VAT the line's tax is not part of the row (it is foreign tax, booked apart)."""
    if vat_included and swedish_vat:
        return line.list_gross, line.gross
    return line.list_net, line.net


def _quantity_text(quantity: Decimal) -> str:
    return format(quantity.normalize(), "f")


def rows_for(
    lines: Sequence[Line],
    *,
    kind: DocKind,
    region: Region,
    settings: ShopSettings,
    vat_included: bool,
) -> list[dict[str, Any]]:
    swedish_vat = books_swedish_vat(region)
    rows: list[dict[str, Any]] = []
    for line in lines:
        rate = line.rate if swedish_vat else ZERO
        list_amount, amount = line_amount(line, vat_included=vat_included, swedish_vat=swedish_vat)
        price, discount = price_and_discount(list_amount, amount, line.quantity)
        row: dict[str, Any] = {}
        if line.kind == "item" and not line.free_text and (line.sku or not settings.documents.allow_free_text_rows):
            row["ArticleNumber"] = article_number(line.sku, product=_product_label(line))
        row["Description"] = line.name[:DESCRIPTION_MAX]
        for field in QUANTITY_FIELDS[kind]:
            row[field] = _quantity_text(line.quantity)
        row["Price"] = price
        if discount != ZERO:
            row["Discount"] = discount
            row["DiscountType"] = "AMOUNT"
        row["VAT"] = vat_value(rate)
        row["AccountNumber"] = sales_account(settings.accounts, region, rate, line.kind)
        rows.append(row)
    rows += foreign_tax_rows(lines, kind=kind, region=region, settings=settings)
    return rows


def foreign_tax_rows(
    lines: Sequence[Line], *, kind: DocKind, region: Region, settings: ShopSettings
) -> list[dict[str, Any]]:
    """Tax WooCommerce charged on a sale that books no Swedish VAT (a US state tax on an export):
    a debt to a foreign authority, so a 0 % row on the foreign-tax account keeps the total equal
    to what the customer paid."""
    if books_swedish_vat(region):
        return []
    by_rate: dict[Decimal, Decimal] = {}
    for line in lines:
        if line.tax != ZERO:
            by_rate[line.rate] = by_rate.get(line.rate, ZERO) + line.tax
    rows: list[dict[str, Any]] = []
    for rate, tax in sorted(by_rate.items()):
        row: dict[str, Any] = {"Description": f"Foreign sales tax {format(rate.normalize(), 'f')} %"}
        for field in QUANTITY_FIELDS[kind]:
            row[field] = "1"
        row.update({"Price": tax, "VAT": 0, "AccountNumber": settings.accounts.foreign_tax})
        rows.append(row)
    return rows


def _product_label(line: Line) -> str:
    ident = f"variation {line.variation_id} of product {line.product_id}" if line.variation_id else \
        f"product {line.product_id}"
    return f"{line.name!r} ({ident})"



def rounding_rows(
    shifts: dict[Decimal, Decimal], *, kind: DocKind, region: Region, settings: ShopSettings
) -> list[dict[str, Any]]:
    """Öresutjämning: move `shift` öre of rate r's amount to a 0 % row on the rounding account, so
    Fortnox's VAT per rate (rounded once per rate) equals WooCommerce's (rounded per line) while the
    total stays the same (services.mapper.rounding.balancing_shift)."""
    rows: list[dict[str, Any]] = []
    for rate, shift in sorted(shifts.items(), reverse=True):
        for price, vat, account in (
            (-shift, vat_value(rate), sales_account(settings.accounts, region, rate, "item")),
            (shift, 0, settings.accounts.rounding),
        ):
            row: dict[str, Any] = {"Description": f"Öresutjämning moms {format(rate.normalize(), 'f')} %"}
            for field in QUANTITY_FIELDS[kind]:
                row[field] = "1"
            row.update({"Price": price, "VAT": vat, "AccountNumber": account})
            rows.append(row)
    return rows
