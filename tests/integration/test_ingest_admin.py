"""The admin API: operator token, tenants (secrets in, never out), validated settings, the Fortnox
OAuth2 connect flow against the sandbox, health, and the generated OpenAPI document."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from libs.common.crypto import SecretBox
from libs.common.settings import CommonSettings
from libs.common.store.models import FortnoxToken
from libs.common.topology import Topology
from services.fortnox_sandbox.app import create_app as create_sandbox
from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from services.ingest.signature import sign
from tests.integration.broker_helpers import wait_for

TOKEN = "operator-token-123-of-at-least-32-chars"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NEW = {"id": "shop-x", "shop_url": "https://shop-x.example", "webhook_secret": "firstSecret1",
       "woo_consumer_key": "ck_x", "woo_consumer_secret": "cs_hidden_x", "fortnox_client_id": "woonox-app",
       "fortnox_client_secret": "fortnox-app-secret", "fortnox_auth_url": "http://fortnox.test",
       "fortnox_api_url": "http://fortnox.test"}


@contextlib.asynccontextmanager
async def admin_client(**overrides: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    app = create_app(IngestSettings(public_url="http://ingest.test", **overrides))
    async with app.router.lifespan_context(app):
        async def connected() -> bool:
            return bool(app.state.ready())

        await wait_for(connected, what="ingest connected")
        admin = app.state.admin_app  # the admin listener's app (issue 16)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=admin), base_url="http://ingest.test") as c:
            yield c, app


async def test_without_a_token_the_admin_api_does_not_exist(settings: CommonSettings, topology: Topology,
                                                             database: Any) -> None:
    async with admin_client() as (client, _):
        response = await client.get("/admin/tenants", headers=AUTH)
        assert response.status_code == 404
        assert response.json()["error"] == "admin-disabled"


async def test_tenants_settings_and_auth(settings: CommonSettings, topology: Topology, database: Any) -> None:
    async with admin_client(admin_token=TOKEN) as (client, app), \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest.test") as public:
        assert (await client.get("/admin/tenants")).status_code == 401
        wrong = await client.get("/admin/tenants", headers={"Authorization": "Bearer nope"})
        assert (wrong.status_code, wrong.json()["error"]) == (401, "unauthorized")

        created = await client.post("/admin/tenants", json=NEW, headers=AUTH)
        assert created.status_code == 201, created.text
        assert created.json()["woo_keys_set"] is True
        assert "cs_hidden_x" not in created.text
        assert "firstSecret1" not in created.text
        again = await client.post("/admin/tenants", json=NEW, headers=AUTH)
        assert (again.status_code, again.json()["error"]) == (409, "tenant-exists")
        bad = await client.post("/admin/tenants", json={**NEW, "id": "Bad Id!"}, headers=AUTH)
        assert (bad.status_code, bad.json()["error"]) == (422, "invalid-request")
        assert [t["id"] for t in (await client.get("/admin/tenants", headers=AUTH)).json()] == ["shop-x"]
        assert (await client.get("/admin/tenants/none", headers=AUTH)).status_code == 404

        body = b'{"id": 1, "type": "simple"}'

        def signed(secret: str) -> dict[str, str]:
            return {"x-wc-webhook-topic": "product.updated", "x-wc-webhook-signature": sign(body, secret.encode())}

        first = await public.post("/webhooks/woocommerce/shop-x", content=body, headers=signed("firstSecret1"))
        assert first.status_code == 202
        patched = await client.patch("/admin/tenants/shop-x", json={"webhook_secret": "secondSecret2", "name": "X"},
                                     headers=AUTH)
        assert (patched.status_code, patched.json()["name"]) == (200, "X")
        old = await public.post("/webhooks/woocommerce/shop-x", content=body, headers=signed("firstSecret1"))
        assert old.status_code == 401  # the cached secret was dropped at once
        assert (await client.get("/admin/tenants/shop-x", headers=AUTH)).json()["woo_keys_set"] is True

        invalid = await client.put("/admin/tenants/shop-x/settings", json={"accounts": {"sweden": {"by_rate": 5}}},
                                   headers=AUTH)
        assert (invalid.status_code, invalid.json()["error"]) == (422, "invalid-settings")
        assert "accounts" in invalid.json()["reason"]
        stored = await client.put("/admin/tenants/shop-x/settings", json={"home_country": "SE"}, headers=AUTH)
        assert stored.status_code == 200
        assert (await client.get("/admin/tenants/shop-x/settings", headers=AUTH)).json() == stored.json()

        assert (await client.get("/status.json")).status_code == 401  # the status page, same operator auth
        assert (await client.get("/status.json", headers=AUTH)).status_code == 200
        health = await client.get("/admin/health", headers=AUTH)
        assert health.json() == {"status": "ok", "broker": True, "database": True, "redis": True}
        spec = (await client.get("/openapi.json")).json()
        assert "/admin/tenants/{tenant_id}/fortnox/connect" in spec["paths"]
        assert "/webhooks/woocommerce/{tenant}" not in spec["paths"]
        assert any("Bearer" in json.dumps(s) or "bearer" in json.dumps(s)
                   for s in spec["components"]["securitySchemes"].values())


async def test_fortnox_connect_flow_stores_encrypted_tokens(settings: CommonSettings, topology: Topology,
                                                            database: Any) -> None:
    sandbox = create_sandbox()
    async with sandbox.router.lifespan_context(sandbox):
        sandbox.state.sandbox.register_client("woonox-app", "fortnox-app-secret")
        async with admin_client(admin_token=TOKEN) as (client, app), \
                httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url="http://fortnox.test") as fx:
            app.state.http = fx  # ingest talks to the sandbox's token endpoint
            assert (await client.post("/admin/tenants", json=NEW, headers=AUTH)).status_code == 201
            start = await client.get("/admin/tenants/shop-x/fortnox/connect", headers=AUTH)
            assert start.status_code == 307
            consent = urlsplit(start.headers["location"])
            query = parse_qs(consent.query)
            assert f"{consent.scheme}://{consent.netloc}{consent.path}" == "http://fortnox.test/oauth-v1/auth"
            assert query["redirect_uri"] == ["http://ingest.test/admin/fortnox/callback"]
            assert (query["access_type"], query["response_type"]) == (["offline"], ["code"])

            approved = await fx.get(start.headers["location"])  # the shop owner consents
            back = urlsplit(approved.headers["location"])
            done = await client.get(f"{back.path}?{back.query}")
            assert done.status_code == 200, done.text
            assert done.json()["status"] == "connected"
            replay = await client.get(f"{back.path}?{back.query}")  # the state is single use
            assert (replay.status_code, replay.json()["error"]) == (400, "bad-state")
            denied = await client.get("/admin/fortnox/callback?state=forged&code=x")
            assert denied.status_code == 400

    async with database() as session:
        row = (await session.scalars(select(FortnoxToken))).one()
    assert row.tenant_id == "shop-x"
    assert row.refresh_token_enc
    box = SecretBox(settings.secret_keys.get_secret_value())
    assert box.decrypt(row.access_token_enc).count(".") == 2  # a JWT, stored encrypted


async def test_a_nul_byte_is_a_clear_422(settings: CommonSettings, topology: Topology, database: Any) -> None:
    """Issue 16: PostgreSQL text cannot hold NUL; the answer was a 500."""
    async with admin_client(admin_token=TOKEN) as (client, _):
        assert (await client.post("/admin/tenants", json=NEW, headers=AUTH)).status_code == 201
        patched = await client.patch("/admin/tenants/shop-x", json={"name": "bad\u0000name"}, headers=AUTH)
        assert (patched.status_code, patched.json()["error"]) == (422, "invalid-tenant")
        assert "NUL" in patched.json()["reason"]
        created = await client.post("/admin/tenants", json={**NEW, "id": "shop-y", "name": "a\u0000"}, headers=AUTH)
        assert created.status_code == 422


@contextlib.asynccontextmanager
async def oauth_world(**overrides: Any) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, Any, Any]]:
    """The operator's browser (admin client with its cookie jar), the sandbox, ingest, and the sandbox app."""
    sandbox = create_sandbox()
    async with sandbox.router.lifespan_context(sandbox):
        sandbox.state.sandbox.register_client("woonox-app", "fortnox-app-secret")
        async with admin_client(admin_token=TOKEN, **overrides) as (client, app), \
                httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url="http://fortnox.test") as fx:
            app.state.http = fx
            yield client, fx, app, sandbox.state.sandbox


