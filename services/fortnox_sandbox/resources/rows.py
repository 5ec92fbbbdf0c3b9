"""Document rows: defaults from the article, account and article checks, RowIds, PUT replacing rows.

Fortnox API reference (https://apps.fortnox.se/apidocs), Orders and Invoices: a PUT with a rows array
replaces the rows (omitted rows are deleted; `{"RowId": n}` keeps a row) and every update issues new RowIds.
Errors (https://www.fortnox.se/developer/guides-and-good-to-know/errors): 2001304 account not found; 2001302
a row refers to an unknown article (reported by existing integrations).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.fortnox_sandbox.arithmetic import Line
from services.fortnox_sandbox.errors import (
    ACCOUNT_NOT_FOUND,
    BAD_PARAMETER,
    ROW_UNKNOWN_ARTICLE,
    bad_request,
)
from services.fortnox_sandbox.fields import BLANK, as_decimal, as_int, quantity_text
from services.fortnox_sandbox.resources.kinds import DocKind
from services.fortnox_sandbox.state import Company, Resource

__all__ = ["build_rows", "line_of"]

# BAS chart of accounts (https://www.bas.se): sales account by VAT rate (predefined, so a company may
# change them).
_SALES_BY_RATE = {Decimal(25): "SALES", Decimal(12): "SALES_VAT12", Decimal(6): "SALES_VAT6", Decimal(0): "SALES_VAT0"}
_TEXT = ("Description", "Unit", "CostCenter", "Project", "VATCode")
# Row fields only some documents have (fortnox_Order_OrderRow, fortnox_Invoice_InvoiceRow).
_STOCK_POINT = {"orders": ("StockPointCode", "StockPointId"), "invoices": ("StockPointCode",), "offers": ()}


def _default_account(company: Company, vat: Decimal) -> int:
    name = _SALES_BY_RATE.get(vat, "SALES")
    predefined = company.get("predefinedaccounts", name) or company.get("predefinedaccounts", "SALES")
    return int(predefined["Account"]) if predefined else 3001


def _quantities(kind: DocKind, row: dict[str, Any], old: Resource | None) -> dict[str, Decimal]:
    if kind.quantity == "Quantity":
        return {"Quantity": as_decimal(row.get("Quantity", (old or {}).get("Quantity")), "Quantity")}
    delivered_raw = row.get("DeliveredQuantity", (old or {}).get("DeliveredQuantity"))
    if kind.kind != "orders":
        return {"DeliveredQuantity": as_decimal(delivered_raw, "DeliveredQuantity")}
    ordered_raw = row.get("OrderedQuantity", (old or {}).get("OrderedQuantity"))
    # An order row given only one quantity uses it for both (the order is delivered as ordered).
    ordered = as_decimal(ordered_raw if ordered_raw is not None else delivered_raw, "OrderedQuantity")
    delivered = as_decimal(delivered_raw if delivered_raw is not None else ordered_raw, "DeliveredQuantity")
    return {"OrderedQuantity": ordered, "DeliveredQuantity": delivered}


def _one_row(company: Company, kind: DocKind, row: dict[str, Any], old: Resource | None, row_id: int) -> Resource:
    base: Resource = dict(old) if old else {}
    article_number = row.get("ArticleNumber", base.get("ArticleNumber", ""))
    article: Resource | None = None
    if article_number and article_number != BLANK:
        article = company.get("articles", str(article_number))
        if article is None:
            raise bad_request(f"Artikel {article_number} hittades inte (rad)", ROW_UNKNOWN_ARTICLE)
    else:
        article_number = ""
    price_default = None
    if article is not None and "Price" not in row and old is None:
        price = company.get("prices", f"A/{article_number}/0")
        price_default = price["Price"] if price else Decimal(0)
    vat = as_decimal(row.get("VAT", base.get("VAT")), "VAT",
                     Decimal(str(article.get("VAT", 25))) if article else Decimal(25))
    account_raw = row.get("AccountNumber", base.get("AccountNumber"))
    if account_raw in (None, "", 0, BLANK):
        sales = article.get("SalesAccount") if article else None
        account = int(sales) if sales else _default_account(company, vat)
    else:
        account = as_int(account_raw, "AccountNumber")
    if company.get("accounts", str(account)) is None:
        raise bad_request(f"Kontot {account} hittades inte", ACCOUNT_NOT_FOUND)
    discount_type = str(row.get("DiscountType", base.get("DiscountType", "PERCENT")) or "PERCENT").upper()
    if discount_type not in ("PERCENT", "AMOUNT"):
        raise bad_request(f"Ogiltig rabattyp: {discount_type}", BAD_PARAMETER)
    out: Resource = {"RowId": row_id, "ArticleNumber": str(article_number), "AccountNumber": account}
    for name in _TEXT + _STOCK_POINT[kind.kind]:
        value = row.get(name, base.get(name))
        if value is None and article is not None and name in ("Description", "Unit"):
            value = article.get(name)
        out[name] = "" if value in (None, BLANK) else str(value)
    for name, quantity in _quantities(kind, row, base).items():
        out[name] = quantity_text(quantity)
    out["Price"] = as_decimal(row.get("Price", base.get("Price", price_default)), "Price")
    out["Discount"] = as_decimal(row.get("Discount", base.get("Discount")), "Discount")
    out["DiscountType"] = discount_type
    out["VAT"] = vat
    out["HouseWork"] = bool(row.get("HouseWork", base.get("HouseWork", False)))
    return out


def line_of(kind: DocKind, row: Resource) -> Line:
    quantity = Decimal(row[kind.quantity])
    return Line(quantity, row["Price"], row["Discount"], row["DiscountType"], row["VAT"])


def build_rows(company: Company, kind: DocKind, given: Any, old_rows: list[Resource]) -> list[Resource]:
    """The document's new rows: `given` replaces `old_rows` entirely; `{"RowId": n}` carries a row over."""
    if not isinstance(given, list):
        raise bad_request(f"{kind.rows} måste vara en lista", BAD_PARAMETER)
    by_id = {row["RowId"]: row for row in old_rows}
    rows: list[Resource] = []
    for row in given:
        if not isinstance(row, dict):
            raise bad_request(f"Ogiltig rad i {kind.rows}", BAD_PARAMETER)
        old = None
        if row.get("RowId") is not None:
            old = by_id.get(as_int(row["RowId"], "RowId"))
            if old is None:
                raise bad_request(f"Raden {row['RowId']} finns inte", BAD_PARAMETER)
        rows.append(_one_row(company, kind, row, old, company.next_number("_rowid")))
    return rows
