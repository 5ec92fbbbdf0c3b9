"""Property: for any order WooCommerce can produce, the Fortnox document's total and VAT per rate
equal WooCommerce's to the öre, every row's account is the account map's, and every refund's
credit is exactly the refunded amount and VAT.

Fortnox's side is computed twice, independently of the mapper's own check: with the mapper's
arithmetic (services.mapper.rounding) and with the emulator's (services.fortnox_sandbox.arithmetic),
so the proof holds against the Fortnox the rest of the system talks to.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from libs.common.shop_settings import ShopSettings, rate_key
from services.fortnox_sandbox import arithmetic as sandbox
from services.mapper.orders import map_order
from services.mapper.regions import EU_COUNTRIES
from services.mapper.rounding import document_totals, money
from tests.unit.mapper.woo_orders import Extra, Item, OrderSpec, build_order, line_refund

D = Decimal
SWEDISH_RATES = [D(25), D(12), D(6), D(0)]
ROWS = {"order": "OrderRows", "invoice": "InvoiceRows", "offer": "OfferRows"}

cents = st.integers(min_value=1, max_value=2_000_000).map(lambda c: D(c) / 100)
percent = st.sampled_from([D(0), D(0), D(5), D(10), D("12.5"), D(33), D(50), D(100)])


@st.composite
def orders(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    region = draw(st.sampled_from(["se", "se", "se", "eu_consumer", "eu_business", "export", "export_taxed"]))
    rates = [D(0)] if region in ("eu_business", "export") else [D("7.5")] if region == "export_taxed" \
        else SWEDISH_RATES
    coupon = draw(percent)
    items = [
        Item(name=f"Vara {n}", sku=f"SKU-{n}", quantity=draw(st.integers(1, 12)), unit=draw(cents),
             rate=draw(st.sampled_from(rates)), discount_percent=coupon)
        for n in range(draw(st.integers(1, 7)))
    ]
    shipping = [Extra("Frakt", draw(cents), draw(st.sampled_from(rates)))
                for _ in range(draw(st.integers(0, 1)))]
    fees = [Extra(f"Avgift {n}", draw(st.integers(-50_000, 50_000).filter(bool).map(lambda c: D(c) / 100)),
                  draw(st.sampled_from(rates)))
            for n in range(draw(st.integers(0, 2)))]
    country = {"se": "SE", "eu_consumer": draw(st.sampled_from(sorted(EU_COUNTRIES - {"SE"}))),
               "eu_business": "DE", "export": draw(st.sampled_from(["NO", "US", "GB"])),
               "export_taxed": "US"}[region]
    spec = OrderSpec(items=items, prices_include_tax=draw(st.booleans()), shipping=shipping, fees=fees,
                     country=country, vat_number="DE123456789" if region == "eu_business" else None,
                     currency=draw(st.sampled_from(["SEK", "EUR", "USD", "NOK"])),
                     shipping_follows_goods=region in ("se", "eu_consumer") and draw(st.booleans()))
    order = build_order(spec)
    refunds = []
    for n in range(draw(st.integers(0, 2))):
        if draw(st.booleans()):
            index = draw(st.integers(0, len(items) - 1))
            refunds.append(line_refund(order, 100 + n, index, draw(st.integers(1, items[index].quantity))))
        else:
            refunds.append({"id": 100 + n, "reason": "", "total": str(-draw(cents))})
    order["refunds"] = refunds
    return order, "export" if region == "export_taxed" else region


shop_settings = st.builds(
    lambda kind, kronor: ShopSettings.model_validate(
        {"documents": {"kind": kind}, "rounding": {"whole_kronor": kronor}}),
    st.sampled_from(["order", "invoice", "offer"]), st.booleans())


def _woo_vat_by_rate(order: dict[str, Any], region: str) -> dict[Decimal, Decimal]:
    if region not in ("se", "eu_consumer"):
        return {}
    by_rate: dict[Decimal, Decimal] = {}
    for tax in order["tax_lines"]:
        rate = D(str(tax["rate_percent"]))
        by_rate[rate] = by_rate.get(rate, D(0)) + D(tax["tax_total"]) + D(tax["shipping_tax_total"])
    return by_rate


def _sandbox_totals(rows: list[dict[str, Any]], vat_included: bool, kronor: bool) -> sandbox.Totals:
    lines = [sandbox.Line(quantity=D(r.get("DeliveredQuantity", r.get("Quantity", "1"))), price=money(r["Price"]),
                          discount=money(r.get("Discount")), discount_type=r.get("DiscountType", "AMOUNT"),
                          vat=D(r["VAT"])) for r in rows]
    return sandbox.compute(lines, vat_included=vat_included, rounding=kronor)


def _nonzero(values: dict[Decimal, Decimal]) -> dict[Decimal, Decimal]:
    return {k: v for k, v in values.items() if v != 0}


def _expected_account(row: dict[str, Any], region: str, shop: ShopSettings) -> int:
    if str(row["Description"]).startswith("Foreign sales tax"):
        return shop.accounts.foreign_tax
    if str(row["Description"]).startswith("Öresutjämning") and row["VAT"] == 0:
        return shop.accounts.rounding
    table = shop.accounts.region(region)  # type: ignore[arg-type]
    return table.by_rate.get(rate_key(D(row["VAT"])), table.other_rates or 0)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orders(), shop_settings)
def test_documents_add_up_to_the_ore(generated: tuple[dict[str, Any], str], shop: ShopSettings) -> None:
    order, region = generated
    mapped = map_order("shop", order, shop)
    command = mapped.command
    assert mapped.check.ok, mapped.check.failures()
    rows = command.document[ROWS[command.kind]]
    vat_included = command.document["VATIncluded"]
    kronor = shop.rounding.whole_kronor

    ours = document_totals(rows, vat_included=vat_included, whole_kronor=kronor)
    theirs = _sandbox_totals(rows, vat_included, kronor)
    woo_total, woo_tax = D(order["total"]), D(order["total_tax"])
    assert ours.total_before_round_off == woo_total
    assert theirs.total - theirs.round_off == woo_total
    assert theirs.round_off == ours.round_off
    assert _nonzero(ours.vat_by_rate) == _nonzero(theirs.vat_by_rate) == _nonzero(_woo_vat_by_rate(order, region))
    if region in ("eu_business", "export"):
        assert ours.vat == 0
        assert ours.amount_by_account.get(shop.accounts.foreign_tax, D(0)) == woo_tax
    else:
        assert ours.vat == woo_tax

    for row in rows:
        assert row["AccountNumber"] == _expected_account(row, region, shop), row

    credited = {c.refund_id: c for c in command.credits}
    assert sorted(credited) == [r["id"] for r in order["refunds"]]
    for refund in order["refunds"]:
        credit = credited[refund["id"]]
        assert credit.vat_included == vat_included
        totals = _sandbox_totals(credit.rows, credit.vat_included, False)
        assert totals.total == D(refund["total"])
        if refund.get("line_items") and region in ("se", "eu_consumer"):
            assert totals.total_vat == sum(D(li["total_tax"]) for li in refund["line_items"])
        for row in credit.rows:
            assert row["AccountNumber"] == _expected_account(row, region, shop), row
