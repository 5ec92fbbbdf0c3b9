"""Do the books match the shop? WooCommerce orders against the Fortnox documents woonox made.

Every document the writer creates carries `ExternalInvoiceReference1 = woonox:<tenant>:order:<id>`
(libs/common/commands.external_reference), compared exactly since Fortnox's filter is a substring
match (Fortnox developer docs, https://www.fortnox.se/developer/guides-and-good-to-know/parameters). For
each WooCommerce order changed since a date whose
status makes a document (the shop's triggers), reconcile looks for that reference among the
tenant's Fortnox documents of the shop's kind and reports:

    missing           no live (uncancelled) document carries the order's reference (except an
                      order WooCommerce refunded before it was invoiced: its Fortnox order is
                      cancelled, and nothing live is owed)
    duplicate         more than one does
    amount-mismatch   the document's Total (before öresavrundning), TotalVAT or VAT of a rate
                      (from its rows, with Fortnox's arithmetic) differs, to the öre, from
                      WooCommerce's own `total`, `total_tax` and `tax_lines`, not from woonox's
                      recalculation (which would repeat any mistake the writer's document was made with)
    unmappable        the order cannot be mapped at all (why is in the detail)

and, against WooCommerce's own figures and states (what a real shop showed reconcile must see):

    not-invoiced      WooCommerce says the order is completed (an invoice status) but no live
                      invoice carries its reference
    open-after-refund WooCommerce says `refunded`, yet the Fortnox order is open and was never
                      invoiced (nothing credits it)
    credit-missing    an invoiced order has a WooCommerce refund with no credit invoice
    credit-mismatch   a credit's Total or TotalVAT differs from the refund's own `amount` and
                      `tax_lines` (GET /orders/{id}/refunds: WooCommerce's figures, not woonox's)

`fix_missing` makes the store of record forget the document Fortnox no longer has (the booking row
and the writer's Redis ledger entry, which would otherwise make the writer treat the order as
booked) and republishes the WooCommerce order as a `woo.order.updated` event: the mapper and the
writer then book it as they would a new order.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar

import redis.asyncio as aioredis
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from libs.common.commands import credit_reference, external_reference
from libs.common.envelope import Envelope, deterministic_id
from libs.common.errors import PermanentError
from libs.common.fortnox.client import DOCUMENT_RESOURCES, FortnoxClient
from libs.common.fortnox.errors import FortnoxTransient
from libs.common.publisher import Publisher
from libs.common.shop_settings import ShopSettings, rate_key
from libs.common.store.bookings import BookingStore
from libs.common.woo import WooClient
from services.fortnox_writer.ledger import Ledger
from services.mapper.orders import ignore_reason, map_order
from services.mapper.rounding import document_totals
from services.mapper.rows import books_swedish_vat

__all__ = ["Finding", "ReconcileReport", "compare_order", "compare_with_woocommerce", "fix_missing", "reconcile"]

T = TypeVar("T")
Problem = Literal["missing", "duplicate", "amount-mismatch", "unmappable", "not-invoiced", "open-after-refund",
                  "credit-missing", "credit-mismatch"]


class Finding(BaseModel):
    order: int
    problem: Problem
    detail: str
    documents: list[str] = Field(default_factory=list, description="Fortnox document numbers involved")
    expected_total: Decimal | None = None
    fortnox_total: Decimal | None = None
    expected_vat: Decimal | None = None
    fortnox_vat: Decimal | None = None
    fixed: bool = False


class ReconcileReport(BaseModel):
    tenant: str
    kind: str
    since: datetime
    orders_checked: int = 0
    orders_skipped: int = 0
    documents_seen: int = 0
    findings: list[Finding] = Field(default_factory=list)

    @property
    def unresolved(self) -> list[Finding]:
        return [f for f in self.findings if not f.fixed]


async def _patiently(call: Callable[[], Awaitable[T]]) -> T:
    """A Fortnox read, retried on 429 / 5xx / timeouts: the limiter is shared with the writers and a
    429 blocks the tenant for a window on every replica (libs/common/fortnox/ratelimit.py), after
    which the next attempt gets a slot."""
    async for attempt in AsyncRetrying(stop=stop_after_attempt(5), wait=wait_exponential(multiplier=0.5, max=8),
                                       retry=retry_if_exception_type(FortnoxTransient), reraise=True):
        with attempt:
            return await call()
    raise AssertionError("unreachable")  # pragma: no cover


def _money(value: Any) -> Decimal | None:
    return None if value is None or value == "" else Decimal(str(value))


def compare_order(tenant: str, order: dict[str, Any], settings: ShopSettings, documents: list[dict[str, Any]],
                  full: dict[str, Any] | None) -> list[Finding]:
    """Pure: the findings for one order, given the live documents carrying its reference (list
    items) and the first of them in full (for Total / TotalVAT)."""
    oid = int(order["id"])
    numbers = [str(d.get("DocumentNumber")) for d in documents]
    if not documents:
        return [Finding(order=oid, problem="missing",
                        detail=f"no Fortnox {settings.documents.kind} carries {external_reference(tenant, oid)}")]
    findings: list[Finding] = []
    if len(documents) > 1:
        findings.append(Finding(order=oid, problem="duplicate", documents=numbers,
                                detail=f"{len(documents)} Fortnox {settings.documents.kind}s for one order: "
                                       + ", ".join(numbers)))
    try:
        region = map_order(tenant, order, settings).check.region
    except PermanentError as exc:
        return [*findings, Finding(order=oid, problem="unmappable", detail=exc.reason, documents=numbers)]
    if full is not None:
        mismatch = _against_woocommerce(order, full, swedish_vat=books_swedish_vat(region))
        if mismatch:
            woo_total, woo_vat = _money(order.get("total")), _money(order.get("total_tax"))
            total, vat = _money(full.get("Total")), _money(full.get("TotalVAT"))
            findings.append(Finding(
                order=oid, problem="amount-mismatch", documents=[str(full.get("DocumentNumber"))],
                expected_total=woo_total, fortnox_total=total, expected_vat=woo_vat, fortnox_vat=vat,
                detail=f"WooCommerce says total {woo_total} (VAT {woo_vat}); Fortnox {settings.documents.kind} "
                       f"{full.get('DocumentNumber')} says {total} (VAT {vat}): {mismatch}"))
    return findings


_ROWS = ("InvoiceRows", "OrderRows", "OfferRows")


def _woo_vat_by_rate(order: dict[str, Any]) -> dict[Decimal, Decimal]:
    """WooCommerce's own tax per rate: the order's tax_lines (items and shipping)."""
    by_rate: dict[Decimal, Decimal] = {}
    for line in order.get("tax_lines") or []:
        if line.get("rate_percent") is None:
            continue
        rate = Decimal(str(line["rate_percent"]))
        by_rate[rate] = by_rate.get(rate, Decimal(0)) + Decimal(str(line.get("tax_total") or 0)) \
            + Decimal(str(line.get("shipping_tax_total") or 0))
    return {rate: vat for rate, vat in by_rate.items() if vat}


def _against_woocommerce(order: dict[str, Any], full: dict[str, Any], *, swedish_vat: bool) -> str:
    """Why a Fortnox document does not say what WooCommerce says of the order ("" when it does):
    Total before öresavrundning against WooCommerce's `total`, TotalVAT against its `total_tax`, and
    the VAT of each rate (from the document's rows, with Fortnox's arithmetic) against the order's
    `tax_lines`. Without Swedish VAT (reverse charge, export) the document carries none."""
    woo_total, woo_vat = _money(order.get("total")), _money(order.get("total_tax"))
    total, vat = _money(full.get("Total")), _money(full.get("TotalVAT"))
    round_off = _money(full.get("RoundOff")) or Decimal(0)
    reasons: list[str] = []
    if total is None or total - round_off != woo_total:
        reasons.append("total")
    if vat != (woo_vat if swedish_vat else Decimal(0)):
        reasons.append("VAT")
    rows = next((full[key] for key in _ROWS if full.get(key)), None)
    if swedish_vat and rows:
        fortnox_by_rate = {rate: v for rate, v in document_totals(
            rows, vat_included=bool(full.get("VATIncluded"))).vat_by_rate.items() if v}
        woo_by_rate = _woo_vat_by_rate(order)
        if woo_by_rate and fortnox_by_rate != woo_by_rate:
            reasons.append("VAT per rate " + ", ".join(
                f"{rate_key(r)} %: WooCommerce {woo_by_rate.get(r, Decimal(0))}, Fortnox "
                f"{fortnox_by_rate.get(r, Decimal(0))}" for r in sorted(set(woo_by_rate) | set(fortnox_by_rate))
                if woo_by_rate.get(r) != fortnox_by_rate.get(r)))
    return "; ".join(reasons)


def _refund_vat(refund: dict[str, Any]) -> Decimal:
    """The refund's VAT as WooCommerce states it (its tax lines), negative."""
    total = sum((Decimal(str(t.get("tax_total") or 0)) + Decimal(str(t.get("shipping_tax_total") or 0))
                 for t in refund.get("tax_lines") or []), Decimal(0))
    return -abs(total)


