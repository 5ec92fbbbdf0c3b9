"""Issue 16: the operator surfaces are not on the public (webhook) listener, and a weak admin token
stops ingest at start."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from libs.common.settings import CommonSettings
from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from tests.integration.broker_helpers import wait_for

TOKEN = "a-strong-operator-token-of-40-characters!"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
OPERATOR_PATHS = ["/admin/tenants", "/admin/health", "/status", "/status.json", "/openapi.json", "/docs",
                  "/metrics", "/admin/fortnox/callback?state=x&code=y"]


@pytest.mark.parametrize("token", ["change-me-admin-token", "change-me-" + "x" * 40, "short-token", "x" * 31])
def test_a_weak_admin_token_is_refused(token: str) -> None:
    with pytest.raises(ValidationError, match="WOONOX_ADMIN_TOKEN"):
        IngestSettings(admin_token=SecretStr(token))


def test_ingest_refuses_to_start_with_the_placeholder_token() -> None:
    env = {**os.environ, "WOONOX_ADMIN_TOKEN": "change-me-admin-token", "WOONOX_INGEST_PORT": "1",
           "WOONOX_ADMIN_PORT": "1"}
    done = subprocess.run([sys.executable, "-c", "from services.ingest.app import main; main()"], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert "WOONOX_ADMIN_TOKEN" in done.stderr


async def test_the_webhook_listener_serves_webhooks_and_health_only(settings: CommonSettings,
                                                                     database: Any) -> None:
    app = create_app(IngestSettings(admin_token=SecretStr(TOKEN)))
    async with app.router.lifespan_context(app):
        async def connected() -> bool:
            return bool(app.state.ready())

        await wait_for(connected, what="ingest connected")  # a clean shutdown needs a finished connect
        await _check(app)


async def _check(app: Any) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://public") as public, \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app.state.admin_app),
                              base_url="http://admin") as admin:
        for path in OPERATOR_PATHS:
            answer = await public.get(path, headers=AUTH)
            assert answer.status_code == 404, (path, answer.status_code)
        assert (await public.get("/healthz")).status_code == 200
        unknown = await public.post("/webhooks/woocommerce/nobody", content=b"{}")
        assert unknown.json()["error"] != "http-404"  # the webhook receiver answered, not the router

        assert (await admin.get("/admin/tenants", headers=AUTH)).status_code == 200
        assert (await admin.get("/metrics")).status_code == 200
        assert "/admin/tenants" in (await admin.get("/openapi.json")).json()["paths"]
        assert (await admin.get("/docs")).status_code == 200
        assert (await admin.post("/webhooks/woocommerce/nobody", content=b"{}")).status_code == 404


def test_the_admin_listener_defaults_to_loopback_8001() -> None:
    defaults = IngestSettings()
    assert (defaults.admin_host, defaults.admin_port, defaults.port) == ("127.0.0.1", 8001, 8000)
