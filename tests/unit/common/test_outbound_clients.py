"""Every client that contacts a tenant-configured URL checks the resolved address at connect time
(issue 16): a name that resolves to the metadata service or loopback is refused before a byte is
sent, token refresh included (it carries the Fortnox client secret)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest

from libs.common.outbound import BlockedAddress, GuardedBackend
from services.fortnox_writer.app import fortnox_http
from services.ingest.webhook_watch import endpoint_answers
from services.woo_writer.app import shop_http

RESOLVES = {"metadata.example": ["169.254.169.254"], "loopback.example": ["127.0.0.1"],
            "mixed.example": ["93.184.216.34", "169.254.169.254"]}


@pytest.fixture(autouse=True)
def _hostile_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WOONOX_ALLOW_HTTP_HOSTS", "")

    real = GuardedBackend._resolve

    async def resolve(self: GuardedBackend, host: str, port: int) -> list[str]:
        return RESOLVES[host] if host in RESOLVES else await real(self, host, port)

    monkeypatch.setattr(GuardedBackend, "_resolve", resolve)


@pytest.mark.parametrize("host", sorted(RESOLVES))
async def test_the_writers_token_refresh_client_refuses_an_internal_auth_url(host: str) -> None:
    # What TokenManager posts to: f"{tenant.fortnox_auth_url}/oauth-v1/token".
    async with fortnox_http() as http:
        with pytest.raises(BlockedAddress, match="internal address"):
            await http.post(f"https://{host}/oauth-v1/token", data={"grant_type": "refresh_token"},
                            auth=("client", "secret"))


@pytest.mark.parametrize("host", sorted(RESOLVES))
async def test_the_woo_writers_client_refuses_an_internal_shop(host: str) -> None:
    async with shop_http() as http:
        with pytest.raises(BlockedAddress):
            await http.put(f"https://{host}/wp-json/wc/v3/products/batch", json={})


async def test_the_loopback_name_is_refused_too() -> None:
    makers: list[Callable[[], httpx.AsyncClient]] = [fortnox_http, shop_http]
    for make in makers:
        async with make() as http:
            with pytest.raises(BlockedAddress):
                await http.get("http://localhost:1/")


async def test_a_webhook_delivery_url_on_loopback_is_not_probed() -> None:
    """A shop reports its webhooks' delivery URLs; one pointing at an internal service that answers
    200 must not be reached (nor counted as woonox answering)."""
    reached: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        reached.append(await reader.read(1024))
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    probe: Callable[..., Awaitable[bool]] = endpoint_answers
    async with server:
        assert await probe({"id": 1, "delivery_url": f"http://localhost:{port}/webhooks/woocommerce/t"}) is False
    assert reached == []
