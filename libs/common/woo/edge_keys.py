"""The identity of a WooCommerce snapshot at ingest's edge, and the Redis keys built from it.

WooCommerce stamps `date_modified_gmt` at one-second resolution, so two changes within one second
(an order created and completed, three sales of one product) carry the same stamp: the stamp alone
neither orders nor deduplicates them. A snapshot's identity is therefore (tenant, resource, id,
stamp, digest of its content): the same snapshot read by webhook or by backfill collapses into one
event, and two different snapshots that share a stamp stay two events.

The echo mark is by content too: before the woo-writer writes stock/price, it marks the product's
resulting (stock, price) so the product.updated that WooCommerce sends for that write is known as
our own, whether it arrives before or after the write's response."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from libs.common.envelope import deterministic_id

__all__ = ["content_digest", "echo_key", "echo_values", "seen_key", "snapshot_id"]

# Fields of a REST representation that are not the object's state: the webhook body and a REST read
# of one snapshot may differ in them.
_NOT_STATE = frozenset({"_links"})


def content_digest(data: Mapping[str, Any]) -> str:
    """A digest of an object's state as WooCommerce represents it (keys sorted, links left out)."""
    state = {k: v for k, v in data.items() if k not in _NOT_STATE}
    canonical = json.dumps(state, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def snapshot_id(tenant: str, resource: str, object_id: int, modified_gmt: str, digest: str) -> str:
    """The event id of one snapshot, webhook or backfill alike."""
    return deterministic_id(tenant, resource, object_id, modified_gmt, digest)


def seen_key(redis_prefix: str, event_id: str) -> str:
    return f"{redis_prefix}:ingest:seen:{event_id}"


def _price(value: Any) -> str:
    try:
        return str(Decimal(str(value)).quantize(Decimal("0.01"))) if value not in (None, "") else ""
    except InvalidOperation:
        return str(value)


def echo_values(product: Mapping[str, Any]) -> tuple[int, str, str]:
    """(id, stock, regular price) of a product: what a stock/price write of ours determines."""
    stock = product.get("stock_quantity")
    return int(product.get("id") or 0), "" if stock is None else str(int(stock)), _price(product.get("regular_price"))


def echo_key(redis_prefix: str, tenant: str, values: tuple[int, str, str]) -> str:
    product_id, stock, price = values
    return f"{redis_prefix}:ingest:echo:{deterministic_id(tenant, 'product', product_id, stock, price)}"
