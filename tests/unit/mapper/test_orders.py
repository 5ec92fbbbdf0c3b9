"""Example orders of the issue's acceptance list, each checked row by row."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from libs.common.errors import PermanentError
from libs.common.shop_settings import ShopSettings
from services.mapper.orders import ignore_reason, map_order, order_command
from services.mapper.rounding import document_totals
from tests.unit.mapper.woo_orders import Extra, Item, OrderSpec, build_order, line_refund

D = Decimal
DEFAULT = ShopSettings()


def _rows(command: Any) -> list[dict[str, Any]]:
    return command.document[{"order": "OrderRows", "invoice": "InvoiceRows", "offer": "OfferRows"}[command.kind]]


def test_eu_consumer_pays_swedish_vat_on_the_eu_account() -> None:
    order = build_order(OrderSpec(items=[Item("Stol", "STOL-1", 1, D("1000.00"), D(25))],
                                  shipping=[Extra("DHL", D("100.00"), D(25))], country="DE"))
    mapped = map_order("shop", order, DEFAULT)
    assert mapped.check.ok, mapped.check.failures()
    assert mapped.check.region == "eu_consumer"
    assert {(r["VAT"], r["AccountNumber"]) for r in _rows(mapped.command)} == {(25, 3106)}
    assert mapped.command.customer.body["VATType"] == "EUVAT"


def test_eu_business_with_vat_number_is_reverse_charged_on_3108() -> None:
    order = build_order(OrderSpec(items=[Item("Fläkt", "FLAKT-400", 4, D("1200.00"), D(0))],
                                  shipping=[Extra("DHL", D("35.00"), D(0))], country="DE", vat_number="DE123456789",
                                  currency="EUR"))
    command = order_command("shop", order, DEFAULT)
    assert {(r["VAT"], r["AccountNumber"]) for r in _rows(command)} == {(0, 3108)}
    assert command.customer.body["VATType"] == "EUREVERSEDVAT"
    assert command.document["Currency"] == "EUR"
    assert command.expected is not None
    assert command.expected.total == D("4835.00")
    assert command.expected.vat == 0


def test_vat_number_but_vat_charged_books_what_the_customer_paid() -> None:
    order = build_order(OrderSpec(items=[Item("Stol", "STOL-1", 1, D("1000.00"), D(25))], country="DE",
                                  vat_number="DE123456789"))
    mapped = map_order("shop", order, DEFAULT)
    assert mapped.check.region == "eu_consumer"
    assert mapped.check.ok


def test_export_outside_the_eu_books_no_vat_on_3105() -> None:
    order = build_order(OrderSpec(items=[Item("Stol", "STOL-1", 2, D("500.00"), D(0))],
                                  shipping=[Extra("UPS", D("250.00"), D(0))], country="NO", currency="NOK"))
    mapped = map_order("shop", order, DEFAULT)
    assert mapped.check.ok, mapped.check.failures()
    assert {(r["VAT"], r["AccountNumber"]) for r in _rows(mapped.command)} == {(0, 3105)}
    assert mapped.command.customer.body["VATType"] == "EXPORT"
    assert mapped.command.document["Language"] == "EN"


def test_partial_refund_of_one_line_is_credited_at_its_rate_and_account() -> None:
    order = build_order(OrderSpec(items=[Item("T-shirt", "TS-1", 3, D("249.00"), D(25)),
                                         Item("Kaffe", "KAFFE-450", 2, D("89.00"), D(6))], prices_include_tax=True))
    order["refunds"] = [line_refund(order, 77, 0, 1)]
    mapped = map_order("shop", order, DEFAULT)
    assert mapped.check.ok, mapped.check.failures()
    [credit] = mapped.command.credits
    assert (credit.refund_id, credit.line_level, credit.amount) == (77, True, D("249.00"))
    assert credit.external_ref == "woonox:shop:order:4711:refund:77"
    [row] = credit.rows
    assert (row["ArticleNumber"], row["DeliveredQuantity"], row["Price"], row["VAT"], row["AccountNumber"]) == (
        "TS-1", "-1", D("249.00"), 25, 3001)
    totals = document_totals(credit.rows, vat_included=credit.vat_included)
    assert (totals.total, totals.vat) == (D("-249.00"), D("-49.80"))
    assert mapped.command.refund_ids == [77]
    assert mapped.command.credit_rows == credit.rows


def test_the_refund_vat_check_holds_the_credit_to_the_refunds_own_tax_lines() -> None:
    """WooCommerce's VAT of a refund is its tax_lines (GET /orders/{id}/refunds), not a sum of
    the lines' taxes: where they differ, the check must say so."""
    order = build_order(OrderSpec(items=[Item("T-shirt", "TS-1", 3, D("249.00"), D(25))], prices_include_tax=True))
    refund = line_refund(order, 77, 0, 1)
    rate_id = order["tax_lines"][0]["rate_id"]
    order["refunds"] = [{**refund, "tax_lines": [{"rate_id": rate_id, "rate_percent": 25, "tax_total": "-49.80",
                                                  "shipping_tax_total": "0.00"}]}]
    assert map_order("shop", order, DEFAULT).check.ok
    order["refunds"] = [{**refund, "tax_lines": [{"rate_id": rate_id, "rate_percent": 25, "tax_total": "-45.00",
                                                  "shipping_tax_total": "0.00"}]}]
    failed = map_order("shop", order, DEFAULT).check
    assert not failed.ok
    assert any("Refund 77 VAT" in f for f in failed.failures()), failed.failures()


