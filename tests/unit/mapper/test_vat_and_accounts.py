"""Rates by date, rates from WooCommerce's tax data, regions and sales accounts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from libs.common.errors import PermanentError
from libs.common.shop_settings import ShopSettings
from services.mapper.accounts import sales_account
from services.mapper.regions import region_of
from services.mapper.vat import food_rate, line_rate, rate_warning

D = Decimal


@pytest.mark.parametrize(("day", "rate"), [
    (date(2026, 3, 31), D(12)), (date(2026, 4, 1), D(6)), (date(2027, 12, 31), D(6)), (date(2028, 1, 1), D(12)),
])
def test_food_rate_by_date_of_sale(day: date, rate: D) -> None:
    assert food_rate(day) == rate


def test_rate_comes_from_the_tax_line_else_from_the_amounts() -> None:
    assert line_rate([{"id": 1, "total": "2.50"}], {1: D(25)}, D("10.00"), D("2.50")) == 25
    # Older orders: rate_percent is null, the rate is the known one that gives the tax to the öre.
    assert line_rate([{"id": 3, "total": "15.11"}], {3: None}, D("251.89"), D("15.11")) == 6
    assert line_rate([], {}, D("10.00"), D("0.75")) == D("7.5")
    # A 100 % coupon leaves no tax: the pre-discount subtotal still tells the rate.
    assert line_rate([{"id": 9, "total": "0"}], {9: None}, D(0), D(0), list_net=D("100.00"), list_tax=D("12.00")) == 12
    # A tax listed but not applied, or applied with nothing charged on a real amount: exempt, 0 %.
    assert line_rate([{"id": 1, "total": "", "subtotal": ""}], {1: D(25)}, D("10.00"), D(0)) == 0
    assert line_rate([{"id": 1, "total": "0.00", "subtotal": "0.00"}], {1: D(25)}, D("10.00"), D(0)) == 0
    # ... but a line too small to carry an öre of tax keeps its rate.
    assert line_rate([{"id": 1, "total": "0.00"}], {1: D(25)}, D("0.01"), D(0)) == 25
    # Stacked non-compound taxes add up (a US state and county tax).
    assert line_rate([{"id": 1}, {"id": 2}], {1: D("6"), 2: D("1.5")}, D(100), D("7.50")) == D("7.5")


def test_rate_warnings() -> None:
    assert rate_warning(D(25), date(2026, 5, 1), food=False, what="x") is None
    assert "not a Swedish VAT rate" in str(rate_warning(D(19), date(2026, 5, 1), food=False, what="x"))
    assert rate_warning(D(6), date(2026, 5, 1), food=True, what="x") is None


@pytest.mark.parametrize(("country", "vat_number", "charged", "region"), [
    ("SE", None, True, "se"), ("", None, True, "se"), ("SE", "SE556677889901", False, "se"),
    ("DE", None, True, "eu_consumer"), ("FI", "FI12345678", False, "eu_business"),
    ("FI", "FI12345678", True, "eu_consumer"), ("NO", None, False, "export"), ("US", None, True, "export"),
    ("GB", "GB123", False, "export"),
])
def test_region(country: str, vat_number: str | None, charged: bool, region: str) -> None:
    assert region_of(country, vat_number=vat_number, charged_vat=charged) == region


def test_sales_accounts_follow_the_map_and_name_a_missing_one() -> None:
    accounts = ShopSettings.model_validate({"accounts": {"se": {"by_rate": {"25": 3001, "6": 3003, "0": 3004},
                                                                "shipping": 3520}}}).accounts
    assert sales_account(accounts, "se", D(25)) == 3001
    assert sales_account(accounts, "se", D(6), "shipping") == 3520
    assert sales_account(accounts, "eu_business", D(0)) == 3108
    assert sales_account(accounts, "export", D(0), "fee") == 3105
    assert sales_account(accounts, "eu_consumer", D(19)) == 3106  # OSS rates: other_rates
    with pytest.raises(PermanentError, match=r'accounts.se.by_rate\["12"\]'):
        sales_account(accounts, "se", D(12))


def test_settings_reject_typos_and_non_bas_accounts() -> None:
    with pytest.raises(ValueError, match="extra"):
        ShopSettings.model_validate({"documents": {"knid": "order"}})
    with pytest.raises(ValueError, match="four-digit"):
        ShopSettings.model_validate({"accounts": {"se": {"by_rate": {"25": 300}}}})
    with pytest.raises(ValueError, match="not a number"):
        ShopSettings.model_validate({"accounts": {"se": {"by_rate": {"moms": 3001}}}})
    assert ShopSettings.model_validate({"accounts": {"se": {"by_rate": {"25.0": 3001}}}}).accounts.se.by_rate == {
        "25": 3001}
