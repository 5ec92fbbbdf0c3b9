"""`woonox backfill --tenant T --since DATE` against a real (socket) shop emulator: publishes every
change since DATE with a progress bar, and a second run publishes nothing again."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import uvicorn
from pydantic import SecretStr

from libs.common.crypto import SecretBox
from libs.common.settings import CommonSettings
from libs.common.store.tenants import TenantNew, TenantStore
from libs.common.topology import MAPPER, Topology
from services.woo_emulator.app import Emulator
from services.woo_emulator.shop import Shop
from tests.integration.broker_helpers import depth, wait_for

CLI = "import typer; from libs.cli.backfill import backfill; app = typer.Typer(); app.command()(backfill); app()"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def served(app: Any, port: int) -> AsyncIterator[None]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return bool(server.started)

    await wait_for(started, what="emulator listening")
    try:
        yield
    finally:
        server.should_exit = True
        await task


async def cli(env: dict[str, str], *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CLI, *args, env={**os.environ, **env, "COLUMNS": "120"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    return int(process.returncode or 0), out.decode()


async def test_backfill_command_publishes_since_date_once(
    settings: CommonSettings, topology: Topology, database: Any, redis_client: Any, service_env: dict[str, str]
) -> None:
    port = free_port()
    shop = Shop(url=f"http://127.0.0.1:{port}")
    async with httpx.AsyncClient() as http:
        emulator = Emulator(shop, http)
        for i in range(130):
            shop.create_product(f"P{i}", f"P-{i}", Decimal("10.00"), i)
        customer = shop.create_customer("a@example.se")
        for _ in range(5):
            shop.create_order(customer["id"], [(next(iter(shop.products)), 1)])
        store = TenantStore(database, SecretBox(settings.secret_keys.get_secret_value()))
        await store.add(TenantNew(id="cli-shop", shop_url=shop.url, webhook_secret=SecretStr("secretSecret1"),
                                  woo_consumer_key=SecretStr(shop.consumer_key),
                                  woo_consumer_secret=SecretStr(shop.consumer_secret)))
        async with served(emulator.app, port):
            code, out = await cli(service_env, "--tenant", "cli-shop", "--since", "2000-01-01")
            assert code == 0, out
            assert "products: 130 published" in out
            assert "orders: 5 published" in out
            assert "customers: 1 published" in out
            assert await depth(settings.rabbitmq_url, topology.queue(MAPPER)) == 136
            code, out = await cli(service_env, "--tenant", "cli-shop", "--since", "2000-01-01")
            assert code == 0, out
            assert "products: 0 published, 130 already published" in out
            code, out = await cli(service_env, "--tenant", "nobody", "--since", "2000-01-01")
            assert code == 3
            assert "no tenant 'nobody'" in out
            code, out = await cli(service_env, "--tenant", "cli-shop", "--since", "yesterday")
            assert code != 0
    assert await depth(settings.rabbitmq_url, topology.queue(MAPPER)) == 136
