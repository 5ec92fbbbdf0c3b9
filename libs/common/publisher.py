"""Publishing with the guarantees woonox needs: confirmed, mandatory, persistent.

A publish returns only when RabbitMQ has confirmed it; an unroutable message (mandatory + return)
or a refused one (nack, e.g. `x-overflow: reject-publish` on a full queue) raises a
`TransientError`, so the caller answers 503 or retries instead of believing the message is safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import AbstractExchange, AbstractRobustChannel, AbstractRobustConnection

from libs.common.envelope import Envelope
from libs.common.errors import TransientError
from libs.common.topology import Topology

__all__ = ["Publisher"]

PUBLISH_TIMEOUT = 10.0


class Publisher:
    def __init__(self, url: str, topology: Topology) -> None:
        self._url = url
        self.topology = topology
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        self._tenant_queues: set[tuple[str, str]] = set()

    async def connect(self, *, declare: bool = True) -> None:
        try:
            connection = await aio_pika.connect_robust(self._url)
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            if declare:
                await self.topology.declare(channel)
            exchanges = {
                self.topology.exchange: await channel.get_exchange(self.topology.exchange),
                self.topology.dlx: await channel.get_exchange(self.topology.dlx),
                "": channel.default_exchange,
            }
        except (aiormq.exceptions.AMQPError, OSError, ConnectionError) as exc:
            raise TransientError(f"cannot reach RabbitMQ: {exc!r}", code="broker-unavailable") from exc
        # Only now is the publisher usable: `connected` must not be true before the topology is.
        self._connection, self._channel, self._exchanges = connection, channel, exchanges

    @property
    def connected(self) -> bool:
        return bool(self._connection and not self._connection.is_closed and self._channel
                    and not self._channel.is_closed)

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def _ensure_tenant_queues(self, envelope: Envelope) -> None:
        """A per-tenant group's queue must exist before its first command (mandatory publish)."""
        for group in self.topology.per_tenant_groups_for(envelope.type):
            if (group.name, envelope.tenant) in self._tenant_queues:
                continue
            if self._channel is None:
                raise TransientError("publisher is not connected", code="broker-unavailable")
            try:
                await self.topology.declare_tenant(self._channel, group, envelope.tenant)
            except (aiormq.exceptions.AMQPError, OSError, ConnectionError) as exc:
                raise TransientError(f"cannot declare tenant queue: {exc!r}", code="broker-unavailable") from exc
            self._tenant_queues.add((group.name, envelope.tenant))

    async def publish(self, envelope: Envelope) -> None:
        """Publish an event or command to the events exchange, routed by its type (and tenant)."""
        await self._ensure_tenant_queues(envelope)
        await self.publish_raw(
            body=envelope.body,
            exchange=self.topology.exchange,
            routing_key=self.topology.routing_key(envelope.type, envelope.tenant),
            message_id=envelope.id,
            correlation_id=envelope.correlation_id,
            message_type=envelope.type,
            timestamp=envelope.occurred_at,
            headers=envelope.amqp_headers(),
        )

    async def publish_raw(
        self,
        *,
        body: bytes,
        exchange: str,
        routing_key: str,
        headers: Mapping[str, Any],
        message_id: str | None = None,
        correlation_id: str | None = None,
        message_type: str | None = None,
        timestamp: Any = None,
    ) -> None:
        if not self._exchanges:
            raise TransientError("publisher is not connected", code="broker-unavailable")
        message = aio_pika.Message(
            body=body,
            headers=dict(headers),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message_id,
            correlation_id=correlation_id,
            type=message_type,
            timestamp=timestamp,
        )
        try:
            confirmation = await self._exchanges[exchange].publish(
                message, routing_key=routing_key, mandatory=True, timeout=PUBLISH_TIMEOUT
            )
        except aiormq.exceptions.PublishError as exc:
            raise TransientError(
                f"RabbitMQ returned the message: no queue is bound to {routing_key!r} on {exchange!r}",
                code="unroutable",
            ) from exc
        except aiormq.exceptions.DeliveryError as exc:
            raise TransientError(
                f"RabbitMQ refused the message for {routing_key!r} (queue full or unavailable)",
                code="publish-nacked",
            ) from exc
        except (TimeoutError, aiormq.exceptions.AMQPError, OSError, ConnectionError, RuntimeError) as exc:
            raise TransientError(f"publish to RabbitMQ failed: {exc!r}", code="broker-unavailable") from exc
        if not isinstance(confirmation, aiormq.spec.Basic.Ack):
            raise TransientError(f"RabbitMQ did not confirm the publish: {confirmation!r}", code="publish-nacked")
