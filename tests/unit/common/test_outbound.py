"""Tenant URLs cannot reach internal addresses: refused when stored, and at connect time."""

from __future__ import annotations

from typing import Any

import httpcore
import httpx
import pytest
from pydantic import SecretStr, ValidationError

from libs.common.errors import PermanentError
from libs.common.outbound import BlockedAddress, GuardedBackend, check_url, guarded_client
from libs.common.store.tenants import TenantNew
from libs.common.woo import WooClient, WooCredentials

REFUSED = ["http://169.254.169.254/latest/meta-data", "https://169.254.169.254/", "https://0x7f000001/",
           "https://2130706433/", "https://127.1/", "https://[::1]/", "https://[::ffff:127.0.0.1]/",
           "https://10.0.0.5/", "https://0.0.0.0/", "https://user:pw@shop.example/", "https://shop.example/?x=/",
           "https://shop.example/#frag", "http://shop.example/", "ftp://shop.example/", "https:///nohost"]


@pytest.mark.parametrize("url", REFUSED)
def test_tenant_urls_refuse_internal_plain_and_smuggling_forms(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WOONOX_ALLOW_HTTP_HOSTS", "")
    for field in ("shop_url", "fortnox_api_url", "fortnox_auth_url"):
        args: dict[str, Any] = {"id": "t", "shop_url": "https://shop.example", "webhook_secret": "x" * 32, field: url}
        with pytest.raises(ValidationError):
            TenantNew(**args)


def test_allow_listed_host_may_use_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WOONOX_ALLOW_HTTP_HOSTS", "127.0.0.1, sandbox")
    assert check_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    assert check_url("http://sandbox:8080") == "http://sandbox:8080"
    assert check_url("https://shop.example/") == "https://shop.example"


class _Recording(GuardedBackend):
    def __init__(self, answers: list[str]) -> None:
        super().__init__(allow=[])
        self.answers = answers
        self.connected: list[str] = []

    async def _resolve(self, host: str, port: int) -> list[str]:
        return self.answers

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        self._inner = self  # type: ignore[assignment]  # record what the guard connects to
        if host in self.answers:
            self.connected.append(host)
            raise httpcore.ConnectError("recorded")
        return await super().connect_tcp(host, port, timeout, local_address, socket_options)


async def test_a_public_name_resolving_to_metadata_is_refused_at_connect() -> None:
    backend = _Recording(["93.184.216.34", "169.254.169.254"])
    with pytest.raises(BlockedAddress):
        await backend.connect_tcp("rebinding.example", 443)
    assert backend.connected == []


async def test_the_connection_goes_to_the_address_that_was_checked() -> None:
    backend = _Recording(["93.184.216.34"])
    with pytest.raises(httpcore.ConnectError):
        await backend.connect_tcp("shop.example", 443)
    assert backend.connected == ["93.184.216.34"]


async def test_guarded_client_refuses_loopback_even_by_name() -> None:
    async with guarded_client(allow=[]) as http:
        with pytest.raises(BlockedAddress):
            await http.get("http://localhost:6379/")


async def test_woo_client_turns_a_blocked_address_into_a_permanent_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WOONOX_ALLOW_HTTP_HOSTS", "")
    creds = WooCredentials("https://localhost", SecretStr("ck"), SecretStr("cs"))
    async with WooClient(creds, attempts=2, max_wait=0) as woo:
        with pytest.raises(PermanentError) as caught:
            await woo.get("/orders")
    assert caught.value.code == "woo-url-refused"


async def test_woo_client_stops_reading_an_endless_body() -> None:
    def handle(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"[" + b"1," * 5000 + b"1]")

    creds = WooCredentials("https://shop.example", SecretStr("ck"), SecretStr("cs"))
    woo = WooClient(creds, http=httpx.AsyncClient(transport=httpx.MockTransport(handle)), max_bytes=1000)
    with pytest.raises(PermanentError) as caught:
        await woo.get("/orders")
    assert caught.value.code == "woo-too-large"


async def test_pages_stop_at_the_cap_whatever_the_shop_claims() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[{"id": 1}], headers={"X-WP-TotalPages": "1000000000"})

    creds = WooCredentials("https://shop.example", SecretStr("ck"), SecretStr("cs"))
    woo = WooClient(creds, http=httpx.AsyncClient(transport=httpx.MockTransport(handle)), max_pages=5)
    assert len([p async for p in woo.pages("/orders")]) == 5
