"""Looking at dead letters must not delete them: RabbitMQ >= 4.0 drops a quorum-queue message after
20 deliveries unless the queue's delivery limit says otherwise, and on 3.x each view is a delivery."""

from __future__ import annotations

import aio_pika

from libs.common.dead_letters import DeadLetter, DeadLetters
from libs.common.settings import CommonSettings
from libs.common.topology import DLQ_DELIVERY_LIMIT, MAPPER, Topology
from tests.integration.broker_helpers import wait_for


async def test_a_dead_letter_listed_30_times_is_still_there(settings: CommonSettings, topology: Topology) -> None:
    connection = await aio_pika.connect(settings.rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        await topology.declare(channel)
        # The broker holds the DLQ to an explicit limit: redeclaring with exactly these arguments is
        # accepted only if they are the queue's own (any other x-delivery-limit is PRECONDITION_FAILED).
        await channel.declare_queue(topology.dlq(MAPPER), durable=True, arguments=topology.dlq_arguments())
        await channel.default_exchange.publish(
            aio_pika.Message(b'{"id": 1}', message_id="dead-1", headers={"x-death-reason": "no SKU"}),
            routing_key=topology.dlq(MAPPER))
    letters: list[DeadLetter] = []
    async with DeadLetters(settings.rabbitmq_url, topology) as dl:

        async def listed() -> bool:
            # A returned message is back in the queue's count a moment after it was nacked.
            letters[:] = await dl.list()
            return len(letters) == 1

        for _ in range(30):
            await wait_for(listed, what="the dead letter, listed again")
    assert letters[0].id == "dead-1" and letters[0].reason == "no SKU"
    # Each view is at most one delivery (none on RabbitMQ 4.3+, which does not count a nack), and
    # the limit that would drop it is out of reach of any number of views.
    views = int(letters[0].headers.get("x-delivery-count", 0))
    assert views <= 30
    assert topology.dlq_arguments()["x-delivery-limit"] == DLQ_DELIVERY_LIMIT == 2**31 - 1


async def test_a_dlq_declared_without_the_limit_is_kept_and_still_read(settings: CommonSettings,
                                                                       topology: Topology) -> None:
    """An existing deployment's DLQ (no x-delivery-limit) makes redeclaration PRECONDITION_FAILED:
    declare keeps it, with its dead letters, and carries on with the rest of the topology."""
    connection = await aio_pika.connect(settings.rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(topology.dlq(MAPPER))  # the fixture declared today's
        old = {k: v for k, v in topology.dlq_arguments().items() if k != "x-delivery-limit"}
        await channel.declare_queue(topology.dlq(MAPPER), durable=True, arguments=old)
        await channel.default_exchange.publish(aio_pika.Message(b"{}", message_id="old-1"),
                                               routing_key=topology.dlq(MAPPER))
        await topology.declare(channel)
        assert not channel.is_closed
        tenant_groups = {topology.queue(g) for g in topology.groups if g.per_tenant}
        for queue in set(topology.all_queues()) - tenant_groups:
            await channel.declare_queue(queue, passive=True)  # everything after it was declared too
    async with DeadLetters(settings.rabbitmq_url, topology) as dl:

        async def listed() -> bool:
            return [d.id for d in await dl.list()] == ["old-1"]

        await wait_for(listed, what="the old DLQ's dead letter")
