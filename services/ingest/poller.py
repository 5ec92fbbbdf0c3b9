"""The poller process (`woonox-poller`): per tenant, on a schedule, re-activate disabled webhooks and
run the backfill; at once when ingest asked for a poll (a signed REST error arrived); and, for tenants
that sync products from Fortnox, the Fortnox article poll (`fortnox_poll.py`).

Several replicas may run: a Redis lock per tenant keeps one backfill of a tenant at a time (and if
Redis is away, two concurrent runs are still safe: they publish the same ids and converge).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import redis.asyncio as aioredis
import structlog
from fastapi import FastAPI
from redis.exceptions import RedisError

from libs.common.consumer import health_routes
from libs.common.crypto import SecretBox
from libs.common.errors import WoonoxError
from libs.common.fortnox.ratelimit import RateLimiter
from libs.common.fortnox.tokens import TokenManager
from libs.common.logging import configure_logging
from libs.common.outbound import guarded_client
from libs.common.publisher import Publisher
from libs.common.runner import serve
from libs.common.store.bookings import BookingStore
from libs.common.store.db import make_engine, make_sessionmaker
from libs.common.store.tenants import Tenant, TenantStore
from libs.common.topology import Topology
from services.ingest.backfill import Backfill, BackfillReport
from services.ingest.cursors import CursorStore
from services.ingest.dedup import EdgeDedup
from services.ingest.fortnox_poll import FortnoxArticlePoll
from services.ingest.poll_signal import take_poll_requests
from services.ingest.settings import IngestSettings
from services.ingest.shop_clients import woo_client_for
from services.ingest.ties import publish_rereads
from services.ingest.webhook_watch import KEPT_COUNT, endpoint_answers, reactivate_disabled

__all__ = ["Poller", "main"]

log = structlog.get_logger("woonox.ingest.poller")
LOCK_SECONDS = 600
# Shop changes keep being read while a tenant waits for a Fortnox reconnect (nothing from a shop is
# lost); only a tenant an operator paused is skipped.
PAUSED = frozenset({"disabled", "paused"})
TICK_SECONDS = 1.0
# One tenant's jobs in one tick may take this long; a shop that hangs (or trickles a body) is cut
# off here and tried again on its next turn, and never holds up the other tenants.
TENANT_TIMEOUT_SECONDS = 240.0
TenantJob = Callable[[Tenant], Awaitable[None]]


class Poller:
    def __init__(self, settings: IngestSettings, *, http: httpx.AsyncClient | None = None,
                 extra_jobs: list[tuple[float, TenantJob]] | None = None,
                 tenant_timeout: float = TENANT_TIMEOUT_SECONDS) -> None:
        self.settings = settings
        self.tenant_timeout = tenant_timeout
        self.engine = make_engine(settings.database_url, settings.db_schema, pool_size=2)
        sessions = make_sessionmaker(self.engine)
        self.tenants = TenantStore(sessions, SecretBox(settings.secret_keys.get_secret_value()))
        self.bookings = BookingStore(sessions)
        self.publisher = Publisher(settings.rabbitmq_url, Topology(settings.broker_prefix))
        self.redis = aioredis.from_url(settings.redis_url)
        # Shop and Fortnox URLs are tenant data: every connect checks the resolved address.
        self.http = http or guarded_client(timeout=60)
        self._own_http = http is None
        self.backfill = Backfill(
            self.publisher, CursorStore(sessions), EdgeDedup(self.redis, settings.redis_prefix, settings.dedup_seconds),
            overlap=timedelta(seconds=settings.backfill_overlap_seconds),
            first_lookback=timedelta(seconds=settings.backfill_first_lookback_seconds),
        )
        box = SecretBox(settings.secret_keys.get_secret_value())
        tokens = TokenManager(sessions, self.redis, box, self.http, settings.redis_prefix)
        self.fortnox = FortnoxArticlePoll(self.publisher, CursorStore(sessions), tokens,
                                          RateLimiter(self.redis, settings.redis_prefix), self.http, self.redis,
                                          settings.redis_prefix)
        self._jobs: list[tuple[float, TenantJob]] = [(settings.backfill_interval_seconds, self.sync_shop),
                                                     (settings.fortnox_poll_interval_seconds, self.poll_fortnox)]
        self._jobs += extra_jobs or []
        self._due: dict[tuple[str, int], float] = {}

    async def start(self) -> None:
        await self.publisher.connect()

    async def close(self) -> None:
        await self.publisher.close()
        await self.redis.aclose()
        if self._own_http:
            await self.http.aclose()
        await self.engine.dispose()

    @contextlib.asynccontextmanager
    async def _locked(self, tenant_id: str, name: str) -> AsyncIterator[bool]:
        key = f"{self.settings.redis_prefix}:poller:lock:{name}:{tenant_id}"
        try:
            got = bool(await self.redis.set(key, b"1", nx=True, ex=LOCK_SECONDS))
        except (RedisError, OSError):
            got = True  # safe without the lock, only less economical
        try:
            yield got
        finally:
            if got:
                with contextlib.suppress(RedisError, OSError):
                    await self.redis.delete(key)

    async def _audit_reactivation(self, tenant_id: str, hook: dict[str, Any]) -> None:
        await self.bookings.audit(tenant_id, "webhook", str(hook.get("id")), "webhook-reactivated", {
            "topic": hook.get("topic"), "delivery_url": hook.get("delivery_url"),
            "reason": "WooCommerce disabled it after consecutive failed deliveries; a backfill follows",
            "note": KEPT_COUNT})

    async def poll_fortnox(self, tenant: Tenant) -> None:
        if tenant.status != "active":  # e.g. needs_reconnect: no token to poll with
            return
        async with self._locked(tenant.id, "fortnox") as mine:
            if mine:
                await self.fortnox.run(tenant)

    async def sync_shop(self, tenant: Tenant) -> None:
        await self.sync_tenant(tenant)

    async def sync_tenant(self, tenant: Tenant) -> BackfillReport | None:
        """Re-activate what WooCommerce disabled, backfill since the cursor, re-read tied objects."""
        async with self._locked(tenant.id, "backfill") as mine:
            if not mine:
                return None
            woo = woo_client_for(tenant, self.http)
            await reactivate_disabled(tenant.id, woo, self._audit_reactivation,
                                      probe=lambda hook: endpoint_answers(hook, self.http))
            report = await self.backfill.run(tenant.id, woo)
            # After the backfill, so a tie's re-read is the last snapshot published (services/ingest/ties.py).
            await publish_rereads(self.redis, self.settings.redis_prefix, tenant.id, woo, self.publisher)
            return report

    async def tick(self) -> None:
        """Every tenant's due jobs, each tenant in its own task under `tenant_timeout`."""
        wanted = await take_poll_requests(self.redis, self.settings.redis_prefix)
        now = time.monotonic()
        # A tenant whose secrets cannot be decrypted is skipped (TenantStore.list logged it): there
        # is nothing to poll with, and the others go on.
        tenants = [t for t in await self.tenants.list() if t.status not in PAUSED and not t.secrets_unreadable]
        await asyncio.gather(*(self._tenant_jobs(t, now, t.id in wanted) for t in tenants))

    async def _tenant_jobs(self, tenant: Tenant, now: float, wanted: bool) -> None:
        try:
            async with asyncio.timeout(self.tenant_timeout):
                for index, (interval, job) in enumerate(self._jobs):
                    due = self._due.get((tenant.id, index), 0.0)
                    if now < due and not (index == 0 and wanted):
                        continue
                    self._due[(tenant.id, index)] = now + interval
                    try:
                        await job(tenant)
                    except WoonoxError as exc:  # one shop's trouble must not stop the others
                        log.error("poll_failed", tenant=tenant.id, job=getattr(job, "__name__", "job"),
                                  error=str(exc))
                    except TimeoutError:
                        raise
                    except Exception:  # a bug met on one shop's data: logged with its trace, the others go on
                        log.exception("poll_crashed", tenant=tenant.id, job=getattr(job, "__name__", "job"))
        except TimeoutError:
            log.error("poll_timed_out", tenant=tenant.id, seconds=self.tenant_timeout)

    async def run_forever(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # the schedule must survive anything one tick meets; it is logged, not dropped
                log.exception("poller_tick_failed")
            await asyncio.sleep(TICK_SECONDS)


def create_app(settings: IngestSettings, poller: Poller | None = None) -> FastAPI:
    poller = poller or Poller(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await poller.start()
        task = asyncio.create_task(poller.run_forever())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await poller.close()

    app = FastAPI(title="woonox poller", lifespan=lifespan)
    app.include_router(health_routes(lambda: poller.publisher.connected))
    return app


def main() -> None:
    settings = IngestSettings()
    configure_logging("poller", settings.log_level, settings.log_json)
    serve(create_app(settings), host=settings.host, port=settings.poller_port)
