"""The chaos runner's invariant checks can fail: each is fed a Fortnox state or journal that breaks
it (no servers needed), and the load generator's orders add up the way WooCommerce's do."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.chaos_checks import Expected, documents_checks, expected_of, journal_checks, secrets_check
from bench.loadgen import ShopLoad
from libs.common.commands import credit_reference, external_reference


@pytest.fixture
async def load() -> AsyncIterator[ShopLoad]:
    async with httpx.AsyncClient() as http:
        shop = ShopLoad.create("shop-x", "http://127.0.0.1:1", "http://127.0.0.1:2", http, seed=3,
                               drop_rate=0, fail_rate=0, duplicate_share=0)
        shop.seed_catalogue()
        yield shop


def _doc(ref: str, order: dict[str, Any], number: int, rows_key: str = "OrderRows") -> dict[str, Any]:
    rows = [{"ArticleNumber": line["sku"], "DeliveredQuantity": line["quantity"],
             "Price": str(Decimal(line["total"]) + Decimal(line["total_tax"])), "VAT":
             next(t["rate_percent"] for t in order["tax_lines"] if t["rate_id"] == line["taxes"][0]["id"])}
            for line in order["line_items"]]
    rows = [{**r, "Price": str(Decimal(r["Price"]) / r["DeliveredQuantity"])} for r in rows]
    return {"DocumentNumber": number, "ExternalInvoiceReference1": ref, "Total": order["total"],
            "TotalVAT": order["total_tax"], "VATIncluded": True, rows_key: rows}


def _one_qty_orders(load: ShopLoad, n: int) -> list[dict[str, Any]]:
    """Orders of one unit per line, so a row's gross price is the line's gross (exact öre)."""
    orders: list[dict[str, Any]] = []
    while len(orders) < n:
        order = load.new_order()
        if all(line["quantity"] == 1 for line in order["line_items"]):
            orders.append(order)
        else:
            load.shop.update_order(order["id"], {"status": "checkout-draft"})  # not booked: out of the truth
    return orders


async def test_mixed_vat_orders_add_up_like_woocommerce(load: ShopLoad) -> None:
    rates: set[float] = set()
    for _ in range(60):
        order = load.new_order()
        lines = order["line_items"]
        assert Decimal(order["total"]) == sum(Decimal(x["total"]) + Decimal(x["total_tax"]) for x in lines)
        assert Decimal(order["total_tax"]) == sum(Decimal(t["tax_total"]) for t in order["tax_lines"])
        rates |= {t["rate_percent"] for t in order["tax_lines"]}
    assert rates == {25.0, 12.0, 6.0}


async def test_documents_checks_pass_a_faithful_state_and_catch_each_break(load: ShopLoad) -> None:
    orders = _one_qty_orders(load, 3)
    load.shop.update_order(orders[0]["id"], {"status": "completed"})
    load.shop.add_refund(orders[0]["id"], Decimal("10.00"))
    want = expected_of(load)
    refs = [external_reference("shop-x", o["id"]) for o in orders]
    refund_id = load.shop.refunds[orders[0]["id"]][0]["id"]
    credit = {"DocumentNumber": 99, "ExternalInvoiceReference1": credit_reference("shop-x", orders[0]["id"], refund_id),
              "Total": "-10.00", "TotalVAT": "-2.00"}
    good = {"orders": [_doc(r, o, i) for i, (r, o) in enumerate(zip(refs, orders, strict=True))],
            "invoices": [_doc(refs[0], orders[0], 50, "InvoiceRows"), credit]}
    assert all(c.ok for c in documents_checks({"shop-x": (want, good)})), documents_checks({"shop-x": (want, good)})

    doubled = {**good, "orders": good["orders"] + [good["orders"][1]]}
    lost = {**good, "orders": good["orders"][:2]}
    off = {**good, "orders": [{**good["orders"][0], "Total": "1.00"}, *good["orders"][1:]]}
    orphan = {**good, "orders": good["orders"] + [{**good["orders"][0], "ExternalInvoiceReference1": "woonox:x"}]}
    no_credit = {**good, "invoices": good["invoices"][:1]}
    for state, row in ((doubled, 0), (lost, 0), (off, 3), (orphan, 4), (no_credit, 2)):
        checks = documents_checks({"shop-x": (want, state)})
        assert not checks[row].ok, checks[row]


def test_journal_checks_catch_our_429s_a_crowded_window_and_a_second_refresh() -> None:
    t0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

    def call(i: int, seconds: float, status: int = 200, fault: str | None = None) -> dict[str, Any]:
        return {"id": i, "at": (t0 + timedelta(seconds=seconds)).isoformat(), "database_number": 1,
                "client_id": "c1", "method": "GET", "path": "/3/orders", "status": status, "fault": fault}

    calm = [call(i, i * 0.25) for i in range(40)]  # 4 per second: 20 in any 5 s
    token = {"id": 99, "at": t0.isoformat(), "database_number": None, "client_id": "c1", "method": "POST",
             "path": "/oauth-v1/token", "status": 200, "fault": None}
    checks = journal_checks([*calm, token], {"a": 1}, {"a": "c1"}, {"a": 1}, {"a": 2}, [])
    assert [c.ok for c in checks] == [True, True, True], checks

    injected = [*calm, call(50, 1.0, 429, "status_429")]
    assert journal_checks(injected, {"a": 1}, {"a": "c1"}, {}, {}, [])[0].ok
    ours = [*calm, call(51, 1.0, 429)]
    assert not journal_checks(ours, {"a": 1}, {"a": "c1"}, {}, {}, [(t0, "Redis loss")])[0].ok
    crowded = calm + [call(60 + i, 2.0) for i in range(6)]
    assert not journal_checks(crowded, {"a": 1}, {"a": "c1"}, {}, {}, [])[1].ok
    twice = [*calm, token, {**token, "id": 100}]
    assert not journal_checks(twice, {"a": 1}, {"a": "c1"}, {"a": 1}, {"a": 3}, [])[2].ok


def test_secrets_check_finds_a_secret_in_a_log(tmp_path: Path) -> None:
    clean, leaky = tmp_path / "a.log", tmp_path / "b.log"
    clean.write_text('{"event": "command_applied"}\n')
    leaky.write_text('{"event": "oops", "token": "tok-123456789"}\n')
    assert secrets_check([clean], {"tokens": ["tok-123456789"]}).ok
    assert not secrets_check([clean, leaky], {"tokens": ["tok-123456789"]}).ok


def test_expected_holds_nothing_for_unbooked_orders(load: ShopLoad) -> None:
    order = load.new_order()
    load.shop.update_order(order["id"], {"status": "checkout-draft"})
    assert expected_of(load) == Expected({}, {}, {})
