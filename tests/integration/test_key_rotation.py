"""Issue 16: keys can be retired (`woonox keys rotate`), and one tenant whose secrets no key opens
does not break listing tenants, the admin API or the poller for all the others."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from click.testing import Result
from pydantic import SecretStr
from sqlalchemy import select
from typer.testing import CliRunner

from libs.cli.main import app as cli
from libs.common.crypto import SecretBox, generate_key
from libs.common.errors import PermanentError
from libs.common.fortnox.tokens import TokenManager, cache_key
from libs.common.settings import CommonSettings
from libs.common.store.models import FortnoxToken
from libs.common.store.tenants import UNREADABLE, Tenant, TenantNew, TenantStore
from libs.common.topology import Topology
from services.ingest.app import create_app
from services.ingest.poller import Poller
from services.ingest.settings import IngestSettings
from tests.integration.broker_helpers import wait_for

TOKEN = "operator-token-of-at-least-32-characters"


def _tenant(tenant_id: str) -> TenantNew:
    return TenantNew(id=tenant_id, shop_url="https://shop.example", webhook_secret=SecretStr("w" * 32),
                     woo_consumer_key=SecretStr("ck_" + tenant_id), woo_consumer_secret=SecretStr("cs_" + tenant_id),
                     fortnox_client_id="app", fortnox_client_secret=SecretStr("client-secret-" + tenant_id))


async def _keys(*args: str, keys: str) -> Result:
    # The CLI runs its own event loop (asyncio.run), so it runs on a thread beside the test's loop.
    return await asyncio.to_thread(CliRunner().invoke, cli, ["keys", *args],
                                   env={"WOONOX_SECRET_KEYS": keys, "COLUMNS": "400"})


async def test_rotation_end_to_end(settings: CommonSettings, database: Any, redis_client: aioredis.Redis) -> None:
    key_a, key_b = settings.secret_keys.get_secret_value(), generate_key()
    box_a = SecretBox(key_a)
    await TenantStore(database, box_a).add(_tenant("shop"))
    async with httpx.AsyncClient() as http:
        await TokenManager(database, redis_client, box_a, http, settings.redis_prefix).store(
            "shop", "access-token", "refresh-token", 3600, "order")
    await redis_client.set(cache_key(settings.redis_prefix, "shop"), box_a.encrypt("access-token"))

    first = await _keys("rotate", keys=f"{key_b},{key_a}")
    assert first.exit_code == 0, first.output
    # webhook secret, WooCommerce key and secret, Fortnox client secret, access and refresh token
    assert "1 tenant(s): 6 secret(s) re-encrypted under the first key, 0 already under it" in first.output
    again = await _keys("rotate", keys=f"{key_b},{key_a}")
    assert "0 secret(s) re-encrypted under the first key, 6 already under it" in again.output

    box_b = SecretBox(key_b)  # A is retired
    shop = await TenantStore(database, box_b).require("shop")
    assert shop.webhook_secret.get_secret_value() == "w" * 32
    assert shop.woo_consumer_key and shop.woo_consumer_key.get_secret_value() == "ck_shop"
    assert shop.woo_consumer_secret and shop.woo_consumer_secret.get_secret_value() == "cs_shop"
    assert shop.fortnox_client_secret and shop.fortnox_client_secret.get_secret_value() == "client-secret-shop"
    async with database() as session:
        row = (await session.scalars(select(FortnoxToken))).one()
    assert row.access_token_enc and box_b.decrypt(row.access_token_enc) == "access-token"
    assert row.refresh_token_enc and box_b.decrypt(row.refresh_token_enc) == "refresh-token"
    # The Redis copy under A is gone: a service with B alone reads the token from PostgreSQL.
    assert await redis_client.get(cache_key(settings.redis_prefix, "shop")) is None
    with pytest.raises(PermanentError):
        SecretBox(key_a).decrypt(row.access_token_enc)


async def _with_an_unreadable_tenant(settings: CommonSettings, database: Any) -> TenantStore:
    store = TenantStore(database, SecretBox(settings.secret_keys.get_secret_value()))
    await store.add(_tenant("a-good"))
    await TenantStore(database, SecretBox(generate_key())).add(_tenant("b-lost-key"))  # a key nobody has
    await store.add(_tenant("c-good"))
    return store


async def test_an_undecryptable_tenant_is_marked_and_the_others_are_listed(
        settings: CommonSettings, database: Any, capsys: pytest.CaptureFixture[str]) -> None:
    store = await _with_an_unreadable_tenant(settings, database)
    listed = {t.id: t for t in await store.list()}
    assert sorted(listed) == ["a-good", "b-lost-key", "c-good"]
    lost = listed["b-lost-key"]
    assert (lost.secrets_unreadable, lost.status) == (True, UNREADABLE)
    assert lost.woo_consumer_key is None and lost.fortnox_client_secret is None
    assert lost.webhook_secret.get_secret_value() != "w" * 32
    assert "WOONOX_SECRET_KEYS" in (lost.status_reason or "")
    good = listed["a-good"]
    assert not good.secrets_unreadable and good.woo_consumer_key is not None
    logged = capsys.readouterr().out
    assert "tenant_secrets_unreadable" in logged and "b-lost-key" in logged and "w" * 32 not in logged

    failed = await _keys("rotate", keys=settings.secret_keys.get_secret_value())
    assert failed.exit_code == 1 and "b-lost-key" in failed.output, failed.output


async def test_an_undecryptable_tenant_in_the_admin_api(settings: CommonSettings, topology: Topology,
                                                        database: Any) -> None:
    await _with_an_unreadable_tenant(settings, database)
    app = create_app(IngestSettings(admin_token=TOKEN))
    async with app.router.lifespan_context(app):
        async def connected() -> bool:
            return bool(app.state.ready())

        await wait_for(connected, what="ingest connected")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.state.admin_app),
                                     base_url="http://ingest.test") as client:
            response = await client.get("/admin/tenants", headers={"Authorization": f"Bearer {TOKEN}"})
            one = await client.get("/admin/tenants/b-lost-key", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    shown = {t["id"]: (t["secrets_unreadable"], t["status"]) for t in response.json()}
    assert shown == {"a-good": (False, "active"), "b-lost-key": (True, UNREADABLE), "c-good": (False, "active")}
    assert one.status_code == 409 and "woonox keys rotate" in one.text, one.text


async def test_an_undecryptable_tenant_in_the_pollers_tick(settings: CommonSettings, database: Any) -> None:
    await _with_an_unreadable_tenant(settings, database)
    polled: list[str] = []

    async def job(tenant: Tenant) -> None:
        polled.append(tenant.id)

    poller = Poller(IngestSettings())
    poller._jobs = [(3600.0, job)]  # only this job: no shop or Fortnox to reach
    await poller.start()
    try:
        await asyncio.wait_for(poller.tick(), 30)
    finally:
        await poller.close()
    assert sorted(polled) == ["a-good", "c-good"]
