"""`woonox reconcile` finds a deliberately deleted (cancelled) Fortnox document, a deliberately
duplicated one and an amount edited in Fortnox; `--fix` restores the missing one through the real
mapper and writer. The sandbox and the shop emulator are served over real sockets, because the
CLI talks to them as it would to Fortnox and WooCommerce."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import redis.asyncio as aioredis
import typer
import uvicorn
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner, Result

from libs.cli.reconcile import EXIT_DISCREPANCIES, reconcile
from libs.common.crypto import SecretBox
from libs.common.fortnox.tokens import TokenManager
from libs.common.settings import CommonSettings
from libs.common.shop_settings import ShopSettings
from libs.common.store.models import Booking
from libs.common.store.tenants import TenantNew, TenantStore
from libs.common.topology import Topology
from services.fortnox_sandbox.app import create_app as sandbox_app
from services.fortnox_sandbox.settings import SandboxSettings
from services.fortnox_writer.app import create_app as writer_app
from services.fortnox_writer.documents import apply_document
from services.fortnox_writer.settings import WriterSettings
from services.mapper.app import build_service
from services.mapper.orders import order_command
from services.mapper.settings import MapperSettings
from services.woo_emulator.app import Emulator
from services.woo_emulator.shop import Shop
from tests.integration.broker_helpers import wait_for
from tests.writer_harness import SandboxCompany, create_company, writer_handlers

TENANT = "shop-r"
SHOP_SETTINGS = {"documents": {"allow_free_text_rows": True}}
cli_app = typer.Typer()
cli_app.command("reconcile")(reconcile)


async def cli(*args: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, cli_app, list(args))


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """An ASGI app on a free local port, in this event loop."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return server.started

    await wait_for(started, what="a local server")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def add_shop_tenant(sessions: async_sessionmaker[AsyncSession], settings: CommonSettings,
                          redis: aioredis.Redis, http: httpx.AsyncClient, sandbox_url: str, shop: Shop,
                          company: SandboxCompany, shop_settings: dict[str, Any] | None = None) -> None:
    box = SecretBox(settings.secret_keys.get_secret_value())
    await TenantStore(sessions, box).add(TenantNew(
        id=TENANT, shop_url=shop.url, webhook_secret=SecretStr("webhook-secret-1"),
        woo_consumer_key=SecretStr(shop.consumer_key), woo_consumer_secret=SecretStr(shop.consumer_secret),
        fortnox_api_url=sandbox_url, fortnox_auth_url=sandbox_url, fortnox_client_id=company.client_id,
        fortnox_client_secret=SecretStr(company.client_secret), settings=shop_settings or SHOP_SETTINGS,
    ))
    await TokenManager(sessions, redis, box, http, settings.redis_prefix).store(
        TENANT, company.access_token, company.refresh_token, company.expires_in, company.scope)


@contextlib.asynccontextmanager
async def shop_and_sandbox() -> AsyncIterator[tuple[Shop, str, str, httpx.AsyncClient]]:
    async with httpx.AsyncClient(timeout=30) as http:
        shop = Shop()
        emulator = Emulator(shop, http)
        async with serve(sandbox_app(SandboxSettings())) as sandbox_url, serve(emulator.app) as shop_url:
            shop.url = shop_url
            yield shop, shop_url, sandbox_url, http


def report(result: Result) -> dict[str, Any]:
    """The JSON document in the output (services running in this process may log around it: the
    runner captures the whole process's stdout)."""
    lines = result.output.splitlines()
    start, end = lines.index("{"), len(lines) - 1 - lines[::-1].index("}")
    data: dict[str, Any] = json.loads("\n".join(lines[start:end + 1]))
    return data


def _by_order(result: Result) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for f in report(result)["findings"]:
        found.setdefault(f["order"], set()).add(f["problem"])
    return found


