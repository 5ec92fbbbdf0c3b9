"""The status page in a real browser (Chromium driven by Playwright): a user sees the
tenants and their health, the queues, the recent bookings and the dead letter with its reason, and
the Replay button sends it back (it is handled, the DLQ is empty). Screenshots go to
test-output/<test name>/."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser, async_playwright
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.consumer import ConsumerService
from libs.common.crypto import SecretBox
from libs.common.envelope import Envelope
from libs.common.errors import PermanentError
from libs.common.settings import CommonSettings
from libs.common.store.bookings import BookingRecord, BookingStore
from libs.common.store.models import FortnoxToken
from libs.common.store.tenants import TenantNew, TenantStore
from libs.common.topology import MAPPER, Topology
from services.ingest.settings import IngestSettings
from services.ingest.status_page import router
from tests.conftest import ROOT
from tests.integration.broker_helpers import depth, wait_for

pytestmark = pytest.mark.e2e
OUTPUT = ROOT / "test-output"
TOKEN = "admin-token-for-the-test-32-chars-long"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
async def base_url(settings: CommonSettings, database: async_sessionmaker[AsyncSession]) -> AsyncIterator[str]:
    app = FastAPI()
    app.state.settings = IngestSettings(admin_token=SecretStr(TOKEN))
    app.state.sessions = database
    app.include_router(router)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return server.started

    await wait_for(started, what="the status page server")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


INSTALL_CHROMIUM = ("no Chromium: set CHROMIUM to its path, or install Debian's (apt-get install chromium) "
                    "or Playwright's (.venv/bin/playwright install chromium)")


def _chromium(playwright_own: str) -> str | None:
    """$CHROMIUM, else Debian's /usr/bin/chromium, else the browser Playwright installed itself."""
    for candidate in (os.environ.get("CHROMIUM", ""), "/usr/bin/chromium", playwright_own):
        if candidate and os.access(candidate, os.X_OK) and Path(candidate).is_file():
            return candidate
    return None


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        try:
            own = p.chromium.executable_path
        except Exception:  # Playwright raises when it has no browser of its own
            own = ""
        found = _chromium(own)
        if found is None:
            if os.environ.get("CI"):  # CI installs Chromium (.ci/run): there, a missing one is a failure
                pytest.fail(INSTALL_CHROMIUM, pytrace=False)
            pytest.skip(INSTALL_CHROMIUM)
        b = await p.chromium.launch(executable_path=found, args=CHROMIUM_ARGS)
        yield b
        await b.close()


async def _seed(settings: CommonSettings, sessions: async_sessionmaker[AsyncSession]) -> None:
    tenants = TenantStore(sessions, SecretBox(settings.secret_keys.get_secret_value()))
    await tenants.add(TenantNew(id="shop-a", name="Shop A", shop_url="https://a.example",
                                webhook_secret=SecretStr("s" * 12)))
    await tenants.add(TenantNew(id="shop-b", name="Shop B", shop_url="https://b.example",
                                webhook_secret=SecretStr("s" * 12)))
    await tenants.set_status("shop-b", "suspended", "Fortnox licence missing")
    async with sessions.begin() as session:
        session.add(FortnoxToken(tenant_id="shop-a", access_token_enc="x", refresh_token_enc="y",
                                 expires_at=datetime.now(UTC) + timedelta(minutes=50), scope="invoice"))
    await BookingStore(sessions).record(BookingRecord(tenant_id="shop-a", woo_resource="order", woo_id="727",
                                                      kind="invoice", fortnox_number="1001"), action="created")


