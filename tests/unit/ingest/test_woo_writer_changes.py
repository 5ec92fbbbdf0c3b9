"""What the woo-writer writes for a stock command: only what differs from the shop (no write, no echo)."""

from __future__ import annotations

from decimal import Decimal

from libs.common.commands import StockCommand
from services.woo_writer.stock import changes_for

SHOP = {"id": 5, "stock_quantity": 3, "manage_stock": True, "regular_price": "79.00"}


def command(**fields: object) -> StockCommand:
    return StockCommand.model_validate({"tenant": "t", "woo_product_id": 5, **fields})


def test_equal_values_write_nothing() -> None:
    assert changes_for(command(stock_quantity=3, regular_price=Decimal("79")), SHOP) == {}
    assert changes_for(command(), SHOP) == {}


def test_differences_are_written() -> None:
    assert changes_for(command(stock_quantity=0), SHOP) == {"manage_stock": True, "stock_quantity": 0}
    assert changes_for(command(regular_price=Decimal("89.50")), SHOP) == {"regular_price": "89.50"}


def test_unmanaged_stock_becomes_managed_and_empty_price_is_set() -> None:
    shop = {**SHOP, "manage_stock": False, "stock_quantity": None, "regular_price": ""}
    assert changes_for(command(stock_quantity=3, regular_price=Decimal("1.00")), shop) == {
        "manage_stock": True, "stock_quantity": 3, "regular_price": "1.00"}
