"""Articles from products (created, updated, priced through the price list) and the customer modes,
applied by the writer to the sandbox with the mapper's real commands."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from libs.common.errors import PermanentError
from libs.common.settings import CommonSettings
from libs.common.shop_settings import ShopSettings
from services.fortnox_sandbox.app import create_app
from services.fortnox_sandbox.settings import SandboxSettings
from services.fortnox_writer.articles import apply_article
from services.fortnox_writer.documents import apply_document
from services.mapper.articles import article_command
from services.mapper.orders import order_command
from tests.fixtures import example_path, fixture_path
from tests.writer_harness import add_tenant, create_company, writer_handlers

SANDBOX = "http://sandbox.test"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(SandboxSettings()))) as client:
        yield client


def _product(**changes: Any) -> dict[str, Any]:
    product = json.loads(fixture_path("woocommerce", "samples", "product--retrieve-a-product.json").read_text())
    product.update({"sku": "MUG-BLUE-1", "regular_price": "125.00", "manage_stock": True, "stock_quantity": 12,
                    "type": "simple", **changes})
    return dict(product)


async def test_product_becomes_article_with_price_then_is_updated(settings: CommonSettings, database: Any,
                                                                  redis_client: aioredis.Redis,
                                                                  http: httpx.AsyncClient) -> None:
    company = await create_company(http, SANDBOX)
    await add_tenant(database, settings, redis_client, http, SANDBOX, "shop", company)
    ctx = await writer_handlers(database, settings, redis_client, http).context("shop")
    cmd = article_command("shop", _product(), ShopSettings())
    assert cmd is not None and cmd.price is not None
    assert (await apply_article(ctx, cmd))["outcome"] == "created"
    assert (await apply_article(ctx, cmd))["outcome"] == "unchanged"
    renamed = article_command("shop", _product(name="Mugg, blå", date_modified_gmt="2030-01-01T00:00:00"),
                              ShopSettings())
    assert renamed is not None
    assert (await apply_article(ctx, renamed))["outcome"] == "updated"

    headers = {"Authorization": f"Bearer {company.access_token}"}
    article = (await http.get(f"{SANDBOX}/3/articles/MUG-BLUE-1", headers=headers)).json()["Article"]
    assert article["Description"] == "Mugg, blå"
    price = (await http.get(f"{SANDBOX}/3/prices/A/MUG-BLUE-1/0", headers=headers)).json()["Price"]
    assert Decimal(str(price["Price"])) == cmd.price


async def test_update_only_customer_mode_dead_letters_unknown_customers(settings: CommonSettings, database: Any,
                                                                        redis_client: aioredis.Redis,
                                                                        http: httpx.AsyncClient) -> None:
    company = await create_company(http, SANDBOX)
    shop = {"customers": {"mode": "update-only"}}
    await add_tenant(database, settings, redis_client, http, SANDBOX, "shop", company, shop_settings=shop)
    ctx = await writer_handlers(database, settings, redis_client, http).context("shop")
    order = json.loads(example_path("se-private-mixed-vat.json").read_text())
    cmd = order_command("shop", order, ShopSettings.model_validate(shop))
    assert cmd.customer.create_if_missing is False
    with pytest.raises(PermanentError) as err:
        await apply_document(ctx, cmd)
    assert err.value.code == "unknown-customer" and order["billing"]["email"] in err.value.reason

    # Once the customer exists in Fortnox (made by hand), the replayed order is booked on it.
    headers = {"Authorization": f"Bearer {company.access_token}"}
    made = await http.post(f"{SANDBOX}/3/customers", headers=headers, json={"Customer": {
        "Name": "Anna Svensson", "Email": order["billing"]["email"]}})
    assert made.status_code == 201, made.text
    done = await apply_document(ctx, cmd)
    booked = (await http.get(f"{SANDBOX}/3/orders/{done['number']}", headers=headers)).json()["Order"]
    assert booked["CustomerNumber"] == made.json()["Customer"]["CustomerNumber"]