def test_amount_only_refund_is_spread_over_the_rates_and_adds_up() -> None:
    order = build_order(OrderSpec(items=[Item("T-shirt", "TS-1", 1, D("300.00"), D(25)),
                                         Item("Kaffe", "KAFFE-450", 1, D("100.00"), D(6))], prices_include_tax=True))
    order["refunds"] = [{"id": 78, "reason": "goodwill", "total": "-40.00"}]
    mapped = map_order("shop", order, DEFAULT)
    assert mapped.check.ok, mapped.check.failures()
    [credit] = mapped.command.credits
    assert credit.line_level is False
    assert [(r["Price"], r["VAT"], r["AccountNumber"]) for r in credit.rows] == [
        (D("30.00"), 25, 3001), (D("10.00"), 6, 3003)]
    assert all("ArticleNumber" not in r and r["Description"] == "Återbetalning: goodwill" for r in credit.rows)
    totals = document_totals(credit.rows, vat_included=credit.vat_included)
    assert totals.total == D("-40.00")
    assert totals.vat_by_rate == {D(25): D("-6.00"), D(6): D("-0.57")}


def test_full_coupon_books_the_list_price_and_a_whole_discount() -> None:
    order = build_order(OrderSpec(items=[Item("Present", "GIFT-1", 2, D("150.00"), D(25), D(100))],
                                  shipping=[Extra("Post", D("49.00"), D(25))], prices_include_tax=True))
    mapped = map_order("shop", order, DEFAULT)
    assert mapped.check.ok, mapped.check.failures()
    item = _rows(mapped.command)[0]
    assert (item["Price"], item["Discount"], item["DiscountType"], item["VAT"]) == (D("150.00"), D("300.00"),
                                                                                   "AMOUNT", 25)
    assert mapped.command.expected is not None
    assert mapped.command.expected.total == D("49.00")


def test_coupon_over_mixed_rates_keeps_each_rate_exact() -> None:
    order = build_order(OrderSpec(items=[Item("Stol", "STOL-1", 2, D("1990.00"), D(25), D(10)),
                                         Item("Bok", "BOK-1", 5, D("399.00"), D(6), D(10)),
                                         Item("Mat", "MAT-1", 3, D("33.33"), D(12), D(10))],
                                  shipping=[Extra("PostNord", D("150.00"), D(25))]))
    mapped = map_order("shop", order, DEFAULT)
    assert mapped.check.ok, mapped.check.failures()
    rows = _rows(mapped.command)
    assert [(r["Price"], r.get("Discount")) for r in rows[:2]] == [(D("1990.00"), D("398.00")),
                                                                   (D("399.00"), D("199.50"))]


def test_product_without_sku_is_a_clear_error() -> None:
    order = build_order(OrderSpec(items=[Item("Handgjord skål", "", 1, D("100.00"), D(25))]))
    with pytest.raises(PermanentError, match=r"'Handgjord skål' \(product 500\) has no SKU") as caught:
        order_command("shop", order, DEFAULT)
    assert caught.value.code == "missing-sku"


@pytest.mark.parametrize(("sku", "complaint"), [
    ("TRÖJA-1", "characters Fortnox ArticleNumbers do not take ('Ö')"),
    ("A" * 51, "51 characters: a Fortnox ArticleNumber holds at most 50"),
    ("KAFFE 450", "(' ')"),
])
def test_invalid_sku_is_a_clear_error(sku: str, complaint: str) -> None:
    order = build_order(OrderSpec(items=[Item("Tröja", sku, 1, D("100.00"), D(25))]))
    with pytest.raises(PermanentError) as caught:
        order_command("shop", order, DEFAULT)
    assert caught.value.code == "invalid-sku"
    assert "'Tröja' (product 500)" in caught.value.reason
    assert complaint in caught.value.reason


