"""Reconcile's pure comparison and test-connection's pure rules."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from rich.console import Console
from rich.table import Table

from libs.cli.connection import (
    NEEDED_TOPICS,
    Check,
    account_map,
    checks_table,
    needed_scopes,
    webhook_checks,
    write_permission,
)
from libs.cli.reconcile import findings_table
from libs.cli.reconciliation import Finding, ReconcileReport, compare_order, compare_with_woocommerce
from libs.common.errors import PermanentError, TransientError
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


def test_only_woocommerces_permission_refusal_says_read_only() -> None:
    refused = PermanentError("WooCommerce POST /products/batch answered 401: The API key provided does not have "
                             "write permissions.", code="woocommerce_rest_authentication_error")
    assert "read-only" in write_permission("t", refused).fix
    cannot_batch = PermanentError("answered 403: Sorry, you are not allowed to batch manipulate this resource.",
                                  code="woocommerce_rest_cannot_batch")
    assert "read-only" in write_permission("t", cannot_batch).fix
    for other in (TransientError("WooCommerce POST /products/batch: timed out (ReadTimeout)", code="woo-unavailable"),
                  TransientError("WooCommerce POST /products/batch: answered 503", code="woo-unavailable"),
                  PermanentError("answered 404: No route was found", code="rest_no_route")):
        check = write_permission("t", other)
        assert not check.ok
        assert check.detail.startswith("could not check: ")
        assert "read-only" not in check.fix
    assert write_permission("t", None).ok


def test_a_webhook_is_ours_by_scheme_host_port_and_path() -> None:
    def hooks(url: str) -> list[dict[str, object]]:
        return [{"id": n, "topic": t, "status": "active", "delivery_url": url} for n, t in enumerate(NEEDED_TOPICS)]

    def ok(url: str) -> bool:
        return all(c.ok for c in webhook_checks("t", hooks(url), "https://Ingest.Example/"))

    assert ok("https://ingest.example/webhooks/woocommerce/t")
    assert ok("https://INGEST.example:443/webhooks/woocommerce/t/")
    assert not ok("https://elsewhere.example/webhooks/woocommerce/t")
    assert not ok("http://ingest.example/webhooks/woocommerce/t")
    assert not ok("https://ingest.example:8443/webhooks/woocommerce/t")
    assert not ok("https://ingest.example/webhooks/woocommerce/t2")
    assert not ok("https://ingest.example.evil/webhooks/woocommerce/t")


def _render(table: Table) -> str:
    console = Console(width=400, record=True, force_terminal=True)
    console.print(table)
    return console.export_text(styles=False)


def test_outside_data_in_the_tables_is_text_never_markup_or_terminal_commands() -> None:
    hostile = "https://x.example/[/b][link=https://evil.example]x[/link]\x1b[2J"
    shown = _render(checks_table("t", [Check(system="WooCommerce", check="webhook order.created", ok=False,
                                             detail=hostile, fix=hostile)]))
    assert "[/b][link=https://evil.example]x[/link]" in shown and "\x1b[2J" not in shown
    report = ReconcileReport(tenant="t", kind="order", since=datetime(2026, 1, 1, tzinfo=UTC), findings=[
        Finding(order=1, problem="amount-mismatch", detail=hostile, documents=["[/b]\x9b2J"])])
    shown = _render(findings_table(report))
    assert "[/b][link=https://evil.example]x[/link]" in shown and "\x1b[2J" not in shown and "\x9b" not in shown
