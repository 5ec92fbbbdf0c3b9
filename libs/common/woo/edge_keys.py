"""The Redis key under which ingest remembers a published WooCommerce snapshot (edge dedup).

Shared so the woo-writer can mark a snapshot *it* produced as already seen: the product.updated
webhook WooCommerce sends for our own stock/price write is then answered as a duplicate and never
comes back as a change to push to Fortnox (no echo loop)."""

from __future__ import annotations

from libs.common.envelope import deterministic_id

__all__ = ["seen_key", "snapshot_id"]


def snapshot_id(tenant: str, resource: str, object_id: int, modified_gmt: str) -> str:
    """The event id of one (tenant, resource, id, date_modified_gmt) snapshot, webhook or backfill alike."""
    return deterministic_id(tenant, resource, object_id, modified_gmt)


def seen_key(redis_prefix: str, event_id: str) -> str:
    return f"{redis_prefix}:ingest:seen:{event_id}"
