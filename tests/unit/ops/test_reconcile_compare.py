"""Reconcile's pure comparison and test-connection's pure rules."""

from __future__ import annotations

from decimal import Decimal

from libs.cli.connection import account_map, needed_scopes
from libs.cli.reconciliation import compare_order, compare_with_woocommerce
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


def test_compare_order_holds_fortnox_to_woocommerces_own_total_and_vat_per_rate() -> None:
    order = _order()  # 2 x 125.00 at 25 %: WooCommerce says total 250.00, total_tax 50.00, tax_lines 25 %: 50.00
    doc = {"DocumentNumber": "7", "ExternalInvoiceReference1": f"woonox:t:order:{order['id']}"}
    rows = {"VATIncluded": True, "OrderRows": [{"Price": "125.00", "OrderedQuantity": "2", "VAT": 25}]}
    assert compare_order("t", order, SETTINGS, [doc], {**doc, "Total": 250, "TotalVAT": 50, **rows}) == []
    # Öresavrundning is Fortnox's, not a difference from the shop.
    rounded = {**doc, "Total": 250, "TotalVAT": 50, "RoundOff": "0.00", **rows}
    assert compare_order("t", order, SETTINGS, [doc], rounded) == []
    # The right Total and TotalVAT, but one row at 12 %: the VAT of each rate is WooCommerce's tax_lines'.
    split = {"VATIncluded": True, "OrderRows": [{"Price": "125.00", "OrderedQuantity": "1", "VAT": 25},
                                                  {"Price": "125.00", "OrderedQuantity": "1", "VAT": 12}]}
    [wrong] = compare_order("t", order, SETTINGS, [doc], {**doc, "Total": 250, "TotalVAT": 50, **split})
    assert wrong.problem == "amount-mismatch"
    assert "12 %: WooCommerce 0, Fortnox 13.39" in wrong.detail
    # WooCommerce's own total, not woonox's recalculation from the lines (which says 250.00).
    said = {**order, "total": "260.00"}
    [total] = compare_order("t", said, SETTINGS, [doc], {**doc, "Total": 250, "TotalVAT": 50, **rows})
    assert (total.problem, total.expected_total, total.fortnox_total) == ("amount-mismatch", Decimal("260.00"),
                                                                          Decimal(250))


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


def _mixed_order_with_refund() -> tuple[Shop, dict[str, object], dict[str, object]]:
    """The real shop's order 19 and refund 22: one T-shirt (25 %) back from a 25/12/6 % order."""
    shop = Shop()
    shirt = shop.create_product("T-shirt", "TS-001", Decimal("299.00"), 50)
    coffee = shop.create_product("Kaffe", "KAFFE-500", Decimal("89.00"), 100, tax_class="reduced-rate")
    book = shop.create_product("Bok", "BOK-01", Decimal("149.00"), 20, tax_class="zero-rate")
    order = shop.create_order(None, [(shirt["id"], 2), (coffee["id"], 3), (book["id"], 1)])
    shop.update_order(order["id"], {"status": "completed"})
    line = order["line_items"][0]  # type: ignore[index]
    refund = shop.add_refund(order["id"], None, "Returnerad tröja", lines=[(line["id"], 1)])  # type: ignore[arg-type]
    return shop, order, refund


def test_reconcile_compares_a_credit_with_the_refunds_own_figures() -> None:
    _, order, refund = _mixed_order_with_refund()
    ref = f"woonox:t:order:{order['id']}"
    cref = f"{ref}:refund:{refund['id']}"
    invoices = {ref: [{"DocumentNumber": "1"}], cref: [{"DocumentNumber": "2"}]}
    right = {"DocumentNumber": "2", "Total": "-299.00", "TotalVAT": "-59.80"}
    assert compare_with_woocommerce("t", order, SETTINGS, [{"DocumentNumber": "7"}], invoices, [refund],
                                    {cref: right}) == []
    # What the real shop's credit invoice 2 was: the right total, VAT spread over 25/12/6 %.
    spread = {**right, "TotalVAT": "-46.82"}
    [wrong] = compare_with_woocommerce("t", order, SETTINGS, [], invoices, [refund], {cref: spread})
    assert (wrong.problem, wrong.expected_vat, wrong.fortnox_vat) == ("credit-mismatch", Decimal("-59.80"),
                                                                     Decimal("-46.82"))
    [missing] = compare_with_woocommerce("t", order, SETTINGS, [], {ref: invoices[ref]}, [refund], {})
    assert missing.problem == "credit-missing"


def test_reconcile_names_a_completed_order_never_invoiced_and_a_refunded_order_left_open() -> None:
    shop, order, _ = _mixed_order_with_refund()
    ref = f"woonox:t:order:{order['id']}"
    open_order = [{"DocumentNumber": "6", "ExternalInvoiceReference1": ref}]
    [not_invoiced] = compare_with_woocommerce("t", order, SETTINGS, open_order, {}, [], {})
    assert not_invoiced.problem == "not-invoiced"  # the real shop's order 29
    refunded = shop.create_order(None, [(next(iter(shop.products)), 1)])
    shop.refund_all(refunded["id"], "Ångrat köp")
    assert refunded["status"] == "refunded"
    docs = [{"DocumentNumber": "4", "ExternalInvoiceReference1": f"woonox:t:order:{refunded['id']}"}]
    [left_open] = compare_with_woocommerce("t", refunded, SETTINGS, docs, {}, [], {})
    assert (left_open.problem, left_open.documents) == ("open-after-refund", ["4"])  # the real shop's order 27
