"""The writer applied in-process against the sandbox app: create, duplicate, stale, update."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from libs.common.envelope import Envelope
from libs.common.errors import PermanentError
from libs.common.settings import CommonSettings
from services.fortnox_sandbox.app import create_app
from services.fortnox_sandbox.settings import SandboxSettings
from services.fortnox_writer.documents import apply_document
from tests.writer_harness import add_tenant, create_company, order_command, writer_handlers

SANDBOX = "http://sandbox.test"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(SandboxSettings(validate_responses=True))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        yield client


async def _orders(http: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    r = await http.get(f"{SANDBOX}/3/orders", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return list(r.json()["Orders"])


async def test_create_duplicate_stale_and_update(settings: CommonSettings, database: Any,
                                                 redis_client: aioredis.Redis, http: httpx.AsyncClient) -> None:
    company = await create_company(http, SANDBOX)
    await add_tenant(database, settings, redis_client, http, SANDBOX, "shop-a", company)
    handlers = writer_handlers(database, settings, redis_client, http)
    ctx = await handlers.context("shop-a")

    first = await apply_document(ctx, order_command("shop-a", 1001))
    assert first["outcome"] == "created"
    again = await apply_document(ctx, order_command("shop-a", 1001))
    assert again == {"outcome": "duplicate", "number": first["number"]}
    older = await apply_document(ctx, order_command("shop-a", 1001, modified=datetime(2026, 10, 1, tzinfo=UTC),
                                                     price="1.00"))
    assert older["outcome"] == "stale"
    newer = await apply_document(ctx, order_command("shop-a", 1001, modified=datetime(2026, 11, 2, tzinfo=UTC),
                                                     price="120.00"))
    assert newer["outcome"] == "updated"

    orders = await _orders(http, company.access_token)
    assert len(orders) == 1
    r = await http.get(f"{SANDBOX}/3/orders/{first['number']}",
                       headers={"Authorization": f"Bearer {company.access_token}"})
    order = r.json()["Order"]
    assert order["OrderRows"][0]["Price"] == 120
    assert order["ExternalInvoiceReference1"] == "woonox:shop-a:order:1001"


async def test_unknown_account_is_permanent_with_fortnox_code(settings: CommonSettings, database: Any,
                                                             redis_client: aioredis.Redis,
                                                             http: httpx.AsyncClient) -> None:
    company = await create_company(http, SANDBOX)
    await add_tenant(database, settings, redis_client, http, SANDBOX, "shop-b", company)
    handlers = writer_handlers(database, settings, redis_client, http)
    cmd = order_command("shop-b", 7, account=3999)
    with pytest.raises(PermanentError) as err:
        await handlers.handle(Envelope.new(tenant="shop-b", type="fortnox.command.document", body=cmd.to_body()))
    assert err.value.code == "2001304"


async def test_command_for_another_tenant_is_refused(settings: CommonSettings, database: Any,
                                                    redis_client: aioredis.Redis, http: httpx.AsyncClient) -> None:
    company = await create_company(http, SANDBOX)
    await add_tenant(database, settings, redis_client, http, SANDBOX, "shop-c", company)
    handlers = writer_handlers(database, settings, redis_client, http)
    cmd = order_command("shop-d", 1)
    with pytest.raises(PermanentError, match="tenant"):
        await handlers.handle(Envelope.new(tenant="shop-c", type="fortnox.command.document", body=cmd.to_body()))


async def test_dead_refresh_token_marks_tenant_for_reconnection(settings: CommonSettings, database: Any,
                                                               redis_client: aioredis.Redis,
                                                               http: httpx.AsyncClient) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from libs.common.crypto import SecretBox
    from libs.common.store.models import FortnoxToken
    from libs.common.store.tenants import TenantStore

    company = await create_company(http, SANDBOX)
    await add_tenant(database, settings, redis_client, http, SANDBOX, "shop-r", company)
    box = SecretBox(settings.secret_keys.get_secret_value())
    async with database.begin() as session:
        await session.execute(update(FortnoxToken).where(FortnoxToken.tenant_id == "shop-r").values(
            refresh_token_enc=box.encrypt("revoked-by-a-human"), expires_at=datetime.now(UTC) - timedelta(hours=1)))
    handlers = writer_handlers(database, settings, redis_client, http)
    envelope = Envelope.new(tenant="shop-r", type="fortnox.command.document", body=order_command("shop-r", 1).to_body())
    with pytest.raises(PermanentError) as err:
        await handlers.handle(envelope)
    assert err.value.code == "needs-reconnect"
    tenant = await TenantStore(database, box).require("shop-r")
    assert tenant.status == "needs_reconnect" and "woonox connect" not in (tenant.status_reason or "x")
    token_calls = (await http.get(f"{SANDBOX}/_sandbox/journal", params={"path_prefix": "/oauth-v1"})).json()
    # No hot loop: the next message for the tenant dead-letters without asking Fortnox again.
    fresh = writer_handlers(database, settings, redis_client, http)
    with pytest.raises(PermanentError, match="reconnect"):
        await fresh.handle(envelope)
    again = (await http.get(f"{SANDBOX}/_sandbox/journal", params={"path_prefix": "/oauth-v1"})).json()
    assert len(again["entries"]) == len(token_calls["entries"]) == 1


async def test_dry_run_tenant_sends_nothing_and_records_the_plan(settings: CommonSettings, database: Any,
                                                                 redis_client: aioredis.Redis,
                                                                 http: httpx.AsyncClient) -> None:
    from libs.common.store.bookings import BookingStore

    company = await create_company(http, SANDBOX)
    await add_tenant(database, settings, redis_client, http, SANDBOX, "shop-dry", company,
                     shop_settings={"dry_run": True})
    await http.delete(f"{SANDBOX}/_sandbox/journal")
    handlers = writer_handlers(database, settings, redis_client, http)
    await handlers.handle(Envelope.new(tenant="shop-dry", type="fortnox.command.document",
                                       body=order_command("shop-dry", 5).to_body()))
    journal = (await http.get(f"{SANDBOX}/_sandbox/journal", params={"path_prefix": "/3/"})).json()["entries"]
    assert journal == []
    trail = await BookingStore(database).trail("shop-dry", "order", "5")
    assert [t["action"] for t in trail] == ["dry-run"]
    assert trail[0]["detail"]["rows"] == 1 and trail[0]["detail"]["customer"] == {"email": "anna@example.se"}


async def test_a_refused_order_tells_the_shop_why(settings: CommonSettings, database: Any,
                                                  redis_client: aioredis.Redis, http: httpx.AsyncClient,
                                                  topology: Any) -> None:
    from libs.common.commands import DocumentResult
    from libs.common.publisher import Publisher
    from libs.common.topology import RESULTS
    from tests.integration.broker_helpers import drain

    company = await create_company(http, SANDBOX)
    await add_tenant(database, settings, redis_client, http, SANDBOX, "shop-n", company)
    publisher = Publisher(settings.rabbitmq_url, topology)
    await publisher.connect()
    handlers = writer_handlers(database, settings, redis_client, http, results=publisher)
    with pytest.raises(PermanentError):
        await handlers.handle(Envelope.new(tenant="shop-n", type="fortnox.command.document",
                                           body=order_command("shop-n", 9, account=3999).to_body()))
    await publisher.close()
    [message] = await drain(settings.rabbitmq_url, topology.queue(RESULTS), expect=1)
    result = DocumentResult.from_body(message.body)
    assert result.outcome == "failed" and result.woo_order_id == 9
    assert "kunde inte bokföra" in result.note() and "2001304" in result.note()
