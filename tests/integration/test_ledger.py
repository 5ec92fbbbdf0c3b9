"""The writer's ledger: claims exclude each other, effects persist (in PostgreSQL, Redis the fast
path), and a flushed Redis is detected so that the writer falls back to lookups."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from libs.common.fortnox.ratelimit import RateLimiter
from libs.common.settings import CommonSettings
from libs.common.store.effects import EffectStore
from services.fortnox_writer.ledger import Effect, Ledger


async def lose_redis(redis_client: aioredis.Redis, settings: CommonSettings) -> None:
    # What FLUSHALL does to this deployment's keys (other tests share the server, so only ours go).
    async for key in redis_client.scan_iter(match=f"{settings.redis_prefix}:*"):
        await redis_client.delete(key)


async def test_claim_is_exclusive_and_released(settings: CommonSettings, redis_client: aioredis.Redis) -> None:
    a, b = Ledger(redis_client, settings.redis_prefix), Ledger(redis_client, settings.redis_prefix)
    first = await a.begin("shop", "order:1")
    assert first.acquired and not first.degraded
    assert not (await b.begin("shop", "order:1")).acquired
    assert (await b.begin("shop", "order:2")).acquired
    await a.release(first)
    assert (await b.begin("shop", "order:1")).acquired


async def test_effects_pending_then_done(settings: CommonSettings, database: Any,
                                         redis_client: aioredis.Redis) -> None:
    ledger = Ledger(redis_client, settings.redis_prefix, effects=EffectStore(database))
    claim = await ledger.begin("shop", "order:1")
    await ledger.pending(claim, "create")
    await ledger.release(claim)
    again = await ledger.begin("shop", "order:1")
    assert again.uncertain("create") and again.done("create") is None
    await ledger.done(again, "create", "42")
    await ledger.release(again)
    third = await ledger.begin("shop", "order:1")
    assert third.done("create") == "42" and not third.uncertain("create")


async def test_lost_redis_data_is_detected(settings: CommonSettings, database: Any,
                                          redis_client: aioredis.Redis) -> None:
    ledger = Ledger(redis_client, settings.redis_prefix, effects=EffectStore(database), lease_ms=10_000,
                    degraded_ms=60_000)
    other = Ledger(redis_client, settings.redis_prefix, lease_ms=10_000, degraded_ms=60_000)
    claim = await ledger.begin("shop", "order:1")
    await other.begin("shop", "order:9")  # the other replica knows the epoch too
    await ledger.done(claim, "create", "42")
    await ledger.release(claim)
    await lose_redis(redis_client, settings)
    after = await ledger.begin("shop", "order:1")
    assert after.degraded and after.quarantine_ms > 0  # in-flight claims may still be running
    assert after.done("create") == "42"  # the record kept the result
    assert (await other.begin("shop", "order:2")).degraded  # every replica sees it


async def test_an_expired_claim_cannot_start_an_effect(settings: CommonSettings, database: Any,
                                                       redis_client: aioredis.Redis) -> None:
    import pytest

    from libs.common.errors import TransientError

    slow = Ledger(redis_client, settings.redis_prefix, effects=EffectStore(database), lease_ms=60_000)
    claim = await slow.begin("shop", "order:1")
    await slow.pending(claim, "create")  # holds the claim: renews it
    await redis_client.delete(f"{settings.redis_prefix}:claim:shop:order:1")  # the lease ran out meanwhile
    other = await Ledger(redis_client, settings.redis_prefix).begin("shop", "order:1")
    assert other.acquired
    with pytest.raises(TransientError) as err:
        await slow.pending(claim, "credit:7")
    assert err.value.code == "claim-lost"


async def test_a_writer_started_after_the_loss_still_notices_it(settings: CommonSettings, database: object,
                                                               redis_client: aioredis.Redis) -> None:
    from services.fortnox_writer.epoch import EpochKeeper

    first = Ledger(redis_client, settings.redis_prefix)
    limiter = RateLimiter(redis_client, settings.redis_prefix)
    keeper = EpochKeeper(database, first, limiter)  # type: ignore[arg-type]
    await keeper.seed()
    # A new deployment (no epoch on record) has sent nothing: its limiter need not wait anything out.
    assert await limiter.try_acquire("c", "shop", hold=20) == 0
    await first.begin("shop", "order:1")
    await keeper.record()
    async for key in redis_client.scan_iter(match=f"{settings.redis_prefix}:*"):
        await redis_client.delete(key)
    fresh = Ledger(redis_client, settings.redis_prefix)  # a writer (re)started after the loss
    await EpochKeeper(database, fresh, limiter).seed()  # type: ignore[arg-type]
    claim = await fresh.begin("shop", "order:2")
    assert claim.degraded and claim.quarantine_ms > 0
    assert await limiter.try_acquire("c", "shop", hold=20) > limiter.window_ms / 1000  # a loss: one window


async def test_a_stuck_holder_loses_its_claim_after_the_max_hold(settings: CommonSettings, database: Any,
                                                                 redis_client: aioredis.Redis) -> None:
    import pytest

    from libs.common.errors import Busy
    from tests.integration.broker_helpers import wait_for

    stuck = Ledger(redis_client, settings.redis_prefix, effects=EffectStore(database), lease_ms=600,
                   max_hold_ms=1_500)
    claim = await stuck.begin("shop", "order:9")
    async with stuck.held(claim):
        async def taken_over() -> bool:
            return (await Ledger(redis_client, settings.redis_prefix).begin("shop", "order:9")).acquired

        # Renewed every 200 ms, so only the max hold (not the lease) can end it.
        await wait_for(taken_over, timeout=10, what="the claim freed after the max hold")
        with pytest.raises(Busy) as err:
            await stuck.pending(claim, "create")
    assert err.value.code == "claim-lost"


async def test_a_heartbeat_that_swallows_its_cancellation_still_stops(settings: CommonSettings,
                                                                      redis_client: aioredis.Redis) -> None:
    """The short chaos run found holders waiting forever on a heartbeat whose cancellation a Redis
    call had swallowed, keeping the order's claim alive; the heartbeat must stop without it."""
    import asyncio
    import contextlib

    from tests.integration.broker_helpers import wait_for

    ledger = Ledger(redis_client, settings.redis_prefix, lease_ms=3000)  # renewed every second
    renew = ledger._renew
    renewing = asyncio.Event()

    async def swallowing_renew(**kwargs: object) -> object:
        renewing.set()
        # A slow Redis round trip, during which the holder finishes; what the chaos run saw: the
        # cancellation never reaches the heartbeat's loop.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0.5)
        renewing.clear()
        return await renew(**kwargs)

    ledger._renew = swallowing_renew  # type: ignore[assignment]
    claim = await ledger.begin("shop", "order:5")

    async def hold_until_renewing() -> None:
        async with ledger.held(claim):
            async def in_renewal() -> bool:
                return renewing.is_set()

            await wait_for(in_renewal, timeout=5, what="the heartbeat inside a renewal")

    holder = asyncio.create_task(hold_until_renewing())
    await asyncio.wait({holder}, timeout=8)  # else the heartbeat renews the claim for ever
    assert holder.done(), "the holder is still waiting for its heartbeat"
    holder.cancel()
    await ledger.release(claim)
    assert (await Ledger(redis_client, settings.redis_prefix).begin("shop", "order:5")).acquired


