"""Issue 16: a non-finite or incomputable amount is a PermanentError at once, never a retried crash."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import pytest

from libs.common.envelope import Envelope
from libs.common.errors import PermanentError
from services.mapper.handlers import MapperHandlers
from services.mapper.rounding import money


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
