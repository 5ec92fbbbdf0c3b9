"""A WooCommerce order snapshot → the Fortnox document it must be (a DocumentCommand).

The command is the *desired state* of the order's document at that snapshot (its
date_modified_gmt), not a diff: the writer converges Fortnox to it. Pure: no I/O, so it is tested
without a broker and used as is by `woonox map order`.

Rules live in their own modules: rates in `vat`, regions in `regions`, accounts in `accounts`,
amounts and Fortnox's arithmetic in `rounding`, rows in `rows`, refunds in `refunds`, customers in
`customers`; the check table that proves the money adds up in `check`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from libs.common.commands import DocumentCommand, DocumentKind, ExpectedTotals, PaymentIntent, external_reference
from libs.common.errors import PermanentError
from libs.common.shop_settings import Region, ShopSettings, rate_key
from libs.common.woo.reread import snapshot_moment
from services.mapper.booking import Booking, book_lines
from services.mapper.check import OrderCheck, order_check
from services.mapper.customers import customer_command, vat_number
from services.mapper.lines import Line, order_lines
from services.mapper.refunds import credit_notes
from services.mapper.regions import region_of
from services.mapper.rounding import ZERO, money
from services.mapper.rows import ROWS_FIELD
from services.mapper.vat import rate_warning, sale_date

__all__ = ["MappedOrder", "ignore_reason", "map_order", "order_command", "snapshot_time", "was_completed"]

DATE_FIELD: dict[str, str] = {"order": "OrderDate", "invoice": "InvoiceDate", "offer": "OfferDate"}


@dataclass(frozen=True)
class MappedOrder:
    command: DocumentCommand
    check: OrderCheck


def ignore_reason(order: Mapping[str, Any], settings: ShopSettings) -> str | None:
    """Why an order snapshot makes no document (acknowledged and ignored), or None."""
    status = str(order.get("status") or "")
    if status == "checkout-draft":
        # WooCommerce source, plugins/woocommerce/includes/class-wc-webhook.php: order.updated still fires
        # for drafts.
        return "checkout-draft orders are not booked"
    triggers = settings.documents.triggers
    if status not in {*triggers.create, *triggers.invoice, *triggers.cancel, *triggers.credit}:
        return f"status {status!r} triggers nothing in the shop's settings"
    return None


def was_completed(order: Mapping[str, Any]) -> bool:
    """The order reached `completed` at some point: WooCommerce stamps `date_completed` then and keeps
    it when a refund moves the order on to `refunded` (WooCommerce REST API docs, Orders: date_completed;
    source, plugins/woocommerce/includes/class-wc-order.php, maybe_set_date_completed). A refunded
    snapshot may reach the writer before the completed one (or be the only one read): it must still
    invoice the sale, then credit it, never cancel it as a sale refunded before it was invoiced."""
    return bool(order.get("date_completed_gmt") or order.get("date_completed"))


def snapshot_time(order: Mapping[str, Any]) -> datetime:
    # A tie's REST re-read counts as later than its second's snapshots (libs/common/woo/reread.py).
    moment = snapshot_moment(order, "date_modified_gmt", "date_created_gmt")
    if moment is None:
        raise PermanentError(f"order {order.get('id')} has no date_modified_gmt", code="bad-order")
    return moment


def _sale_region(order: Mapping[str, Any], lines: list[Line], settings: ShopSettings) -> Region:
    # Goods are taxed where they are delivered: the shipping country, else the billing country.
    country = str((order.get("shipping") or {}).get("country") or (order.get("billing") or {}).get("country") or "")
    return region_of(country, vat_number=vat_number(order.get("meta_data"), settings),
                     charged_vat=any(line.tax != ZERO for line in lines), home=settings.home_country)


def _warnings(order: Mapping[str, Any], lines: list[Line], region: Region, settings: ShopSettings) -> list[str]:
    if region == "export" or region == "eu_business" or (region == "eu_consumer" and settings.accounts.oss):
        return []  # no Swedish rate applies (OSS books the buyer country's rate)
    on = sale_date(order)
    food = set(settings.documents.food_tax_classes)
    found = (rate_warning(ln.rate, on, food=ln.tax_class in food, what=f"{ln.kind} {ln.name!r}") for ln in lines)
    return [w for w in found if w]


def _clip(value: Any, limit: int) -> str:
    return str(value or "").strip()[:limit]


def _header(order: Mapping[str, Any], tenant: str, kind: DocumentKind, settings: ShopSettings,
            booking: Booking, region: Region) -> dict[str, Any]:
    billing, shipping = order.get("billing") or {}, order.get("shipping") or {}
    doc: dict[str, Any] = {
        DATE_FIELD[kind]: sale_date(order).isoformat(),
        "Currency": _clip(order.get("currency") or settings.currency.home, 3).upper(),
        "VATIncluded": booking.vat_included,
        "PriceList": settings.documents.price_list,
        "Language": "SV" if region == "se" else "EN",
    }
    person = " ".join(p for p in (_clip(billing.get("first_name"), 100), _clip(billing.get("last_name"), 100)) if p)
    if person:
        doc["YourReference"] = person[:50]
    if kind != "offer":  # openapi.json: offers have no external references nor YourOrderNumber
        doc["ExternalInvoiceReference1"] = external_reference(tenant, order["id"])
        doc["ExternalInvoiceReference2"] = f"WooCommerce {order.get('number') or order['id']}"[:80]
        doc["YourOrderNumber"] = _clip(order.get("number") or order["id"], 75)
    if settings.documents.our_reference:
        doc["OurReference"] = settings.documents.our_reference
    if order.get("customer_note"):
        doc["Remarks"] = _clip(order.get("customer_note"), 1024)
    delivery_name = _clip(shipping.get("company"), 1024) or " ".join(
        p for p in (_clip(shipping.get("first_name"), 100), _clip(shipping.get("last_name"), 100)) if p)
    for field, value in (("DeliveryName", delivery_name), ("DeliveryAddress1", shipping.get("address_1")),
                         ("DeliveryAddress2", shipping.get("address_2")), ("DeliveryZipCode", shipping.get("postcode")),
                         ("DeliveryCity", shipping.get("city"))):
        if value:
            doc[field] = _clip(value, 1024)
    methods = [str(s.get("method_id") or "") for s in order.get("shipping_lines") or []]
    way = next((settings.documents.way_of_delivery[m] for m in methods if m in settings.documents.way_of_delivery),
               None)
    if way:
        doc["WayOfDelivery"] = way
    terms = settings.payments.terms_of_payment.get(str(order.get("payment_method") or ""))
    if terms:
        doc["TermsOfPayment"] = terms
    if settings.currency.rate_source == "order-meta" and doc["Currency"] != settings.currency.home:
        found = {str(m.get("key")): m.get("value") for m in order.get("meta_data") or []}
        if found.get(settings.currency.rate_meta_key):
            doc["CurrencyRate"] = money(found[settings.currency.rate_meta_key], "currency rate")
    doc[ROWS_FIELD[kind]] = booking.rows
    return doc


def _payment(order: Mapping[str, Any], settings: ShopSettings, currency: str) -> PaymentIntent | None:
    method = settings.payments.methods.get(str(order.get("payment_method") or ""))
    paid = order.get("date_paid_gmt") or order.get("date_paid")
    if method is None or not method.register_payment or not paid:
        return None
    total = money(order.get("total"), "order total")
    # For a foreign currency the writer converts with the invoice's CurrencyRate (Fortnox API reference,
    # https://apps.fortnox.se/apidocs, InvoicePayments):
    # amount_currency is then what the customer paid, in the document's currency.
    return PaymentIntent(
        amount=total,
        amount_currency=total if currency != settings.currency.home else None,
        payment_date=str(paid)[:10],
        mode_of_payment=method.mode_of_payment,
        bookkeep=method.bookkeep,
        mode_of_payment_account=method.account,
    )


def map_order(tenant: str, order: Mapping[str, Any], settings: ShopSettings) -> MappedOrder:
    """The document and its check, whether or not the check passes (`woonox map` shows both)."""
    if "id" not in order:
        raise PermanentError("the order has no id", code="bad-order")
    kind: DocumentKind = settings.documents.kind
    status = str(order.get("status") or "")
    lines = order_lines(order)
    region = _sale_region(order, lines, settings)
    prefer_incl = bool(order.get("prices_include_tax"))
    booking = book_lines(lines, kind=kind, region=region, settings=settings, prefer_vat_included=prefer_incl)
    warnings = _warnings(order, lines, region, settings)
    if booking.shifts:
        moved = (f"{s} moved from {rate_key(r)} % to account {settings.accounts.rounding}"
                 for r, s in booking.shifts.items())
        warnings.append("öresutjämning: " + ", ".join(moved))
    credits, credit_checks = credit_notes(tenant, order, lines, settings, region=region, kind=kind,
                                          vat_included=booking.vat_included)
    check = order_check(order, lines, booking.totals, region=region, vat_included=booking.vat_included,
                        foreign_tax_account=settings.accounts.foreign_tax, warnings=warnings, extra=credit_checks)
    document = _header(order, tenant, kind, settings, booking, region)
    triggers = settings.documents.triggers
    command = DocumentCommand(
        tenant=tenant,
        woo_order_id=int(order["id"]),
        kind=kind,
        snapshot_modified=snapshot_time(order),
        external_ref=external_reference(tenant, order["id"]),
        woo_status=status,
        customer=customer_command(tenant, order, settings, region=region),
        document=document,
        convert_to_invoice=kind == "order" and settings.documents.convert_on_completed and (
            status in triggers.invoice or (status in triggers.credit and was_completed(order))),
        cancel=status in triggers.cancel,
        payment=_payment(order, settings, document["Currency"]),
        credit_rows=[row for credit in credits for row in credit.rows] or None,
        refund_ids=[credit.refund_id for credit in credits],
        credits=credits,
        expected=ExpectedTotals(
            total=booking.totals.total, vat=booking.totals.vat, round_off=booking.totals.round_off,
            vat_by_rate={rate_key(r): v for r, v in booking.totals.vat_by_rate.items()},
        ),
        warnings=warnings,
    )
    return MappedOrder(command, check)


def order_command(tenant: str, order: dict[str, Any], settings: ShopSettings) -> DocumentCommand:
    """The DocumentCommand for an order snapshot; a PermanentError (dead letter with the reason)
    when it cannot be booked or, unless the shop chose to book and warn, when it would not add up."""
    mapped = map_order(tenant, order, settings)
    if not mapped.check.ok and settings.rounding.on_mismatch == "dead-letter":
        raise PermanentError(
            f"order {order.get('id')} does not add up in Fortnox: " + "; ".join(mapped.check.failures()),
            code="amounts-mismatch",
        )
    if not mapped.check.ok:
        mapped.command.warnings.extend(mapped.check.failures())
    return mapped.command