def _other_browser(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app.state.admin_app), base_url="http://ingest.test")


async def _stored_tokens(database: Any) -> list[FortnoxToken]:
    async with database() as session:
        return list((await session.scalars(select(FortnoxToken))).all())


async def test_a_callback_from_another_browser_is_refused_and_stores_nothing(
        settings: CommonSettings, topology: Topology, database: Any) -> None:
    """Issue 16: the consent link alone must not let anyone else bind the shop to their Fortnox company."""
    async with oauth_world() as (operator, fx, app, _):
        assert (await operator.post("/admin/tenants", json=NEW, headers=AUTH)).status_code == 201
        start = await operator.get("/admin/tenants/shop-x/fortnox/connect", headers=AUTH)
        cookie = start.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "path=/admin/fortnox" in cookie
        approved = await fx.get(start.headers["location"])  # someone else approves with the link
        back = urlsplit(approved.headers["location"])
        async with _other_browser(app) as stranger:
            no_cookie = await stranger.get(f"{back.path}?{back.query}")
            assert (no_cookie.status_code, no_cookie.json()["error"]) == (403, "no-oauth-session")
            stranger.cookies.set("woonox_oauth", "guessed", domain="ingest.test", path="/admin/fortnox")
            wrong = await stranger.get(f"{back.path}?{back.query}")
            assert (wrong.status_code, wrong.json()["error"]) == (403, "oauth-session-mismatch")
        assert await _stored_tokens(database) == []
        # The operator's own browser can still finish that consent.
        done = await operator.get(f"{back.path}?{back.query}")
        assert done.status_code == 200, done.text
    assert [t.tenant_id for t in await _stored_tokens(database)] == ["shop-x"]


