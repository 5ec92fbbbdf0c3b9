"""Looking at dead letters must not delete them: RabbitMQ >= 4.0 drops a quorum-queue message after
20 deliveries unless the queue's delivery limit says otherwise, and each view is a delivery."""

from __future__ import annotations

import aio_pika

from libs.common.dead_letters import DeadLetter, DeadLetters
from libs.common.settings import CommonSettings
from libs.common.topology import MAPPER, Topology
from tests.integration.broker_helpers import wait_for


async def test_a_dead_letter_listed_30_times_is_still_there(settings: CommonSettings, topology: Topology) -> None:
    connection = await aio_pika.connect(settings.rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        await topology.declare(channel)
        await channel.default_exchange.publish(
            aio_pika.Message(b'{"id": 1}', message_id="dead-1", headers={"x-death-reason": "no SKU"}),
            routing_key=topology.dlq(MAPPER))
    letters: list[DeadLetter] = []
    async with DeadLetters(settings.rabbitmq_url, topology) as dl:

        async def listed() -> bool:
            # A returned message is back in the queue's count a moment after its channel closed.
            letters[:] = await dl.list()
            return len(letters) == 1

        for _ in range(30):
            await wait_for(listed, what="the dead letter, listed again")
    assert letters[0].id == "dead-1" and letters[0].reason == "no SKU"
    # Past RabbitMQ's default limit of 20 and still kept.
    assert int(letters[0].headers.get("x-delivery-count", 0)) >= 29
