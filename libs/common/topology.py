"""The broker topology, in one place.

RabbitMQ 3.10.8 on these machines (`rabbitmqctl version`). Features relied on, all present in 3.10:
quorum queues, `x-delivery-limit`, per-queue `x-message-ttl` on quorum queues (3.10+),
`x-dead-letter-strategy: at-least-once` (3.10+, needs `x-overflow: reject-publish`), and
single-active-consumer. Per-message TTL on quorum queues (3.12+) is *not* used: retry delays are
a ladder of queues with a fixed TTL each.

    <prefix>.events            topic exchange: every event and command, routing key = message type
    <prefix>.dlx               direct exchange: dead letters, routing key = the consumer group's queue
    <queue>                    quorum queue per consumer group, bound to the routing keys it reads
    <queue>.retry.<n>          quorum delay queue: TTL, then dead-letters back to <queue>
    <queue>.dlq                quorum queue of dead letters, read by `woonox dlq`
"""

from __future__ import annotations

from dataclasses import dataclass, field

import aio_pika
from aio_pika.abc import AbstractChannel, ExchangeType
from aiormq.abc import FieldTable

__all__ = ["ConsumerGroup", "Topology"]

# A message that makes its consumer crash (the process dies before ack) comes back; after this
# many deliveries RabbitMQ dead-letters it instead of letting it crash-loop the group.
DELIVERY_LIMIT = 20
# With reject-publish a full queue refuses new messages (the publisher gets a nack and ingest a
# 503) instead of silently dropping the oldest.
MAX_LENGTH = 1_000_000


@dataclass(frozen=True)
class ConsumerGroup:
    """One queue per consumer group (all replicas of a service share it)."""

    name: str
    bindings: tuple[str, ...]
    retry_delays: tuple[float, ...] = (1, 5, 30, 120, 600)
    max_attempts: int = 8
    single_active_consumer: bool = False


MAPPER = ConsumerGroup("mapper", ("woo.order.*", "woo.product.*", "woo.customer.*", "fortnox.article.*"))
FORTNOX_WRITER = ConsumerGroup("fortnox-writer", ("fortnox.command.*",))
WOO_WRITER = ConsumerGroup("woo-writer", ("woo.command.*",))
RESULTS = ConsumerGroup("results", ("fortnox.result.*",))


@dataclass(frozen=True)
class Topology:
    prefix: str = "woonox"
    groups: tuple[ConsumerGroup, ...] = field(default=(MAPPER, FORTNOX_WRITER, WOO_WRITER, RESULTS))

    @property
    def exchange(self) -> str:
        return f"{self.prefix}.events"

    @property
    def dlx(self) -> str:
        return f"{self.prefix}.dlx"

    def queue(self, group: ConsumerGroup | str) -> str:
        return f"{self.prefix}.{group if isinstance(group, str) else group.name}"

    def dlq(self, group: ConsumerGroup | str) -> str:
        return f"{self.queue(group)}.dlq"

    def retry_queue(self, group: ConsumerGroup, level: int) -> str:
        return f"{self.queue(group)}.retry.{level}"

    def group(self, name: str) -> ConsumerGroup:
        for g in self.groups:
            if g.name == name or self.queue(g) == name:
                return g
        raise KeyError(name)

    def all_queues(self) -> list[str]:
        names: list[str] = []
        for g in self.groups:
            names += [self.queue(g), self.dlq(g)]
            names += [self.retry_queue(g, i) for i in range(len(g.retry_delays))]
        return names

    def queue_arguments(self, group: ConsumerGroup) -> FieldTable:
        args: FieldTable = {
            "x-queue-type": "quorum",
            "x-dead-letter-exchange": self.dlx,
            "x-dead-letter-routing-key": self.queue(group),
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
            "x-max-length": MAX_LENGTH,
            "x-delivery-limit": DELIVERY_LIMIT,
        }
        if group.single_active_consumer:
            args["x-single-active-consumer"] = True
        return args

    async def declare(self, channel: AbstractChannel) -> None:
        """Declare everything; idempotent, so every service does it at start."""
        events = await channel.declare_exchange(self.exchange, ExchangeType.TOPIC, durable=True)
        dlx = await channel.declare_exchange(self.dlx, ExchangeType.DIRECT, durable=True)
        for group in self.groups:
            queue = await channel.declare_queue(
                self.queue(group), durable=True, arguments=self.queue_arguments(group)
            )
            for key in group.bindings:
                await queue.bind(events, routing_key=key)
            dlq = await channel.declare_queue(
                self.dlq(group),
                durable=True,
                arguments={"x-queue-type": "quorum", "x-overflow": "reject-publish", "x-max-length": MAX_LENGTH},
            )
            await dlq.bind(dlx, routing_key=self.queue(group))
            for level, delay in enumerate(group.retry_delays):
                await channel.declare_queue(
                    self.retry_queue(group, level),
                    durable=True,
                    arguments={
                        "x-queue-type": "quorum",
                        "x-message-ttl": int(delay * 1000),
                        # Expired messages go back to the group's queue through the default
                        # exchange, whose routing key is the queue name.
                        "x-dead-letter-exchange": "",
                        "x-dead-letter-routing-key": self.queue(group),
                        "x-dead-letter-strategy": "at-least-once",
                        "x-overflow": "reject-publish",
                        "x-max-length": MAX_LENGTH,
                    },
                )

    async def delete(self, channel: AbstractChannel) -> None:
        """Remove everything (tests clean up their own prefix with this)."""
        for name in self.all_queues():
            await channel.queue_delete(name)
        await channel.exchange_delete(self.exchange)
        await channel.exchange_delete(self.dlx)

    async def declare_on(self, url: str) -> None:
        connection = await aio_pika.connect(url)
        async with connection:
            await self.declare(await connection.channel())
