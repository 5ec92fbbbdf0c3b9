"""Foundation acceptance: killing the mapper while events are queued loses nothing; restarted, it
processes them all (at least once: a redelivered event yields the same command id)."""

from __future__ import annotations

import json

import aio_pika

from libs.common.envelope import Envelope, deterministic_id
from libs.common.topology import FORTNOX_WRITER
from tests.e2e.writer_stack import WriterWorld, wait_until
from tests.fixtures import example_path
from tests.integration.broker_helpers import depth
from tests.writer_harness import add_tenant, create_company


async def test_killed_mapper_loses_nothing(world: WriterWorld) -> None:
    company = await create_company(world.http, world.sandbox_url)
    await add_tenant(world.sessions, world.settings, world.redis, world.http, world.sandbox_url, "shop-m", company)
    template = json.loads(example_path("se-private-mixed-vat.json").read_text())
    # Enough events that the mapper is still at work when it is killed: its ~1 ms per event against
    # the test's polls of a few ms leaves a wide margin on a fast machine (300 were all mapped first).
    n = 2000
    for i in range(n):
        order = {**template, "id": 50_000 + i}
        await world.publisher.publish(Envelope.new(
            tenant="shop-m", type="woo.order.created", payload=order,
            id=deterministic_id("shop-m", "order", order["id"], order["date_modified_gmt"])))
    topology = world.publisher.topology
    queue = topology.tenant_queue(FORTNOX_WRITER, "shop-m")
    url = world.settings.rabbitmq_url

    world.stack.start("mapper", "woonox-mapper")

    async def some_mapped() -> bool:
        try:
            return await depth(url, queue) >= 20
        except Exception:  # the queue is declared by the mapper's first publish
            return False

    await wait_until(some_mapped, timeout=60, what="the mapper to get going", world=world)
    world.stack.kill("mapper")  # SIGKILL: no graceful shutdown, unacked events go back to the queue
    assert await depth(url, queue) < n, "the mapper finished before it was killed: the test proves nothing"

    world.stack.start("mapper-again", "woonox-mapper")

    # Done means n distinct commands, read from the writer's queue as they come: the mapper queue's
    # ready count leaves out events the restarted mapper still holds unacked, so it is no proof.
    ids: set[str] = set()
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        commands = await channel.declare_queue(queue, passive=True)

        async def all_mapped() -> bool:
            while (message := await commands.get(fail=False, no_ack=True)) is not None:
                ids.add(str(message.message_id))
            return len(ids) >= n

        await wait_until(all_mapped, timeout=180, what=f"{n} distinct commands", world=world)
    assert len(ids) == n
    assert await depth(url, topology.dlq("mapper")) == 0
