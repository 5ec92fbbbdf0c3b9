"""Refunds → credit notes: exactly the refunded amounts and VAT, as rows with negative quantities.

WooCommerce sends a refund as order.updated whose `refunds[]` grew (WooCommerce source,
plugins/woocommerce/includes/class-wc-webhook.php); an entry has id, reason and total (negative). Where the
refund's lines are known (the
refund as `GET /orders/{id}/refunds` gives it: `line_items`, `shipping_lines`, `fee_lines` with
negative quantities and totals, merged into the entry by whoever fetched it) each refunded line
becomes a credit row at its own rate and account. Otherwise (amount-only refund, or the part of
a refund its lines do not cover) the amount is spread over the order's VAT rates in proportion to
what the customer paid at each rate, and each share's VAT is taken out of it (VATIncluded).

Each refund is one CreditNote (the writer makes one credit invoice per refund: Fortnox API reference,
https://apps.fortnox.se/apidocs, Invoices: `/credit`
works once per invoice, later partial refunds need new invoices with negative rows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from libs.common.commands import CreditNote, ExpectedTotals, credit_reference
from libs.common.shop_settings import Region, ShopSettings, rate_key
from services.mapper.booking import book_lines, woo_vat_by_rate
from services.mapper.check import CheckRow, check_row
from services.mapper.lines import Line, order_lines
from services.mapper.rounding import HUNDRED, ORE, ZERO, money, ore
from services.mapper.rows import DocKind, books_swedish_vat

__all__ = ["amount_only_lines", "credit_notes", "refund_lines", "split_by_rate"]


def _negative(value: Decimal) -> Decimal:
    return -abs(value)


def refund_lines(refund: Mapping[str, Any], order: Mapping[str, Any]) -> list[Line]:
    """The refunded lines of a line-level refund (empty for an amount-only refund)."""
    # A line refunded by amount only (no quantity) is still one credit row.
    items = [{**item, "quantity": item.get("quantity") or -1} for item in refund.get("line_items") or []]
    as_order = {
        "line_items": items,
        "shipping_lines": refund.get("shipping_lines") or [],
        "fee_lines": refund.get("fee_lines") or [],
        "tax_lines": order.get("tax_lines") or [],
    }
    lines = []
    for line in order_lines(as_order):
        lines.append(replace(
            line, quantity=_negative(line.quantity), net=_negative(line.net), tax=_negative(line.tax),
            list_net=_negative(line.net), list_tax=_negative(line.tax),
        ))
    return lines


def split_by_rate(amount: Decimal, weights: Mapping[Decimal, Decimal]) -> dict[Decimal, Decimal]:
    """`amount` in öre shares proportional to `weights` (largest remainder: the shares add up)."""
    total = sum(weights.values(), ZERO)
    if total == ZERO:
        return {max(weights, default=ZERO): amount}
    exact = {rate: amount * weight / total for rate, weight in weights.items()}
    shares = {rate: value.quantize(ORE, rounding="ROUND_DOWN") for rate, value in exact.items()}
    left = int((amount - sum(shares.values(), ZERO)) / ORE)
    step = ORE if left >= 0 else -ORE
    for rate in sorted(exact, key=lambda r: abs(exact[r] - shares[r]), reverse=True)[: abs(left)]:
        shares[rate] += step
    return {rate: share for rate, share in shares.items() if share != ZERO}


def amount_only_lines(amount: Decimal, order_lines_: Sequence[Line], region: Region, reason: str) -> list[Line]:
    """An amount refunded without lines, as one negative line per VAT rate of the order."""
    weights: dict[Decimal, Decimal] = {}
    for line in order_lines_:
        rate = line.rate if books_swedish_vat(region) else ZERO
        gross = line.gross if books_swedish_vat(region) else line.net + line.tax
        weights[rate] = weights.get(rate, ZERO) + gross
    name = f"Återbetalning{': ' + reason if reason else ''}"[:255]
    lines = []
    for rate, gross in sorted(split_by_rate(amount, weights or {ZERO: Decimal(1)}).items(), reverse=True):
        tax = ore(gross * rate / (HUNDRED + rate)) if books_swedish_vat(region) else ZERO
        lines.append(Line(kind="item", name=name, quantity=Decimal(-1), list_net=-(gross - tax), list_tax=-tax,
                          net=-(gross - tax), tax=-tax, rate=rate, free_text=True))
    return lines


def _refund_vat(refund: Mapping[str, Any], credited: Sequence[Line], region: Region) -> Decimal:
    """WooCommerce's VAT of a refund: its own tax_lines (GET /orders/{id}/refunds: per rate, items
    and shipping) where it has them and Swedish VAT is booked; else its lines' taxes (for an
    amount-only part, the VAT contained in each rate's share, as WooCommerce gives none)."""
    tax_lines = refund.get("tax_lines")
    if tax_lines and books_swedish_vat(region):
        stated = sum((money(t.get("tax_total") or 0, "refund tax_total")
                      + money(t.get("shipping_tax_total") or 0, "refund shipping_tax_total") for t in tax_lines), ZERO)
        return -abs(stated)
    return sum(woo_vat_by_rate(credited, region).values(), ZERO)


def credit_notes(
    tenant: str,
    order: Mapping[str, Any],
    lines: Sequence[Line],
    settings: ShopSettings,
    *,
    region: Region,
    kind: DocKind,
    vat_included: bool,
) -> tuple[list[CreditNote], list[CheckRow]]:
    """One credit note per refund, oldest first, in the document's VATIncluded convention (so
    the rows of all credits can also travel together as DocumentCommand.credit_rows)."""
    del kind  # a credit is always an invoice, whatever the order's document kind
    notes: list[CreditNote] = []
    checks: list[CheckRow] = []
    refunds = sorted(order.get("refunds") or [], key=lambda r: int(r.get("id") or 0))
    for refund in refunds:
        refund_id = int(refund.get("id") or 0)
        amount = abs(money(refund.get("total") if refund.get("total") not in (None, "") else refund.get("amount"),
                           f"refund {refund_id} total"))
        reason = str(refund.get("reason") or "")
        credited = refund_lines(refund, order)
        covered = -sum((ln.gross for ln in credited), ZERO)
        if amount - covered != ZERO:
            credited += amount_only_lines(amount - covered, lines, region, reason)
        if not credited:
            continue
        booking = book_lines(credited, kind="invoice", region=region, settings=settings,
                             prefer_vat_included=vat_included, fixed_convention=True)
        woo_vat = _refund_vat(refund, credited, region)
        checks += [check_row(f"Refund {refund_id} total", -amount, booking.totals.total_before_round_off),
                   check_row(f"Refund {refund_id} VAT", woo_vat, booking.totals.vat)]
        notes.append(CreditNote(
            refund_id=refund_id,
            external_ref=credit_reference(tenant, order["id"], refund_id),
            date=str(refund.get("date_created") or "")[:10] or None,
            reason=reason,
            amount=amount,
            line_level=covered != ZERO,
            vat_included=booking.vat_included,
            rows=booking.rows,
            expected=ExpectedTotals(
                total=booking.totals.total, vat=booking.totals.vat, round_off=booking.totals.round_off,
                vat_by_rate={rate_key(r): v for r, v in booking.totals.vat_by_rate.items()},
            ),
        ))
    return notes, checks
