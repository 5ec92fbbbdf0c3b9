"""Consuming a per-tenant group: one queue per tenant, each with its own bounded prefetch.

FastStream wires static subscribers; tenants come and go at run time, so this small loop on
aio-pika subscribes to each tenant's queue as the tenant appears in the store of record. A
tenant's backlog therefore only ever fills its own queue and its own prefetch window
(see libs/common/topology.py, "Fairness").
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import aio_pika
import structlog
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustChannel, AbstractRobustConnection

from libs.common.outcome import Handler, Outcome
from libs.common.publisher import Publisher
from libs.common.topology import ConsumerGroup

__all__ = ["TenantQueues"]

log = structlog.get_logger("woonox.tenant_queues")

TenantSource = Callable[[], Awaitable[list[str]]]


class TenantQueues:
    def __init__(
        self,
        url: str,
        publisher: Publisher,
        group: ConsumerGroup,
        handler: Handler,
        tenants: TenantSource,
        *,
        prefetch: int,
        refresh_seconds: float = 5.0,
    ) -> None:
        self._url = url
        self._publisher = publisher
        self._group = group
        self._handler = handler
        self._tenants = tenants
        self._prefetch = prefetch
        self._refresh = refresh_seconds
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._consumers: dict[str, tuple[aio_pika.abc.AbstractQueue, str]] = {}
        self._inflight: set[asyncio.Task[None]] = set()
        self._watcher: asyncio.Task[None] | None = None
        self._stopping = False
        self._synced = False

    @property
    def tenants(self) -> list[str]:
        return sorted(self._consumers)

    @property
    def connected(self) -> bool:
        """Ready: connected, and the tenants have been read at least once."""
        return bool(self._connection and not self._connection.is_closed and self._synced)

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(self._url)
        channel = await self._connection.channel()
        # Per-consumer (not global) prefetch: each tenant queue gets its own window.
        await channel.set_qos(prefetch_count=self._prefetch, global_=False)
        self._channel = channel
        try:
            await self.sync()
        except Exception:
            # e.g. the store of record is not migrated yet: not ready, and the watcher keeps trying.
            log.exception("tenant_sync_failed")
        self._watcher = asyncio.create_task(self._watch())

    async def sync(self) -> None:
        """Subscribe to the queues of tenants that appeared since the last look."""
        assert self._channel is not None
        for tenant in await self._tenants():
            if tenant in self._consumers or self._stopping:
                continue
            name = await self._publisher.topology.declare_tenant(self._channel, self._group, tenant)
            queue = await self._channel.declare_queue(name, passive=True)
            outcome = Outcome(self._publisher, self._group, queue=name)
            tag = await queue.consume(self._callback(outcome))
            self._consumers[tenant] = (queue, tag)
            log.info("tenant_queue_consumed", queue=name)
        self._synced = True

    def _callback(self, outcome: Outcome) -> Callable[[AbstractIncomingMessage], Awaitable[None]]:
        async def on_message(message: AbstractIncomingMessage) -> None:
            task = asyncio.current_task()
            if task is not None:
                self._inflight.add(task)
            try:
                await outcome.run(message, self._handler)
                await message.ack()
            except asyncio.CancelledError:
                raise
            except Exception:
                # Even the retry/dead-letter copy failed: hand it back; the delivery limit bounds this.
                log.exception("outcome_failed_requeue")
                with contextlib.suppress(Exception):
                    await message.nack(requeue=True)
            finally:
                if task is not None:
                    self._inflight.discard(task)

        return on_message

    async def _watch(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self._refresh)  # periodic discovery, not synchronisation
            try:
                await self.sync()
            except Exception:
                log.exception("tenant_sync_failed")

    async def stop(self, grace: float = 30.0) -> None:
        """Stop taking messages, let the ones in hand finish (bounded), then close."""
        self._stopping = True
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        for queue, tag in self._consumers.values():
            with contextlib.suppress(Exception):
                await queue.cancel(tag)
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=grace)
        if self._connection is not None:
            await self._connection.close()
