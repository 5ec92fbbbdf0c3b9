"""Two snapshots of one object with the same one-second stamp: which is the latest?

WooCommerce's `date_modified_gmt` has one-second resolution, so "latest wins" cannot order two
snapshots that share a stamp (a real shop stamped three sales of one product in one second alike).
Both are published (their content makes them two events, libs/common/woo/edge_keys.py); when ingest
sees the second, it asks the poller to re-read the object from the REST API. The poller publishes
WooCommerce's state as it is now, after both, marked as a re-read (libs/common/woo/reread.py): it
has its own identity, so the edge dedup never drops it as equal to a snapshot already published, and
it counts as later than every snapshot of its second, so the writers keep it whichever of the tied
snapshots reaches them last (a retry reorders messages). The outcome does not depend on arrival order.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import redis.asyncio as aioredis
import structlog

from libs.common.envelope import Envelope
from libs.common.errors import PermanentError
from libs.common.publisher import Publisher
from libs.common.woo import WooClient
from libs.common.woo.reread import mark_reread
from services.ingest.delivery import event_id
from services.ingest.refund_details import with_refund_details

__all__ = ["TIE_SECONDS", "is_tie", "publish_rereads", "want_reread"]

log = structlog.get_logger("woonox.ingest.ties")
TIE_SECONDS = 120  # a stamp is only ever shared within its second; this outlives any delivery lag
_PATHS = {"order": "/orders/{id}", "product": "/products/{id}", "customer": "/customers/{id}"}


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


def _wanted(prefix: str, tenant: str) -> str:
    return f"{prefix}:ingest:reread:{tenant}"


async def want_reread(redis: aioredis.Redis, prefix: str, tenant: str, resource: str, object_id: int) -> None:
    await redis.sadd(_wanted(prefix, tenant), f"{resource}:{object_id}")


async def publish_rereads(redis: aioredis.Redis, prefix: str, tenant: str, woo: WooClient,
                          publisher: Publisher) -> int:
    """Re-read every tied object of this tenant and publish it marked; returns how many. An object
    that cannot be read now stays wanted for the next run (unless it is gone: nothing to order)."""
    key = _wanted(prefix, tenant)
    published = 0
    for member in await redis.smembers(key):
        text = member.decode() if isinstance(member, bytes) else str(member)
        resource, _, number = text.partition(":")
        object_id = int(number)
        try:
            current = dict(await woo.get(_PATHS[resource].format(id=object_id)))
            if resource == "order":
                current = await with_refund_details(woo, current)
        except PermanentError as exc:
            log.warning("tie_reread_skipped", tenant=tenant, resource=resource, object_id=object_id, error=str(exc))
            await redis.srem(key, member)
            continue
        marked = mark_reread(current)
        await publisher.publish(Envelope(
            id=event_id(tenant, resource, object_id, current.get("date_modified_gmt"), marked, "updated"),
            tenant=tenant, type=f"woo.{resource}.updated", occurred_at=datetime.now(UTC),
            correlation_id=f"tie-reread:{resource}:{object_id}",
            body=json.dumps(marked, ensure_ascii=False, separators=(",", ":")).encode()))
        await redis.srem(key, member)
        published += 1
    return published