async def test_user_sees_health_and_replays_a_dead_letter(
    settings: CommonSettings, topology: Topology, database: async_sessionmaker[AsyncSession],
    base_url: str, browser: Browser, request: pytest.FixtureRequest,
) -> None:
    output = OUTPUT / request.node.name  # the screenshots, like every e2e test's output
    await _seed(settings, database)
    accounts = {"3001"}
    handled: list[str] = []

    async def handler(envelope: Envelope) -> None:
        account = envelope.payload()["account"]
        if account not in accounts:
            raise PermanentError(f"account {account} is not in the chart of accounts", code="2000588")
        handled.append(envelope.id)

    service = ConsumerService("test", settings)
    service.consume(MAPPER, handler)
    output.mkdir(parents=True, exist_ok=True)
    async with service.running():
        await service.publisher.publish(Envelope.new(tenant="shop-a", type="woo.order.updated",
                                                     payload={"id": 728, "account": "3999"}, id="order-728"))

        async def dead() -> bool:
            return await depth(settings.rabbitmq_url, topology.dlq(MAPPER)) == 1

        await wait_for(dead, what="the dead letter")

        context = await browser.new_context(http_credentials={"username": "admin", "password": TOKEN})
        page = await context.new_page()
        response = await page.goto(f"{base_url}/status")
        assert response is not None
        assert response.status == 200
        assert await page.inner_text("h1") == "woonox status"
        tenants = page.locator("#tenants tbody tr")
        assert await tenants.count() == 2
        assert "ok" in await tenants.nth(0).inner_text()
        assert "invoice 1001 for order 727" in await tenants.nth(0).inner_text()
        assert "suspended Fortnox licence missing" in await tenants.nth(1).inner_text()
        dead_row = page.locator("#dead-letters tbody tr")
        assert await dead_row.count() == 1
        row_text = await dead_row.inner_text()
        assert "account 3999 is not in the chart of accounts" in row_text
        assert "2000588" in row_text
        assert "shop-a" in row_text
        mapper_row = page.locator("#queues tbody tr", has_text=topology.queue(MAPPER))
        assert (await mapper_row.locator("td").nth(5).inner_text()).strip() == "1"
        await page.screenshot(path=str(output / "status-page.png"), full_page=True)

        accounts.add("3999")  # the operator fixes the account map, then presses Replay
        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        async with page.expect_navigation():
            await page.get_by_role("button", name="Replay order-728").click()
        assert "Replayed 1 dead letter(s)." in await page.inner_text("[role=status]")

        async def handled_once() -> bool:
            return handled == ["order-728"]

        await wait_for(handled_once, what="the replayed order to be handled")
        await page.reload()
        assert await page.inner_text("#dead-letters tbody") == "No dead letters."
        await page.screenshot(path=str(output / "status-page-after-replay.png"), full_page=True)
        await context.close()
    assert await depth(settings.rabbitmq_url, topology.dlq(MAPPER)) == 0


async def test_page_needs_the_admin_token_and_a_genuine_form(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        anonymous = await client.get("/status")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"].startswith("Basic")  # the browser asks for it
        wrong = await client.get("/status", auth=("admin", "not-the-token"))
        assert wrong.status_code == 401
        forged = await client.post("/status/replay", data={"id": "x", "csrf": "forged"},
                                   headers={"Authorization": f"Bearer {TOKEN}"})
        assert forged.status_code == 403
        as_json = await client.get("/status.json", headers={"Authorization": f"Bearer {TOKEN}"})
        assert as_json.status_code == 200
        assert as_json.json()["dead_letters"] == []


HOSTILE_ID = "x');fetch('/admin/tenants');('"


async def test_a_hostile_dead_letter_id_is_inert_in_the_browser(
    settings: CommonSettings, topology: Topology, base_url: str, browser: Browser,
) -> None:
    """Issue 16: the id used to land in an inline onsubmit, where HTML escaping is undone before the
    JavaScript runs. Now it is text in a data- attribute, and the CSP allows no inline script."""

    async def handler(envelope: Envelope) -> None:
        raise PermanentError("refused for the test", code="test")

    service = ConsumerService("test", settings)
    service.consume(MAPPER, handler)
    async with service.running():
        await service.publisher.publish(Envelope.new(tenant="shop-a", type="woo.order.updated",
                                                     payload={"id": 1}, id=HOSTILE_ID))

        async def dead() -> bool:
            return await depth(settings.rabbitmq_url, topology.dlq(MAPPER)) == 1

        await wait_for(dead, what="the dead letter")
        context = await browser.new_context(http_credentials={"username": "admin", "password": TOKEN})
        page = await context.new_page()
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        dialogs: list[str] = []

        async def dismiss(dialog: Any) -> None:
            dialogs.append(dialog.message)
            await dialog.dismiss()  # the operator says no: nothing is replayed, nothing else may run

        page.on("dialog", lambda d: asyncio.ensure_future(dismiss(d)))
        response = await page.goto(f"{base_url}/status")
        assert response is not None and response.status == 200
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert await page.inner_text("#dead-letters code") == HOSTILE_ID
        await page.get_by_role("button", name=f"Replay {HOSTILE_ID}").click()

        async def asked() -> bool:
            return bool(dialogs)

        await wait_for(asked, what="the confirm dialog")
        await page.evaluate("1")  # a round trip: the submit handler has finished
        assert dialogs == [f"Replay {HOSTILE_ID}?"]  # the whole id, shown as text
        assert not [u for u in requested if "/admin/" in u]
        await context.close()
    assert await depth(settings.rabbitmq_url, topology.dlq(MAPPER)) == 1
