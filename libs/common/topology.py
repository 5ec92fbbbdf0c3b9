"""The broker topology, in one place.

RabbitMQ 3.10.8 on these machines (`rabbitmqctl version`). Features relied on, all present in 3.10:
quorum queues, `x-delivery-limit`, per-queue `x-message-ttl` on quorum queues (3.10+),
`x-dead-letter-strategy: at-least-once` (3.10+, needs `x-overflow: reject-publish`), and
single-active-consumer. Per-message TTL on quorum queues (3.12+) is *not* used: retry delays are
a ladder of queues with a fixed TTL each.

    <prefix>.events            topic exchange: every event and command, routing key = message type
    <prefix>.dlx               direct exchange: dead letters, routing key = the consumer group's queue
    <prefix>.return            headers exchange: brings a delayed retry back to the exact queue it
                               left (header `woonox-return-to`; RabbitMQ ignores `x-` headers there)
    <queue>                    quorum queue per consumer group, bound to the routing keys it reads
    <queue>.<tenant>           per-tenant quorum queue, for groups that must be fair across tenants
    <queue>.retry.<n>          quorum delay queue: TTL, then dead-letters to <prefix>.return
    <queue>.dlq                quorum queue of dead letters, read by `woonox dlq`; explicit delivery
                               limit of DLQ_DELIVERY_LIMIT (below)

Dead-letter queues and viewing them. AMQP cannot browse a queue: `woonox dlq list` and the status
page take each dead letter and give it back, and a quorum queue counts every such return in
`x-delivery-count` on 3.x (4.3+ no longer counts a `basic.nack` with requeue, which is how
libs.common.dead_letters gives them back). RabbitMQ >= 4.0 drops a quorum-queue message after 20
deliveries when the queue sets no limit, so viewing would delete dead letters. The DLQs therefore
set `x-delivery-limit` explicitly to DLQ_DELIVERY_LIMIT (2**31 - 1: unreachable by viewing). Not -1:
4.x reads -1 as "unlimited", but 3.10 accepts it and drops the message at its first return
(measured on 3.10.8). Not classic queues or streams: a classic queue is not replicated (4.x has no
mirroring) and dead letters are the record of what must still be booked; a stream cannot have one
message acked (replayed or purged) and the others kept.

Existing deployments: a DLQ declared before this argument existed cannot be redeclared with it
(PRECONDITION_FAILED). `declare` then keeps the queue as it is and logs `dlq_arguments_outdated`;
docs/operations/dead-letters.md ("DLQs declared before the delivery limit") gives the
migration: a `delivery-limit` policy on the old DLQs, or drain, delete and let a service redeclare.

Fairness (the fortnox-writer group): Fortnox allows each tenant 25 requests per 5 s, so a tenant
with a backlog is slow by necessity. If all tenants shared one queue, an idle shop's order would
wait behind the whole backlog. The writer group therefore has one queue per tenant
(`<prefix>.fortnox-writer.<tenant>`, routing key `fortnox.command.<kind>.<tenant>`), each
consumed with its own bounded prefetch: a backlog fills only its own queue. Retries and dead
letters stay shared per group (three queues, not three per tenant).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import aio_pika
import aiormq
import structlog
from aio_pika.abc import AbstractChannel, AbstractQueue, ExchangeType
from aiormq.abc import FieldTable

__all__ = ["DLQ_DELIVERY_LIMIT", "ConsumerGroup", "Topology"]

log = structlog.get_logger("woonox.topology")

# A message that makes its consumer crash (the process dies before ack) comes back; after this
# many deliveries RabbitMQ dead-letters it instead of letting it crash-loop the group.
DELIVERY_LIMIT = 20
# With reject-publish a full queue refuses new messages (the publisher gets a nack and ingest a
# 503) instead of silently dropping the oldest.
MAX_LENGTH = 1_000_000
RETURN_HEADER = "woonox-return-to"
# The largest signed 32-bit value: "unlimited" in a form every RabbitMQ version reads the same way.
DLQ_DELIVERY_LIMIT = 2**31 - 1


@dataclass(frozen=True)
class ConsumerGroup:
    """One queue per consumer group (all replicas of a service share it)."""

    name: str
    bindings: tuple[str, ...]
    retry_delays: tuple[float, ...] = (1, 5, 30, 120, 600)
    max_attempts: int = 8
    # Busy retries (another replica holds the object) come every few seconds and spend no attempt;
    # a claim is held at most ten minutes (services/fortnox_writer/ledger.py), so this many mean
    # something is wrong and an operator should look.
    max_busy: int = 300
    single_active_consumer: bool = False
    per_tenant: bool = False


MAPPER = ConsumerGroup("mapper", ("woo.order.*", "woo.product.*", "woo.customer.*", "fortnox.article.*"))
FORTNOX_WRITER = ConsumerGroup("fortnox-writer", ("fortnox.command.*.{tenant}",), per_tenant=True)
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

    @property
    def return_exchange(self) -> str:
        return f"{self.prefix}.return"

    def tenant_queue(self, group: ConsumerGroup, tenant: str) -> str:
        return f"{self.queue(group)}.{tenant}"

    def routing_key(self, message_type: str, tenant: str) -> str:
        """Commands to per-tenant groups carry the tenant in the routing key."""
        for group in self.groups:
            if group.per_tenant and any(_matches(b.replace(".{tenant}", ""), message_type) for b in group.bindings):
                return f"{message_type}.{tenant}"
        return message_type

    def per_tenant_groups_for(self, message_type: str) -> list[ConsumerGroup]:
        return [g for g in self.groups if g.per_tenant
                and any(_matches(b.replace(".{tenant}", ""), message_type) for b in g.bindings)]

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

    def dlq_arguments(self) -> FieldTable:
        return {"x-queue-type": "quorum", "x-overflow": "reject-publish", "x-max-length": MAX_LENGTH,
                "x-delivery-limit": DLQ_DELIVERY_LIMIT}

    async def _declare_dlq(self, channel: AbstractChannel, group: ConsumerGroup) -> AbstractQueue:
        name = self.dlq(group)
        try:
            return await channel.declare_queue(name, durable=True, arguments=self.dlq_arguments())
        except aiormq.exceptions.ChannelPreconditionFailed:
            # Declared by an older version without the delivery limit: keep it (its dead letters
            # stay), carry on, and tell the operator how to migrate (module docstring).
            log.warning("dlq_arguments_outdated", queue=name, missing="x-delivery-limit",
                        fix="docs/operations/dead-letters.md: DLQs declared before the delivery limit")
            await channel.reopen()
            return await channel.declare_queue(name, passive=True)

    async def _consumer_queue(self, channel: AbstractChannel, group: ConsumerGroup, name: str,
                              bindings: list[str]) -> None:
        queue = await channel.declare_queue(name, durable=True, arguments=self.queue_arguments(group))
        for key in bindings:
            await queue.bind(self.exchange, routing_key=key)
        await queue.bind(self.return_exchange, arguments={"x-match": "all", RETURN_HEADER: name})

    async def declare_tenant(self, channel: AbstractChannel, group: ConsumerGroup, tenant: str) -> str:
        """Declare one tenant's queue of a per-tenant group (idempotent)."""
        name = self.tenant_queue(group, tenant)
        await self._consumer_queue(channel, group, name, [b.format(tenant=tenant) for b in group.bindings])
        return name

    async def declare(self, channel: AbstractChannel) -> None:
        """Declare everything but tenant queues; idempotent, so every service does it at start."""
        await channel.declare_exchange(self.exchange, ExchangeType.TOPIC, durable=True)
        dlx = await channel.declare_exchange(self.dlx, ExchangeType.DIRECT, durable=True)
        await channel.declare_exchange(self.return_exchange, ExchangeType.HEADERS, durable=True)
        for group in self.groups:
            if not group.per_tenant:
                await self._consumer_queue(channel, group, self.queue(group), list(group.bindings))
            dlq = await self._declare_dlq(channel, group)
            await dlq.bind(dlx, routing_key=self.queue(group))
            for level, delay in enumerate(group.retry_delays):
                await channel.declare_queue(
                    self.retry_queue(group, level),
                    durable=True,
                    arguments={
                        "x-queue-type": "quorum",
                        "x-message-ttl": int(delay * 1000),
                        # Expired messages go back to the queue they came from, named in their
                        # RETURN_HEADER, through the headers exchange.
                        "x-dead-letter-exchange": self.return_exchange,
                        "x-dead-letter-strategy": "at-least-once",
                        "x-overflow": "reject-publish",
                        "x-max-length": MAX_LENGTH,
                    },
                )

    async def delete(self, channel: AbstractChannel, tenants: list[str] | tuple[str, ...] = ()) -> None:
        """Remove everything (tests clean up their own prefix with this)."""
        names = self.all_queues()
        for group in self.groups:
            if group.per_tenant:
                names.remove(self.queue(group))
                names += [self.tenant_queue(group, t) for t in tenants]
        for name in names:
            await channel.queue_delete(name)
        for exchange in (self.exchange, self.dlx, self.return_exchange):
            await channel.exchange_delete(exchange)

    async def declare_on(self, url: str) -> None:
        connection = await aio_pika.connect(url)
        async with connection:
            await self.declare(await connection.channel())


def _matches(pattern: str, key: str) -> bool:
    """AMQP topic matching for the patterns used here (`*` one word, `#` any words)."""
    p, k = pattern.split("."), key.split(".")
    if "#" in p:
        head = p[: p.index("#")]
        return len(k) >= len(head) and all(a in ("*", b) for a, b in zip(head, k, strict=False))
    return len(p) == len(k) and all(a in ("*", b) for a, b in zip(p, k, strict=True))
