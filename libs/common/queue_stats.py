"""Queue depths without the management plugin (it is not enabled on these machines): a passive
queue.declare answers with the queue's ready-message and consumer counts.

A passive declare of a missing queue closes the channel (404), so each miss costs a new channel;
a missing queue is reported as such, not as an error, because `woonox status` must work on a half
deployed stack.
"""

from __future__ import annotations

import aio_pika
import aiormq
from pydantic import BaseModel

from libs.common import metrics
from libs.common.topology import ConsumerGroup, Topology

__all__ = ["GroupStats", "QueueStat", "group_stats", "queue_stats"]


class QueueStat(BaseModel):
    name: str
    exists: bool = True
    messages: int = 0
    consumers: int = 0


class GroupStats(BaseModel):
    """One consumer group: its queue (or, for a per-tenant group, the sum of its tenants' queues),
    the messages waiting in its delay queues, its DLQ."""

    group: str
    queue: QueueStat
    retrying: int
    dead: QueueStat
    tenant_queues: list[QueueStat] = []


async def queue_stats(url: str, names: list[str]) -> dict[str, QueueStat]:
    found: dict[str, QueueStat] = {}
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        for name in names:
            try:
                declared = await channel.declare_queue(name, passive=True)
            except aiormq.exceptions.ChannelNotFoundEntity:
                found[name] = QueueStat(name=name, exists=False)
                channel = await connection.channel()
                continue
            result = declared.declaration_result
            found[name] = QueueStat(name=name, messages=int(result.message_count or 0),
                                    consumers=int(result.consumer_count or 0))
            metrics.QUEUE_DEPTH.labels(name).set(found[name].messages)
    return found


def _per_tenant(topology: Topology, group: ConsumerGroup, tenants: list[str]) -> list[str]:
    # Groups that are fair across tenants have a queue per tenant (topology.py, "Fairness").
    if not getattr(group, "per_tenant", False):
        return []
    return [f"{topology.queue(group)}.{t}" for t in tenants]


async def group_stats(url: str, topology: Topology, tenants: list[str] | None = None) -> list[GroupStats]:
    """Every group's depths; `tenants` names the tenant queues of per-tenant groups."""
    tenants = tenants or []
    names = topology.all_queues() + [n for g in topology.groups for n in _per_tenant(topology, g, tenants)]
    stats = await queue_stats(url, names)
    out: list[GroupStats] = []
    for g in topology.groups:
        retry = [stats[topology.retry_queue(g, i)].messages for i in range(len(g.retry_delays))]
        per_tenant = [stats[n] for n in _per_tenant(topology, g, tenants)]
        queue = stats[topology.queue(g)]
        if getattr(g, "per_tenant", False):
            existing = [q for q in per_tenant if q.exists]
            queue = QueueStat(name=f"{topology.queue(g)}.<tenant>", exists=bool(existing),
                              messages=sum(q.messages for q in existing),
                              consumers=sum(q.consumers for q in existing))
        out.append(GroupStats(group=g.name, queue=queue, retrying=sum(retry), dead=stats[topology.dlq(g)],
                              tenant_queues=per_tenant))
    return out
