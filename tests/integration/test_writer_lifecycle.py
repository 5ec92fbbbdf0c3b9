"""The writer's lifecycle against the sandbox, driven by the mapper's real commands: order ->
invoice on completed, payment registered and bookkept, a refund as a credit invoice, cancellation,
offers; and replays of every snapshot change nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from libs.common.settings import CommonSettings
from libs.common.shop_settings import ShopSettings
from services.fortnox_sandbox.app import create_app
from services.fortnox_sandbox.settings import SandboxSettings
from services.fortnox_writer.documents import apply_document
from services.mapper.orders import order_command
from tests.fixtures import example_path
from tests.writer_harness import add_tenant, create_company, writer_handlers

SANDBOX = "http://sandbox.test"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(SandboxSettings()))) as client:
        yield client


def _order(**changes: Any) -> dict[str, Any]:
    order = json.loads(example_path("se-private-mixed-vat.json").read_text())
    order.update(changes)
    return dict(order)


async def _state(http: httpx.AsyncClient, number: int) -> dict[str, list[dict[str, Any]]]:
    r = await http.get(f"{SANDBOX}/_sandbox/companies/{number}/state")
    return dict(r.json()["resources"])


async def test_order_invoice_payment_refund_and_replays(settings: CommonSettings, database: Any,
                                                        redis_client: aioredis.Redis, http: httpx.AsyncClient) -> None:
    company = await create_company(http, SANDBOX)
    await add_tenant(database, settings, redis_client, http, SANDBOX, "shop", company)
    ctx = await writer_handlers(database, settings, redis_client, http).context("shop")
    shop = ShopSettings()
    # The shop's settings book Klarna payments with mode of payment KLARNA: it must exist in Fortnox.
    r = await http.post(f"{SANDBOX}/3/modesofpayments", headers={"Authorization": f"Bearer {company.access_token}"},
                        json={"ModeOfPayment": {"Code": "KLARNA", "Description": "Klarna", "AccountNumber": "1580"}})
    assert r.status_code == 201, r.text

    processing = order_command("shop", _order(), shop)
    completed = order_command("shop", _order(status="completed", date_modified_gmt="2026-05-13T09:00:00"), shop)
    refunded = order_command("shop", _order(
        status="completed", date_modified_gmt="2026-05-14T09:00:00",
        refunds=[{"id": 77, "reason": "Skadad vara", "total": "-100.00"}]), shop)
    assert completed.convert_to_invoice and completed.payment is not None and refunded.credits

    first = await apply_document(ctx, processing)
    assert first["outcome"] == "created" and "invoice" not in first
    second = await apply_document(ctx, completed)
    assert second["invoice"] and second["payment"]
    third = await apply_document(ctx, refunded)
    assert len(third["credits"]) == 1
    for cmd in (processing, completed, refunded, refunded):  # replays and a stale snapshot
        assert (await apply_document(ctx, cmd))["outcome"] in ("duplicate", "stale")

    state = await _state(http, company.database_number)
    assert len(state["orders"]) == 1
    invoices = state["invoices"]
    assert len(invoices) == 2  # the invoice and the credit for the refund
    invoice = next(i for i in invoices if str(i["DocumentNumber"]) == second["invoice"])
    credit = next(i for i in invoices if str(i["DocumentNumber"]) == third["credits"][0])
    assert Decimal(str(invoice["Total"])) == Decimal(_order()["total"])
    assert Decimal(str(credit["Total"])) == Decimal("-100.00")
    payments = state["invoicepayments"]
    assert len(payments) == 1 and payments[0]["Booked"] is True
    assert Decimal(str(payments[0]["Amount"])) == Decimal(_order()["total"])


async def test_cancel_before_booking_sends_nothing_and_after_booking_cancels(
    settings: CommonSettings, database: Any, redis_client: aioredis.Redis, http: httpx.AsyncClient
) -> None:
    company = await create_company(http, SANDBOX)
    await add_tenant(database, settings, redis_client, http, SANDBOX, "shop", company)
    ctx = await writer_handlers(database, settings, redis_client, http).context("shop")
    shop = ShopSettings()
    never = order_command("shop", _order(id=1, status="cancelled"), shop)
    assert (await apply_document(ctx, never))["outcome"] == "nothing-to-cancel"

    await apply_document(ctx, order_command("shop", _order(id=2), shop))
    cancelled = order_command("shop", _order(id=2, status="cancelled", date_modified_gmt="2026-05-13T09:00:00"), shop)
    assert (await apply_document(ctx, cancelled))["cancelled"]
    state = await _state(http, company.database_number)
    assert len(state["orders"]) == 1 and state["orders"][0]["Cancelled"] is True


async def test_offers_are_found_again_when_the_ledger_is_lost(
    settings: CommonSettings, database: Any, redis_client: aioredis.Redis, http: httpx.AsyncClient
) -> None:
    company = await create_company(http, SANDBOX)
    await add_tenant(database, settings, redis_client, http, SANDBOX, "shop", company,
                     shop_settings={"documents": {"kind": "offer"}})
    handlers = writer_handlers(database, settings, redis_client, http)
    ctx = await handlers.context("shop")
    cmd = order_command("shop", _order(), ShopSettings.model_validate({"documents": {"kind": "offer"}}))
    assert cmd.kind == "offer"
    created = await apply_document(ctx, cmd)
    # The create's outcome never reached the records (a crash after Fortnox committed): the ledger
    # says "pending" and the booking map knows nothing.
    claim = await ctx.ledger.begin("shop", f"order:{cmd.woo_order_id}")
    await ctx.ledger.pending(claim, "create")
    await ctx.ledger.release(claim)
    from sqlalchemy import delete

    from libs.common.store.models import Booking

    async with database.begin() as session:
        await session.execute(delete(Booking).where(Booking.woo_resource == "order"))
    again = await apply_document(ctx, cmd)
    assert again["number"] == created["number"]
    assert len((await _state(http, company.database_number))["offers"]) == 1
