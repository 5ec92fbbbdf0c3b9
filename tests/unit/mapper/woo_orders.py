"""Building WooCommerce orders the way WooCommerce computes them (per-line tax rounding, coupons
spread over the items, prices with or without VAT), for example tests and property tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

ORE = Decimal("0.01")


def r2(value: Decimal) -> Decimal:
    return value.quantize(ORE, rounding=ROUND_HALF_UP)


def tax_of(amount: Decimal, rate: Decimal, *, inclusive: bool) -> Decimal:
    return r2(amount * rate / (100 + rate)) if inclusive else r2(amount * rate / 100)


RATE_IDS = {Decimal(25): 1, Decimal(12): 2, Decimal(6): 3, Decimal(0): 4, Decimal("7.5"): 75, Decimal(19): 19}


@dataclass
class Item:
    name: str
    sku: str
    quantity: int
    unit: Decimal  # as the shop enters it: with VAT when prices include tax
    rate: Decimal
    discount_percent: Decimal = Decimal(0)
    tax_class: str = ""


@dataclass
class Extra:
    """A shipping or fee line: `amount` as the shop enters it."""

    name: str
    amount: Decimal
    rate: Decimal


@dataclass
class OrderSpec:
    items: list[Item]
    prices_include_tax: bool = False
    shipping: list[Extra] = field(default_factory=list)
    fees: list[Extra] = field(default_factory=list)
    country: str = "SE"
    vat_number: str | None = None
    currency: str = "SEK"
    date: str = "2026-05-12T10:15:00"
    status: str = "processing"
    order_id: int = 4711
    # Shipping VAT follows the goods: each shipping line's net is split over the items' rates in
    # proportion to their nets (what Swedish shipping-VAT plugins do), one tax per rate.
    shipping_follows_goods: bool = False


def _amounts(gross_or_net: Decimal, rate: Decimal, inclusive: bool) -> tuple[Decimal, Decimal]:
    """(net, tax) of an amount the shop entered."""
    tax = tax_of(gross_or_net, rate, inclusive=inclusive)
    return (gross_or_net - tax if inclusive else gross_or_net), tax


def _taxes(rate: Decimal, tax: Decimal, subtotal_tax: Decimal | None = None) -> list[dict[str, Any]]:
    if rate == 0 and tax == 0:
        return []
    return [{"id": RATE_IDS[rate], "total": str(tax),
             "subtotal": str(subtotal_tax if subtotal_tax is not None else tax)}]


def _split(amount: Decimal, weights: dict[Decimal, Decimal]) -> dict[Decimal, Decimal]:
    total = sum(weights.values(), Decimal(0))
    parts = {r: r2(amount * w / total) for r, w in weights.items()}
    last = max(parts, key=lambda r: weights[r])
    parts[last] += amount - sum(parts.values(), Decimal(0))
    return parts


def build_order(spec: OrderSpec) -> dict[str, Any]:
    inclusive = spec.prices_include_tax
    line_items: list[dict[str, Any]] = []
    per_rate: dict[Decimal, dict[str, Decimal]] = {}
    total = Decimal(0)
    for n, item in enumerate(spec.items):
        entered = item.unit * item.quantity
        list_net, list_tax = _amounts(entered, item.rate, inclusive)
        discounted = entered - r2(entered * item.discount_percent / 100)
        net, tax = _amounts(discounted, item.rate, inclusive)
        line_items.append({
            "id": 1000 + n, "name": item.name, "product_id": 500 + n, "variation_id": 0, "quantity": item.quantity,
            "tax_class": item.tax_class, "subtotal": str(list_net), "subtotal_tax": str(list_tax), "total": str(net),
            "total_tax": str(tax), "taxes": _taxes(item.rate, tax, list_tax), "meta_data": [], "sku": item.sku,
            "price": float(net / item.quantity),
        })
        per_rate.setdefault(item.rate, {"tax": Decimal(0), "shipping": Decimal(0)})["tax"] += tax
        total += net + tax
    shipping_lines = []
    goods: dict[Decimal, Decimal] = {}
    for line, item in zip(line_items, spec.items, strict=True):
        goods[item.rate] = goods.get(item.rate, Decimal(0)) + Decimal(line["total"])
    for n, ship in enumerate(spec.shipping):
        if spec.shipping_follows_goods and sum(goods.values()) > 0 and len(goods) > 1:
            parts = _split(ship.amount, goods)
            taxes = [{"id": RATE_IDS[r], "total": str(tax_of(part, r, inclusive=False)), "subtotal": ""}
                     for r, part in parts.items() if r != 0]
            net, tax = ship.amount, sum((Decimal(t["total"]) for t in taxes), Decimal(0))
            for r, part in parts.items():
                per_rate.setdefault(r, {"tax": Decimal(0), "shipping": Decimal(0)})["shipping"] += tax_of(
                    part, r, inclusive=False)
        else:
            net, tax = _amounts(ship.amount, ship.rate, inclusive)
            taxes = _taxes(ship.rate, tax)
            per_rate.setdefault(ship.rate, {"tax": Decimal(0), "shipping": Decimal(0)})["shipping"] += tax
        shipping_lines.append({"id": 2000 + n, "method_title": ship.name, "method_id": "flat_rate", "total": str(net),
                               "total_tax": str(tax), "taxes": taxes, "meta_data": []})
        total += net + tax
    fee_lines = []
    for n, fee in enumerate(spec.fees):
        net, tax = _amounts(fee.amount, fee.rate, inclusive)
        fee_lines.append({"id": 3000 + n, "name": fee.name, "tax_class": "", "tax_status": "taxable",
                          "total": str(net), "total_tax": str(tax), "taxes": _taxes(fee.rate, tax), "meta_data": []})
        per_rate.setdefault(fee.rate, {"tax": Decimal(0), "shipping": Decimal(0)})["tax"] += tax
        total += net + tax
    tax_lines = [
        {"id": 5000 + RATE_IDS[rate], "rate_code": f"SE-MOMS {rate}", "rate_id": RATE_IDS[rate], "label": f"{rate} %",
         "compound": False, "tax_total": str(v["tax"]), "shipping_tax_total": str(v["shipping"]),
         "rate_percent": float(rate), "meta_data": []}
        for rate, v in per_rate.items() if rate != 0
    ]
    total_tax = sum((v["tax"] + v["shipping"] for v in per_rate.values()), Decimal(0))
    billing = {"first_name": "Anna", "last_name": "Svensson", "company": "", "address_1": "Storgatan 1",
               "address_2": "", "city": "Göteborg", "state": "", "postcode": "411 05", "country": spec.country,
               "email": "anna@example.se", "phone": ""}
    meta = [{"id": 1, "key": "_billing_vat_number", "value": spec.vat_number}] if spec.vat_number else []
    return {
        "id": spec.order_id, "number": str(spec.order_id), "status": spec.status, "currency": spec.currency,
        "date_created": spec.date, "date_created_gmt": spec.date, "date_modified": spec.date,
        "date_modified_gmt": spec.date, "prices_include_tax": inclusive, "customer_id": 17,
        "total": str(total), "total_tax": str(total_tax), "billing": billing, "shipping": dict(billing),
        "payment_method": "klarna", "date_paid_gmt": spec.date, "meta_data": meta, "customer_note": "",
        "line_items": line_items, "tax_lines": tax_lines, "shipping_lines": shipping_lines, "fee_lines": fee_lines,
        "coupon_lines": [], "refunds": [],
    }


def line_refund(order: dict[str, Any], refund_id: int, line_index: int, quantity: int) -> dict[str, Any]:
    """Refund `quantity` of one item, with WooCommerce's proportional amounts (as GET .../refunds)."""
    item = order["line_items"][line_index]
    share = Decimal(quantity) / Decimal(item["quantity"])
    net = r2(Decimal(item["total"]) * share)
    tax = r2(Decimal(item["total_tax"]) * share)
    taxes = [{"id": t["id"], "total": str(-tax), "subtotal": str(-tax)} for t in item["taxes"]]
    return {
        "id": refund_id, "reason": "trasig", "total": str(-(net + tax)), "date_created": order["date_created"],
        "line_items": [{"id": 9000 + refund_id, "name": item["name"], "product_id": item["product_id"],
                        "variation_id": 0, "quantity": -quantity, "subtotal": str(-net), "subtotal_tax": str(-tax),
                        "total": str(-net), "total_tax": str(-tax), "taxes": taxes, "sku": item["sku"],
                        "meta_data": [{"key": "_refunded_item_id", "value": str(item["id"])}]}],
    }