@pytest.mark.parametrize(("date", "rate", "flagged"), [
    ("2026-05-12T10:00:00", D(6), False),   # food at 6 % in the temporary period
    ("2026-03-31T10:00:00", D(12), False),  # and at 12 % the day before it starts
    ("2026-05-12T10:00:00", D(12), True),   # 12 % on food during the period: flagged
    ("2026-03-31T10:00:00", D(6), True),    # 6 % on food before it: flagged
    ("2028-01-01T10:00:00", D(12), False),  # back to 12 % after 2027-12-31
])
def test_food_rate_depends_on_the_date_of_sale(date: str, rate: D, flagged: bool) -> None:
    order = build_order(OrderSpec(items=[Item("Kaffe", "KAFFE-450", 3, D("89.00"), rate, tax_class="reduced-rate")],
                                  prices_include_tax=True, date=date))
    mapped = map_order("shop", order, DEFAULT)
    assert mapped.check.ok, mapped.check.failures()
    assert _rows(mapped.command)[0]["VAT"] == int(rate)  # WooCommerce's rate is booked either way
    food_warnings = [w for w in mapped.command.warnings if "food is taxed" in w]
    assert bool(food_warnings) is flagged


def test_rate_no_swedish_rule_knows_is_flagged() -> None:
    order = build_order(OrderSpec(items=[Item("Sak", "SAK-1", 1, D("100.00"), D("7.5"))]))
    mapped = map_order("shop", order, ShopSettings.model_validate(
        {"accounts": {"se": {"by_rate": {"25": 3001, "7.5": 3001}}}}))
    assert any("7.5 % is not a Swedish VAT rate on 2026-05-12" in w for w in mapped.command.warnings)


def test_missing_account_for_a_rate_names_the_setting() -> None:
    order = build_order(OrderSpec(items=[Item("Sak", "SAK-1", 1, D("100.00"), D("7.5"))]))
    with pytest.raises(PermanentError, match=r'accounts.se.by_rate\["7.5"\]'):
        order_command("shop", order, DEFAULT)


def test_invoice_and_offer_use_their_own_field_names() -> None:
    order = build_order(OrderSpec(items=[Item("Stol", "STOL-1", 1, D("100.00"), D(25))]))
    invoice = order_command("shop", order, ShopSettings.model_validate({"documents": {"kind": "invoice"}}))
    assert invoice.document["InvoiceDate"] == "2026-05-12"
    assert invoice.document["InvoiceRows"][0]["DeliveredQuantity"] == "1"
    assert "OrderedQuantity" not in invoice.document["InvoiceRows"][0]
    offer = order_command("shop", order, ShopSettings.model_validate({"documents": {"kind": "offer"}}))
    assert offer.document["OfferRows"][0]["Quantity"] == "1"
    assert "ExternalInvoiceReference1" not in offer.document  # offers have none (openapi.json)
    assert offer.external_ref == "woonox:shop:order:4711"


def test_statuses_drive_convert_cancel_and_ignore() -> None:
    base = OrderSpec(items=[Item("Stol", "STOL-1", 1, D("100.00"), D(25))])
    completed = order_command("shop", build_order(OrderSpec(**{**base.__dict__, "status": "completed"})), DEFAULT)
    assert completed.convert_to_invoice is True
    assert completed.payment is not None
    assert (completed.payment.amount, completed.payment.mode_of_payment) == (D("125.00"), "KLARNA")
    cancelled = order_command("shop", build_order(OrderSpec(**{**base.__dict__, "status": "cancelled"})), DEFAULT)
    assert cancelled.cancel is True
    assert ignore_reason(build_order(OrderSpec(**{**base.__dict__, "status": "pending"})), DEFAULT) == \
        "status 'pending' triggers nothing in the shop's settings"
    assert ignore_reason(build_order(OrderSpec(**{**base.__dict__, "status": "checkout-draft"})), DEFAULT)


def test_a_refunded_order_converts_only_if_it_was_completed() -> None:
    """A refunded snapshot can overtake the completed one: one that WooCommerce completed first is
    invoiced (then credited); one refunded while processing is not (the writer cancels it)."""
    base = OrderSpec(items=[Item("Stol", "STOL-1", 1, D("100.00"), D(25))], status="refunded")
    refund = [{"id": 9, "reason": "", "total": "-125.00"}]
    completed_first = order_command("shop", {**build_order(base), "refunds": refund,
                                             "date_completed_gmt": "2026-05-12T10:00:00"}, DEFAULT)
    assert completed_first.convert_to_invoice is True and len(completed_first.credits) == 1
    never_completed = order_command("shop", {**build_order(base), "refunds": refund,
                                             "date_completed_gmt": None}, DEFAULT)
    assert never_completed.convert_to_invoice is False


