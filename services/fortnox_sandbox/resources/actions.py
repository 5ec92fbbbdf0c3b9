"""Document actions: orders and offers become invoices, invoices are booked, cancelled and credited.

As Fortnox answers (its API reference, https://apps.fortnox.se/apidocs, Orders, says Invoice_Wrap:
docs/sandbox.md, deviations): `PUT /3/orders/{n}/createinvoice` returns the *order* with the new
invoice number in `InvoiceReference`. API reference, Invoices: `/credit` works once per invoice and
the original then holds the credit's number in `CreditInvoiceReference`. Existing integrations
report that a 400 from createinvoice on a retry means the order was already invoiced. A booked
invoice cannot be changed (or cancelled).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from services.fortnox_sandbox.errors import BAD_PARAMETER, FortnoxError
from services.fortnox_sandbox.fields import today
from services.fortnox_sandbox.resources.documents import apply_totals, load, new_document, save
from services.fortnox_sandbox.resources.kinds import INVOICE, OFFER, ORDER, DocKind
from services.fortnox_sandbox.routing import Call, Reply, Router
from services.fortnox_sandbox.state import Resource

__all__ = ["register"]

_CARRIED = (
    "Address1", "Address2", "City", "Country", "ZipCode", "Currency", "CurrencyRate", "CurrencyUnit", "CustomerName",
    "DeliveryAddress1", "DeliveryAddress2", "DeliveryCity", "DeliveryCountry", "DeliveryName", "DeliveryZipCode",
    "Freight", "AdministrationFee", "Language", "OrganisationNumber", "OurReference", "YourReference", "Phone1",
    "Phone2", "PriceList", "Project", "CostCenter", "Remarks", "TermsOfDelivery", "TermsOfPayment", "VATIncluded",
    "WayOfDelivery", "YourOrderNumber",
)
_ROW_FIELDS = ("ArticleNumber", "AccountNumber", "Description", "Price", "Discount", "DiscountType", "VAT", "Unit",
               "CostCenter", "Project")


def _refuse(message: str) -> FortnoxError:
    return FortnoxError(400, message, BAD_PARAMETER)


def _rows_for(source: DocKind, document: Resource, target: DocKind, sign: int = 1) -> list[dict[str, Any]]:
    rows = []
    for row in document[source.rows]:
        quantity = Decimal(row[source.quantity]) * sign
        out = {name: row[name] for name in _ROW_FIELDS if row.get(name) not in (None, "")}
        if target.kind == "orders":
            out["OrderedQuantity"] = quantity
        out[target.quantity] = quantity
        rows.append(out)
    return rows


def _derive(call: Call, source: DocKind, document: Resource, target: DocKind, sign: int = 1) -> Resource:
    given: dict[str, Any] = {name: document[name] for name in _CARRIED if name in document}
    for name in ("Freight", "AdministrationFee"):
        given[name] = given.get(name, Decimal(0)) * sign
    given["CustomerNumber"] = document["CustomerNumber"]
    given[target.rows] = _rows_for(source, document, target, sign)
    if source is not OFFER and target is INVOICE:
        given["ExternalInvoiceReference1"] = document.get("ExternalInvoiceReference1", "")
        given["ExternalInvoiceReference2"] = document.get("ExternalInvoiceReference2", "")
    if target is INVOICE:
        given["InvoiceDate"] = today().isoformat()
    return new_document(call, target, given)


def _unused(reference: Any) -> bool:
    return reference in (None, "", "0")


def _create_invoice(source: DocKind) -> Any:
    def handler(call: Call) -> Reply:
        document = dict(load(call.company, source, call.params["DocumentNumber"]))
        if document.get("Cancelled"):
            raise _refuse(f"{source.wrap} {document['DocumentNumber']} är makulerad")
        if not _unused(document.get("InvoiceReference")):
            raise _refuse(f"{source.wrap} {document['DocumentNumber']} är redan fakturerad "
                          f"(faktura {document['InvoiceReference']})")
        invoice = dict(_derive(call, source, document, INVOICE))
        invoice["OrderReference" if source is ORDER else "OfferReference"] = document["DocumentNumber"]
        save(call, INVOICE, invoice)
        document["InvoiceReference"] = invoice["DocumentNumber"]
        return 200, {source.wrap: save(call, source, document)}

    return handler


def _create_order(call: Call) -> Reply:
    offer = dict(load(call.company, OFFER, call.params["DocumentNumber"]))
    if offer.get("Cancelled") or not _unused(offer.get("OrderReference")):
        raise _refuse(f"Offert {offer['DocumentNumber']} kan inte bli order")
    order = dict(_derive(call, OFFER, offer, ORDER))
    order["OfferReference"] = offer["DocumentNumber"]
    offer["OrderReference"] = order["DocumentNumber"]
    save(call, OFFER, offer)
    return 200, {"Order": save(call, ORDER, order)}


def _cancel(kind: DocKind) -> Any:
    def handler(call: Call) -> Reply:
        document = dict(load(call.company, kind, call.params["DocumentNumber"]))
        if document.get("Booked"):
            raise _refuse("Fakturan är bokförd och kan inte makuleras; kreditera den i stället")
        if document.get("Cancelled"):
            raise _refuse(f"{kind.wrap} {document['DocumentNumber']} är redan makulerad")
        if kind is ORDER and not _unused(document.get("InvoiceReference")):
            raise _refuse("Ordern är fakturerad och kan inte makuleras")
        document["Cancelled"] = True
        return 200, {kind.wrap: save(call, kind, document)}

    return handler


def _bookkeep(call: Call) -> Reply:
    invoice = dict(load(call.company, INVOICE, call.params["DocumentNumber"]))
    if invoice.get("Cancelled"):
        raise _refuse("Fakturan är makulerad och kan inte bokföras")
    if invoice.get("Booked"):
        raise _refuse("Fakturan är redan bokförd")
    series = dict(call.company.get("voucherseries", "B") or {"Code": "B", "NextVoucherNumber": 1})
    invoice.update({"Booked": True, "VoucherSeries": "B", "VoucherNumber": int(series.get("NextVoucherNumber", 1)),
                    "VoucherYear": date.fromisoformat(invoice["InvoiceDate"]).year})
    series["NextVoucherNumber"] = invoice["VoucherNumber"] + 1
    call.company.put("voucherseries", "B", series)
    return 200, {"Invoice": save(call, INVOICE, invoice)}


def _credit(call: Call) -> Reply:
    invoice = dict(load(call.company, INVOICE, call.params["DocumentNumber"]))
    if invoice.get("Cancelled"):
        raise _refuse("Fakturan är makulerad och kan inte krediteras")
    if invoice.get("Credit") == "true":
        raise _refuse("En kreditfaktura kan inte krediteras")
    if not _unused(invoice.get("CreditInvoiceReference")):
        raise _refuse(f"Fakturan är redan krediterad (kreditfaktura {invoice['CreditInvoiceReference']})")
    credit = dict(_derive(call, INVOICE, invoice, INVOICE, sign=-1))
    credit["Credit"] = "true"
    credit["CreditInvoiceReference"] = invoice["DocumentNumber"]
    apply_totals(call.company, INVOICE, credit)
    save(call, INVOICE, credit)
    invoice["CreditInvoiceReference"] = credit["DocumentNumber"]
    return 200, {"Invoice": save(call, INVOICE, invoice)}


def register(router: Router) -> None:
    for kind in (ORDER, OFFER):
        router.add("PUT", f"/3/{kind.kind}/{{DocumentNumber}}/createinvoice", kind.scope, _create_invoice(kind),
                   response=kind.schema)
        router.add("PUT", f"/3/{kind.kind}/{{DocumentNumber}}/cancel", kind.scope, _cancel(kind), response=kind.schema)
    router.add("PUT", "/3/offers/{DocumentNumber}/createorder", "order", _create_order, response="fortnox_Order_Wrap")
    router.add("PUT", "/3/invoices/{DocumentNumber}/cancel", "invoice", _cancel(INVOICE), response=INVOICE.schema)
    router.add("PUT", "/3/invoices/{DocumentNumber}/bookkeep", "invoice", _bookkeep, response=INVOICE.schema)
    router.add("PUT", "/3/invoices/{DocumentNumber}/credit", "invoice", _credit, response=INVOICE.schema)
