"""What follows a document: order -> invoice, payment, cancellation, refunds as credit invoices.

Each step is one effect through `Ledger.run` (intent -> call -> result, recorded in PostgreSQL);
when the record cannot say whether a step already happened (an attempt without a result, or a
degraded Redis), Fortnox is asked first:
- createinvoice: the order's `InvoiceReference` (a 400 on a repeated createinvoice usually means it
  was already invoiced, as existing integrations report);
- payments: `GET /3/invoicepayments?invoicenumber=` (Fortnox API reference, https://apps.fortnox.se/apidocs,
  InvoicePayments);
- credit invoices: the refund's own reference (ExternalInvoiceReference1 of the credit).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from libs.common.commands import CreditNote, DocumentCommand
from libs.common.fortnox.errors import FortnoxPermanent
from libs.common.store.bookings import BookingRecord
from services.fortnox_writer.context import WriterContext
from services.fortnox_writer.ledger import Claim, Effect

__all__ = ["apply_lifecycle", "idempotent_action"]


async def apply_lifecycle(ctx: WriterContext, cmd: DocumentCommand, claim: Claim, number: str) -> dict[str, Any]:
    done: dict[str, Any] = {}
    invoice = number if cmd.kind == "invoice" else None
    if cmd.kind == "order" and cmd.convert_to_invoice and not cmd.cancel:
        invoice = await _convert(ctx, cmd, claim, number)
        done["invoice"] = invoice
    elif cmd.kind == "order":
        # Invoiced by an earlier snapshot: a status that converts nothing (the last refund moves a
        # completed order on to `refunded`) still has its payment and credits follow that invoice.
        invoice = await _booked(ctx, cmd, "invoice")
    if cmd.cancel or (invoice is None and _refunded_in_full(cmd)):
        # Issue 15, minimal: a sale refunded in full before it was ever invoiced leaves nothing to
        # credit, so its order is cancelled (a real shop's order 27 stayed open at 743.40). Refunds in
        # other states (a partial refund of an open order) belong to the books issue (18).
        done["cancelled"] = await _cancel(ctx, cmd, claim, number)
        return done
    if invoice and cmd.payment is not None:
        done["payment"] = await _payment(ctx, cmd, claim, invoice)
    if invoice and cmd.credits:
        done["credits"] = [await _credit(ctx, cmd, claim, invoice, note) for note in cmd.credits]
    return done


async def idempotent_action(ctx: WriterContext, resource: str, number: str, action: str, wrapper: str,
                            happened: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """An action Fortnox refuses when it has already happened (a repeated createinvoice, bookkeep,
    credit or cancel answers 400, Fortnox developer docs,
    https://www.fortnox.se/developer/guides-and-good-to-know/errors): on a refusal, read the document, and
    if the action
    has happened after all — a previous attempt whose answer was lost — take it as done."""
    try:
        return await ctx.client.action(resource, number, action, wrapper)
    except FortnoxPermanent:
        current = await ctx.client.get(resource, number, wrapper)
        if happened(current):
            return current
        raise


def _refunded_in_full(cmd: DocumentCommand) -> bool:
    if cmd.kind != "order" or not cmd.credits or cmd.expected is None:
        return False
    refunded = sum((note.amount for note in cmd.credits), Decimal(0))
    return refunded >= cmd.expected.total - cmd.expected.round_off


def _cancelled(document: dict[str, Any]) -> bool:
    return bool(document.get("Cancelled"))


def _credited(document: dict[str, Any]) -> bool:
    return int(document.get("CreditInvoiceReference") or 0) > 0


def _booking(ctx: WriterContext, cmd: DocumentCommand, kind: str) -> Callable[[str], BookingRecord]:
    return lambda number: BookingRecord(tenant_id=ctx.tenant.id, woo_resource="order", woo_id=str(cmd.woo_order_id),
                                        kind=kind, fortnox_number=number)


def _audit(kind: str) -> Callable[[str], dict[str, Any]]:
    return lambda number: {kind: number}


async def _convert(ctx: WriterContext, cmd: DocumentCommand, claim: Claim, order_number: str) -> str:
    known = await _booked(ctx, cmd, "invoice")
    if known:
        return known

    async def invoiced() -> str | None:
        order = await ctx.client.get("orders", order_number, "Order")
        ref = int(order.get("InvoiceReference") or 0)
        return str(ref) if ref else None

    async def createinvoice() -> str:
        order = await idempotent_action(ctx, "orders", order_number, "createinvoice", "Order",
                                        lambda done: int(done.get("InvoiceReference") or 0) > 0)
        return str(order["InvoiceReference"])

    made = await ctx.ledger.run(claim, Effect(
        "invoice", order_number, createinvoice, invoiced, booking=_booking(ctx, cmd, "invoice"),
        action="invoice-created", found_action="invoice-recovered", audit=_audit("invoice")))
    return made.value


async def _booked(ctx: WriterContext, cmd: DocumentCommand, kind: str) -> str | None:
    record = await ctx.bookings.get(ctx.tenant.id, "order", str(cmd.woo_order_id), kind)
    return record.fortnox_number if record else None


async def _payment(ctx: WriterContext, cmd: DocumentCommand, claim: Claim, invoice: str) -> str:
    assert cmd.payment is not None
    payment = cmd.payment
    known = await _booked(ctx, cmd, "payment")
    if known is None:
        async def registered() -> str | None:
            existing = await ctx.client.payments_for(invoice)
            return str(existing[0]["Number"]) if existing else None

        async def register() -> str:
            amount, amount_currency, date = await _payment_terms(ctx, cmd, invoice)
            body: dict[str, Any] = {"InvoiceNumber": int(invoice), "Amount": amount, "PaymentDate": date}
            if amount_currency is not None:
                body["AmountCurrency"] = amount_currency
            if payment.mode_of_payment:
                body["ModeOfPayment"] = payment.mode_of_payment
            if payment.mode_of_payment_account:
                body["ModeOfPaymentAccount"] = payment.mode_of_payment_account
            created = await ctx.client.create("invoicepayments", "InvoicePayment", body)
            return str(created["Number"])

        known = (await ctx.ledger.run(claim, Effect(
            "payment", invoice, register, registered, booking=_booking(ctx, cmd, "payment"),
            action="payment-registered", found_action="payment-recovered", audit=_audit("payment")))).value
    if payment.bookkeep:
        number = known

        async def booked() -> str | None:
            current = await ctx.client.get("invoicepayments", number, "InvoicePayment")
            return number if current.get("Booked") else None

        async def bookkeep() -> str:
            await idempotent_action(ctx, "invoicepayments", number, "bookkeep", "InvoicePayment",
                                    lambda done: bool(done.get("Booked")))
            return number

        await ctx.ledger.run(claim, Effect("payment-bookkeep", number, bookkeep, booked))
    return known


async def _payment_terms(ctx: WriterContext, cmd: DocumentCommand,
                         invoice: str) -> tuple[Decimal, Decimal | None, str]:
    """(Amount in SEK, AmountCurrency, PaymentDate) as Fortnox's invoice requires them.

    Amount is Total × CurrencyRate × CurrencyUnit with AmountCurrency in the document's currency
    (Fortnox API reference, https://apps.fortnox.se/apidocs, InvoicePayments); with whole-kronor rounding
    the invoice's Total includes RoundOff; and the
    PaymentDate may not be before the InvoiceDate (an order paid in May and invoiced on delivery in
    June is paid, in Fortnox, on the invoice date). So Fortnox's invoice, not WooCommerce, decides."""
    assert cmd.payment is not None
    current = await ctx.client.get("invoices", invoice, "Invoice")
    date = max(cmd.payment.payment_date, str(current.get("InvoiceDate") or cmd.payment.payment_date))
    currency = str(cmd.document.get("Currency") or ctx.shop.currency.home)
    foreign = currency != ctx.shop.currency.home
    if not foreign and not ctx.shop.rounding.whole_kronor:
        return cmd.payment.amount, None, date
    total = Decimal(str(current.get("Total", cmd.payment.amount)))
    if not foreign:
        return total, None, date
    rate = Decimal(str(current.get("CurrencyRate") or 1))
    unit = Decimal(str(current.get("CurrencyUnit") or 1))
    return (total * rate * unit).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), total, date


async def _cancel(ctx: WriterContext, cmd: DocumentCommand, claim: Claim, number: str) -> str:
    invoice = await _booked(ctx, cmd, "invoice") if cmd.kind == "order" else (number if cmd.kind == "invoice" else None)
    if invoice:
        resource, wrapper, key = "invoices", "Invoice", invoice
    else:
        resource, wrapper = ("orders", "Order") if cmd.kind == "order" else ("offers", "Offer")
        key = number
    state: dict[str, Any] = {}

    async def cancelled() -> str | None:
        # Always asked first: a document cancelled or credited in Fortnox by hand needs nothing more.
        state["current"] = current = await ctx.client.get(resource, key, wrapper)
        done = current.get("Cancelled") or (invoice and int(current.get("CreditInvoiceReference") or 0))
        return number if done else None

    async def cancel() -> str:
        # A booked invoice can no longer be cancelled, only credited (Fortnox API reference,
        # https://apps.fortnox.se/apidocs, Invoices).
        if invoice and state["current"].get("Booked"):
            await idempotent_action(ctx, "invoices", invoice, "credit", "Invoice", _credited)
        else:
            await idempotent_action(ctx, resource, key, "cancel", wrapper, _cancelled)
        return number

    await ctx.ledger.run(claim, Effect(
        "cancel", key, cancel, cancelled, look_first=True, booking=_booking(ctx, cmd, "cancel"),
        action="document-cancelled", found_action="document-cancelled", audit=_audit("cancel")))
    return number


async def _credit(ctx: WriterContext, cmd: DocumentCommand, claim: Claim, invoice: str, note: CreditNote) -> str:
    """One WooCommerce refund becomes one credit invoice with exactly the refunded rows (Fortnox API
    reference, https://apps.fortnox.se/apidocs, Invoices: `/credit` works once per invoice, so a
    second partial refund needs a new invoice with negative rows), stamped with its own reference."""
    effect = f"credit:{note.refund_id}"
    known = await _booked(ctx, cmd, effect)
    if known:
        return known

    async def found() -> str | None:
        hits = await ctx.client.find_documents("invoice", note.external_ref)
        return str(hits[0]["DocumentNumber"]) if hits else None

    async def create() -> str:
        original = await ctx.client.get("invoices", invoice, "Invoice")
        body: dict[str, Any] = {
            "CustomerNumber": original.get("CustomerNumber"),
            "Currency": original.get("Currency") or cmd.document.get("Currency"),
            "ExternalInvoiceReference1": note.external_ref,
            "YourReference": cmd.document.get("YourReference"),
            "VATIncluded": note.vat_included,
            "InvoiceRows": note.rows,
            "Remarks": (f"Kredit för återbetalning {note.refund_id} av faktura {invoice}"
                        + (f": {note.reason}" if note.reason else ""))[:1024],
        }
        if note.date:
            body["InvoiceDate"] = note.date
        created = await ctx.client.create("invoices", "Invoice", {k: v for k, v in body.items() if v is not None})
        return str(created["DocumentNumber"])

    made = await ctx.ledger.run(claim, Effect(
        effect, note.external_ref, create, found, booking=_booking(ctx, cmd, effect),
        action="credit-invoice-created", found_action="credit-invoice-recovered", audit=_audit(effect)))
    return made.value
