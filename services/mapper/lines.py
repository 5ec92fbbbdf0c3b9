"""Reading the money-bearing lines of a WooCommerce order: items, shipping and fees.

Each line keeps WooCommerce's own string amounts as Decimals: `subtotal` (before coupons) and
`total` (after coupons, which WooCommerce has already spread over the items, each at its own VAT
rate), both without VAT, and their taxes. Coupon lines carry no money of their own for booking:
the items already carry the discount (WooCommerce REST API docs, https://woocommerce.github.io/woocommerce-rest-api-docs/#orders).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from libs.common.errors import PermanentError
from services.mapper.accounts import RowKind
from services.mapper.rounding import ZERO, money
from services.mapper.vat import line_rate, rate_split, tax_line_rates

__all__ = ["Line", "order_lines"]


@dataclass(frozen=True)
class Line:
    kind: RowKind
    name: str
    quantity: Decimal
    list_net: Decimal  # before coupons, without VAT
    list_tax: Decimal
    net: Decimal  # what the customer pays, without VAT
    tax: Decimal
    rate: Decimal
    sku: str = ""
    product_id: int = 0
    variation_id: int = 0
    tax_class: str = ""
    method_id: str = ""
    woo_id: int = 0
    free_text: bool = False  # a row without article by nature (an amount-only refund)

    @property
    def gross(self) -> Decimal:
        return self.net + self.tax

    @property
    def list_gross(self) -> Decimal:
        return self.list_net + self.list_tax


def _quantity(value: Any, name: str) -> Decimal:
    try:
        quantity = Decimal(str(value))
    except ArithmeticError:
        raise PermanentError(f"line {name!r} has no valid quantity: {value!r}", code="bad-quantity") from None
    if quantity == ZERO:
        raise PermanentError(f"line {name!r} has quantity 0", code="bad-quantity")
    return quantity


def _extra_lines(kind: RowKind, name: str, line: Mapping[str, Any], rates: Mapping[int, Decimal | None],
                 **fields: Any) -> list[Line]:
    """A shipping or fee line: one Line, or one per rate when its VAT is split over rates."""
    net, tax = money(line.get("total"), f"{name} total"), money(line.get("total_tax"), f"{name} total_tax")
    taxes = line.get("taxes") or []
    woo_id = int(line.get("id") or 0)
    split = rate_split(taxes, rates, net, tax)
    if not split:
        return [Line(kind=kind, name=name, quantity=Decimal(1), list_net=net, list_tax=tax, net=net, tax=tax,
                     rate=line_rate(taxes, rates, net, tax), woo_id=woo_id, **fields)]
    return [Line(kind=kind, name=f"{name} ({format(rate.normalize(), 'f')} %)", quantity=Decimal(1),
                 list_net=share, list_tax=share_tax, net=share, tax=share_tax, rate=rate, woo_id=woo_id, **fields)
            for rate, share, share_tax in split]


def order_lines(order: Mapping[str, Any]) -> list[Line]:
    rates = tax_line_rates(order)
    lines: list[Line] = []
    for item in order.get("line_items") or []:
        # WooCommerce names are HTML-escaped ("Ship Your Idea &ndash; Black").
        name = html.unescape(str(item.get("name") or f"product {item.get('product_id')}"))
        net, tax = money(item.get("total"), f"{name} total"), money(item.get("total_tax"), f"{name} total_tax")
        list_net = money(item.get("subtotal"), f"{name} subtotal") if item.get("subtotal") not in (None, "") else net
        list_tax = (money(item.get("subtotal_tax"), f"{name} subtotal_tax")
                    if item.get("subtotal_tax") not in (None, "") else tax)
        lines.append(Line(
            kind="item", name=name, quantity=_quantity(item.get("quantity"), name),
            list_net=list_net, list_tax=list_tax, net=net, tax=tax,
            rate=line_rate(item.get("taxes") or [], rates, net, tax, list_net=list_net, list_tax=list_tax),
            sku=str(item.get("sku") or "").strip(), product_id=int(item.get("product_id") or 0),
            variation_id=int(item.get("variation_id") or 0), tax_class=str(item.get("tax_class") or ""),
            woo_id=int(item.get("id") or 0),
        ))
    for ship in order.get("shipping_lines") or []:
        name = html.unescape(str(ship.get("method_title") or "Frakt"))
        lines += _extra_lines("shipping", name, ship, rates, method_id=str(ship.get("method_id") or ""))
    for fee in order.get("fee_lines") or []:
        name = html.unescape(str(fee.get("name") or "Avgift"))
        lines += _extra_lines("fee", name, fee, rates, tax_class=str(fee.get("tax_class") or ""))
    return lines
