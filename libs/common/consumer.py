"""A consumer service's wiring: FastStream broker with safe settings, handlers behind `Outcome`,
and a small HTTP side (/healthz, /readyz, /metrics) that compose and Kubernetes probe.

FastStream's defaults are unsafe for bookkeeping (unlimited prefetch, returns ignored), so every
one is set here: bounded prefetch, publisher confirms, returns raised, nack-with-requeue only when
even the retry/dead-letter copy could not be published.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import structlog
from fastapi import FastAPI, Response
from faststream import AckPolicy
from faststream.rabbit import Channel, QueueType, RabbitBroker, RabbitQueue
from faststream.rabbit.annotations import RabbitMessage
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from libs.common.outcome import Handler, Outcome
from libs.common.publisher import Publisher
from libs.common.settings import CommonSettings
from libs.common.tenant_queues import TenantQueues, TenantSource
from libs.common.topology import ConsumerGroup, Topology

__all__ = ["ConsumerService", "health_routes"]

log = structlog.get_logger("woonox.consumer")


@dataclass
class ConsumerService:
    """Holds a service's broker, publisher and handlers; `asgi()` gives the app uvicorn runs."""

    name: str
    settings: CommonSettings
    topology: Topology = field(init=False)
    publisher: Publisher = field(init=False)
    broker: RabbitBroker = field(init=False)

    def __post_init__(self) -> None:
        self.topology = Topology(self.settings.broker_prefix)
        self.publisher = Publisher(self.settings.rabbitmq_url, self.topology)
        self.broker = RabbitBroker(
            self.settings.rabbitmq_url,
            default_channel=Channel(
                prefetch_count=self.settings.prefetch, publisher_confirms=True, on_return_raises=True
            ),
            graceful_timeout=30.0,
            app_id=f"woonox-{self.name}",
            # FastStream's per-message "Received"/"Processed" lines cost CPU on the hot path: DEBUG only.
            log_level=logging.DEBUG,
        )
        self._startup: list[Any] = []
        self._shutdown: list[Any] = []
        self._tenant_groups: list[TenantQueues] = []

    def consume(self, group: ConsumerGroup, handler: Handler, *, description: str | None = None) -> None:
        outcome = Outcome(self.publisher, group)
        queue = RabbitQueue(self.topology.queue(group), queue_type=QueueType.QUORUM, declare=False)

        @self.broker.subscriber(
            queue, ack_policy=AckPolicy.NACK_ON_ERROR, title=self.topology.queue(group),
            description=description or handler.__doc__,
        )
        async def _consume(message: RabbitMessage) -> None:
            await outcome.run(message.raw_message, handler)

    def consume_per_tenant(self, group: ConsumerGroup, handler: Handler, tenants: TenantSource, *,
                           refresh_seconds: float = 5.0) -> TenantQueues:
        """Consume a per-tenant group: one queue per tenant that `tenants()` lists (polled)."""
        consumer = TenantQueues(self.settings.rabbitmq_url, self.publisher, group, handler, tenants,
                                prefetch=self.settings.prefetch, refresh_seconds=refresh_seconds)
        self._tenant_groups.append(consumer)
        return consumer

    def on_startup(self, fn: Any) -> Any:
        self._startup.append(fn)
        return fn

    def on_shutdown(self, fn: Any) -> Any:
        self._shutdown.append(fn)
        return fn

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[ConsumerService]:
        """Start order: publisher (declares topology), service resources, then consumers; stop in
        reverse, so a handler in flight can still publish its outcome."""
        await self.publisher.connect()
        for fn in self._startup:
            await fn()
        await self.broker.start()
        for group in self._tenant_groups:
            await group.start()
        log.info("service_started", service=self.name)
        try:
            yield self
        finally:
            for group in self._tenant_groups:
                await group.stop()
            await self.broker.stop()
            for fn in reversed(self._shutdown):
                await fn()
            await self.publisher.close()
            log.info("service_stopped", service=self.name)

    def ready(self) -> bool:
        connection = getattr(self.broker, "_connection", None)
        return (self.publisher.connected and connection is not None and not connection.is_closed
                and all(g.connected for g in self._tenant_groups))

    def asgi(self) -> FastAPI:
        @contextlib.asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            async with self.running():
                yield

        app = FastAPI(title=f"woonox {self.name}", lifespan=lifespan)
        app.include_router(health_routes(self.ready))
        return app


def health_routes(ready: Any, *, metrics: bool = True) -> Any:
    from fastapi import APIRouter

    router = APIRouter()

    @router.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", include_in_schema=False)
    async def readyz(response: Response) -> dict[str, str]:
        if ready():
            return {"status": "ready"}
        response.status_code = 503
        return {"status": "not ready", "reason": "broker not connected"}

    if metrics:
        @router.get("/metrics", include_in_schema=False)
        async def metrics_endpoint() -> Response:
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
