"""The WooCommerce client against httpx.MockTransport: paging, retries, error translation, auth."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from pydantic import SecretStr

from libs.common.errors import PermanentError, TransientError
from libs.common.woo import WooClient, WooCredentials, gmt_param

CREDS = WooCredentials("https://shop.example/", SecretStr("ck_1"), SecretStr("cs_1"))


def client(handler: httpx.MockTransport) -> WooClient:
    return WooClient(CREDS, http=httpx.AsyncClient(transport=handler), attempts=3, max_wait=0)


async def test_pages_follow_total_pages_and_send_filters_and_basic_auth() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        page = int(request.url.params["page"])
        items = [{"id": page * 10 + i} for i in range(2 if page < 3 else 1)]
        return httpx.Response(200, json=items, headers={"X-WP-Total": "5", "X-WP-TotalPages": "3"})

    woo = client(httpx.MockTransport(handle))
    since = datetime(2026, 5, 12, 12, 15, tzinfo=timezone(timedelta(hours=2)))
    pages = [p async for p in woo.modified_since("orders", since)]
    assert [len(p.items) for p in pages] == [2, 2, 1]
    assert pages[0].total == 5
    params = seen[0].url.params
    assert seen[0].url.path == "/wp-json/wc/v3/orders"
    assert (params["modified_after"], params["dates_are_gmt"], params["orderby"], params["order"]) == (
        "2026-05-12T10:15:00", "true", "modified", "asc")
    assert params["per_page"] == "100"
    assert seen[0].headers["authorization"] == "Basic " + base64.b64encode(b"ck_1:cs_1").decode()


async def test_retries_5xx_and_timeouts_then_succeeds() -> None:
    calls = 0

    def handle(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ReadTimeout("slow", request=request)
        if calls == 2:
            return httpx.Response(502)
        return httpx.Response(200, json={"id": 7})

    assert await client(httpx.MockTransport(handle)).order(7) == {"id": 7}
    assert calls == 3


async def test_gives_up_as_transient_and_4xx_is_permanent_with_woo_code() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503)

    with pytest.raises(TransientError) as transient:
        await client(httpx.MockTransport(down)).order(7)
    assert transient.value.code == "woo-unavailable"

    def missing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"code": "woocommerce_rest_shop_order_invalid_id", "message": "Invalid ID."})

    with pytest.raises(PermanentError) as permanent:
        await client(httpx.MockTransport(missing)).order(7)
    assert permanent.value.code == "woocommerce_rest_shop_order_invalid_id"
    assert "Invalid ID." in permanent.value.reason


async def test_redirect_is_an_error_not_followed() -> None:
    def moved(request: httpx.Request) -> httpx.Response:
        return httpx.Response(301, headers={"location": "https://www.shop.example/wp-json/wc/v3/orders/7"})

    with pytest.raises(PermanentError) as info:
        await client(httpx.MockTransport(moved)).order(7)
    assert info.value.code == "woo-redirect"


def test_gmt_param_converts_to_gmt_and_drops_microseconds() -> None:
    assert gmt_param(datetime(2026, 1, 1, 1, 0, 0, 5, tzinfo=timezone(timedelta(hours=1)))) == "2026-01-01T00:00:00"
    assert gmt_param(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00"


async def test_html_instead_of_json_is_a_clear_permanent_error() -> None:
    def maintenance(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>Briefly unavailable for scheduled maintenance</html>",
                              headers={"content-type": "text/html"})

    woo = client(httpx.MockTransport(maintenance))
    with pytest.raises(PermanentError) as info:
        await woo.order(7)
    assert info.value.code == "woo-not-json"
    with pytest.raises(PermanentError):
        await woo.page("/orders")
