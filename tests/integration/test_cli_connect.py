"""`woonox connect`: the consent link and its code, and a service account, against the sandbox."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import redis.asyncio as aioredis
from click.testing import Result
from sqlalchemy import select
from typer.testing import CliRunner

from libs.cli.main import app
from libs.cli.stack import Stack
from libs.common.crypto import SecretBox
from libs.common.fortnox.tokens import TokenManager
from libs.common.settings import CommonSettings
from libs.common.store.models import FortnoxToken
from libs.common.store.tenants import TenantNew, TenantStore
from services.ingest.app import create_app
from services.ingest.settings import IngestSettings


@pytest.fixture
def sandbox(service_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    stack = Stack(service_env, tmp_path)
    stack.start("sandbox", "woonox-sandbox")
    stack.wait_ready("sandbox", path="/healthz")
    yield stack.processes["sandbox"].url
    stack.stop_all()


async def _cli(*args: str) -> Result:
    # The CLI runs its own event loop (asyncio.run), so it runs on a thread beside the test's loop.
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env={"COLUMNS": "400"})


async def _tenant(database: Any, settings: CommonSettings, sandbox: str, client_id: str) -> None:
    r = httpx.post(f"{sandbox}/_sandbox/clients", json={"client_id": client_id, "client_secret": "s3cret-" + client_id})
    assert r.status_code == 201, r.text
    await TenantStore(database, SecretBox(settings.secret_keys.get_secret_value())).add(TenantNew(
        id="shop", shop_url="https://shop.example", webhook_secret="whsec-12345", fortnox_api_url=sandbox,
        fortnox_auth_url=sandbox, fortnox_client_id=client_id, fortnox_client_secret="s3cret-" + client_id))


async def _works(database: Any, settings: CommonSettings, sandbox: str) -> dict[str, Any]:
    box = SecretBox(settings.secret_keys.get_secret_value())
    tenant = await TenantStore(database, box).require("shop")
    redis = aioredis.from_url(settings.redis_url)
    async with httpx.AsyncClient() as http:
        token = await TokenManager(database, redis, box, http, settings.redis_prefix).access_token(tenant)
        r = await http.get(f"{sandbox}/3/companyinformation", headers={"Authorization": f"Bearer {token}"})
    await redis.aclose()
    assert r.status_code == 200, r.text
    return dict(r.json()["CompanyInformation"])


async def test_start_link_then_code(settings: CommonSettings, database: Any, sandbox: str,
                                    redis_client: aioredis.Redis) -> None:
    """The CLI prints a single-use start link to ingest (issue 16: the consent is bound to the browser
    that opens it); opened once, it leads to Fortnox's consent; the code finishes by hand."""
    await _tenant(database, settings, sandbox, "app-consent")
    shown = await _cli("connect", "shop")
    assert shown.exit_code == 0, shown.output
    link = re.search(r"(http://\S+/admin/fortnox/start\?ticket=\S+)", shown.output.replace("\n", ""))
    assert link, shown.output
    assert "oauth-v1/auth" not in shown.output  # no consent link that works in any browser
    ingest = create_app(IngestSettings())
    async with ingest.router.lifespan_context(ingest), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=ingest.state.admin_app), base_url="http://127.0.0.1:8001") as browser:
        opened = await browser.get(link.group(1))
        assert opened.status_code == 307, opened.text
        assert "woonox_oauth=" in opened.headers["set-cookie"]
        assert (await browser.get(link.group(1))).status_code == 400  # single use
    consent = httpx.get(opened.headers["location"], follow_redirects=False)  # the sandbox approves at once
    assert consent.status_code == 302
    code = parse_qs(urlparse(consent.headers["location"]).query)["code"][0]
    done = await _cli("connect", "shop", "--code", code)
    assert done.exit_code == 0 and "connected" in done.output, done.output
    assert (await _works(database, settings, sandbox))["DatabaseNumber"]


async def test_service_account(settings: CommonSettings, database: Any, sandbox: str,
                               redis_client: aioredis.Redis) -> None:
    company = httpx.post(f"{sandbox}/_sandbox/companies", json={
        "name": "Tjänstebolaget AB", "client_id": "app-service", "client_secret": "s3cret-app-service",
        "service_account": True}).json()
    await TenantStore(database, SecretBox(settings.secret_keys.get_secret_value())).add(TenantNew(
        id="shop", shop_url="https://shop.example", webhook_secret="whsec-12345", fortnox_api_url=sandbox,
        fortnox_auth_url=sandbox, fortnox_client_id="app-service", fortnox_client_secret="s3cret-app-service"))
    result = await _cli("connect", "shop", "--service-account", str(company["database_number"]))
    assert result.exit_code == 0 and "service account" in result.output, result.output
    info = await _works(database, settings, sandbox)
    assert str(info["DatabaseNumber"]) == str(company["database_number"])
    grants = [e for e in httpx.get(f"{sandbox}/_sandbox/journal", params={"path_prefix": "/oauth-v1/token"}).json()
              ["entries"]]
    assert grants and all(e["status"] == 200 for e in grants)


async def test_bad_code_is_a_clear_error(settings: CommonSettings, database: Any, sandbox: str,
                                         redis_client: aioredis.Redis) -> None:
    await _tenant(database, settings, sandbox, "app-bad")
    result = await _cli("connect", "shop", "--code", "not-a-code")
    assert result.exit_code == 1
    assert "refused the authorization code" in result.output


async def test_a_code_of_another_company_is_refused(settings: CommonSettings, database: Any, sandbox: str,
                                                    redis_client: aioredis.Redis) -> None:
    """Issue 16: the tenant's organisation number is checked before the tokens are stored."""
    await _tenant(database, settings, sandbox, "app-org")
    store = TenantStore(database, SecretBox(settings.secret_keys.get_secret_value()))
    shop = await store.require("shop")
    await store.add(TenantNew.model_validate({**shop.model_dump(include=set(TenantNew.model_fields)),
                                              "fortnox_organisation_number": "556677-8899"}), replace=True)
    other = httpx.post(f"{sandbox}/_sandbox/companies",
                       json={"name": "Annat AB", "organisation_number": "5599887766", "client_id": "app-org",
                             "client_secret": "s3cret-app-org"}).json()
    consent = httpx.get(f"{sandbox}/oauth-v1/auth", params={
        "client_id": "app-org", "redirect_uri": "http://127.0.0.1:8001/admin/fortnox/callback", "state": "s",
        "response_type": "code", "database_number": other["database_number"]}, follow_redirects=False)
    code = parse_qs(urlparse(consent.headers["location"]).query)["code"][0]
    result = await _cli("connect", "shop", "--code", code)
    assert result.exit_code == 1
    assert "559988-7766" in result.output and "nothing was stored" in result.output, result.output
    async with database() as session:
        assert (await session.scalars(select(FortnoxToken))).all() == []