async def test_reconcile_finds_missing_duplicate_and_edited_and_fix_restores_missing(
    settings: CommonSettings, topology: Topology, database: async_sessionmaker[AsyncSession],
    redis_client: aioredis.Redis,
) -> None:
    async with shop_and_sandbox() as (shop, _, sandbox_url, http):
        company = await create_company(http, sandbox_url)
        await add_shop_tenant(database, settings, redis_client, http, sandbox_url, shop, company)
        customer = shop.create_customer("anna@example.se")
        coffee = shop.create_product("Kaffe", "", Decimal("125.00"), 50)
        orders = [shop.create_order(customer["id"], [(coffee["id"], n)]) for n in (1, 2, 3, 4)]
        handlers = writer_handlers(database, settings, redis_client, http)
        ctx = await handlers.context(TENANT)
        numbers = {}
        for order in orders:  # booked exactly as the pipeline books them
            done = await apply_document(ctx, order_command(TENANT, order, ShopSettings.model_validate(SHOP_SETTINGS)))
            numbers[order["id"]] = done["number"]
        missing, duplicated, edited, _fine = (o["id"] for o in orders)
        auth = {"Authorization": f"Bearer {company.access_token}"}

        all_good = await cli("--tenant", TENANT, "--since", "2000-01-01", "--json")
        assert all_good.exit_code == 0, all_good.output
        assert report(all_good)["orders_checked"] == 4

        # Someone "deletes" one document (cancels it), copies another, and edits a third's price.
        r = await http.put(f"{sandbox_url}/3/orders/{numbers[missing]}/cancel", headers=auth)
        assert r.status_code == 200, r.text
        original = (await http.get(f"{sandbox_url}/3/orders/{numbers[duplicated]}", headers=auth)).json()["Order"]
        copy = {k: original[k] for k in ("CustomerNumber", "ExternalInvoiceReference1", "Currency")}
        copy["OrderRows"] = [{k: row[k] for k in ("Description", "OrderedQuantity", "DeliveredQuantity", "Price",
                                                   "VAT", "AccountNumber") if k in row}
                             for row in original["OrderRows"]]
        r = await http.post(f"{sandbox_url}/3/orders", headers=auth, json={"Order": copy})
        assert r.status_code in (200, 201), r.text
        changed = (await http.get(f"{sandbox_url}/3/orders/{numbers[edited]}", headers=auth)).json()["Order"]
        rows = [{k: row[k] for k in ("Description", "OrderedQuantity", "DeliveredQuantity", "Price", "VAT",
                                     "AccountNumber") if k in row} for row in changed["OrderRows"]]
        rows[0]["Price"] = 99
        r = await http.put(f"{sandbox_url}/3/orders/{numbers[edited]}", headers=auth,
                           json={"Order": {"OrderRows": rows}})
        assert r.status_code == 200, r.text

        found = await cli("--tenant", TENANT, "--since", "2000-01-01", "--json")
        assert found.exit_code == EXIT_DISCREPANCIES, found.output
        assert _by_order(found) == {missing: {"missing"}, duplicated: {"duplicate"}, edited: {"amount-mismatch"}}
        mismatch = next(f for f in report(found)["findings"] if f["problem"] == "amount-mismatch")
        assert Decimal(mismatch["expected_total"]) == Decimal("375.00")
        assert Decimal(mismatch["fortnox_total"]) != Decimal("375.00")

        mapper = build_service(MapperSettings())
        writer = writer_app(WriterSettings())
        async with mapper.running(), writer.router.lifespan_context(writer):
            fixed = await cli("--tenant", TENANT, "--since", "2000-01-01", "--fix", "--json")
            assert fixed.exit_code == EXIT_DISCREPANCIES, fixed.output  # the duplicate and the edit remain
            assert [f["order"] for f in report(fixed)["findings"] if f["fixed"]] == [missing]

            async def rebooked() -> bool:
                async with database() as session:
                    row = await session.scalar(select(Booking).where(
                        Booking.tenant_id == TENANT, Booking.woo_id == str(missing), Booking.kind == "order"))
                    return row is not None and row.fortnox_number not in (None, numbers[missing])

            await wait_for(rebooked, timeout=60, what="the missing order booked again")

        after = await cli("--tenant", TENANT, "--since", "2000-01-01", "--json")
        assert after.exit_code == EXIT_DISCREPANCIES, after.output
        assert _by_order(after) == {duplicated: {"duplicate"}, edited: {"amount-mismatch"}}

    unknown = await cli("--tenant", "nobody", "--since", "1d")
    assert unknown.exit_code == 3
