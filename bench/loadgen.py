"""Load generator: N WooCommerce shops (the emulator, services/woo_emulator) making realistic changes,
delivered to ingest as signed webhooks with WooCommerce's quirks.

Each shop sells simple products and variations at 25 %, 12 % and 6 % VAT (tax classes "",
"reduced-rate" and "food"); customers come new, return, or check out as guests; orders are
processing or on-hold, some are completed later (invoice + payment), some of those get partial
refunds of one line (credit invoices) the way a real WooCommerce 10 shop makes them: the order's
`refunds[]` holds only id, reason and total, the lines and taxes are in `/orders/{id}/refunds`, and
the refunded line is restocked. Like the real shop, every order creation sends order.created, an
identical order.updated and a product.updated per stock line, and the stamps are wall time with one-
second resolution, so many changes share a stamp. Deliveries are flushed like Action Scheduler
(merged per object and built when sent), a share is never sent or fails (the backfill must catch
those, WooCommerce source, plugins/woocommerce/includes/class-wc-webhook.php), and a share is
delivered twice.

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
from decimal import Decimal
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from services.woo_emulator.app import Emulator
from services.woo_emulator.dispatch import Delivery
from services.woo_emulator.shop import Shop

__all__ = ["RATES", "SHOP_SETTINGS", "ShopLoad", "serve_shops"]

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
                    consumer_secret=f"cs_{uuid.uuid4().hex}", tax_rates=dict(RATES))
        emulator = Emulator(shop, http, drop_rate=drop_rate, fail_rate=fail_rate, seed=seed)
        secret = f"whsec-{uuid.uuid4().hex}"
        shop.subscribe_all(f"{ingest_url}/webhooks/woocommerce/{tenant}", secret)
        return cls(tenant, secret, shop, emulator, random.Random(seed), duplicate_share)

    def seed_catalogue(self, simple: int = 12, variable: int = 2) -> None:
        classes = list(RATES)
        for i in range(simple):
            self.sellable.append(self.shop.create_product(f"Vara {i}", f"{self.tenant}-S{i}", self.rng.choice(PRICES),
                                                          1000, tax_class=classes[i % len(classes)]))
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
        if guest:  # changed before the delivery is built (it is built when sent), so webhook and REST agree
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
        """A line-level refund of one unit of one line, restocked (the real shop's refund shape)."""
        if not self.completed:
            return
        order_id = self.rng.choice(self.completed)
        order = self.shop.orders[order_id]
        if len(order["refunds"]) >= 2 or order["status"] == "refunded":
            return
        refunds = self.shop.refunds.get(order_id, [])
        done = {m["value"] for r in refunds for i in r["line_items"] for m in i["meta_data"]}
        left = [line for line in order["line_items"] if str(line["id"]) not in done]
        if not left:
            return
        line = self.rng.choice(left)
        self.shop.add_refund(order_id, None, self.rng.choice(("Skadad vara", "Ångerrätt", "")),
                             lines=[(line["id"], 1)])

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
