"""WooCommerce-shaped objects (REST API v3) the emulator serves: orders, products, variations,
customers, refunds and notes. Amounts are strings as WooCommerce sends them (computed in Decimal);
`line_items[].price` is a number, as in WooCommerce (WooCommerce REST API docs, https://woocommerce.github.io/woocommerce-rest-api-docs/#orders)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = ["customer", "money", "note", "order", "product", "refund"]

CENT = Decimal("0.01")


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


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


def product(product_id: int, name: str, sku: str, price: Decimal, stock: int | None, stamp: str, *,
            type: str = "simple", parent_id: int = 0) -> dict[str, Any]:
    return {
        "id": product_id, "name": name, "slug": name.lower().replace(" ", "-"), "type": type, "status": "publish",
        "parent_id": parent_id, "date_created": stamp, "date_created_gmt": stamp, "date_modified": stamp,
        "date_modified_gmt": stamp, "sku": sku, "price": money(price), "regular_price": money(price),
        "sale_price": "", "tax_status": "taxable", "tax_class": "", "manage_stock": stock is not None,
        "stock_quantity": stock, "stock_status": "instock" if (stock is None or stock > 0) else "outofstock",
        "variations": [], "attributes": [], "meta_data": [],
    }


def order(order_id: int, customer: dict[str, Any] | None, lines: list[tuple[dict[str, Any], int]], stamp: str,
          *, status: str = "processing", vat_percent: Decimal = Decimal(25)) -> dict[str, Any]:
    """An order whose prices include VAT at one rate, totals rounded per line like WooCommerce."""
    rate = vat_percent / 100
    items: list[dict[str, Any]] = []
    net_total = tax_total = Decimal(0)
    for n, (prod, quantity) in enumerate(lines, start=1):
        gross = Decimal(prod["regular_price"]) * quantity
        net = (gross / (1 + rate)).quantize(CENT, rounding=ROUND_HALF_UP)
        tax = gross - net
        net_total += net
        tax_total += tax
        items.append({
            "id": order_id * 100 + n, "name": prod["name"], "product_id": prod["parent_id"] or prod["id"],
            "variation_id": prod["id"] if prod["parent_id"] else 0, "quantity": quantity, "tax_class": "",
            "subtotal": money(net), "subtotal_tax": money(tax), "total": money(net), "total_tax": money(tax),
            "taxes": [{"id": 1, "total": money(tax), "subtotal": money(tax)}], "meta_data": [],
            "sku": prod["sku"], "price": float(net / quantity),
        })
    first, last, email = ("Gäst", "Kund", "guest@example.se") if customer is None else (
        customer["first_name"], customer["last_name"], customer["email"])
    return {
        "id": order_id, "parent_id": 0, "number": str(order_id), "order_key": f"wc_order_{order_id:08d}",
        "created_via": "checkout", "version": "9.0.0", "status": status, "currency": "SEK",
        "date_created": stamp, "date_created_gmt": stamp, "date_modified": stamp, "date_modified_gmt": stamp,
        "discount_total": "0.00", "discount_tax": "0.00", "shipping_total": "0.00", "shipping_tax": "0.00",
        "cart_tax": money(tax_total), "total": money(net_total + tax_total), "total_tax": money(tax_total),
        "prices_include_tax": True, "customer_id": customer["id"] if customer else 0, "customer_note": "",
        "billing": _address(first, last, email), "shipping": _address(first, last),
        "payment_method": "klarna", "payment_method_title": "Klarna", "transaction_id": f"tx-{order_id}",
        "date_paid": stamp, "date_paid_gmt": stamp, "date_completed": None, "date_completed_gmt": None,
        "meta_data": [], "line_items": items,
        "tax_lines": [{"id": 1, "rate_code": f"SE-MOMS {vat_percent}%-1", "rate_id": 1, "label": "Moms",
                       "compound": False, "tax_total": money(tax_total), "shipping_tax_total": "0.00",
                       "rate_percent": float(vat_percent), "meta_data": []}],
        "shipping_lines": [], "fee_lines": [], "coupon_lines": [], "refunds": [],
    }


def refund(refund_id: int, amount: Decimal, reason: str, stamp: str) -> dict[str, Any]:
    return {"id": refund_id, "date_created": stamp, "date_created_gmt": stamp, "amount": money(amount),
            "reason": reason, "refunded_by": 1, "refunded_payment": False, "meta_data": [], "line_items": []}


def note(note_id: int, text: str, customer_note: bool, stamp: str) -> dict[str, Any]:
    return {"id": note_id, "author": "woonox", "date_created": stamp, "date_created_gmt": stamp, "note": text,
            "customer_note": customer_note}
