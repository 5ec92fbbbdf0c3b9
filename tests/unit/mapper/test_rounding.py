"""Fortnox's arithmetic as the mapper computes it, against the emulator's, and the row layout."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.fortnox_sandbox import arithmetic as sandbox
from services.mapper.rounding import balancing_shift, document_totals, money, rate_vat, row_amount
from services.mapper.rows import price_and_discount

D = Decimal
amounts = st.integers(min_value=-5_000_000, max_value=5_000_000).map(lambda c: D(c) / 100)
quantities = st.integers(min_value=-20, max_value=20).filter(bool).map(D)


@given(amounts, amounts, quantities)
def test_price_and_discount_reproduce_the_amount_exactly(list_amount: D, amount: D, quantity: D) -> None:
    price, discount = price_and_discount(list_amount, amount, quantity)
    assert discount >= 0
    assert price == price.quantize(D("0.01"))
    assert row_amount(price, quantity, discount) == amount


def test_unit_price_that_is_no_whole_ore_is_rounded_up_and_the_rest_discounted() -> None:
    assert price_and_discount(D("251.89"), D("251.89"), D(3)) == (D("83.97"), D("0.02"))


@settings(max_examples=300)
@given(st.lists(st.tuples(quantities, amounts.filter(lambda a: a >= 0), amounts.filter(lambda a: a >= 0),
                          st.sampled_from([D(25), D(12), D(6), D(0)])), min_size=1, max_size=8),
       st.booleans(), st.booleans())
def test_totals_equal_the_emulators(rows: list[tuple[D, D, D, D]], vat_included: bool, kronor: bool) -> None:
    fortnox_rows = [{"DeliveredQuantity": str(q), "Price": p, "Discount": min(d, p * abs(q)), "DiscountType": "AMOUNT",
                     "VAT": int(r)} for q, p, d, r in rows]
    ours = document_totals(fortnox_rows, vat_included=vat_included, whole_kronor=kronor)
    theirs = sandbox.compute([sandbox.Line(D(r["DeliveredQuantity"]), r["Price"], r["Discount"], "AMOUNT",
                                           D(r["VAT"])) for r in fortnox_rows],
                             vat_included=vat_included, rounding=kronor)
    assert (ours.total, ours.vat, ours.net, ours.round_off) == (theirs.total, theirs.total_vat, theirs.net,
                                                                 theirs.round_off)
    assert ours.vat_by_rate == theirs.vat_by_rate


@given(amounts, st.sampled_from([D(25), D(12), D(6)]), st.integers(-3, 3), st.booleans())
def test_balancing_shift_reaches_any_nearby_vat(amount: D, rate: D, off_by: int, vat_included: bool) -> None:
    target = rate_vat(amount, rate, vat_included=vat_included) + D(off_by) / 100
    shift = balancing_shift(amount, rate, target, vat_included=vat_included)
    assert shift is not None
    assert rate_vat(amount - shift, rate, vat_included=vat_included) == target


def test_money_reads_woocommerce_strings_and_rejects_garbage() -> None:
    assert money("29.35") == D("29.35")
    assert money("") == 0
    assert money(25.0) == D("25.0")
    with pytest.raises(Exception, match="not an amount"):
        money("12,50 kr")
