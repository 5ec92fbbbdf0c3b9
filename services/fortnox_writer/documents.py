"""Converge Fortnox to the desired document of one WooCommerce order snapshot.

A DocumentCommand is desired state, not an instruction (docs/architecture.md, invariants 2 and 3):

    stale snapshot (older than the one applied)     -> acknowledged and ignored
    same snapshot again (duplicate, replay)          -> acknowledged, nothing sent
    no document yet                                  -> create it (looked up first if uncertain)
    document exists and differs, still editable      -> update it (PUT replaces the rows)
    document exists, differs, booked or invoiced     -> credit and re-issue, or dead-letter (setting)
    then, as the command asks: convert the order to an invoice, register and bookkeep the payment,
    cancel, credit refunds.

Each external effect goes through `Ledger.run` (intent recorded in PostgreSQL before the call, the
result with its booking after it, a lookup in Fortnox first whenever an attempt has no result), so
no crash, lost answer or Redis loss repeats what Fortnox already holds (docs/writer.md).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import structlog

from libs.common.commands import DocumentCommand
from libs.common.errors import Busy, PermanentError
from libs.common.fortnox.client import DOCUMENT_RESOURCES, REFERENCE_FIELD
from libs.common.fortnox.errors import CODE_UNKNOWN_ARTICLE_ROW, FortnoxPermanent
from libs.common.store.bookings import BookingRecord
from services.fortnox_writer.articles import ensure_row_articles
from services.fortnox_writer.compare import differences, norm
from services.fortnox_writer.context import WriterContext
from services.fortnox_writer.customers import ensure_customer
from services.fortnox_writer.ledger import Claim, Effect
from services.fortnox_writer.lifecycle import apply_lifecycle, idempotent_action

__all__ = ["apply_document", "dry_run", "snapshot_hash"]

log = structlog.get_logger("woonox.writer.documents")


def snapshot_hash(cmd: DocumentCommand) -> str:
    return hashlib.sha256(cmd.model_dump_json().encode()).hexdigest()[:32]


async def apply_document(ctx: WriterContext, cmd: DocumentCommand) -> dict[str, Any]:
    """Apply one command; returns what was done (for the result event and the audit trail)."""
    claim = await ctx.ledger.begin(ctx.tenant.id, f"order:{cmd.woo_order_id}")
    if not claim.acquired:
        raise Busy(f"order {cmd.woo_order_id} is being applied by another writer", code="order-busy")
    try:
        if claim.quarantine_ms:
            raise Busy("Redis lost the ledger: waiting for writes in flight to settle",
                       code="ledger-quarantine", delay=claim.quarantine_ms / 1000)
        async with ctx.ledger.held(claim):
            return await _converge(ctx, cmd, claim)
    finally:
        await ctx.ledger.release(claim)


async def dry_run(ctx: WriterContext, cmd: DocumentCommand) -> dict[str, Any]:
    """Staging without Fortnox: record what would be sent, send nothing (ShopSettings.dry_run)."""
    rows = cmd.document.get(DOCUMENT_RESOURCES[cmd.kind][3]) or []
    plan: dict[str, Any] = {
        "kind": cmd.kind, "rows": len(rows), "customer": cmd.customer.match.model_dump(exclude_none=True),
        "convert_to_invoice": cmd.convert_to_invoice, "payment": cmd.payment is not None, "cancel": cmd.cancel,
        "credits": [c.refund_id for c in cmd.credits], "warnings": cmd.warnings,
        "expected_total": str(cmd.expected.total) if cmd.expected else None,
    }
    await ctx.bookings.audit(ctx.tenant.id, "order", str(cmd.woo_order_id), "dry-run", plan)
    log.info("dry_run", order=cmd.woo_order_id, **plan)
    return {"outcome": "dry-run", "number": None}


async def _converge(ctx: WriterContext, cmd: DocumentCommand, claim: Claim) -> dict[str, Any]:
    tenant = ctx.tenant.id
    woo_id = str(cmd.woo_order_id)
    digest = snapshot_hash(cmd)
    booking = await ctx.bookings.get(tenant, "order", woo_id, cmd.kind)
    if booking and booking.snapshot_modified and _aware(cmd.snapshot_modified) < _aware(booking.snapshot_modified):
        log.info("stale_snapshot_ignored", order=woo_id, applied=str(booking.snapshot_modified))
        return {"outcome": "stale", "number": booking.fortnox_number}
    if booking and booking.snapshot_hash == digest:
        return {"outcome": "duplicate", "number": booking.fortnox_number}

    number = (booking.fortnox_number if booking else None) or claim.done("create")
    if number is None and cmd.cancel and not claim.uncertain("create"):
        # Cancelled (or failed) before anything was booked: nothing to do in Fortnox.
        await _record(ctx, cmd, "", digest, "cancelled-before-booking", {})
        return {"outcome": "nothing-to-cancel", "number": None}
    resource, wrapper, _, _ = DOCUMENT_RESOURCES[cmd.kind]
    customer_number = await ensure_customer(ctx, cmd.customer, cmd.woo_order_id)
    desired = {**cmd.document, "CustomerNumber": customer_number, REFERENCE_FIELD[cmd.kind]: cmd.external_ref}

    outcome = "unchanged"
    if number is None:
        async def lookup() -> str | None:
            found = await ctx.client.find_documents(cmd.kind, cmd.external_ref, customer_number=customer_number)
            if not found:
                return None
            first = str(min(int(d["DocumentNumber"]) for d in found))
            log.warning("document_recovered_from_fortnox", order=woo_id, number=first, hits=len(found))
            return first

        async def create() -> str:
            created = await _create(ctx, cmd, claim, resource, wrapper, desired)
            _check_totals(cmd, created)
            return str(created["DocumentNumber"])

        made = await ctx.ledger.run(claim, Effect(
            "create", cmd.external_ref, create, lookup,
            # Booked at once (without the snapshot, which only the end of the command books), so a
            # later failure of this command cannot make the next one forget the document.
            booking=lambda n: _booking(ctx, cmd, n, None), action="document-created",
            found_action="document-recovered", audit=lambda n: {"number": n}))
        number = made.value
        if made.how == "made":
            outcome = "created"
    if outcome != "created" and (booking is None or booking.snapshot_hash != digest):
        outcome, number = await _update(ctx, cmd, claim, number, desired, digest)

    done = await apply_lifecycle(ctx, cmd, claim, number)
    await _record(ctx, cmd, number, digest, f"document-{outcome}", {"number": number, **done})
    return {"outcome": outcome, "number": number, **done}


async def _create(ctx: WriterContext, cmd: DocumentCommand, claim: Claim, resource: str, wrapper: str,
                  desired: dict[str, Any]) -> dict[str, Any]:
    try:
        return await ctx.client.create(resource, wrapper, desired)
    except FortnoxPermanent as exc:
        if exc.fortnox_code != CODE_UNKNOWN_ARTICLE_ROW:
            raise
    # The order arrived before its products: create the missing articles, then the document.
    rows = list(desired.get(DOCUMENT_RESOURCES[cmd.kind][3]) or [])
    made = await ensure_row_articles(ctx, rows, claim)
    log.info("articles_created_for_document", order=cmd.woo_order_id, articles=made)
    return await ctx.client.create(resource, wrapper, desired)


def _check_totals(cmd: DocumentCommand, created: dict[str, Any]) -> None:
    """Invariant 6: Fortnox's own totals must equal what the mapper computed from WooCommerce."""
    if cmd.expected is None:
        return
    total, vat = created.get("Total"), created.get("TotalVAT")
    if total is None or vat is None:
        return
    if norm(total) != norm(cmd.expected.total) or norm(vat) != norm(cmd.expected.vat):
        log.error("fortnox_totals_differ", order=cmd.woo_order_id, fortnox_total=str(total), fortnox_vat=str(vat),
                  expected_total=str(cmd.expected.total), expected_vat=str(cmd.expected.vat))