def compare_with_woocommerce(tenant: str, order: dict[str, Any], settings: ShopSettings,
                             documents: list[dict[str, Any]], invoices: dict[str, list[dict[str, Any]]],
                             refunds: list[dict[str, Any]], credits: dict[str, dict[str, Any]]) -> list[Finding]:
    """Pure: what WooCommerce's own state says must be in Fortnox for one order. `documents` are
    the live documents of the shop's kind with the order's reference, `invoices` the live invoices
    by reference, `refunds` the order's refund objects, `credits` the credit invoices in full by
    reference."""
    oid = int(order["id"])
    status = str(order.get("status") or "")
    ref = external_reference(tenant, oid)
    invoiced = bool(invoices.get(ref))
    makes_invoice = settings.documents.kind == "invoice" or (
        settings.documents.kind == "order" and settings.documents.convert_on_completed)
    findings: list[Finding] = []
    if makes_invoice and status in settings.documents.triggers.invoice and not invoiced:
        findings.append(Finding(order=oid, problem="not-invoiced",
                                documents=[str(d.get("DocumentNumber")) for d in documents],
                                detail=f"WooCommerce says {status}, but no live Fortnox invoice carries {ref}"))
    open_order = settings.documents.kind == "order" and bool(documents) and not invoiced
    if status in settings.documents.triggers.credit and open_order:
        findings.append(Finding(order=oid, problem="open-after-refund",
                                documents=[str(d.get("DocumentNumber")) for d in documents],
                                detail=f"WooCommerce says {status}, but Fortnox order "
                                       f"{documents[0].get('DocumentNumber')} is open and was never invoiced"))
    if not invoiced:
        return findings
    for refund in refunds:
        rid = int(refund.get("id") or 0)
        cref = credit_reference(tenant, oid, rid)
        credit = credits.get(cref)
        amount = -abs(Decimal(str(refund.get("amount") or 0)))
        vat = _refund_vat(refund)
        if credit is None:
            findings.append(Finding(order=oid, problem="credit-missing", expected_total=amount, expected_vat=vat,
                                    detail=f"WooCommerce refund {rid} ({amount}) has no credit invoice {cref}"))
            continue
        total, fortnox_vat = _money(credit.get("Total")), _money(credit.get("TotalVAT"))
        rounding = _money(credit.get("RoundOff")) or Decimal(0)
        if total is None or total - rounding != amount or (refund.get("tax_lines") is not None
                                                            and fortnox_vat != vat):
            findings.append(Finding(
                order=oid, problem="credit-mismatch", documents=[str(credit.get("DocumentNumber"))],
                expected_total=amount, fortnox_total=total, expected_vat=vat, fortnox_vat=fortnox_vat,
                detail=f"WooCommerce refund {rid} is {amount} (VAT {vat}); Fortnox credit "
                       f"{credit.get('DocumentNumber')} says {total} (VAT {fortnox_vat})"))
    return findings


