"""`woonox demo` (`make demo`): one Swedish WooCommerce order through the whole pipeline.

RabbitMQ, Redis and PostgreSQL as libs/cli/private_servers.py finds them (RABBITMQ_URL / REDIS_URL /
DATABASE_URL, else the local default ports, else private servers it starts and removes afterwards, else
testcontainers) and the four services as processes: the Fortnox sandbox, ingest, mapper and fortnox-writer.
The demo owns its own names (broker prefix, Redis prefix, database schema `woonox_demo`) and resets
them first, so it can run again and again beside anything else.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import secrets
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import aio_pika
import httpx
import redis.asyncio as aioredis
import typer
from rich.table import Table
from rich.text import Text

from libs.cli.context import console, err_console
from libs.cli.private_servers import resolve
from libs.cli.safe import cell, clean
from libs.cli.stack import Stack
from libs.common.commands import external_reference
from libs.common.crypto import SecretBox, generate_key
from libs.common.fortnox.tokens import TokenManager
from libs.common.outbound import ALLOW_ENV
from libs.common.settings import CommonSettings
from libs.common.store.db import drop_schema, make_engine, make_sessionmaker
from libs.common.store.migrate import upgrade
from libs.common.store.tenants import TenantNew, TenantStore
from libs.common.topology import Topology

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PREFIX = "woonox_demo"
TENANT = "demo-shop"
DEMO_HOSTS = "127.0.0.1,localhost"


def _sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


async def _reset(settings: CommonSettings) -> None:
    await _clear(settings)
    await upgrade(settings.database_url, PREFIX)


async def _clear(settings: CommonSettings) -> None:
    """Remove everything the demo made: its schema, queues and Redis keys."""
    await drop_schema(settings.database_url, PREFIX)
    connection = await aio_pika.connect(settings.rabbitmq_url)
    async with connection:
        await Topology(PREFIX).delete(await connection.channel(), tenants=[TENANT])
    redis = aioredis.from_url(settings.redis_url)
    async for key in redis.scan_iter(match=f"{PREFIX}:*"):
        await redis.delete(key)
    await redis.aclose()


async def _add_tenant(settings: CommonSettings, keys: str, sandbox_url: str, webhook_secret: str) -> dict[str, Any]:
    client_id, client_secret = "woonox-demo", secrets.token_urlsafe(16)
    async with httpx.AsyncClient(base_url=sandbox_url) as http:
        response = await http.post("/_sandbox/companies", json={
            "name": "Demo Butik AB", "client_id": client_id, "client_secret": client_secret})
        response.raise_for_status()
        company = response.json()
        engine = make_engine(settings.database_url, PREFIX, pool_size=1)
        sessions = make_sessionmaker(engine)
        box = SecretBox(keys)
        await TenantStore(sessions, box).add(TenantNew(
            id=TENANT, name="Demo Butik", shop_url="https://demo-butik.example", webhook_secret=webhook_secret,
            fortnox_api_url=sandbox_url, fortnox_auth_url=sandbox_url, fortnox_client_id=client_id,
            fortnox_client_secret=client_secret,
        ))
        redis = aioredis.from_url(settings.redis_url)
        await TokenManager(sessions, redis, box, http, PREFIX).store(
            TENANT, company["access_token"], company["refresh_token"], company["expires_in"], company["scope"])
        await redis.aclose()
        await engine.dispose()
    return dict(company)


def _wait_for_order(sandbox_url: str, token: str, reference: str, timeout: float) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=sandbox_url, headers=headers) as http:
        while time.monotonic() < deadline:
            listed = http.get("/3/orders", params={"externalinvoicereference1": reference})
            if listed.status_code == 200:
                hits = [o for o in listed.json().get("Orders", []) if o.get("ExternalInvoiceReference1") == reference]
                if hits:
                    return dict(http.get(f"/3/orders/{hits[0]['DocumentNumber']}").json()["Order"])
            time.sleep(0.5)  # polling the sandbox, bounded by the deadline
    raise TimeoutError(f"no Fortnox order with reference {reference} after {timeout:.0f}s")


def _show(order: dict[str, Any]) -> None:
    # Everything in `order` is Fortnox's answer (names, descriptions typed in a shop): shown through
    # `cell`, never read as markup.
    console.print(Text("\n") + Text(f"Fortnox order {clean(order['DocumentNumber'])}", style="bold green"),
                  cell(f"for customer {order.get('CustomerNumber')} {order.get('CustomerName', '')} — "
                       f"{order.get('ExternalInvoiceReference1')}"))
    table = Table("Article", "Description", "Qty", "Price", "VAT %", "Account")
    for row in order.get("OrderRows", []):
        table.add_row(*map(cell, (row.get("ArticleNumber") or "", row.get("Description") or "",
                                  row.get("OrderedQuantity"), row.get("Price"), row.get("VAT"),
                                  row.get("AccountNumber"))))
    console.print(table)
    console.print(cell(f"Net {order.get('Net')}  VAT {order.get('TotalVAT')}  RoundOff {order.get('RoundOff')} "),
                  Text(f"Total {clean(order.get('Total'))} {clean(order.get('Currency', 'SEK'))}", style="bold"))


def demo(
    keep: Annotated[bool, typer.Option("--keep", help="Keep the stack running until Ctrl-C")] = False,
    order_file: Annotated[Path, typer.Option("--order", help="WooCommerce order JSON to send")] =
        EXAMPLES / "se-private-mixed-vat.json",
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the Fortnox order")] = 60.0,
) -> None:
    """Run ingest, mapper, fortnox-writer and the Fortnox sandbox; book one WooCommerce order."""
    try:
        servers = resolve()
    except (RuntimeError, TimeoutError, OSError) as exc:
        err_console.print(f"[red]demo failed:[/red] {exc}")
        raise typer.Exit(1) from None
    if servers.private is not None:
        console.print(f"[dim]private servers in {servers.private.root} (removed afterwards)[/dim]")
    os.environ.update(servers.urls)  # CommonSettings and the services' processes read them
    try:
        _demo(keep, order_file, timeout)
    finally:
        servers.close()


def _demo(keep: bool, order_file: Path, timeout: float) -> None:
    base = CommonSettings()
    keys = base.secret_keys.get_secret_value() or generate_key()
    webhook_secret = secrets.token_urlsafe(24)
    body = order_file.read_bytes()
    order_id = json.loads(body)["id"]
    env = {"RABBITMQ_URL": base.rabbitmq_url, "REDIS_URL": base.redis_url, "DATABASE_URL": base.database_url,
           "WOONOX_BROKER_PREFIX": PREFIX, "WOONOX_REDIS_PREFIX": PREFIX, "WOONOX_DB_SCHEMA": PREFIX,
           "WOONOX_SECRET_KEYS": keys, "WOONOX_LOG_LEVEL": "WARNING", ALLOW_ENV: DEMO_HOSTS}
    # The sandbox runs on 127.0.0.1 over http: the demo (and only the demo) allows that host.
    os.environ[ALLOW_ENV] = DEMO_HOSTS
    stack = Stack(env, Path(tempfile.mkdtemp(prefix="woonox-demo-")))
    console.print(f"[dim]logs in {stack.log_dir}[/dim]")
    try:
        asyncio.run(_reset(base))
        sandbox = stack.start("sandbox", "woonox-sandbox")
        stack.wait_ready("sandbox", path="/healthz")
        console.print(f"Fortnox sandbox on {sandbox.url}")
        company = asyncio.run(_add_tenant(base, keys, sandbox.url, webhook_secret))
        console.print(f"tenant [bold]{TENANT}[/bold] → Fortnox company {company['database_number']} (sandbox)")
        for name, script in (("ingest", "woonox-ingest"), ("mapper", "woonox-mapper"),
                             ("fortnox-writer", "woonox-writer")):
            stack.start(name, script)
        for name in ("ingest", "mapper", "fortnox-writer"):
            stack.wait_ready(name)
        ingest = stack.processes["ingest"].url
        headers = {"Content-Type": "application/json", "X-WC-Webhook-Source": "https://demo-butik.example/",
                   "X-WC-Webhook-Topic": "order.created", "X-WC-Webhook-Resource": "order",
                   "X-WC-Webhook-Event": "created", "X-WC-Webhook-ID": "1", "X-WC-Webhook-Delivery-ID": "demo-1",
                   "X-WC-Webhook-Signature": _sign(webhook_secret, body)}
        answer = httpx.post(f"{ingest}/webhooks/woocommerce/{TENANT}", content=body, headers=headers, timeout=10)
        console.print(f"WooCommerce order {order_id} posted to ingest: HTTP {answer.status_code} {answer.text}")
        if answer.status_code != 202:
            raise typer.Exit(1)
        order = _wait_for_order(sandbox.url, company["access_token"], external_reference(TENANT, order_id), timeout)
        _show(order)
        if keep:
            console.print("\nRunning: " + ", ".join(f"{n} {p.url}" for n, p in stack.processes.items())
                          + ". Ctrl-C stops.")
            while all(p.alive() for p in stack.processes.values()):
                time.sleep(1)
    except (TimeoutError, RuntimeError, httpx.HTTPError, OSError) as exc:
        err_console.print(f"[red]demo failed:[/red] {exc}")
        for name, proc in stack.processes.items():
            err_console.print(f"--- {name} log (tail) ---\n{proc.log()[-1500:]}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop_all()
        asyncio.run(_clear(base))
