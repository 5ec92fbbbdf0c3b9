"""Two snapshots of one object with the same one-second stamp: which is the latest?

WooCommerce's `date_modified_gmt` has one-second resolution, so "latest wins" cannot order two
snapshots that share a stamp (a real shop stamped three sales of one product in one second alike).
Both are published (their content makes them two events, libs/common/woo/edge_keys.py); when ingest
sees the second, it asks the poller to re-read the shop from the REST API. The backfill then
publishes the object as it is now, after both, so the last snapshot downstream is WooCommerce's
current state (or, when that equals one already published, the dedup skips it and arrival order
already ended on it).
"""

from __future__ import annotations

import redis.asyncio as aioredis

__all__ = ["TIE_SECONDS", "is_tie"]

TIE_SECONDS = 120  # a stamp is only ever shared within its second; this outlives any delivery lag


async def is_tie(redis: aioredis.Redis, prefix: str, tenant: str, resource: str, object_id: int, modified: str,
                 event_id: str) -> bool:
    """Record this snapshot as the object's last; True when the previous one had the same stamp
    and was a different snapshot. One round trip (`SET … GET`)."""
    key = f"{prefix}:ingest:stamp:{tenant}:{resource}:{object_id}"
    previous = await redis.set(key, f"{modified}|{event_id}", ex=TIE_SECONDS, get=True)
    if previous is None:
        return False
    text = previous.decode() if isinstance(previous, bytes) else str(previous)
    stamp, _, seen = text.partition("|")
    return stamp == modified and seen != event_id