def test_lines_that_do_not_add_up_are_dead_lettered_or_booked_with_a_warning() -> None:
    order = build_order(OrderSpec(items=[Item("Stol", "STOL-1", 1, D("100.00"), D(25))]))
    order["total"] = "125.50"  # WooCommerce's own total disagrees with its lines
    with pytest.raises(PermanentError, match="does not add up in Fortnox") as caught:
        order_command("shop", order, DEFAULT)
    assert caught.value.code == "amounts-mismatch"
    lenient = ShopSettings.model_validate({"rounding": {"on_mismatch": "book-and-warn"}})
    command = order_command("shop", order, lenient)
    assert any("Total: WooCommerce 125.50, Fortnox 125.00" in w for w in command.warnings)


def test_whole_kronor_rounding_stays_out_of_vat() -> None:
    order = build_order(OrderSpec(items=[Item("Stol", "STOL-1", 1, D("100.30"), D(25))]))
    settings = ShopSettings.model_validate({"rounding": {"whole_kronor": True}})
    mapped = map_order("shop", order, settings)
    assert mapped.check.ok
    assert mapped.command.expected is not None
    assert (mapped.command.expected.round_off, mapped.command.expected.vat) == (D("-0.38"), D("25.08"))
    assert mapped.command.expected.total == D("125.00")


@pytest.mark.parametrize("oss", [True, False])
def test_oss_books_the_buyer_countrys_rate(oss: bool) -> None:
    order = build_order(OrderSpec(items=[Item("Stol", "STOL-1", 1, D("119.00"), D(19))], country="DE",
                                  prices_include_tax=True, currency="EUR"))
    mapped = map_order("shop", order, ShopSettings.model_validate({"accounts": {"oss": oss}}))
    assert mapped.check.ok, mapped.check.failures()
    [row] = _rows(mapped.command)
    assert (row["VAT"], row["AccountNumber"]) == (19, 3106)
    flagged = any("19 % is not a Swedish VAT rate" in w for w in mapped.command.warnings)
    assert flagged is not oss


def test_shipping_vat_split_over_rates_becomes_one_row_per_rate() -> None:
    order = build_order(OrderSpec(items=[Item("Stol", "STOL-1", 1, D("600.00"), D(25)),
                                         Item("Bok", "BOK-1", 1, D("400.00"), D(6))]))
    # A plugin that lets shipping follow the goods: 60 % at 25 %, 40 % at 6 %.
    order["shipping_lines"] = [{"id": 2000, "method_title": "PostNord", "method_id": "flat_rate", "total": "100.00",
                                "total_tax": "17.40", "taxes": [{"id": 1, "total": "15.00", "subtotal": ""},
                                                                {"id": 3, "total": "2.40", "subtotal": ""}]}]
    order["total"] = str(D(order["total"]) + D("117.40"))
    order["total_tax"] = str(D(order["total_tax"]) + D("17.40"))
    mapped = map_order("shop", order, DEFAULT)
    assert mapped.check.ok, mapped.check.failures()
    shipping = [r for r in _rows(mapped.command) if r["Description"].startswith("PostNord")]
    assert [(r["Description"], r["Price"], r["VAT"], r["AccountNumber"]) for r in shipping] == [
        ("PostNord (25 %)", D("60.00"), 25, 3001), ("PostNord (6 %)", D("40.00"), 6, 3003)]


def test_stacked_taxes_on_one_line_are_one_rate() -> None:
    order = build_order(OrderSpec(items=[Item("Sak", "SAK-1", 1, D("100.00"), D(0))], country="US"))
    order["shipping_lines"] = [{"id": 2000, "method_title": "UPS", "total": "10.00", "total_tax": "0.75",
                                "taxes": [{"id": 75, "total": "0.60"}, {"id": 76, "total": "0.15"}]}]
    order["tax_lines"] = [{"rate_id": 75, "rate_percent": 6.0, "tax_total": "0", "shipping_tax_total": "0.60"},
                          {"rate_id": 76, "rate_percent": 1.5, "tax_total": "0", "shipping_tax_total": "0.15"}]
    order["total"], order["total_tax"] = "110.75", "0.75"
    mapped = map_order("shop", order, DEFAULT)
    assert mapped.check.ok, mapped.check.failures()
    assert [r["Description"] for r in _rows(mapped.command)] == ["Sak", "UPS", "Foreign sales tax 7.5 %"]
