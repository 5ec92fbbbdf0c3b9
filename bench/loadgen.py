"""Load generator: N WooCommerce shops (the emulator, services/woo_emulator) making realistic changes,
delivered to ingest as signed webhooks with WooCommerce's quirks.

Each shop sells simple products and variations at 25 %, 12 % and 6 % VAT (tax classes "",
"reduced-rate" and "food"); customers come new, return, or check out as guests; orders are
processing or on-hold, some are completed later (invoice + payment), some of those get partial
refunds (credit invoices). Deliveries are flushed like Action Scheduler (merged per object and
built when sent), a share is never sent or fails (the backfill must catch those,
WooCommerce source, plugins/woocommerce/includes/class-wc-webhook.php), and a share is delivered twice.

All shops are served over HTTP by one in-process server, each under `/<tenant>`, so the poller
process reads them with the REST API like real shops.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from services.woo_emulator.app import Emulator
from services.woo_emulator.dispatch import Delivery
from services.woo_emulator.objects import money
from services.woo_emulator.shop import Shop

__all__ = ["RATES", "SHOP_SETTINGS", "ShopLoad", "serve_shops"]

CENT = Decimal("0.01")
# tax class -> (WooCommerce tax rate id, percent); 6 % is food from 2026-04-01 (docs/mapping.md)
RATES: dict[str, tuple[int, Decimal]] = {"": (1, Decimal(25)), "reduced-rate": (2, Decimal(12)),
                                         "food": (3, Decimal(6))}
# The tenant settings these shops need: their tax classes and which of them is food.
SHOP_SETTINGS: dict[str, Any] = {
    "documents": {"food_tax_classes": ["food"]},
    "products": {"tax_class_rates": {"": "25", "standard": "25", "reduced-rate": "12", "food": "6",
                                     "zero-rate": "0"}},
}
PRICES = [Decimal(p) for p in ("19.90", "49.00", "79.50", "129.00", "249.00", "333.33", "12.45", "899.00")]


@dataclass
class ShopLoad:
    """One tenant's shop and the merchant/customers acting on it."""

    tenant: str
    webhook_secret: str
    shop: Shop
    emulator: Emulator
    rng: random.Random
    duplicate_share: float = 0.05
    sellable: list[dict[str, Any]] = field(default_factory=list)
    customers: list[int] = field(default_factory=list)
    open_orders: list[int] = field(default_factory=list)
    completed: list[int] = field(default_factory=list)
    duplicates_sent: int = 0
    orders_made: int = 0

    @classmethod
    def create(cls, tenant: str, base_url: str, ingest_url: str, http: httpx.AsyncClient, *, seed: int,
               drop_rate: float, fail_rate: float, duplicate_share: float) -> ShopLoad:
        shop = Shop(url=f"{base_url}/{tenant}", consumer_key=f"ck_{uuid.uuid4().hex}",
                    consumer_secret=f"cs_{uuid.uuid4().hex}")
        emulator = Emulator(shop, http, drop_rate=drop_rate, fail_rate=fail_rate, seed=seed)
        secret = f"whsec-{uuid.uuid4().hex}"
        shop.subscribe_all(f"{ingest_url}/webhooks/woocommerce/{tenant}", secret)
        return cls(tenant, secret, shop, emulator, random.Random(seed), duplicate_share)

    def seed_catalogue(self, simple: int = 12, variable: int = 2) -> None:
        classes = list(RATES)
        for i in range(simple):
            product = self.shop.create_product(f"Vara {i}", f"{self.tenant}-S{i}", self.rng.choice(PRICES), 1000)
            product["tax_class"] = classes[i % len(classes)]
            self.sellable.append(product)
        for i in range(variable):
            parent = self.shop.create_product(f"Tröja {i}", f"{self.tenant}-V{i}", Decimal("299.00"),
                                              type="variable")
            for size in ("S", "M", "L"):
                self.sellable.append(self.shop.create_product(
                    f"Tröja {i} / {size}", f"{self.tenant}-V{i}-{size}", Decimal("299.00"), 200,
                    type="variation", parent_id=parent["id"]))

    def new_order(self) -> dict[str, Any]:
        roll = self.rng.random()
        guest = roll < 0.25
        if guest:
            customer_id = None
        elif roll < 0.55 or not self.customers:  # a new customer registers at checkout
            customer_id = self.shop.create_customer(f"{self.tenant}-c{len(self.customers)}@example.se",
                                                    "Kund", f"Nr{len(self.customers)}")["id"]
            self.customers.append(customer_id)
        else:
            customer_id = self.rng.choice(self.customers)
        picks = self.rng.sample(self.sellable, self.rng.randint(1, 4))
        lines = [(p, self.rng.randint(1, 3)) for p in picks]
        status = "on-hold" if self.rng.random() < 0.1 else "processing"
        order = self.shop.create_order(customer_id, [(p["id"], q) for p, q in lines], status=status)
        # The emulator builds one-rate orders; ours mix rates. Changed before the delivery is built
        # (it is built when sent), at the same modified stamp, so webhook and REST agree.
        order.update(mixed_vat(order["id"], lines))
        if guest:
            order["billing"]["email"] = f"{self.tenant}-guest{order['id']}@example.se"
        self.open_orders.append(order["id"])
        self.orders_made += 1
        return order

    def complete_one(self) -> None:
        if self.open_orders:
            order_id = self.open_orders.pop(self.rng.randrange(len(self.open_orders)))
            self.shop.update_order(order_id, {"status": "completed"})
            self.completed.append(order_id)

    def refund_one(self) -> None:
        if not self.completed:
            return
        order_id = self.rng.choice(self.completed)
        order = self.shop.orders[order_id]
        refunded = sum((-Decimal(r["total"]) for r in order["refunds"]), Decimal(0))
        room = Decimal(order["total"]) - refunded
        amount = (room * Decimal(self.rng.choice(("0.1", "0.25", "0.5")))).quantize(CENT, rounding=ROUND_HALF_UP)
        if amount >= Decimal("1.00") and len(order["refunds"]) < 2:
            self.shop.add_refund(order_id, amount, self.rng.choice(("Skadad vara", "Ångerrätt", "")))

    def step(self) -> None:
        """One thing happening in the shop: mostly new orders, then completions and refunds."""
        roll = self.rng.random()
        if roll < 0.7 or not self.open_orders:
            self.new_order()
        elif roll < 0.9:
            self.complete_one()
        elif roll < 0.97:
            self.refund_one()
        elif self.customers:  # a returning customer edits their address
            self.shop.update_customer(self.rng.choice(self.customers), {"last_name": f"Ny{self.rng.randint(1, 99)}"})
        else:
            self.new_order()

    async def flush(self) -> list[Delivery]:
        """Action Scheduler's run, then a share of the delivered webhooks sent once more."""
        done = await self.emulator.dispatcher.flush()
        again = [d for d in done if d.outcome == "ok" and self.rng.random() < self.duplicate_share]
        for d in again:
            hook = self.shop.webhooks[d.webhook_id]
            with contextlib.suppress(httpx.HTTPError):
                await self.emulator.dispatcher.http.post(
                    hook["delivery_url"], content=d.body, headers=self.emulator.dispatcher.headers(hook, d.body),
                    timeout=60)
                self.duplicates_sent += 1
        return done

    def lost_deliveries(self) -> int:
        return sum(d.outcome != "ok" for d in self.emulator.dispatcher.log)