def _refunded_before_invoicing(tenant: str, order: dict[str, Any], settings: ShopSettings,
                               invoices: dict[str, list[dict[str, Any]]]) -> bool:
    """A sale WooCommerce refunded in full before it was invoiced owes Fortnox nothing: the writer
    cancels its order (services/fortnox_writer/lifecycle.py), so no live document is the right
    state, not a missing one (`--fix` would book the refunded sale again)."""
    return (settings.documents.kind == "order" and str(order.get("status") or "") in settings.documents.triggers.credit
            and not invoices.get(external_reference(tenant, order["id"])))


async def _get(fortnox: FortnoxClient, resource: str, number: Any, wrapper: str) -> dict[str, Any]:
    return await _patiently(lambda: fortnox.get(resource, number, wrapper))


async def _documents(fortnox: FortnoxClient, kind: str, prefix: str) -> dict[str, list[dict[str, Any]]]:
    """Live documents of `kind` stamped by woonox for this tenant, by exact reference."""
    resource, wrapper, list_wrapper, _ = DOCUMENT_RESOURCES[kind]
    items = await _patiently(lambda: fortnox.list_all(resource, list_wrapper))
    # Offer list items carry no reference (Fortnox API reference, https://apps.fortnox.se/apidocs,
    # Offers): read each in full.
    if kind == "offer":
        items = [await _get(fortnox, resource, i["DocumentNumber"], wrapper) for i in items]
    by_ref: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        ref = str(item.get("ExternalInvoiceReference1") or "")
        if ref.startswith(prefix) and not item.get("Cancelled"):
            by_ref.setdefault(ref, []).append(item)
    return by_ref


