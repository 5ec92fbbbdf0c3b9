"""The writer's ledger: claims in Redis, every effect on Fortnox recorded in PostgreSQL.

Every external effect on Fortnox (create a customer, an article or a document, update, convert to
invoice, register a payment, bookkeep, credit, cancel) goes through `Ledger.run` (docs/writer.md):

    intent   the claim is checked and renewed in Redis, then PostgreSQL records the attempt and the
             reference the effect will stamp, before the call;
    call     Fortnox is called;
    result   PostgreSQL records the result (with the booking it makes, one transaction).

An attempt without a result means a writer died, or the connection dropped, between the call and
its answer: Fortnox may hold the effect, so it is looked up in Fortnox (by the reference) before it
is tried again, whatever Redis says, and what the lookup finds is recorded at once. Redis keeps
its own pending/done marks as a fast path, but is never the only memory of an attempt.

The claim is a lease on one WooCommerce object, so two replicas never work on the same order at
once. A lease outlives the Fortnox HTTP timeout, so a holder that stalls has finished its call
before anyone else may start.

Redis may lose everything (FLUSHALL, a restart without persistence). The epoch key detects that:
when it is missing, or differs from the one a writer last saw, the ledger is *degraded* for a
window: first a quarantine of one lease (claims held before the loss may still be in flight, so
nobody starts), then lookups in Fortnox and PostgreSQL's booking map before every create, until the
window ends and the ledger has been rebuilt by the work done since.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from libs.common.errors import Busy, PermanentError, TransientError
from libs.common.store.bookings import BookingRecord
from libs.common.store.effects import ATTEMPT, DONE, EffectRecord, EffectStore

__all__ = ["Claim", "Effect", "Ledger", "Outcome"]

_BEGIN = Path(__file__).with_name("ledger.lua").read_text()
# An effect may start only while its writer still holds the claim: check the owner, renew the
# lease and mark the effect pending, atomically. A writer whose claim expired (it waited too long,
# or Redis lost it) must not act: another writer may be applying the same object.
_PENDING = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[3], 'pending')
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 1
"""
_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
LEDGER_TTL_S = 90 * 24 * 3600
STOP_TIMEOUT_S = 5.0  # the most a finished holder waits for its heartbeat to stop
log = structlog.get_logger("woonox.writer.ledger")


@dataclass
class Claim:
    tenant: str
    obj: str
    owner: str
    acquired: bool
    degraded: bool
    quarantine_ms: int
    effects: dict[str, str] = field(default_factory=dict)  # Redis: the fast path
    durable: dict[str, EffectRecord] = field(default_factory=dict)  # PostgreSQL: the record

    def done(self, effect: str, reference: str | None = None) -> str | None:
        """The effect's result, if it is known to have happened (for `reference`, if given)."""
        record = self.durable.get(effect)
        if record is not None:  # the record decides; Redis only knows effects from before it existed
            if record.state == DONE and (reference is None or record.reference == reference):
                return record.result
            return None
        value = self.effects.get(effect, "")
        return value[5:] if value.startswith("done:") and reference is None else None

    def uncertain(self, effect: str) -> bool:
        """Might Fortnox hold this effect although the ledger cannot say so?"""
        record = self.durable.get(effect)
        return (self.degraded or self.effects.get(effect, "").startswith("pending")
                or (record is not None and record.state == ATTEMPT))


@dataclass(frozen=True)
class Effect:
    """One external effect on Fortnox, as `Ledger.run` applies it.

    `reference` identifies it in Fortnox (the ExternalInvoiceReference1 a document is stamped with,
    the order an invoice is made from, the invoice a payment is for, ...) and is recorded with the
    attempt; `lookup` asks Fortnox whether the effect already happened and returns its result;
    `call` makes it and returns its result. A `repeatable` effect (a PUT of the desired state) may
    simply be tried again; `look_first` asks Fortnox even when the record is certain (a customer who
    existed before woonox is reused)."""

    name: str
    reference: str
    call: Callable[[], Awaitable[str]]
    lookup: Callable[[], Awaitable[str | None]] | None = None
    repeatable: bool = False
    look_first: bool = False
    booking: Callable[[str], BookingRecord] | None = None  # what the result is booked as
    action: str = ""  # audit action when made
    found_action: str = ""  # audit action when found by the lookup
    audit: Callable[[str], dict[str, Any]] | None = None


@dataclass(frozen=True)
class Outcome:
    value: str
    how: Literal["known", "found", "made"]


