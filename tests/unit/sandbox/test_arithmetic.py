"""Fortnox's document arithmetic (services/fortnox_sandbox/arithmetic.py)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.fortnox_sandbox.arithmetic import Line, compute, row_total

D = Decimal


def test_real_fortnox_invoice_is_reproduced() -> None:
    # A Fortnox invoice as Fortnox answered it: Net 1590, Freight 95, TotalVAT 421.25, Total 2106, RoundOff -0.25.
    totals = compute([Line(D(10), D(159), D(0), "PERCENT", D(25))], freight=D(95), rounding=True)
    assert (totals.net, totals.total_vat, totals.freight_vat) == (D(1590), D("421.25"), D("23.75"))
    assert (totals.total, totals.round_off, totals.gross) == (D(2106), D("-0.25"), D(1590))


def test_vat_per_rate_to_the_ore() -> None:
    lines = [
        Line(D(3), D("199.20"), D(0), "PERCENT", D(25)),
        Line(D(2), D("45.90"), D(0), "PERCENT", D(12)),
        Line(D(1), D("149.33"), D(10), "PERCENT", D(6)),
        Line(D(1), D("12.00"), D(0), "PERCENT", D(0)),
    ]
    totals = compute(lines, freight=D("49.00"))
    assert totals.rows == [D("597.60"), D("91.80"), D("134.40"), D("12.00")]
    assert totals.base_by_rate == {D(25): D("646.60"), D(12): D("91.80"), D(6): D("134.40"), D(0): D("12.00")}
    assert totals.vat_by_rate == {D(25): D("161.65"), D(12): D("11.02"), D(6): D("8.06"), D(0): D("0.00")}
    assert totals.total_vat == D("180.73")
    assert totals.total == D("1065.53")
    assert totals.round_off == 0


def test_amount_discount_comes_off_the_row() -> None:
    assert row_total(Line(D(4), D("25.00"), D("10.00"), "AMOUNT", D(25))) == D("90.00")
    assert row_total(Line(D(4), D("25.00"), D("10"), "PERCENT", D(25))) == D("90.00")


def test_vat_included_takes_vat_out_of_the_gross() -> None:
    totals = compute([Line(D(1), D(125), D(0), "PERCENT", D(25)), Line(D(1), D("53.00"), D(0), "PERCENT", D(6))],
                     vat_included=True)
    assert totals.vat_by_rate == {D(25): D("25.00"), D(6): D("3.00")}
    assert (totals.net, totals.total) == (D("150.00"), D("178.00"))


money = st.decimals(min_value=D("0.01"), max_value=D("99999.99"), places=2)
lines = st.lists(st.builds(Line, st.integers(1, 50).map(D), money, st.just(D(0)), st.just("PERCENT"),
                           st.sampled_from([D(25), D(12), D(6), D(0)])), min_size=1, max_size=8)


@given(lines, money, st.booleans(), st.booleans())
def test_totals_always_add_up(rows: list[Line], freight: Decimal, vat_included: bool, rounding: bool) -> None:
    totals = compute(rows, freight=freight, vat_included=vat_included, rounding=rounding)
    assert totals.total_vat == sum(totals.vat_by_rate.values())
    assert totals.total == sum(totals.base_by_rate.values()) + totals.total_vat + totals.round_off
    assert abs(totals.round_off) <= D("0.50")
    assert totals.round_off == 0 or rounding
    if rounding:
        assert totals.total == totals.total.to_integral_value()
    for rate, vat in totals.vat_by_rate.items():
        assert vat == vat.quantize(D("0.01"))
        if not vat_included:
            assert abs(vat - totals.base_by_rate[rate] * rate / 100) <= D("0.005")
