"""WooCommerce-shaped objects (REST API v3) the emulator serves: orders, products, variations,
customers, refunds and notes. Amounts are strings as WooCommerce sends them (computed in Decimal);
`line_items[].price` is a number, as in WooCommerce (WooCommerce REST API docs, https://woocommerce.github.io/woocommerce-rest-api-docs/#orders)."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = ["SWEDISH_RATES", "TaxRates", "customer", "money", "note", "order", "php_json", "product", "refund"]

CENT = Decimal("0.01")


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def php_json(data: Any) -> bytes:
    """JSON as WooCommerce's webhook bodies are: PHP's default `json_encode` (compact, non-ASCII as
    \\uXXXX, `/` escaped as `\\/`). The real shop's 220 JSON bodies are byte-identical to this."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/").encode()


def _address(first: str, last: str, email: str | None = None) -> dict[str, Any]:
    address: dict[str, Any] = {
        "first_name": first, "last_name": last, "company": "", "address_1": "Storgatan 1", "address_2": "",
        "city": "Göteborg", "state": "", "postcode": "411 05", "country": "SE",
    }
    if email is not None:
        address.update(email=email, phone="+46 31 123 45 67")
    return address


def customer(customer_id: int, email: str, first: str, last: str, stamp: str) -> dict[str, Any]:
    return {
        "id": customer_id, "date_created": stamp, "date_created_gmt": stamp, "date_modified": stamp,
        "date_modified_gmt": stamp, "email": email, "first_name": first, "last_name": last, "role": "customer",
        "username": email.split("@")[0], "billing": _address(first, last, email), "shipping": _address(first, last),
        "is_paying_customer": False, "avatar_url": "", "meta_data": [],
    }


# tax class -> (WooCommerce tax rate id, percent): the real shop's Swedish rates. The slug
# "zero-rate" holds 6 %: a rate is never inferred from a class slug.
TaxRates = dict[str, tuple[int, Decimal]]
SWEDISH_RATES: TaxRates = {"": (1, Decimal(25)), "reduced-rate": (2, Decimal(12)), "zero-rate": (3, Decimal(6))}


def product(product_id: int, name: str, sku: str, price: Decimal, stock: int | None, stamp: str, *,
            type: str = "simple", parent_id: int = 0, tax_class: str = "") -> dict[str, Any]:
    return {
        "id": product_id, "name": name, "slug": name.lower().replace(" ", "-"), "type": type, "status": "publish",
        "parent_id": parent_id, "date_created": stamp, "date_created_gmt": stamp, "date_modified": stamp,
        "date_modified_gmt": stamp, "sku": sku, "price": money(price), "regular_price": money(price),
        "sale_price": "", "tax_status": "taxable", "tax_class": tax_class, "manage_stock": stock is not None,
        "stock_quantity": stock, "stock_status": "instock" if (stock is None or stock > 0) else "outofstock",
        "variations": [], "attributes": [], "meta_data": [],
    }


def _tax_lines(tax_by_class: dict[str, Decimal], rates: TaxRates) -> list[dict[str, Any]]:
    return [{"id": rates[c][0] + 4, "rate_code": f"SE-MOMS {rates[c][1]}%-1", "rate_id": rates[c][0],
             "label": f"Moms {rates[c][1]}%", "compound": False, "tax_total": money(t), "shipping_tax_total": "0.00",
             "rate_percent": int(rates[c][1]), "meta_data": []} for c, t in tax_by_class.items()]


