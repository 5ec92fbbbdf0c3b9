"""The example orders in examples/ map to documents whose check passes, with the accounts and
VAT the issue asks for."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from libs.common.errors import PermanentError
from libs.common.shop_settings import ShopSettings
from services.mapper.orders import map_order, order_command
from tests.fixtures import example_path


def _order(name: str) -> dict[str, Any]:
    return json.loads(example_path(name).read_text())


@pytest.mark.parametrize("name", ["se-private-mixed-vat.json", "se-company-excl-vat-coupon.json",
                                  "eu-business-reverse-charge.json"])
def test_swedish_examples_add_up(name: str) -> None:
    mapped = map_order("shop", _order(name), ShopSettings())
    assert mapped.check.ok, mapped.check.failures()
    assert mapped.command.expected is not None
    assert mapped.command.expected.total == Decimal(_order(name)["total"])


def test_reverse_charge_books_no_vat_on_3108() -> None:
    command = order_command("shop", _order("eu-business-reverse-charge.json"), ShopSettings())
    rows = command.document["OrderRows"]
    assert {(r["VAT"], r["AccountNumber"]) for r in rows} == {(0, 3108)}
    assert command.customer.body["VATType"] == "EUREVERSEDVAT"
    assert command.customer.body["VATNumber"] == "DE123456789"
    assert command.customer.body["Type"] == "COMPANY"


def test_us_order_without_sku_is_a_clear_error_and_books_as_export_with_free_text_rows() -> None:
    order = _order("us-guest-no-sku.json")
    with pytest.raises(PermanentError, match=r"'Woo Single #1' \(product 93\) has no SKU") as caught:
        order_command("shop", order, ShopSettings())
    assert caught.value.code == "missing-sku"
    settings = ShopSettings.model_validate({"documents": {"allow_free_text_rows": True}})
    mapped = map_order("shop", order, settings)
    assert mapped.check.ok, mapped.check.failures()
    rows = mapped.command.document["OrderRows"]
    assert "ArticleNumber" not in rows[0]
    assert rows[1]["ArticleNumber"] == "Bar3"
    assert {r["AccountNumber"] for r in rows[:3]} == {3105}
    assert rows[3]["AccountNumber"] == 2890  # the US state tax: a debt, not revenue nor Swedish VAT
    assert mapped.command.customer.body["VATType"] == "EXPORT"
    assert mapped.command.customer.match.woo_customer_id is None  # a guest