async def reconcile(tenant: str, settings: ShopSettings, woo: WooClient, fortnox: FortnoxClient, since: datetime,
                    *, progress: Callable[[int], None] | None = None) -> tuple[ReconcileReport, dict[int, Any]]:
    """The report, and the WooCommerce orders it read (by id) for `fix_missing`."""
    kind = settings.documents.kind
    resource, wrapper, _, _ = DOCUMENT_RESOURCES[kind]
    report = ReconcileReport(tenant=tenant, kind=kind, since=since)
    by_ref = await _documents(fortnox, kind, external_reference(tenant, ""))
    invoices = by_ref if kind == "invoice" else await _documents(fortnox, "invoice", external_reference(tenant, ""))
    report.documents_seen = sum(len(v) for v in by_ref.values())
    orders: dict[int, Any] = {}
    async for page in woo.modified_since("orders", since):
        for order in page.items:
            orders[int(order["id"])] = order
            if ignore_reason(order, settings) or order.get("status") in settings.documents.triggers.cancel:
                report.orders_skipped += 1
                continue
            report.orders_checked += 1
            docs = by_ref.get(external_reference(tenant, order["id"]), [])
            if not docs and _refunded_before_invoicing(tenant, order, settings, invoices):
                continue
            full = await _get(fortnox, resource, docs[0]["DocumentNumber"], wrapper) if docs else None
            report.findings += compare_order(tenant, order, settings, docs, full)
            refunds: list[dict[str, Any]] = []
            credits: dict[str, dict[str, Any]] = {}
            if order.get("refunds") and invoices.get(external_reference(tenant, order["id"])):
                # The refunds' own figures are only in the refund resource (the order lists id and total).
                refunds = [r for r in await woo.get(f"/orders/{int(order['id'])}/refunds", per_page=100)
                           if isinstance(r, dict)]
                for refund in refunds:
                    cref = credit_reference(tenant, order["id"], refund.get("id") or 0)
                    if invoices.get(cref):
                        credits[cref] = await _get(fortnox, "invoices", invoices[cref][0]["DocumentNumber"],
                                                   "Invoice")
            report.findings += compare_with_woocommerce(tenant, order, settings, docs, invoices, refunds, credits)
        if progress:
            progress(len(page.items))
    return report, orders


async def fix_missing(report: ReconcileReport, orders: dict[int, Any], *, publisher: Publisher,
                      sessions: async_sessionmaker[AsyncSession], redis: aioredis.Redis, redis_prefix: str) -> int:
    """Republish every missing order (after forgetting the document Fortnox no longer has)."""
    fixed = 0
    run = datetime.now(UTC).isoformat()
    bookings = BookingStore(sessions)
    for finding in report.findings:
        if finding.problem != "missing":
            continue
        order = orders[finding.order]
        woo_id = str(finding.order)
        await bookings.forget(report.tenant, "order", woo_id, report.kind)
        # The writer's ledger still says the document was created.
        await Ledger(redis, redis_prefix).forget(report.tenant, f"order:{woo_id}")
        await bookings.audit(report.tenant, "order", woo_id, "reconcile.republished",
                             {"reason": finding.detail, "run": run})
        await publisher.publish(Envelope(
            id=deterministic_id(report.tenant, "order", woo_id, "reconcile", run), tenant=report.tenant,
            type="woo.order.updated", occurred_at=datetime.now(UTC), correlation_id=f"reconcile:{run}",
            body=json.dumps(order, separators=(",", ":")).encode(),
        ))
        finding.fixed = True
        fixed += 1
    return fixed
