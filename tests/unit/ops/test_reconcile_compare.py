"""Reconcile's pure comparison and test-connection's pure rules."""

from __future__ import annotations

from decimal import Decimal

from libs.cli.connection import account_map, needed_scopes
from libs.cli.reconciliation import compare_order
from libs.common.shop_settings import ShopSettings
from services.woo_emulator.shop import Shop

SETTINGS = ShopSettings.model_validate({"documents": {"allow_free_text_rows": True}})


def _order() -> dict[str, object]:
    shop = Shop()
    customer = shop.create_customer("anna@example.se")
    coffee = shop.create_product("Kaffe", "", Decimal("125.00"), 10)
    return shop.create_order(customer["id"], [(coffee["id"], 2)])


def test_compare_order() -> None:
    order = _order()
    doc = {"DocumentNumber": "7", "ExternalInvoiceReference1": f"woonox:t:order:{order['id']}"}
    right = {"DocumentNumber": "7", "Total": 250, "TotalVAT": 50}
    assert compare_order("t", order, SETTINGS, [doc], right) == []
    [missing] = compare_order("t", order, SETTINGS, [], None)
    assert missing.problem == "missing"
    assert f"woonox:t:order:{order['id']}" in missing.detail
    problems = [f.problem for f in compare_order("t", order, SETTINGS, [doc, {**doc, "DocumentNumber": "8"}], right)]
    assert problems == ["duplicate"]
    [edited] = compare_order("t", order, SETTINGS, [doc], {**right, "Total": "240.00", "TotalVAT": "48.00"})
    assert (edited.problem, edited.expected_total, edited.fortnox_total) == ("amount-mismatch", Decimal("250.00"),
                                                                            Decimal("240.00"))


def test_needed_scopes_follow_the_settings() -> None:
    default = needed_scopes(ShopSettings())
    assert {"order", "invoice", "payment", "article", "price", "customer", "bookkeeping"} <= set(default)
    lean = ShopSettings.model_validate({"documents": {"kind": "offer"}, "products": {"direction": "off"},
                                        "payments": {"methods": {}}})
    assert needed_scopes(lean) == ["bookkeeping", "companyinformation", "customer", "offer", "settings"]


def test_account_map_says_where_each_account_is_set() -> None:
    accounts = account_map(ShopSettings.model_validate({"accounts": {"se": {"by_rate": {"25": 3999}}}}))
    assert accounts[3999] == "accounts.se.by_rate.25"
    assert accounts[3740] == "accounts.rounding"
    assert accounts[3108] == "accounts.eu_business.by_rate.0"
