"""Signed WooCommerce order webhooks built from the repo's examples, and a lean sender for them.

The sender speaks keep-alive HTTP/1.1 on raw sockets (as bench/ingest_webhooks.py does) so that the
load generator's own CPU stays small on a 2-core machine shared with the services it measures.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["EXAMPLES", "Delivery", "delivery", "order_body", "post_all", "post_one"]

ROOT = Path(__file__).resolve().parents[1]
# A realistic mix: mixed Swedish VAT, a company excl. VAT with a coupon, an EU business (reverse
# charge). (The US guest example books foreign VAT to account 2890, which the sandbox's chart lacks.)
EXAMPLES = ("se-private-mixed-vat", "se-company-excl-vat-coupon", "eu-business-reverse-charge")
_TEMPLATES: dict[str, dict[str, Any]] = {name: json.loads((ROOT / "examples" / f"{name}.json").read_text())
                                         for name in EXAMPLES}


@dataclass
class Delivery:
    tenant: str
    order_id: int
    request: bytes
    sent_at: float = 0.0  # wall clock (time.time()), comparable with the sandbox journal's `at`
    status: int = 0


def order_body(order_id: int, *, example: str = EXAMPLES[0], email: str | None = None, minute: int = 0) -> bytes:
    """One WooCommerce order snapshot: the example with its id, number and modified time replaced."""
    order = dict(_TEMPLATES[example])
    order["id"] = order_id
    order["number"] = str(order_id)
    modified = f"2026-05-12T{10 + minute // 60:02d}:{minute % 60:02d}:00"
    order["date_modified_gmt"] = order["date_modified"] = modified
    if email is not None:
        order["billing"] = {**order["billing"], "email": email}
    return json.dumps(order).encode()


def delivery(tenant: str, order_id: int, body: bytes, secret: str, port: int) -> Delivery:
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    head = (f"POST /webhooks/woocommerce/{tenant} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "X-WC-Webhook-Source: https://shop.example/\r\nX-WC-Webhook-Topic: order.updated\r\n"
            "X-WC-Webhook-Resource: order\r\nX-WC-Webhook-Event: updated\r\nX-WC-Webhook-ID: 7\r\n"
            f"X-WC-Webhook-Delivery-ID: {tenant}-{order_id}\r\nX-WC-Webhook-Signature: {signature}\r\n\r\n")
    return Delivery(tenant, order_id, head.encode() + body)


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, d: Delivery) -> None:
    d.sent_at = time.time()
    writer.write(d.request)
    head = await reader.readuntil(b"\r\n\r\n")
    d.status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)


async def post_all(port: int, deliveries: list[Delivery], connections: int = 16) -> float:
    """Post every delivery over `connections` keep-alive connections; returns the rate (req/s)."""
    pending = iter(deliveries)

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for d in pending:
                await _exchange(reader, writer, d)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return len(deliveries) / (time.perf_counter() - started)


async def post_one(port: int, d: Delivery) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await _exchange(reader, writer, d)
    finally:
        writer.close()
