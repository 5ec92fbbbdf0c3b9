"""Issue 16: hostile signed bodies are refused at the edge (the receiver answers 400 for these)."""

from __future__ import annotations

import pytest

from services.ingest.body_guard import HostileBody, check


@pytest.mark.parametrize("body", [
    b"[" * 1000 + b"]" * 1000,
    b'{"total": NaN}', b'{"total": Infinity}', b'{"total": -Infinity}', b'{"total": 1e999999}',
    b'{"line_items": [{"quantity": 1e30}]}', b'{"line_items": [{"quantity": 1000000000000000000000000000000}]}',
])
def test_hostile_bodies_are_refused_with_a_reason(body: bytes) -> None:
    with pytest.raises(HostileBody) as refused:
        check(body)
    assert str(refused.value)


def test_an_ordinary_order_passes() -> None:
    check(b'{"id": 727, "total": "125.00", "line_items": [{"quantity": 2, "price": 49.5}], "x": null}')
    check(b"webhook_id=1")  # not JSON: classify answers that
