"""Foundation acceptance: one signed WooCommerce order through ingest -> mapper -> fortnox-writer ->
the Fortnox sandbox, all four as separate processes on their real entry points.

Posted twice and once more with a bad signature: exactly one Fortnox order, one 401, and nothing
published for the bad request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re

import httpx

from tests.e2e.writer_stack import WriterWorld, wait_until
from tests.fixtures import example_path
from tests.writer_harness import add_tenant, create_company

SECRET = "skeleton-webhook-secret"


def _headers(body: bytes, secret: str, delivery: str) -> dict[str, str]:
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {"Content-Type": "application/json", "X-WC-Webhook-Source": "https://shop.example/",
            "X-WC-Webhook-Topic": "order.created", "X-WC-Webhook-Resource": "order",
            "X-WC-Webhook-Event": "created", "X-WC-Webhook-ID": "7", "X-WC-Webhook-Delivery-ID": delivery,
            "X-WC-Webhook-Signature": signature}


def _metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_one_order_booked_once_through_all_services(world: WriterWorld) -> None:
    company = await create_company(world.http, world.sandbox_url)
    await add_tenant(world.sessions, world.settings, world.redis, world.http, world.sandbox_url, "skeleton",
                     company, webhook_secret=SECRET)
    for name, script in (("ingest", "woonox-ingest"), ("mapper", "woonox-mapper"), ("writer", "woonox-writer")):
        world.stack.start(name, script)
    for name in ("ingest", "mapper", "writer"):
        world.stack.wait_ready(name, timeout=60)
    ingest = world.stack.processes["ingest"].url

    body = example_path("se-private-mixed-vat.json").read_bytes()
    order_id = json.loads(body)["id"]
    other = body.replace(f'"id": {order_id},'.encode(), b'"id": 999999,', 1)
    assert other != body
    async with httpx.AsyncClient(base_url=ingest) as http:
        first = await http.post("/webhooks/woocommerce/skeleton", content=body, headers=_headers(body, SECRET, "d1"))
        second = await http.post("/webhooks/woocommerce/skeleton", content=body, headers=_headers(body, SECRET, "d2"))
        forged = await http.post("/webhooks/woocommerce/skeleton", content=other,
                                 headers=_headers(other, "not-the-secret", "d3"))
    assert first.status_code == 202, first.text
    assert second.status_code in (200, 202), second.text
    assert forged.status_code == 401 and forged.json()["error"], forged.text

    async def booked() -> bool:
        snaps = await world.snapshots("skeleton")
        return str(order_id) in snaps and snaps[str(order_id)] is not None

    await wait_until(booked, timeout=60, what="the example order booked", world=world)

    journal = await world.journal(company.database_number)
    creates = [e for e in journal if e["method"] == "POST" and e["path"] == "/3/orders" and e["status"] == 201]
    assert len(creates) == 1, creates
    assert creates[0]["response_body"]["Order"]["ExternalInvoiceReference1"] == f"woonox:skeleton:order:{order_id}"
    assert not [e for e in journal if "999999" in json.dumps(e["request_body"] or {})]

    accepted = sum(1 for r in (first, second) if r.status_code == 202)
    ingest_metrics = httpx.get(f"{world.stack.processes['ingest'].admin_url}/metrics").text
    assert _metric(ingest_metrics, "woonox_webhooks_total", status="401") == 1
    mapper_metrics = httpx.get(f"{world.stack.processes['mapper'].url}/metrics").text

    async def mapper_done() -> bool:
        text = httpx.get(f"{world.stack.processes['mapper'].url}/metrics").text
        return _metric(text, "woonox_messages_consumed_total", group="mapper") >= accepted

    await wait_until(mapper_done, timeout=30, what="the mapper to count its messages")
    mapper_metrics = httpx.get(f"{world.stack.processes['mapper'].url}/metrics").text
    # Every message the mapper saw was one ingest accepted: the forged delivery published nothing.
    assert _metric(mapper_metrics, "woonox_messages_consumed_total", group="mapper") == accepted
    assert re.search(r"woonox_messages_consumed_total\{.*outcome=\"ok\"", mapper_metrics)
