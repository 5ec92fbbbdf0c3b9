"""Issue 16: a non-finite, incomputable or absurdly large amount or quantity is a PermanentError at
once, never a retried crash nor a write to Fortnox."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import pytest

from libs.common.envelope import Envelope
from libs.common.errors import PermanentError
from libs.common.shop_settings import ShopSettings
from services.mapper.handlers import MapperHandlers
from services.mapper.orders import map_order
from services.mapper.rounding import money, quantity, quantity_of
from tests.unit.mapper.woo_orders import Item, OrderSpec, build_order


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "sNaN"])
def test_a_non_finite_amount_is_permanent(text: str) -> None:
    with pytest.raises(PermanentError) as refused:
        money(text, "total")
    assert refused.value.code == "bad-amount"


async def test_decimal_errors_in_a_handler_are_permanent() -> None:
    handlers = MapperHandlers(publisher=None, settings=None)  # type: ignore[arg-type]

    async def overflowing(_: Envelope) -> None:
        Decimal("1e999999").quantize(Decimal("0.01"))

    handlers.routes["woo.order.updated"] = overflowing
    envelope: Any = Envelope.new(tenant="shop", type="woo.order.updated", payload={"id": 1})
    with pytest.raises(PermanentError) as refused:
        await handlers(envelope)
    assert refused.value.code == "bad-amount"
    assert isinstance(refused.value.__cause__, InvalidOperation)


@pytest.mark.parametrize("text", ["1e30", "-1e30", "1000000000000", "1E+12", "-1000000000000.00"])
def test_an_amount_past_the_bound_is_permanent(text: str) -> None:
    """Amounts arrive as strings, so "1e30" passes every JSON-level check at the edge."""
    with pytest.raises(PermanentError) as refused:
        money(text, "total")
    assert refused.value.code == "bad-amount"
    assert "out of range" in refused.value.reason


def test_amounts_below_the_bound_are_read() -> None:
    assert money("999999999999.99") == Decimal("999999999999.99")
    assert money("-29.35") == Decimal("-29.35")
    assert quantity(Decimal("999999999")) == Decimal("999999999")


@pytest.mark.parametrize("value", ["1e30", 1e30, Decimal("1e9"), "-1000000000"])
def test_a_quantity_past_the_bound_is_permanent(value: object) -> None:
    with pytest.raises(PermanentError) as refused:
        quantity_of({"DeliveredQuantity": value, "Price": "1.00"})
    assert refused.value.code == "bad-amount"


def _order(**change: Any) -> dict[str, Any]:
    order = build_order(OrderSpec(items=[Item("Stol", "STOL-1", 1, Decimal("1000.00"), Decimal(25))]))
    item = order["line_items"][0]
    for key, value in change.items():
        if key in item:
            item[key] = value
        else:
            order[key] = value
    return order


@pytest.mark.parametrize("change", [{"quantity": "1e30"}, {"quantity": 10**12}, {"total": "1e30"},
                                    {"subtotal": "1e15"}, {"total": "1e13"}],
                         ids=["quantity-string", "quantity-int", "line-total", "subtotal", "order-total"])
def test_an_order_with_an_absurd_amount_or_quantity_is_refused_by_the_mapper(change: dict[str, Any]) -> None:
    with pytest.raises(PermanentError) as refused:
        map_order("shop", _order(**change), ShopSettings())
    assert refused.value.code == "bad-amount"
