"""The fast request check (bodycheck.py) gives the same verdict as jsonschema on openapi.json."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.fortnox_sandbox.errors import FortnoxError
from services.fortnox_sandbox.validation import SchemaValidator

VALIDATOR = SchemaValidator()
BODIES: list[tuple[str, dict[str, Any]]] = [
    ("fortnox_Order_Wrap", {"Order": {"CustomerNumber": "1", "ExternalInvoiceReference1": "id:1",
                                      "OrderRows": [{"ArticleNumber": "A", "OrderedQuantity": 2,
                                                     "Price": Decimal("99.50"), "VAT": 25}]}}),
    ("fortnox_InvoicePayload_Wrap", {"Invoice": {"CustomerNumber": "1", "Currency": "SEK",
                                                 "InvoiceRows": [{"DeliveredQuantity": "1", "Price": 10}]}}),
    ("fortnox_Customer_Wrap", {"Customer": {"Name": "Anna", "Type": "PRIVATE", "CountryCode": "SE"}}),
    ("fortnox_Article_Wrap", {"Article": {"ArticleNumber": "A-1", "Description": "Tröja", "VAT": 25}}),
    ("fortnox_Voucher_Wrap", {"Voucher": {"VoucherSeries": "A", "TransactionDate": "2026-01-01",
                                          "Description": "x", "VoucherRows": [{"Account": 1930, "Debit": 1},
                                                                          {"Account": 1510, "Credit": 1}]}}),
]
# Values that break a field in some way: wrong type, too long, not in an enum, text that is no number.
BAD_VALUES: list[Any] = [True, "x" * 2000, "not-a-number", 1.5, {"nested": 1}, ["list"], None, "PRIVATEISH", ""]


def _verdict(check: Any, name: str, body: Any, partial: bool) -> int | None:
    try:
        check(name, body, partial=partial)
    except FortnoxError as exc:
        return exc.code
    return None


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, (*path, k))] or [path]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaves(v, (*path, i))] or [path]
    return [path]


def _set(body: Any, path: tuple[Any, ...], value: Any) -> None:
    for step in path[:-1]:
        body = body[step]
    body[path[-1]] = value


@pytest.mark.parametrize(("name", "body"), BODIES)
def test_valid_bodies_pass_both(name: str, body: dict[str, Any]) -> None:
    assert _verdict(VALIDATOR.check_request, name, body, False) is None
    assert _verdict(VALIDATOR.check_request_slowly, name, body, False) is None


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(BODIES), st.data(), st.booleans())
def test_same_verdict_as_jsonschema(case: tuple[str, dict[str, Any]], data: st.DataObject, partial: bool) -> None:
    name, original = case
    body = copy.deepcopy(original)
    action = data.draw(st.sampled_from(["bad_value", "unknown_field", "drop_field"]))
    path = data.draw(st.sampled_from(_leaves(body)))
    if action == "bad_value":
        _set(body, path, data.draw(st.sampled_from(BAD_VALUES)))
    elif action == "unknown_field":
        container = body
        for step in path[:-1]:
            container = container[step]
        container["Bogus"] = 1
    else:
        container = body
        for step in path[:-1]:
            container = container[step]
        if isinstance(container, dict):
            container.pop(path[-1])
    fast = _verdict(VALIDATOR.check_request, name, body, partial)
    slow = _verdict(VALIDATOR.check_request_slowly, name, body, partial)
    assert (fast is None) == (slow is None), (body, fast, slow)
    if action == "unknown_field":
        assert fast == slow == 2001399
