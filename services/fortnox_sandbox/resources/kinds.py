"""The three sales documents (orders, invoices, offers) differ only in names; this table holds them."""

from __future__ import annotations

from dataclasses import dataclass

from services.fortnox_sandbox.listing import Filter, exact, substring

__all__ = ["INVOICE", "KINDS", "OFFER", "ORDER", "DocKind"]


@dataclass(frozen=True)
class DocKind:
    kind: str  # path segment and store table
    wrap: str  # {"Order": {...}}
    plural: str  # {"Orders": [...]}
    rows: str  # "OrderRows"
    date: str  # "OrderDate"
    quantity: str  # the quantity the totals use
    scope: str
    schema: str  # openapi component of one document
    request_schema: str  # ... of a create/update body
    list_schema: str  # openapi component of the list answer
    list_fields: tuple[str, ...]
    filters: dict[str, Filter]


_COMMON_FILTERS: dict[str, Filter] = {
    "customernumber": exact("CustomerNumber"),
    "customername": substring("CustomerName"),
    "documentnumber": exact("DocumentNumber"),
    "ourreference": substring("OurReference"),
    "yourreference": substring("YourReference"),
    # Fortnox developer docs, https://www.fortnox.se/developer/guides-and-good-to-know/parameters:
    # the ledger-of-last-resort search is a substring match.
    "externalinvoicereference1": substring("ExternalInvoiceReference1"),
    "externalinvoicereference2": substring("ExternalInvoiceReference2"),
    "costcenter": exact("CostCenter"),
    "project": exact("Project"),
}

ORDER = DocKind(
    "orders", "Order", "Orders", "OrderRows", "OrderDate", "DeliveredQuantity", "order", "fortnox_Order_Wrap",
    "fortnox_Order_Wrap", "fortnox_OrderListItem_List",
    ("@url", "Cancelled", "Currency", "CustomerName", "CustomerNumber", "DeliveryDate", "DocumentNumber",
     "ExternalInvoiceReference1", "ExternalInvoiceReference2", "OrderDate", "OrderType", "Project", "Sent", "Total"),
    _COMMON_FILTERS,
)
INVOICE = DocKind(
    "invoices", "Invoice", "Invoices", "InvoiceRows", "InvoiceDate", "DeliveredQuantity", "invoice",
    "fortnox_Invoice_Wrap", "fortnox_InvoicePayload_Wrap", "fortnox_InvoiceListItem_Wrap",
    ("@url", "Balance", "Booked", "Cancelled", "CostCenter", "Currency", "CurrencyRate", "CurrencyUnit",
     "CustomerName", "CustomerNumber", "DocumentNumber", "DueDate", "ExternalInvoiceReference1",
     "ExternalInvoiceReference2", "InvoiceDate", "InvoiceType", "NoxFinans", "OCR", "Project", "Sent",
     "TermsOfPayment", "Total", "VoucherNumber", "VoucherSeries", "VoucherYear", "WayOfDelivery"),
    {**_COMMON_FILTERS, "ocr": exact("OCR"), "yourordernumber": substring("YourOrderNumber"),
     "invoicetype": exact("InvoiceType"), "currency": exact("Currency")},
)
OFFER = DocKind(
    "offers", "Offer", "Offers", "OfferRows", "OfferDate", "Quantity", "offer", "fortnox_Offer_Wrap",
    "fortnox_Offer_Wrap", "fortnox_OfferListItem_List",
    ("@url", "Cancelled", "Currency", "CustomerName", "CustomerNumber", "DocumentNumber", "OfferDate", "Project",
     "Sent", "Total"),
    _COMMON_FILTERS,
)
KINDS = {k.kind: k for k in (ORDER, INVOICE, OFFER)}
