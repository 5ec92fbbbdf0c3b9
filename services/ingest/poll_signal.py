"""Asking the backfill to poll a shop now, e.g. after WooCommerce sent a signed REST error instead of
an object (WooCommerce source, plugins/woocommerce/includes/class-wc-webhook.php fires on none of them:
only polling catches these)."""

from __future__ import annotations

import redis.asyncio as aioredis

__all__ = ["request_poll", "take_poll_requests"]


def _key(prefix: str) -> str:
    return f"{prefix}:backfill:wanted"


async def request_poll(client: aioredis.Redis, prefix: str, tenant: str) -> None:
    await client.sadd(_key(prefix), tenant)


async def take_poll_requests(client: aioredis.Redis, prefix: str) -> set[str]:
    """Pop every pending request (a tenant asked twice is polled once)."""
    async with client.pipeline(transaction=True) as pipe:
        pipe.smembers(_key(prefix))
        pipe.delete(_key(prefix))
        members, _ = await pipe.execute()
    return {m.decode() if isinstance(m, bytes) else str(m) for m in members}