async def test_an_attempt_outlives_redis_and_is_looked_up_before_it_is_tried_again(
        settings: CommonSettings, database: Any, redis_client: aioredis.Redis) -> None:
    """Issue 14: the mark "this effect may have happened" lived in Redis only. An attempt without a
    result, recorded in PostgreSQL, is looked up in Fortnox whatever Redis says (here: nothing, not
    even the epoch, as for a writer that never saw the old one), and what the lookup finds is kept."""
    ledger = Ledger(redis_client, settings.redis_prefix, effects=EffectStore(database))
    claim = await ledger.begin("shop", "order:7")
    await ledger.pending(claim, "create", "woonox:shop:order:7")  # then the writer dies mid-call
    await lose_redis(redis_client, settings)
    fresh = Ledger(redis_client, settings.redis_prefix, effects=EffectStore(database))
    again = await fresh.begin("shop", "order:7")
    assert again.acquired and not again.degraded  # Redis cannot tell
    calls: list[str] = []

    async def lookup() -> str | None:
        calls.append("lookup")
        return "60"

    async def create() -> str:
        calls.append("create")
        return "282"

    effect = Effect("create", "woonox:shop:order:7", create, lookup)
    assert (await fresh.run(again, effect)).value == "60"
    assert calls == ["lookup"]
    await fresh.release(again)
    await lose_redis(redis_client, settings)
    third = await Ledger(redis_client, settings.redis_prefix, effects=EffectStore(database)).begin("shop", "order:7")
    assert third.done("create") == "60" and not third.uncertain("create")


async def test_an_effect_never_starts_without_its_durable_intent(settings: CommonSettings,
                                                                 redis_client: aioredis.Redis) -> None:
    import pytest

    ledger = Ledger(redis_client, settings.redis_prefix)  # a tool's ledger: it may only forget
    claim = await ledger.begin("shop", "order:8")

    async def create() -> str:
        raise AssertionError("called without an intent on record")

    with pytest.raises(RuntimeError):
        await ledger.run(claim, Effect("create", "ref", create))
