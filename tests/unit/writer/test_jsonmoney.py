"""Money crosses JSON as exact numbers, never through float."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from libs.common import jsonmoney


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-10**9, max_value=10**9))
def test_decimal_round_trips_exactly(value: Decimal) -> None:
    back = jsonmoney.loads(jsonmoney.dumps({"Price": value}))["Price"]
    assert Decimal(back) == value


def test_decimals_are_json_numbers_not_strings() -> None:
    assert jsonmoney.dumps({"a": Decimal("0.10"), "b": [Decimal("-12.345")], "c": "0.1"}) == \
        b'{"a":0.10,"b":[-12.345],"c":"0.1"}'


def test_integers_stay_integers() -> None:
    assert jsonmoney.loads(b'{"n": 3, "p": 1.5}') == {"n": 3, "p": Decimal("1.5")}
