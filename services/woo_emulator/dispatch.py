"""Webhook deliveries the way WooCommerce makes them (WooCommerce source,
plugins/woocommerce/includes/class-wc-webhook.php):

- queued per (webhook, object): a new change while one delivery waits is merged into it, and the
  body is built when sent, so it carries the latest state (or a signed REST error if the object is
  gone); `*.deleted` sends only `{"id": N}`;
- bodies are PHP's compact `json_encode` (`\\uXXXX`, `\\/`), as the real shop's are;
- signed with base64 HMAC-SHA256 of the body; delivery id = hash of webhook id and current second;
- 200-302 is success, redirects are not followed; after more than 5 consecutive failures the
  webhook is disabled, and changes while it is disabled are never queued;
- never retried. Faults: `drop_rate` (never sent, like a WP-Cron that never ran) and `fail_rate`
  (sent but failed, e.g. a timeout), both drawn from a seeded generator so tests are repeatable.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.woo_emulator.objects import php_json
from services.woo_emulator.shop import Shop

__all__ = ["Delivery", "Dispatcher"]

DISABLE_AFTER = 5  # the check is "more than 5 failures" before counting: the 7th failure disables


@dataclass
class Delivery:
    webhook_id: int
    topic: str
    object_id: int
    outcome: str  # "ok", "failed", "dropped"
    status: int | None = None
    body: bytes = b""
    delivery_id: str = ""
    answer: bytes = b""  # the receiver's response body (its first 500 bytes)


@dataclass
class Dispatcher:
    shop: Shop
    http: httpx.AsyncClient
    drop_rate: float = 0.0
    fail_rate: float = 0.0
    seed: int = 7
    concurrency: int = 16
    # The real shop delivered product.updated for a REST write during that request, before its
    # response: with this set, the emulator's write endpoints deliver what is pending before answering.
    during_request: bool = False
    pending: dict[tuple[int, int], str] = field(default_factory=dict)
    log: list[Delivery] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self.shop.listeners.append(self.on_change)

    def on_change(self, resource: str, event: str, object_id: int) -> None:
        for hook in self.shop.webhooks.values():
            if hook["status"] == "active" and hook["topic"] == f"{resource}.{event}":
                self.pending.setdefault((hook["id"], object_id), event)

    def _body(self, hook: dict[str, Any], object_id: int) -> bytes:
        resource, event = hook["resource"], hook["event"]
        if event == "deleted":
            return php_json({"id": object_id})
        store = {"order": self.shop.orders, "product": self.shop.products, "customer": self.shop.customers}[resource]
        obj = store.get(object_id)
        if obj is None:
            return php_json({"code": f"woocommerce_rest_{resource}_invalid_id", "message": "Invalid ID.",
                             "data": {"status": 404}})
        return php_json(obj)

    def headers(self, hook: dict[str, Any], body: bytes) -> dict[str, str]:
        signature = base64.b64encode(hmac.new(hook["secret"].encode(), body, hashlib.sha256).digest()).decode()
        delivery = hashlib.md5(f"{hook['id']}{int(time.time())}".encode()).hexdigest()  # noqa: S324 - as WooCommerce
        return {
            "content-type": "application/json", "user-agent": "WooCommerce/10.0.2 Hookshot (WordPress/6.8.2)",
            "x-wc-webhook-source": self.shop.url.rstrip("/") + "/", "x-wc-webhook-topic": hook["topic"],
            "x-wc-webhook-resource": hook["resource"], "x-wc-webhook-event": hook["event"],
            "x-wc-webhook-signature": signature, "x-wc-webhook-id": str(hook["id"]),
            "x-wc-webhook-delivery-id": delivery,
        }

    async def _send(self, hook: dict[str, Any], object_id: int) -> Delivery:
        body = self._body(hook, object_id)
        roll = self._random.random()
        record = Delivery(hook["id"], hook["topic"], object_id, "dropped", body=body)
        if roll < self.drop_rate:
            return record
        if roll < self.drop_rate + self.fail_rate:
            record.outcome = "failed"
            self._count(hook, ok=False)
            return record
        headers = self.headers(hook, body)
        record.delivery_id = headers["x-wc-webhook-delivery-id"]
        try:
            response = await self.http.post(hook["delivery_url"], content=body, headers=headers,
                                            follow_redirects=False, timeout=60)
            record.status = response.status_code
            record.answer = response.content[:500]
            ok = 200 <= response.status_code <= 302
        except httpx.HTTPError:
            ok = False
        record.outcome = "ok" if ok else "failed"
        self._count(hook, ok=ok)
        return record

    def _count(self, hook: dict[str, Any], *, ok: bool) -> None:
        if ok:
            hook["failure_count"] = 0
            return
        if hook["failure_count"] > DISABLE_AFTER:
            hook["status"] = "disabled"
        hook["failure_count"] += 1

    async def flush(self) -> list[Delivery]:
        """Send every waiting delivery (Action Scheduler's run); returns what happened to each."""
        batch, self.pending = self.pending, {}
        gate = asyncio.Semaphore(self.concurrency)

        async def one(key: tuple[int, int]) -> Delivery:
            async with gate:
                return await self._send(self.shop.webhooks[key[0]], key[1])

        done = list(await asyncio.gather(*(one(k) for k in batch)))
        self.log += done
        return done

    async def ping(self, webhook_id: int) -> int | None:
        """The activation ping: form body `webhook_id=N`, no X-WC-Webhook-* headers."""
        hook = self.shop.webhooks[webhook_id]
        try:
            response = await self.http.post(hook["delivery_url"], content=f"webhook_id={webhook_id}".encode(),
                                            headers={"content-type": "application/x-www-form-urlencoded"}, timeout=5)
        except httpx.HTTPError:
            return None
        return response.status_code