async def _update(ctx: WriterContext, cmd: DocumentCommand, claim: Claim, number: str,
                  desired: dict[str, Any], digest: str) -> tuple[str, str]:
    """Brings Fortnox document `number` to `desired`: (outcome, the number that now holds it)."""
    resource, wrapper, _, rows_field = DOCUMENT_RESOURCES[cmd.kind]
    current = await ctx.client.get(resource, number, wrapper)
    diff = differences(current, desired, rows_field)
    if not diff:
        return "unchanged", number
    locked = bool(current.get("Booked") or current.get("Cancelled")
                  or int(current.get("InvoiceReference") or 0) or int(current.get("OrderReference") or 0))
    if not locked:
        async def put() -> str:
            try:
                await ctx.client.update(resource, number, wrapper, desired)
            except FortnoxPermanent as exc:
                raise PermanentError(f"Fortnox refused to update {cmd.kind} {number} of order "
                                     f"{cmd.woo_order_id}: {exc.reason}", code=exc.code) from exc
            return number

        # A PUT of the desired state: repeating it books nothing twice; the record still says it began.
        await ctx.ledger.run(claim, Effect("update", digest, put, repeatable=True))
        log.info("document_updated", number=number, changes=diff[:10])
        return "updated", number
    if cmd.kind != "invoice" or ctx.shop.documents.on_booked_change == "dead-letter" or current.get("Cancelled"):
        raise PermanentError(
            f"order {cmd.woo_order_id} changed in WooCommerce but Fortnox {cmd.kind} {number} can no longer be "
            f"changed ({'cancelled' if current.get('Cancelled') else 'booked or invoiced'}): {'; '.join(diff[:5])}",
            code="document-locked")
    # A booked invoice is corrected by a credit invoice and a new invoice (Fortnox API reference,
    # https://apps.fortnox.se/apidocs, Invoices).
    if int(current.get("CreditInvoiceReference") or 0) == 0:
        async def credit() -> str:
            await idempotent_action(ctx, "invoices", number, "credit", "Invoice",
                                    lambda done: int(done.get("CreditInvoiceReference") or 0) > 0)
            return number

        async def credited() -> str | None:
            invoice = await ctx.client.get("invoices", number, "Invoice")
            return number if int(invoice.get("CreditInvoiceReference") or 0) > 0 else None

        await ctx.ledger.run(claim, Effect("credit-full", number, credit, credited))

    async def reissue() -> str:
        created = await ctx.client.create(resource, wrapper, desired)
        return str(created["DocumentNumber"])

    async def reissued() -> str | None:
        # The new invoice carries the order's reference too: any live one but the credited original.
        # List items carry neither Credit nor CreditInvoiceReference (Fortnox API reference,
        # InvoiceListItem), so each candidate is read whole; Credit is the string "true" or "false".
        found = await ctx.client.find_documents(cmd.kind, cmd.external_ref)
        for candidate in sorted(found, key=lambda d: -int(d["DocumentNumber"])):
            if str(candidate["DocumentNumber"]) == number:
                continue
            whole = await ctx.client.get(resource, candidate["DocumentNumber"], wrapper)
            if str(whole.get("Credit")).lower() != "true" and int(whole.get("CreditInvoiceReference") or 0) == 0:
                return str(candidate["DocumentNumber"])
        return None

    # One replacement per credited invoice, whatever snapshot asks for it: keyed by the snapshot, a
    # newer one would not see an attempt whose answer was lost, and would issue a second invoice.
    replaced = await ctx.ledger.run(claim, Effect(
        f"reissue:{number}", cmd.external_ref, reissue, reissued,
        booking=lambda n: _booking(ctx, cmd, n, None), action="document-reissued",
        found_action="document-recovered", audit=lambda n: {"number": n, "replaces": number}))
    if replaced.how == "made":
        return "reissued", replaced.value
    # Made for an earlier snapshot (its answer lost, or its command failed later): bring it to this one.
    _, holder = await _update(ctx, cmd, claim, replaced.value, desired, digest)
    return "reissued", holder


def _booking(ctx: WriterContext, cmd: DocumentCommand, number: str, digest: str | None) -> BookingRecord:
    return BookingRecord(tenant_id=ctx.tenant.id, woo_resource="order", woo_id=str(cmd.woo_order_id), kind=cmd.kind,
                         fortnox_number=number, snapshot_modified=cmd.snapshot_modified if digest else None,
                         snapshot_hash=digest, detail={"external_ref": cmd.external_ref, "woo_status": cmd.woo_status})


async def _record(ctx: WriterContext, cmd: DocumentCommand, number: str, digest: str | None, action: str,
                  audit: dict[str, Any]) -> None:
    await ctx.bookings.record(_booking(ctx, cmd, number, digest), action=action, audit=audit)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
