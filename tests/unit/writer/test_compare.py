from __future__ import annotations

from decimal import Decimal

from services.fortnox_writer.compare import differences


def test_same_document_with_numbers_in_other_types_does_not_differ() -> None:
    current = {"CustomerNumber": "1", "OrderRows": [{"ArticleNumber": "A", "Price": 100.0, "VAT": 25,
                                                      "OrderedQuantity": "2.00", "RowId": 7}]}
    desired = {"CustomerNumber": "1", "OrderRows": [{"ArticleNumber": "A", "Price": Decimal("100.00"), "VAT": 25,
                                                      "OrderedQuantity": Decimal("2")}]}
    assert differences(current, desired, "OrderRows") == []


def test_changed_price_and_removed_row_are_reported() -> None:
    current = {"OrderRows": [{"Price": 10}, {"Price": 5}]}
    assert differences(current, {"OrderRows": [{"Price": 10}]}, "OrderRows") == ["OrderRows: 2 rows -> 1 rows"]
    assert differences(current, {"OrderRows": [{"Price": 10}, {"Price": Decimal("5.01")}]}, "OrderRows") == [
        "OrderRows[1].Price: 5 -> Decimal('5.01')"]
