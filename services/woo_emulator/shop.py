"""The emulated shop's state and the changes a merchant or a customer makes to it.

Every change stamps `date_modified(_gmt)` from the shop's clock and tells the dispatcher, which
turns it into webhook deliveries the way WooCommerce does (`dispatch.py`). As in a real
WooCommerce 10 shop, the stamps are wall time with one-second resolution: two changes within one
second carry the same stamp, so a stamp can neither order nor deduplicate changes.

What a REST order creation sends, as the real shop did: order.created, an identical order.updated,
then one product.updated per stock-managed line (the stock is reduced when the order is paid). A
refund restocks its lines (product.updated first, then order.updated), and a refund of what is
left sets the order `refunded` (WooCommerce's `wc_create_refund` with `restock_items`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from services.woo_emulator import objects

__all__ = ["Shop", "ShopClock"]

Listener = Callable[[str, str, int], None]


class ShopClock:
    """Wall time at one-second resolution (the default), or a pinned/compressed clock for tests:
    `ShopClock(start, step=1)` advances `step` seconds per change from `start`; `step=0` pins it."""

    def __init__(self, start: datetime | None = None, *, step: int | None = None) -> None:
        self._start = start
        self._step = step
        self._now = (start or datetime.now(UTC)).replace(microsecond=0, tzinfo=None)

    def _wall(self) -> datetime:
        return datetime.now(UTC).replace(microsecond=0, tzinfo=None)

    def tick(self) -> str:
        if self._step is None:
            self._now = self._wall()
        else:
            self._now += timedelta(seconds=self._step)
        return self._now.isoformat()

    def now(self) -> str:
        if self._step is None:
            self._now = self._wall()
        return self._now.isoformat()


@dataclass
class Shop:
    url: str = "http://shop.test"
    consumer_key: str = "ck_test"
    consumer_secret: str = "cs_test"  # noqa: S105 - emulator default
    key_permissions: str = "read_write"  # the REST key's permission: read, write or read_write
    clock: ShopClock = field(default_factory=ShopClock)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    products: dict[int, dict[str, Any]] = field(default_factory=dict)  # variations too (parent_id != 0)
    customers: dict[int, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    notes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    webhooks: dict[int, dict[str, Any]] = field(default_factory=dict)
    tax_rates: objects.TaxRates = field(default_factory=lambda: dict(objects.SWEDISH_RATES))
    listeners: list[Listener] = field(default_factory=list)
    _next_id: int = 100

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _changed(self, resource: str, event: str, object_id: int) -> None:
        for listener in self.listeners:
            listener(resource, event, object_id)

    def _stamp(self, obj: dict[str, Any]) -> None:
        stamp = self.clock.tick()
        obj["date_modified"] = obj["date_modified_gmt"] = stamp

    # --- customers -------------------------------------------------------------------------------

    def create_customer(self, email: str, first: str = "Anna", last: str = "Svensson") -> dict[str, Any]:
        cid = self.new_id()
        self.customers[cid] = objects.customer(cid, email, first, last, self.clock.tick())
        self._changed("customer", "created", cid)
        return self.customers[cid]

    def update_customer(self, customer_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        obj = self.customers[customer_id]
        obj.update(copy.deepcopy(changes))
        self._stamp(obj)
        self._changed("customer", "updated", customer_id)
        return obj

    # --- products and variations -----------------------------------------------------------------

    def create_product(self, name: str, sku: str, price: Decimal, stock: int | None = None, *,
                       type: str = "simple", parent_id: int = 0, tax_class: str = "") -> dict[str, Any]:
        pid = self.new_id()
        obj = objects.product(pid, name, sku, price, stock, self.clock.tick(), type=type, parent_id=parent_id,
                              tax_class=tax_class)
        self.products[pid] = obj
        if parent_id:
            self.products[parent_id]["variations"].append(pid)
        self._changed("product", "created", pid)
        return obj

    def update_product(self, product_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        obj = self.products[product_id]
        changes = copy.deepcopy(changes)
        if "regular_price" in changes:
            changes.setdefault("price", changes["regular_price"])
        if "stock_quantity" in changes:
            quantity = changes["stock_quantity"]
            changes.setdefault("manage_stock", quantity is not None)
            changes.setdefault("stock_status", "instock" if quantity is None or int(quantity) > 0 else "outofstock")
        obj.update(changes)
        self._stamp(obj)
        self._changed("product", "updated", product_id)
        return obj

    def delete_product(self, product_id: int) -> dict[str, Any]:
        obj = self.products[product_id]
        obj["status"] = "trash"
        self._stamp(obj)
        self._changed("product", "deleted", product_id)
        return obj

    # --- orders, refunds, notes ------------------------------------------------------------------

    def create_order(self, customer_id: int | None, lines: list[tuple[int, int]], *,
                     status: str = "processing") -> dict[str, Any]:
        oid = self.new_id()
        who = self.customers.get(customer_id) if customer_id else None
        items = [(self.products[pid], qty) for pid, qty in lines]
        order = objects.order(oid, who, items, self.clock.tick(), status=status, rates=self.tax_rates)
        if status == "completed":
            order["date_completed"] = order["date_completed_gmt"] = order["date_modified_gmt"]
        self.orders[oid] = order
        # order.created waits until the order leaves checkout-draft (WooCommerce source,
        # plugins/woocommerce/includes/class-wc-webhook.php).
        if status == "checkout-draft":
            self._changed("order", "updated", oid)
            return self.orders[oid]
        self._changed("order", "created", oid)
        self._changed("order", "updated", oid)  # WooCommerce saves the new order twice: an identical body
        if status in ("processing", "completed", "on-hold"):
            for prod, quantity in items:
                self._move_stock(prod, -quantity)
        return self.orders[oid]

    def _move_stock(self, prod: dict[str, Any], delta: int) -> None:
        if not prod.get("manage_stock") or prod.get("stock_quantity") is None:
            return
        self.update_product(prod["id"], {"stock_quantity": int(prod["stock_quantity"]) + delta})

    def update_order(self, order_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        obj = self.orders[order_id]
        was_draft = obj["status"] == "checkout-draft"
        obj.update(copy.deepcopy(changes))
        self._stamp(obj)
        if obj["status"] == "completed" and not obj.get("date_completed_gmt"):
            # WooCommerce stamps the first completion and keeps it through a later refund (source,
            # plugins/woocommerce/includes/class-wc-order.php, maybe_set_date_completed).
            obj["date_completed"] = obj["date_completed_gmt"] = obj["date_modified_gmt"]
        created = was_draft and obj["status"] != "checkout-draft"
        self._changed("order", "created" if created else "updated", order_id)
        return obj

    def trash_order(self, order_id: int) -> None:
        obj = self.orders[order_id]
        obj["status"] = "trash"
        self._stamp(obj)
        self._changed("order", "deleted", order_id)

    def restore_order(self, order_id: int, status: str = "processing") -> None:
        obj = self.orders[order_id]
        obj["status"] = status
        self._stamp(obj)
        self._changed("order", "restored", order_id)

    def add_refund(self, order_id: int, amount: Decimal | None = None, reason: str = "", *,
                   lines: list[tuple[int, int]] | None = None, restock: bool = True) -> dict[str, Any]:
        """A refund of whole order lines (`lines`: (line item id, quantity)), or of an amount only.
        It is an order.updated: the order's `refunds` array grows by {id, reason, total} only; the
        refund's lines and taxes are only in `GET /orders/{id}/refunds` (there is no refund topic).
        Restocked lines send their product.updated first; a refund of what is left sets `refunded`."""
        order = self.orders[order_id]
        parts: list[tuple[dict[str, Any], int, Decimal, Decimal]] = []
        by_id = {line["id"]: line for line in order["line_items"]}
        for line_id, quantity in lines or []:
            line = by_id[line_id]
            share = Decimal(quantity) / Decimal(line["quantity"])
            net = (Decimal(line["total"]) * share).quantize(objects.CENT)
            tax = (Decimal(line["total_tax"]) * share).quantize(objects.CENT)
            parts.append((line, quantity, net, tax))
        if amount is None:
            amount = sum((net + tax for _, _, net, tax in parts), Decimal(0))
        rid = self.new_id()
        ref = objects.refund(rid, order, parts, amount, reason, self.clock.now(), self.tax_rates)
        self.refunds.setdefault(order_id, []).insert(0, ref)  # newest first, as the REST API lists them
        if restock:
            for line, quantity, _, _ in parts:
                prod = self.products.get(line["variation_id"] or line["product_id"])
                if prod is not None:
                    self._move_stock(prod, quantity)
        order["refunds"].insert(0, {"id": rid, "reason": reason, "total": objects.money(-amount)})
        refunded = sum((-Decimal(r["total"]) for r in order["refunds"]), Decimal(0))
        if refunded >= Decimal(order["total"]):
            order["status"] = "refunded"
        self._stamp(order)
        self._changed("order", "updated", order_id)
        return ref

    def refund_all(self, order_id: int, reason: str = "") -> dict[str, Any]:
        """A full refund of every line with its tax, restocked: the order becomes `refunded`."""
        order = self.orders[order_id]
        return self.add_refund(order_id, None, reason,
                               lines=[(line["id"], int(line["quantity"])) for line in order["line_items"]])

    def add_note(self, order_id: int, text: str, customer_note: bool = False) -> dict[str, Any]:
        created = objects.note(self.new_id(), text, customer_note, self.clock.now())
        self.notes.setdefault(order_id, []).append(created)
        return created

    # --- webhooks ----------------------------------------------------------------------------------

    def add_webhook(self, topic: str, delivery_url: str, secret: str, name: str = "") -> dict[str, Any]:
        wid = self.new_id()
        resource, _, event = topic.partition(".")
        stamp = self.clock.now()
        self.webhooks[wid] = {
            "id": wid, "name": name or topic, "status": "active", "topic": topic, "resource": resource,
            "event": event, "delivery_url": delivery_url, "secret": secret, "failure_count": 0,
            "date_created": stamp, "date_created_gmt": stamp, "date_modified": stamp, "date_modified_gmt": stamp,
        }
        return self.webhooks[wid]

    def subscribe_all(self, delivery_url: str, secret: str) -> list[dict[str, Any]]:
        """The webhooks woonox asks a shop to create."""
        return [self.add_webhook(f"{r}.{e}", delivery_url, secret)
                for r in ("order", "product", "customer") for e in ("created", "updated", "deleted", "restored")]
