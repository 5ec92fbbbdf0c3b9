"""Refund objects, fetched so a credit carries the refund's own lines, taxes and date.

A real WooCommerce 10 order webhook lists its refunds as `refunds: [{id, reason, total}]` only; the
refunded lines, their per-rate taxes and the refund's date are only in the refund resource
(`GET /wp-json/wc/v3/orders/{id}/refunds`, WooCommerce's `WC_REST_Order_Refunds_Controller`). Without
them a refund can only be spread over every rate of the order, which books the wrong VAT.

So ingest never publishes such an order from the webhook: it asks the poller for a backfill
(`classify` gives "poll"), and the backfill, reading the order through the REST API with the
client's retry discipline, merges each entry with its refund object here before publishing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from libs.common.woo import WooClient

__all__ = ["DETAIL_FIELDS", "needs_refund_details", "with_refund_details"]

# What the refund object adds to an order's `refunds[]` entry.
DETAIL_FIELDS = ("date_created", "date_created_gmt", "amount", "line_items", "shipping_lines", "fee_lines",
                 "tax_lines")


def needs_refund_details(order: Mapping[str, Any]) -> bool:
    """True when the order lists refunds whose lines are not in it (the webhook's shape)."""
    refunds = order.get("refunds")
    return isinstance(refunds, list) and any(
        isinstance(r, Mapping) and "line_items" not in r for r in refunds)


async def with_refund_details(woo: WooClient, order: dict[str, Any]) -> dict[str, Any]:
    """The order with each `refunds[]` entry merged with its refund object (id, reason and total
    stay the order's). A refund the shop no longer lists keeps its entry as it is."""
    if not needs_refund_details(order):
        return order
    fetched: list[dict[str, Any]] = []
    async for page in woo.pages(f"/orders/{int(order['id'])}/refunds"):
        fetched += [r for r in page.items if isinstance(r, dict)]
    by_id = {int(r.get("id") or 0): r for r in fetched}
    merged = []
    for entry in order["refunds"]:
        full = by_id.get(int(entry.get("id") or 0), {})
        merged.append({**{k: full[k] for k in DETAIL_FIELDS if k in full}, **entry})
    return {**order, "refunds": merged}