class Ledger:
    def __init__(self, redis: aioredis.Redis, prefix: str, *, effects: EffectStore | None = None,
                 lease_ms: int = 60_000, degraded_ms: int = 15 * 60_000, max_hold_ms: int = 10 * 60_000) -> None:
        # Without `effects` the ledger can claim and forget, but not start an effect (pending()).
        self._durable = effects
        self._redis = redis
        self._prefix = prefix
        self.lease_ms = lease_ms
        self.max_hold_ms = max_hold_ms
        self.degraded_ms = degraded_ms
        self._begin = redis.register_script(_BEGIN)
        self._release = redis.register_script(_RELEASE)
        self._pending = redis.register_script(_PENDING)
        self._renew = redis.register_script(_RENEW)
        self._epoch = ""

    @property
    def epoch(self) -> str:
        """The epoch this writer last saw (to be kept in the store of record)."""
        return self._epoch

    def know_epoch(self, epoch: str) -> None:
        """Seed the epoch from the store of record: a writer that starts after Redis lost its data
        (its epoch key is gone) must still notice the loss."""
        if not self._epoch:
            self._epoch = epoch

    def _keys(self, tenant: str, obj: str) -> list[str]:
        p = self._prefix
        return [f"{p}:ledger:epoch", f"{p}:ledger:rebuilt", f"{p}:claim:{tenant}:{obj}", f"{p}:ledger:{tenant}:{obj}"]

    async def begin(self, tenant: str, obj: str) -> Claim:
        owner = uuid.uuid4().hex
        try:
            epoch, age, acquired, flat = await self._begin(
                keys=self._keys(tenant, obj),
                args=[self._epoch, uuid.uuid4().hex, owner, self.lease_ms, self.degraded_ms],
            )
        except RedisError as exc:
            raise TransientError(f"ledger unavailable (Redis): {exc}", code="redis-unavailable") from exc
        self._epoch = epoch.decode() if isinstance(epoch, bytes) else str(epoch)
        age = int(age)
        effects = {_s(flat[i]): _s(flat[i + 1]) for i in range(0, len(flat), 2)}
        claim = Claim(
            tenant=tenant, obj=obj, owner=owner, acquired=bool(acquired), degraded=age >= 0,
            quarantine_ms=max(0, self.lease_ms - age) if age >= 0 else 0, effects=effects,
        )
        if claim.acquired and self._durable is not None:
            try:
                claim.durable = await self._durable.load(tenant, obj)
            except (SQLAlchemyError, OSError) as exc:
                await self.release(claim)
                raise TransientError(f"effect record unavailable (PostgreSQL): {exc}",
                                     code="store-unavailable") from exc
        return claim

    async def run(self, claim: Claim, effect: Effect) -> Outcome:
        """The one protocol of every effect: known -> result; uncertain -> look up in Fortnox (and
        record what is found at once); else intent -> call -> result (docs/writer.md)."""
        known = None if effect.repeatable else claim.done(effect.name, effect.reference)
        if known is not None:
            return Outcome(known, "known")
        if effect.look_first or (claim.uncertain(effect.name) and not effect.repeatable):
            if effect.lookup is None:
                raise PermanentError(f"{claim.obj}: {effect.name} may have happened in Fortnox and cannot be "
                                     "looked up there: check Fortnox, then replay", code="effect-ambiguous")
            found = await effect.lookup()
            if found is not None:
                if not effect.look_first:
                    log.warning("effect_found_in_fortnox", object=claim.obj, effect=effect.name, result=found)
                await self.done(claim, effect, found, effect.found_action or f"{effect.name}-recovered")
                return Outcome(found, "found")
        await self.pending(claim, effect.name, effect.reference)
        value = await effect.call()
        await self.done(claim, effect, value, effect.action or f"{effect.name}-made")
        return Outcome(value, "made")

    async def pending(self, claim: Claim, effect: str, reference: str = "") -> None:
        """The intent: check and renew the claim (Busy if it was lost), then record the attempt in
        PostgreSQL. Nothing may be sent to Fortnox unless this returned."""
        if self._durable is None:
            raise RuntimeError("this ledger has no durable record of effects: it cannot start one")
        await self._fence(claim, effect)
        try:
            await self._durable.attempt(claim.tenant, claim.obj, effect, reference)
        except (SQLAlchemyError, OSError) as exc:
            raise TransientError(f"effect record unavailable (PostgreSQL): {exc}", code="store-unavailable") from exc
        claim.durable[effect] = EffectRecord(effect=effect, reference=reference, state=ATTEMPT)

    async def done(self, claim: Claim, effect: Effect | str, value: str, action: str = "") -> None:
        """The result: recorded in PostgreSQL (with the booking it makes), then in Redis."""
        if self._durable is None:
            raise RuntimeError("this ledger has no durable record of effects")
        eff = effect if isinstance(effect, Effect) else Effect(name=effect, reference="", call=_never)
        booking = eff.booking(value) if eff.booking else None
        try:
            await self._durable.done(claim.tenant, claim.obj, eff.name, eff.reference, value, booking=booking,
                                     action=action, audit=eff.audit(value) if eff.audit else None)
        except (SQLAlchemyError, OSError) as exc:
            raise TransientError(f"effect record unavailable (PostgreSQL): {exc}", code="store-unavailable") from exc
        claim.durable[eff.name] = EffectRecord(effect=eff.name, reference=eff.reference, state=DONE, result=value)
        with contextlib.suppress(TransientError):  # the record has it: Redis is only the fast path
            await self._set(claim, eff.name, f"done:{value}")

    async def _fence(self, claim: Claim, effect: str) -> None:
        keys = self._keys(claim.tenant, claim.obj)
        try:
            held = await self._pending(keys=[keys[2], keys[3]],
                                       args=[claim.owner, self.lease_ms, effect, LEDGER_TTL_S])
        except RedisError as exc:
            raise TransientError(f"ledger unavailable (Redis): {exc}", code="redis-unavailable") from exc
        if not held:
            raise Busy(f"the claim on {claim.obj} expired before {effect}: another writer may be on it",
                       code="claim-lost")
        claim.effects[effect] = "pending"

    async def _set(self, claim: Claim, effect: str, value: str) -> None:
        key = self._keys(claim.tenant, claim.obj)[3]
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(key, effect, value)
                pipe.expire(key, LEDGER_TTL_S)
                await pipe.execute()
        except RedisError as exc:
            raise TransientError(f"ledger unavailable (Redis): {exc}", code="redis-unavailable") from exc
        claim.effects[effect] = value

    @contextlib.asynccontextmanager
    async def held(self, claim: Claim) -> AsyncIterator[Claim]:
        """Keep the claim alive while its holder works (waiting for rate-limit slots can take long);
        a holder that dies stops renewing, and its lease runs out. A holder alive but stuck past
        `max_hold_ms` loses the claim too, so other snapshots of the object are not kept waiting
        (they retry as busy) by a hung call: its next `pending()` then refuses to act."""
        stop = asyncio.Event()

        async def heartbeat() -> None:
            key = self._keys(claim.tenant, claim.obj)[2]
            deadline = time.monotonic() + self.max_hold_ms / 1000
            while True:
                with contextlib.suppress(TimeoutError):  # renew well before the lease ends
                    await asyncio.wait_for(stop.wait(), self.lease_ms / 3000)
                if stop.is_set():
                    return
                if time.monotonic() > deadline:
                    log.warning("claim_held_too_long", object=claim.obj, held_ms=self.max_hold_ms)
                    return
                try:
                    if not await self._renew(keys=[key], args=[claim.owner, self.lease_ms]):
                        return  # lost (Redis lost it): the next pending() refuses to act
                except RedisError:
                    continue

        task = asyncio.create_task(heartbeat())
        try:
            yield claim
        finally:
            # Stopped by the event, not by cancelling: the short chaos run caught heartbeats whose
            # cancellation was swallowed inside a Redis call (the task stayed "cancelling" and kept
            # renewing), so a finished holder waited for its heartbeat forever, kept its claim
            # alive, and every later snapshot of that order stayed busy.
            stop.set()
            _, pending = await asyncio.wait({task}, timeout=STOP_TIMEOUT_S)
            for still in pending:  # stuck in a Redis call: cancel it without waiting again; once the
                still.cancel()      # holder releases the claim, any renewal it still makes fails

    async def forget(self, tenant: str, obj: str) -> None:
        """Drop an object's ledger (reconcile, after Fortnox lost the document): the next command
        for it starts from scratch. (BookingStore.forget drops the durable record with the booking.)"""
        try:
            await self._redis.delete(self._keys(tenant, obj)[3])
        except RedisError as exc:
            raise TransientError(f"ledger unavailable (Redis): {exc}", code="redis-unavailable") from exc
        if self._durable is not None:
            await self._durable.forget(tenant, obj)

    async def release(self, claim: Claim) -> None:
        if not claim.acquired:
            return
        with contextlib.suppress(RedisError):  # else the lease expires on its own
            await self._release(keys=[self._keys(claim.tenant, claim.obj)[2]], args=[claim.owner])


def _s(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def _never() -> str:
    raise AssertionError("a recorded result is never called")