def order(order_id: int, customer: dict[str, Any] | None, lines: list[tuple[dict[str, Any], int]], stamp: str,
          *, status: str = "processing", rates: TaxRates | None = None) -> dict[str, Any]:
    """An order whose prices include VAT at each product's own rate, tax rounded per line like
    WooCommerce (`tax_round_at_subtotal` off)."""
    rates = rates or SWEDISH_RATES
    items: list[dict[str, Any]] = []
    tax_by_class: dict[str, Decimal] = {}
    total = tax_total = Decimal(0)
    for n, (prod, quantity) in enumerate(lines, start=1):
        tax_class = str(prod.get("tax_class") or "")
        rate_id, percent = rates.get(tax_class, rates[""])
        gross = Decimal(prod["regular_price"]) * quantity
        net = (gross / (1 + percent / 100)).quantize(CENT, rounding=ROUND_HALF_UP)
        tax = gross - net
        total, tax_total = total + gross, tax_total + tax
        tax_by_class[tax_class] = tax_by_class.get(tax_class, Decimal(0)) + tax
        items.append({
            "id": order_id * 100 + n, "name": prod["name"], "product_id": prod["parent_id"] or prod["id"],
            "variation_id": prod["id"] if prod["parent_id"] else 0, "quantity": quantity, "tax_class": tax_class,
            "subtotal": money(net), "subtotal_tax": money(tax), "total": money(net), "total_tax": money(tax),
            "taxes": [{"id": rate_id, "total": money(tax), "subtotal": money(tax)}],
            "meta_data": [{"id": order_id * 100 + n, "key": "_reduced_stock", "value": str(quantity),
                           "display_key": "_reduced_stock", "display_value": str(quantity)}]
            if prod.get("manage_stock") else [],
            "sku": prod["sku"], "price": float(net / quantity),
        })
    first, last, email = ("Gäst", "Kund", "guest@example.se") if customer is None else (
        customer["first_name"], customer["last_name"], customer["email"])
    return {
        "id": order_id, "parent_id": 0, "number": str(order_id), "order_key": f"wc_order_{order_id:08d}",
        "created_via": "rest-api", "version": "10.0.2", "status": status, "currency": "SEK",
        "date_created": stamp, "date_created_gmt": stamp, "date_modified": stamp, "date_modified_gmt": stamp,
        "discount_total": "0.00", "discount_tax": "0.00", "shipping_total": "0.00", "shipping_tax": "0.00",
        "cart_tax": money(tax_total), "total": money(total), "total_tax": money(tax_total),
        "prices_include_tax": True, "customer_id": customer["id"] if customer else 0, "customer_note": "",
        "billing": _address(first, last, email), "shipping": _address(first, last),
        "payment_method": "bacs", "payment_method_title": "Banköverföring", "transaction_id": "",
        "date_paid": stamp, "date_paid_gmt": stamp, "date_completed": None, "date_completed_gmt": None,
        "meta_data": [], "line_items": items, "tax_lines": _tax_lines(tax_by_class, rates),
        "shipping_lines": [], "fee_lines": [], "coupon_lines": [], "refunds": [],
    }


def refund(refund_id: int, order: dict[str, Any], parts: list[tuple[dict[str, Any], int, Decimal, Decimal]],
           amount: Decimal, reason: str, stamp: str, rates: TaxRates | None = None) -> dict[str, Any]:
    """A refund as `GET /orders/{id}/refunds` gives it (WooCommerce's refunds controller): its own
    lines with negative quantities and totals, each line's taxes, and `tax_lines` per rate.
    `parts` is (order line, quantity, net, tax) per refunded line."""
    rates = rates or SWEDISH_RATES
    items: list[dict[str, Any]] = []
    tax_by_class: dict[str, Decimal] = {}
    for n, (line, quantity, net, tax) in enumerate(parts, start=1):
        tax_class = str(line.get("tax_class") or "")
        rate_id = rates.get(tax_class, rates[""])[0]
        tax_by_class[tax_class] = tax_by_class.get(tax_class, Decimal(0)) - tax
        items.append({
            "id": refund_id * 100 + n, "name": line["name"], "product_id": line["product_id"],
            "variation_id": line["variation_id"], "quantity": -quantity, "tax_class": tax_class,
            "subtotal": money(-net), "subtotal_tax": money(-tax), "total": money(-net), "total_tax": money(-tax),
            "taxes": [{"id": rate_id, "total": money(-tax), "subtotal": money(-tax)}],
            "meta_data": [{"id": refund_id * 100 + n, "key": "_refunded_item_id", "value": str(line["id"]),
                           "display_key": "_refunded_item_id", "display_value": str(line["id"])}],
            "sku": line.get("sku", ""), "price": float(-net / quantity) if quantity else 0.0,
        })
    return {"id": refund_id, "date_created": stamp, "date_created_gmt": stamp, "amount": money(amount),
            "reason": reason, "refunded_by": 1, "refunded_payment": False, "meta_data": [], "line_items": items,
            "shipping_lines": [], "tax_lines": _tax_lines(tax_by_class, rates), "fee_lines": []}


def note(note_id: int, text: str, customer_note: bool, stamp: str) -> dict[str, Any]:
    return {"id": note_id, "author": "woonox", "date_created": stamp, "date_created_gmt": stamp, "note": text,
            "customer_note": customer_note}
