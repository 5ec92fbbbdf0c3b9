"""`woonox status` and `woonox audit` read the real RabbitMQ and store of record."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import aio_pika
import pytest
import redis.asyncio as aioredis
import typer
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner, Result

from libs.cli import context
from libs.cli.audit import audit
from libs.cli.status import EXIT_ATTENTION, status
from libs.common.consumer import ConsumerService
from libs.common.crypto import SecretBox
from libs.common.envelope import Envelope
from libs.common.errors import PermanentError
from libs.common.fortnox.ratelimit import RateLimiter
from libs.common.settings import CommonSettings
from libs.common.store.bookings import BookingRecord, BookingStore
from libs.common.store.models import FortnoxToken
from libs.common.store.tenants import TenantNew, TenantStore
from libs.common.topology import FORTNOX_WRITER, MAPPER, Topology
from tests.integration.broker_helpers import depth, wait_for

cli_app = typer.Typer()
cli_app.command("status")(status)
cli_app.command("audit")(audit)


async def cli(*args: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, cli_app, list(args))


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    # Rich wraps table cells to the terminal's width; a wide console keeps each row on one line.
    monkeypatch.setattr(context.console, "width", 250)


async def _seed(settings: CommonSettings, sessions: async_sessionmaker[AsyncSession]) -> None:
    tenants = TenantStore(sessions, SecretBox(settings.secret_keys.get_secret_value()))
    for tid in ("shop-a", "shop-b"):
        await tenants.add(TenantNew(id=tid, shop_url=f"https://{tid}.example", webhook_secret=SecretStr("s" * 12)))
    await tenants.set_status("shop-b", "suspended", "Fortnox licence missing")
    async with sessions.begin() as session:
        session.add(FortnoxToken(tenant_id="shop-a", access_token_enc="x", refresh_token_enc="y",
                                 expires_at=datetime.now(UTC) + timedelta(minutes=50), scope="invoice bookkeeping"))
    bookings = BookingStore(sessions)
    await bookings.audit("shop-a", "order", "727", "event.received", {"type": "woo.order.created"})
    await bookings.record(BookingRecord(tenant_id="shop-a", woo_resource="order", woo_id="727", kind="invoice",
                                        fortnox_number="1001"), action="document.created", audit={"number": "1001"})


async def _dead_letter(settings: CommonSettings, topology: Topology) -> None:
    async def handler(envelope: Envelope) -> None:
        raise PermanentError("account 3999 does not exist", code="2000588")

    service = ConsumerService("test", settings)
    service.consume(MAPPER, handler)
    async with service.running():
        await service.publisher.publish(Envelope.new(tenant="shop-a", type="woo.order.updated",
                                                     payload={"id": 727}, id="ev-727"))

        async def dead() -> bool:
            return await depth(settings.rabbitmq_url, topology.dlq(MAPPER)) == 1

        await wait_for(dead, what="the dead letter")


async def test_status_reports_queues_tenants_tokens_and_last_booking(
    settings: CommonSettings, topology: Topology, database: async_sessionmaker[AsyncSession],
    redis_client: aioredis.Redis,
) -> None:
    await _seed(settings, database)
    limiter = RateLimiter(redis_client, settings.redis_prefix)
    await redis_client.set(f"{settings.redis_prefix}:rl:epoch", "1")  # the limiter has run before
    for _ in range(3):  # three Fortnox requests granted to shop-a's writers just now
        assert await limiter.try_acquire("", "shop-a") == 0
    calm = await cli("status", "--json")
    assert calm.exit_code == EXIT_ATTENTION, calm.output  # shop-b is suspended
    view = json.loads(calm.output)
    tenants = {t["id"]: t for t in view["tenants"]}
    assert tenants["shop-a"]["token_health"] == "ok"
    assert tenants["shop-a"]["scopes"] == ["bookkeeping", "invoice"]
    assert tenants["shop-a"]["last_booking"]["fortnox_number"] == "1001"
    assert tenants["shop-a"]["rate_limit_used"] == 3
    assert tenants["shop-b"]["rate_limit_used"] == 0
    assert tenants["shop-b"]["token_health"] == "none"
    assert tenants["shop-b"]["last_booking"] is None
    assert view["attention"] == ["tenant shop-b is suspended: Fortnox licence missing"]
    groups = {g["group"]: g for g in view["groups"]}
    assert set(groups) == {g.name for g in topology.groups}
    assert groups["mapper"]["queue"]["exists"] is True
    assert groups["mapper"]["dead"]["messages"] == 0

    # shop-a's own writer queue (per-tenant group) with one command waiting
    connection = await aio_pika.connect(settings.rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        name = await topology.declare_tenant(channel, FORTNOX_WRITER, "shop-a")
        try:
            await channel.default_exchange.publish(aio_pika.Message(b"{}"), routing_key=name)
            waiting = json.loads((await cli("status", "--json")).output)
            assert {t["id"]: t["queue_depth"] for t in waiting["tenants"]} == {"shop-a": 1, "shop-b": None}
            writer = next(g for g in waiting["groups"] if g["group"] == "fortnox-writer")
            assert (writer["queue"]["exists"], writer["queue"]["messages"]) == (True, 1)
        finally:
            await channel.queue_delete(name)

    await _dead_letter(settings, topology)
    table = await cli("status")
    assert table.exit_code == EXIT_ATTENTION
    assert f"1 dead letter(s) in {topology.dlq(MAPPER)}" in table.output.replace("\n", " ")
    assert "shop-a" in table.output
    assert "invoice 1001 for order 727" in table.output


async def test_audit_shows_documents_events_and_dead_letters_of_one_order(
    settings: CommonSettings, topology: Topology, database: async_sessionmaker[AsyncSession]
) -> None:
    await _seed(settings, database)
    await _dead_letter(settings, topology)
    result = await cli("audit", "727", "--tenant", "shop-a", "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert [b["fortnox_number"] for b in found["bookings"]] == ["1001"]
    assert [e["action"] for e in found["events"]] == ["event.received", "document.created"]
    assert [d["id"] for d in found["dead_letters"]] == ["ev-727"]
    assert found["dead_letters"][0]["code"] == "2000588"

    human = await cli("audit", "727", "--tenant", "shop-a")
    assert "document.created" in human.output
    assert "woonox dlq replay --id ev-727" in human.output.replace("\n", "")
    assert (await cli("audit", "999", "--tenant", "shop-a")).exit_code == 3
