"""`woonox test-connection` against the sandbox and the shop emulator: a missing scope and a missing
account are reported by name with their fix; bad WooCommerce keys are named too."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import redis.asyncio as aioredis
import typer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner, Result

from libs.cli import connection
from libs.common.settings import CommonSettings
from libs.common.shop_settings import ShopSettings
from services.fortnox_sandbox.state import ALL_SCOPES
from tests.integration.test_ops_reconcile import TENANT, add_shop_tenant, report, shop_and_sandbox
from tests.writer_harness import SandboxCompany, create_company

cli_app = typer.Typer()
cli_app.command("test-connection")(connection.check_connection)


async def cli(*args: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, cli_app, list(args))


async def complete_chart(http: httpx.AsyncClient, sandbox_url: str, company: SandboxCompany) -> None:
    """Give the sandbox company what woonox's default settings book to beyond its seed (the foreign
    tax debt account and a KLARNA mode of payment), so only the deliberate problems remain."""
    auth = {"Authorization": f"Bearer {company.access_token}"}
    r = await http.post(f"{sandbox_url}/3/accounts", headers=auth,
                        json={"Account": {"Number": 2890, "Description": "Övriga kortfristiga skulder"}})
    assert r.status_code == 201 or "finns redan" in r.text, r.text  # the seed may have it already
    r = await http.post(f"{sandbox_url}/3/modesofpayments", headers=auth,
                        json={"ModeOfPayment": {"Code": "KLARNA", "Description": "Klarna", "AccountNumber": "1580"}})
    assert r.status_code == 201 or "finns redan" in r.text, r.text


def _checks(result: Result) -> dict[str, dict[str, Any]]:
    return {f"{c['system']}: {c['check']}": c for c in report(result)["checks"]}


async def test_missing_scope_and_missing_account_are_named(
    settings: CommonSettings, database: async_sessionmaker[AsyncSession], redis_client: aioredis.Redis,
) -> None:
    shop_settings = {"accounts": {"se": {"by_rate": {"25": 3999, "12": 3002, "6": 3003, "0": 3004}}}}
    async with shop_and_sandbox() as (shop, _, sandbox_url, http):
        company = await create_company(http, sandbox_url, scopes=[s for s in ALL_SCOPES if s != "payment"])
        await complete_chart(http, sandbox_url, company)
        await add_shop_tenant(database, settings, redis_client, http, sandbox_url, shop, company, shop_settings)
        shop.subscribe_all(f"https://ingest.example/webhooks/woocommerce/{TENANT}", "webhookSecret1")
        result = await cli(TENANT, "--webhook-url", "https://ingest.example", "--json")
    assert result.exit_code == connection.EXIT_PROBLEMS, result.output
    checks = _checks(result)
    failed = sorted(name for name, c in checks.items() if not c["ok"])
    assert failed == ["Fortnox: account 3999", "Fortnox: scope payment"]
    assert "not granted" in checks["Fortnox: scope payment"]["fix"]
    assert "woonox connect shop-r" in checks["Fortnox: scope payment"]["fix"]
    assert checks["Fortnox: account 3999"]["detail"] == "accounts.se.by_rate.25"
    assert "not in the chart of accounts" in checks["Fortnox: account 3999"]["fix"]
    assert checks["WooCommerce: reachable, keys valid"]["ok"]
    assert checks["Fortnox: token"]["ok"]
    assert checks["Fortnox: account 3002"]["ok"]


async def test_everything_works_and_bad_woo_keys_are_named(
    settings: CommonSettings, database: async_sessionmaker[AsyncSession], redis_client: aioredis.Redis,
) -> None:
    async with shop_and_sandbox() as (shop, _, sandbox_url, http):
        company = await create_company(http, sandbox_url)
        await complete_chart(http, sandbox_url, company)
        await add_shop_tenant(database, settings, redis_client, http, sandbox_url, shop, company)
        shop.subscribe_all(f"https://ingest.example/webhooks/woocommerce/{TENANT}", "webhookSecret1")
        good = await cli(TENANT, "--webhook-url", "https://ingest.example/", "--json")
        assert good.exit_code == 0, good.output
        needed = connection.needed_scopes(ShopSettings.model_validate({}))
        assert {f"Fortnox: scope {s}" for s in needed if s != "companyinformation"} <= set(_checks(good))
        shop.consumer_secret = "cs_changed_in_woocommerce"  # the shop owner revoked the key
        bad = await cli(TENANT, "--webhook-url", "https://ingest.example", "--json")
        table = await cli(TENANT, "--webhook-url", "https://ingest.example")
    assert bad.exit_code == connection.EXIT_PROBLEMS
    woo = _checks(bad)["WooCommerce: reachable, keys valid"]
    assert woo["ok"] is False
    assert "401" in woo["detail"]
    assert "REST API" in woo["fix"]
    assert [name for name, c in _checks(bad).items() if not c["ok"]] == ["WooCommerce: reachable, keys valid"]
    assert table.exit_code == connection.EXIT_PROBLEMS
    assert "FAIL" in table.output


async def test_a_read_only_key_and_webhooks_pointed_elsewhere_are_named(
    settings: CommonSettings, database: async_sessionmaker[AsyncSession], redis_client: aioredis.Redis,
) -> None:
    """The real shop: a read-only REST key passed every GET (notes and products/batch then failed
    with 401), and "11 webhook(s) ok" was reported when none of them pointed at woonox."""
    async with shop_and_sandbox() as (shop, _, sandbox_url, http):
        company = await create_company(http, sandbox_url)
        await complete_chart(http, sandbox_url, company)
        await add_shop_tenant(database, settings, redis_client, http, sandbox_url, shop, company)
        shop.subscribe_all("http://127.0.0.1:8199/hook", "catcherSecret1")  # someone else's receiver
        # Our path on another host (a copied set-up, a typo in the host): not ours either.
        shop.subscribe_all(f"https://ingest.example.org/webhooks/woocommerce/{TENANT}", "otherSecret1")
        shop.key_permissions = "read"
        result = await cli(TENANT, "--webhook-url", "https://ingest.example", "--json")
        unknown = await cli(TENANT, "--json")
    assert result.exit_code == connection.EXIT_PROBLEMS, result.output
    checks = _checks(result)
    assert checks["WooCommerce: reachable, keys valid"]["ok"]
    write = checks["WooCommerce: REST key can write"]
    assert write["ok"] is False
    assert "write permissions" in write["detail"]
    assert "read-only" in write["fix"]
    for topic in connection.NEEDED_TOPICS:
        hook = checks[f"WooCommerce: webhook {topic}"]
        assert hook["ok"] is False, topic
        assert "delivered elsewhere" in hook["detail"] and "127.0.0.1:8199" in hook["detail"]
        assert "ingest.example.org" in hook["detail"]
        assert f"https://ingest.example/webhooks/woocommerce/{TENANT}" in hook["fix"]
    assert unknown.exit_code == connection.EXIT_PROBLEMS
    assert "WOONOX_WEBHOOK_URL" in _checks(unknown)["WooCommerce: webhooks"]["fix"]