def mixed_vat(order_id: int, lines: list[tuple[dict[str, Any], int]]) -> dict[str, Any]:
    """Line items, tax lines and totals of an order whose prices include VAT at each product's rate,
    each line's tax rounded as WooCommerce does."""
    items: list[dict[str, Any]] = []
    tax_by_rate: dict[str, Decimal] = {}
    total = total_tax = Decimal(0)
    for n, (prod, quantity) in enumerate(lines, start=1):
        tax_class = str(prod.get("tax_class") or "")
        rate_id, percent = RATES.get(tax_class, RATES[""])
        gross = Decimal(prod["regular_price"]) * quantity
        net = (gross / (1 + percent / 100)).quantize(CENT, rounding=ROUND_HALF_UP)
        tax = gross - net
        total, total_tax = total + gross, total_tax + tax
        tax_by_rate[tax_class] = tax_by_rate.get(tax_class, Decimal(0)) + tax
        items.append({
            "id": order_id * 100 + n, "name": prod["name"], "product_id": prod["parent_id"] or prod["id"],
            "variation_id": prod["id"] if prod["parent_id"] else 0, "quantity": quantity, "tax_class": tax_class,
            "subtotal": money(net), "subtotal_tax": money(tax), "total": money(net), "total_tax": money(tax),
            "taxes": [{"id": rate_id, "total": money(tax), "subtotal": money(tax)}], "meta_data": [],
            "sku": prod["sku"], "price": float(net / quantity),
        })
    tax_lines = [{"id": RATES[c][0], "rate_code": f"SE-MOMS {RATES[c][1]}%-1", "rate_id": RATES[c][0],
                  "label": "Moms", "compound": False, "tax_total": money(t), "shipping_tax_total": "0.00",
                  "rate_percent": float(RATES[c][1]), "meta_data": []} for c, t in tax_by_rate.items()]
    return {"line_items": items, "tax_lines": tax_lines, "total": money(total), "total_tax": money(total_tax),
            "cart_tax": money(total_tax)}


@contextlib.asynccontextmanager
async def serve_shops(shops: list[ShopLoad], port: int) -> AsyncIterator[None]:
    """Every shop's REST API (and /_emulator control routes) at http://127.0.0.1:<port>/<tenant>."""
    root = FastAPI(title="chaos shops")
    for load in shops:
        root.mount(f"/{load.tenant}", load.emulator.app)
    server = uvicorn.Server(uvicorn.Config(root, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="off"))
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.05)  # uvicorn's own start-up flag, bounded
    try:
        yield
    finally:
        server.should_exit = True
        await task