async def test_a_start_link_is_single_use_and_binds_the_browser_that_opens_it(
        settings: CommonSettings, topology: Topology, database: Any) -> None:
    async with oauth_world() as (operator, fx, app, _):
        assert (await operator.post("/admin/tenants", json=NEW, headers=AUTH)).status_code == 201
        link = (await operator.get("/admin/tenants/shop-x/fortnox/connect?redirect=false", headers=AUTH)).json()["url"]
        assert link.startswith("http://ingest.test/admin/fortnox/start?ticket=")
        async with _other_browser(app) as owner, _other_browser(app) as late:
            opened = await owner.get(link)
            assert opened.status_code == 307 and opened.headers["location"].startswith("http://fortnox.test/oauth-v1/auth")
            again = await late.get(link)
            assert (again.status_code, again.json()["error"]) == (400, "bad-start-link")
            back = urlsplit((await fx.get(opened.headers["location"])).headers["location"])
            assert (await late.get(f"{back.path}?{back.query}")).status_code == 403
            assert (await owner.get(f"{back.path}?{back.query}")).status_code == 200
    assert len(await _stored_tokens(database)) == 1


async def test_pkce_when_turned_on(settings: CommonSettings, topology: Topology, database: Any) -> None:
    async with oauth_world(fortnox_pkce=True) as (operator, fx, _, _):
        assert (await operator.post("/admin/tenants", json=NEW, headers=AUTH)).status_code == 201
        start = await operator.get("/admin/tenants/shop-x/fortnox/connect", headers=AUTH)
        query = parse_qs(urlsplit(start.headers["location"]).query)
        assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
        back = urlsplit((await fx.get(start.headers["location"])).headers["location"])
        done = await operator.get(f"{back.path}?{back.query}")
        assert done.status_code == 200, done.text
    assert len(await _stored_tokens(database)) == 1


async def test_a_company_with_another_organisation_number_is_refused(
        settings: CommonSettings, topology: Topology, database: Any) -> None:
    async with oauth_world() as (operator, fx, _, sandbox):
        ours = sandbox.create_company("Butiken AB", organisation_number="5566778899")
        theirs = sandbox.create_company("Annat AB", organisation_number="5599887766")
        tenant = {**NEW, "fortnox_organisation_number": "556677-8899"}
        created = await operator.post("/admin/tenants", json=tenant, headers=AUTH)
        assert created.json()["fortnox_organisation_number"] == "556677-8899"

        async def consent(company: Any) -> httpx.Response:
            start = await operator.get("/admin/tenants/shop-x/fortnox/connect", headers=AUTH)
            approved = await fx.get(start.headers["location"] + f"&database_number={company.database_number}")
            back = urlsplit(approved.headers["location"])
            return await operator.get(f"{back.path}?{back.query}")

        refused = await consent(theirs)
        assert (refused.status_code, refused.json()["error"]) == (400, "wrong-fortnox-company")
        assert "559988-7766" in refused.json()["reason"] and "nothing was stored" in refused.json()["reason"]
        assert await _stored_tokens(database) == []
        accepted = await consent(ours)
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["organisation_number"] == "556677-8899"
    assert len(await _stored_tokens(database)) == 1


async def test_a_short_webhook_secret_is_accepted_with_a_warning(
        settings: CommonSettings, topology: Topology, database: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 16: 8 characters were accepted silently."""
    async with admin_client(admin_token=TOKEN) as (client, _):
        short = await client.post("/admin/tenants", json=NEW, headers=AUTH)  # "firstSecret1": 12 characters
        assert short.status_code == 201
        assert short.json()["warnings"] == [
            "webhook_secret has 12 characters: use 32 or more random ones (set the same in WooCommerce's webhook)"]
        strong = await client.post("/admin/tenants", json={**NEW, "id": "shop-y", "webhook_secret": "s" * 32},
                                   headers=AUTH)
        assert (strong.status_code, strong.json()["warnings"]) == (201, [])
        renamed = await client.patch("/admin/tenants/shop-y", json={"name": "Y"}, headers=AUTH)
        assert renamed.json()["warnings"] == []
        weakened = await client.patch("/admin/tenants/shop-y", json={"webhook_secret": "nine-char"}, headers=AUTH)
        assert weakened.status_code == 200 and "9 characters" in weakened.json()["warnings"][0]
        too_short = await client.post("/admin/tenants", json={**NEW, "id": "shop-z", "webhook_secret": "seven77"},
                                      headers=AUTH)
        assert too_short.status_code == 422
    logged = capsys.readouterr().out
    assert "weak_tenant_secret" in logged and "firstSecret1" not in logged and "nine-char" not in logged
