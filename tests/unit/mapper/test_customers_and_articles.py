"""Customers (private/company, VAT number, VATType, match keys) and articles (ArticleNumber, EAN,
stock, price without VAT) and the Fortnox -> WooCommerce stock command."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from libs.common.errors import PermanentError
from libs.common.shop_settings import ShopSettings
from services.mapper.articles import article_command, stock_command
from services.mapper.customers import customer_command, woo_customer_command
from services.woo_writer.stock import changes_for
from tests.fixtures import fixture_path

D = Decimal
DEFAULT = ShopSettings()


def _order(billing: dict[str, Any], meta: list[dict[str, Any]] | None = None, customer_id: int = 0) -> dict[str, Any]:
    base = {"first_name": "Anna", "last_name": "Svensson", "company": "", "address_1": "Storgatan 1",
            "postcode": "41105", "city": "Göteborg", "country": "SE", "email": "anna@example.se", "phone": ""}
    return {"id": 1, "billing": {**base, **billing}, "meta_data": meta or [], "customer_id": customer_id}


def test_private_guest_matches_by_email_only() -> None:
    command = customer_command("shop", _order({}), DEFAULT)
    assert command.body["Type"] == "PRIVATE"
    assert command.body["Name"] == "Anna Svensson"
    assert command.body["VATType"] == "SEVAT"
    assert "CustomerNumber" not in command.body
    assert command.match.model_dump() == {"email": "anna@example.se", "organisation_number": None,
                                          "woo_customer_id": None}
    assert command.create_if_missing is True


def test_company_with_org_number_and_update_only_mode() -> None:
    settings = ShopSettings.model_validate({"customers": {"mode": "update-only"}})
    command = customer_command("shop", _order({"company": "Svensson Bygg AB"},
                                              [{"key": "_billing_org_number", "value": "5566778899"}], 17), settings)
    assert (command.body["Type"], command.body["Name"]) == ("COMPANY", "Svensson Bygg AB")
    assert command.body["OrganisationNumber"] == "556677-8899"
    assert command.body["YourReference"] == "Anna Svensson"
    assert command.match.organisation_number == "556677-8899"
    assert command.match.woo_customer_id == 17
    assert command.create_if_missing is False


@pytest.mark.parametrize("key", ["_billing_vat_number", "_vat_number", "vat_number", "yweu_billing_vat"])
def test_vat_number_from_the_usual_meta_keys_makes_reverse_charge(key: str) -> None:
    command = customer_command("shop", _order({"country": "FI", "company": "Oy Ab"},
                                              [{"key": key, "value": "fi 1234 5678"}]), DEFAULT)
    assert command.body["VATNumber"] == "FI12345678"
    assert command.body["VATType"] == "EUREVERSEDVAT"


def test_woocommerce_customer_resource() -> None:
    customer = json.loads(fixture_path("woocommerce", "samples", "customer--retrieve-a-customer.json").read_text())
    command = woo_customer_command("shop", customer, DEFAULT)
    assert command.body["VATType"] == "EXPORT"
    assert command.body["CountryCode"] == "US"
    assert command.match.woo_customer_id == 25
    assert command.match.email == "john.doe@example.com"


def _product(**changes: Any) -> dict[str, Any]:
    base = {"id": 500, "name": "T-shirt &amp; keps", "type": "simple", "sku": "TS-1", "regular_price": "249.00",
            "tax_class": "", "manage_stock": True, "stock_quantity": 12, "parent_id": 0, "virtual": False,
            "meta_data": [{"key": "_ean", "value": "7310865004703"}], "date_modified_gmt": "2026-05-01T10:00:00"}
    return {**base, **changes}


def test_product_becomes_an_article_with_price_without_vat() -> None:
    command = article_command("shop", _product(), DEFAULT)
    assert command is not None
    assert command.body == {"ArticleNumber": "TS-1", "Description": "T-shirt & keps", "EAN": "7310865004703",
                            "Unit": "st", "StockGoods": True, "Type": "STOCK", "QuantityInStock": D(12),
                            "VAT": D(25)}  # the rate of its tax class, set on the article
    assert (command.price_list, command.price) == ("A", D("199.20"))


@pytest.mark.parametrize("status", ["none", "shipping"])
def test_a_product_not_taxable_is_an_article_at_0_percent_and_its_price_keeps_no_vat_both_ways(status: str) -> None:
    command = article_command("shop", _product(tax_status=status), DEFAULT)
    assert command is not None
    assert command.body["VAT"] == D(0)  # not left at Fortnox's default 25 %
    assert command.price == D("249.00")  # no VAT taken out of a price that holds none
    both = ShopSettings.model_validate({"products": {"direction": "both"}})
    back = stock_command("shop", {"Article": {"ArticleNumber": "TS-1", "SalesPrice": 249.0, **command.body}}, both)
    assert back is not None
    assert (back.regular_price, back.vat_rate) == (D("249.00"), D(0))  # the round trip is the identity
    assert changes_for(back, {"regular_price": "249.00", "stock_quantity": 12, "manage_stock": True}) == {}


def test_variation_and_parents() -> None:
    command = article_command("shop", _product(id=732, type="variation", parent_id=22, sku="TS-1-M"), DEFAULT)
    assert command is not None
    assert command.body["ArticleNumber"] == "TS-1-M"
    assert article_command("shop", _product(type="variable"), DEFAULT) is None
    with pytest.raises(PermanentError, match=r"'Tröja' \(variation 732 of product 22\) has no SKU"):
        article_command("shop", _product(id=732, type="variation", parent_id=22, sku="", name="Tröja"), DEFAULT)
    with pytest.raises(PermanentError, match="at most 50"):
        article_command("shop", _product(sku="X" * 51), DEFAULT)


def test_fortnox_article_change_becomes_a_stock_command() -> None:
    assert stock_command("shop", {"Article": {"ArticleNumber": "TS-1"}}, DEFAULT) is None  # reverse sync off
    both = ShopSettings.model_validate({"products": {"direction": "both"}})
    command = stock_command("shop", {"Article": {"ArticleNumber": "TS-1", "QuantityInStock": 7.0,
                                                 "SalesPrice": 199.2, "VAT": 25}, "woo_product_id": 500}, both)
    assert command is not None
    assert (command.woo_product_id, command.sku, command.stock_quantity, command.regular_price) == (
        500, "TS-1", 7, D("249.00"))
    with pytest.raises(PermanentError, match="no Article"):
        stock_command("shop", {"nothing": 1}, both)
