"""What follows a document: order -> invoice, payment, cancellation, refunds as credit invoices.

Each step is one ledger effect; when the ledger cannot say whether a step already happened (a
pending mark, or a degraded ledger), Fortnox is asked first:
- createinvoice: the order's `InvoiceReference` (a 400 on a repeated createinvoice usually means it
  was already invoiced, FACTS.md);
- payments: `GET /3/invoicepayments?invoicenumber=` (FACTS.md, Payments);
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
from services.fortnox_writer.ledger import Claim

__all__ = ["apply_lifecycle", "idempotent_action"]


async def apply_lifecycle(ctx: WriterContext, cmd: DocumentCommand, claim: Claim, number: str) -> dict[str, Any]:
    done: dict[str, Any] = {}
    invoice = number if cmd.kind == "invoice" else None
    if cmd.kind == "order" and cmd.convert_to_invoice and not cmd.cancel:
        invoice = await _convert(ctx, cmd, claim, number)
        done["invoice"] = invoice
    if cmd.cancel or (invoice is None and _refunded_in_full(cmd) and await _booked(ctx, cmd, "invoice") is None):
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
    credit or cancel answers 400, FACTS.md): on a refusal, read the document, and if the action
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


async def _remember(ctx: WriterContext, cmd: DocumentCommand, kind: str, number: str, action: str) -> None:
    await ctx.bookings.record(
        BookingRecord(tenant_id=ctx.tenant.id, woo_resource="order", woo_id=str(cmd.woo_order_id), kind=kind,
                      fortnox_number=number),
        action=action, audit={kind: number},
    )


async def _convert(ctx: WriterContext, cmd: DocumentCommand, claim: Claim, order_number: str) -> str:
    known = claim.done("invoice") or (await _booked(ctx, cmd, "invoice"))
    if known:
        return known
    if claim.uncertain("invoice"):
        order = await ctx.client.get("orders", order_number, "Order")
        ref = int(order.get("InvoiceReference") or 0)
        if ref:
            await ctx.ledger.done(claim, "invoice", str(ref))
            await _remember(ctx, cmd, "invoice", str(ref), "invoice-recovered")
            return str(ref)
    await ctx.ledger.pending(claim, "invoice")
    order = await idempotent_action(ctx, "orders", order_number, "createinvoice", "Order",
                                    lambda done: int(done.get("InvoiceReference") or 0) > 0)
    invoice = str(order["InvoiceReference"])
    await ctx.ledger.done(claim, "invoice", invoice)
    await _remember(ctx, cmd, "invoice", invoice, "invoice-created")
    return invoice


async def _booked(ctx: WriterContext, cmd: DocumentCommand, kind: str) -> str | None:
    record = await ctx.bookings.get(ctx.tenant.id, "order", str(cmd.woo_order_id), kind)
    return record.fortnox_number if record else None


async def _payment(ctx: WriterContext, cmd: DocumentCommand, claim: Claim, invoice: str) -> str:
    assert cmd.payment is not None
    known = claim.done("payment") or await _booked(ctx, cmd, "payment")
    if known is None and claim.uncertain("payment"):
        existing = await ctx.client.payments_for(invoice)
        known = str(existing[0]["Number"]) if existing else None
    if known is None:
        amount, amount_currency, date = await _payment_terms(ctx, cmd, invoice)
        await ctx.ledger.pending(claim, "payment")
        body: dict[str, Any] = {"InvoiceNumber": int(invoice), "Amount": amount, "PaymentDate": date}
        if amount_currency is not None:
            body["AmountCurrency"] = amount_currency
        if cmd.payment.mode_of_payment:
            body["ModeOfPayment"] = cmd.payment.mode_of_payment
        if cmd.payment.mode_of_payment_account:
            body["ModeOfPaymentAccount"] = cmd.payment.mode_of_payment_account
        created = await ctx.client.create("invoicepayments", "InvoicePayment", body)
        known = str(created["Number"])
        await ctx.ledger.done(claim, "payment", known)
        await _remember(ctx, cmd, "payment", known, "payment-registered")
    if cmd.payment.bookkeep and claim.done("payment-bookkeep") is None:
        if claim.uncertain("payment-bookkeep"):
            current = await ctx.client.get("invoicepayments", known, "InvoicePayment")
            booked = bool(current.get("Booked"))
        else:
            booked = False
        if not booked:
            await ctx.ledger.pending(claim, "payment-bookkeep")
            await idempotent_action(ctx, "invoicepayments", known, "bookkeep", "InvoicePayment",
                                    lambda done: bool(done.get("Booked")))
        await ctx.ledger.done(claim, "payment-bookkeep", known)
    return known


async def _payment_terms(ctx: WriterContext, cmd: DocumentCommand,
                         invoice: str) -> tuple[Decimal, Decimal | None, str]:
    """(Amount in SEK, AmountCurrency, PaymentDate) as Fortnox's invoice requires them.

    Amount is Total × CurrencyRate × CurrencyUnit with AmountCurrency in the document's currency
    (FACTS.md, Payments); with whole-kronor rounding the invoice's Total includes RoundOff; and the
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
    if claim.done("cancel"):
        return number
    invoice = await _booked(ctx, cmd, "invoice") if cmd.kind == "order" else (number if cmd.kind == "invoice" else None)
    if invoice:
        current = await ctx.client.get("invoices", invoice, "Invoice")
        if current.get("Cancelled") or int(current.get("CreditInvoiceReference") or 0):
            pass
        elif current.get("Booked"):
            await ctx.ledger.pending(claim, "cancel")
            await idempotent_action(ctx, "invoices", invoice, "credit", "Invoice", _credited)
        else:
            await ctx.ledger.pending(claim, "cancel")
            await idempotent_action(ctx, "invoices", invoice, "cancel", "Invoice", _cancelled)
    else:
        resource, wrapper = ("orders", "Order") if cmd.kind == "order" else ("offers", "Offer")
        current = await ctx.client.get(resource, number, wrapper)
        if not current.get("Cancelled"):
            await ctx.ledger.pending(claim, "cancel")
            await idempotent_action(ctx, resource, number, "cancel", wrapper, _cancelled)
    await ctx.ledger.done(claim, "cancel", number)
    await _remember(ctx, cmd, "cancel", number, "document-cancelled")
    return number


async def _credit(ctx: WriterContext, cmd: DocumentCommand, claim: Claim, invoice: str, note: CreditNote) -> str:
    """One WooCommerce refund becomes one credit invoice with exactly the refunded rows (FACTS.md: a
    second partial refund needs a new invoice with negative rows), stamped with its own reference."""
    effect = f"credit:{note.refund_id}"
    known = claim.done(effect) or await _booked(ctx, cmd, effect)
    if known:
        return known
    if claim.uncertain(effect):
        found = await ctx.client.find_documents("invoice", note.external_ref)
        if found:
            known = str(found[0]["DocumentNumber"])
    if known is None:
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
        await ctx.ledger.pending(claim, effect)
        created = await ctx.client.create("invoices", "Invoice", {k: v for k, v in body.items() if v is not None})
        known = str(created["DocumentNumber"])
    await ctx.ledger.done(claim, effect, known)
    await _remember(ctx, cmd, effect, known, "credit-invoice-created")
    return known
