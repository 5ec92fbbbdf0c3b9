"""Lists of orders, invoices and offers: search filters, Fortnox's `filter=` states and date ranges.

Fortnox developer docs, https://www.fortnox.se/developer/guides-and-good-to-know/parameters: text filters
are substring matches; one search filter per call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.fortnox_sandbox.errors import BAD_PARAMETER, bad_request
from services.fortnox_sandbox.listing import listing
from services.fortnox_sandbox.resources.kinds import DocKind
from services.fortnox_sandbox.routing import Call, Reply
from services.fortnox_sandbox.state import Resource

__all__ = ["list_handler"]

_STATUS_FILTERS = {
    "cancelled": lambda d: bool(d.get("Cancelled")),
    "invoicecreated": lambda d: d.get("InvoiceReference") not in (None, "", "0"),
    "invoicenotcreated": lambda d: d.get("InvoiceReference") in (None, "", "0") and not d.get("Cancelled"),
    "ordercreated": lambda d: d.get("OrderReference") not in (None, "", "0"),
    "ordernotcreated": lambda d: d.get("OrderReference") in (None, "", "0") and not d.get("Cancelled"),
    "unbooked": lambda d: not d.get("Booked") and not d.get("Cancelled"),
    "fullypaid": lambda d: d.get("Balance") == 0 and not d.get("Cancelled"),
    "unpaid": lambda d: d.get("Balance", 0) != 0 and not d.get("Cancelled"),
}


def list_handler(kind: DocKind) -> Any:
    def handler(call: Call) -> Reply:
        status = call.query.get("filter")
        extra: Callable[[Resource], bool] | None = None
        if status:
            if status not in _STATUS_FILTERS:
                raise bad_request(f"Ogiltigt filter: {status}", BAD_PARAMETER)
            extra = _STATUS_FILTERS[status]
        # fromdate/todate bound the document date; like lastmodified they combine with a search filter.
        query = {k: v for k, v in call.query.items() if k not in ("fromdate", "todate")}
        low, high = call.query.get("fromdate"), call.query.get("todate")
        if low or high:
            status_check = extra

            def extra(d: Resource) -> bool:
                inside = (not low or d[kind.date] >= low) and (not high or d[kind.date] <= high)
                return inside and (status_check is None or status_check(d))

        found, meta = listing(call.company, kind.kind, query, kind.filters, extra=extra)
        items = [{name: doc[name] for name in kind.list_fields if name in doc} for doc in found]
        return 200, {"MetaInformation": meta, kind.plural: items}

    return handler
