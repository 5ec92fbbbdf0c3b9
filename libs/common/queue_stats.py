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
from libs.common.topology import Topology

__all__ = ["GroupStats", "QueueStat", "group_stats", "queue_stats"]


class QueueStat(BaseModel):
    name: str
    exists: bool = True
    messages: int = 0
    consumers: int = 0


class GroupStats(BaseModel):
    """One consumer group: its queue, the messages waiting in its delay queues, its DLQ."""

    group: str
    queue: QueueStat
    retrying: int
    dead: QueueStat

    @property
    def exists(self) -> bool:
        return self.queue.exists


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


async def group_stats(url: str, topology: Topology) -> list[GroupStats]:
    stats = await queue_stats(url, topology.all_queues())
    out: list[GroupStats] = []
    for g in topology.groups:
        retry = [stats[topology.retry_queue(g, i)].messages for i in range(len(g.retry_delays))]
        out.append(GroupStats(group=g.name, queue=stats[topology.queue(g)], retrying=sum(retry),
                              dead=stats[topology.dlq(g)]))
    return out
