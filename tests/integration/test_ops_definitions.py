"""The definitions file agrees with a real RabbitMQ: queues declared from it (under this test's
prefix) are accepted by `Topology.declare` unchanged — any differing argument would make RabbitMQ
refuse the redeclaration with PRECONDITION_FAILED."""

from __future__ import annotations

import json

import aio_pika
from aio_pika.abc import ExchangeType

from libs.common.settings import CommonSettings
from libs.common.topology import Topology
from scripts.rabbitmq_definitions import DEFINITIONS


async def test_topology_redeclares_the_definitions_without_conflict(settings: CommonSettings) -> None:
    prefix = settings.broker_prefix
    text = DEFINITIONS.read_text().replace('"woonox.', f'"{prefix}.')
    defs = json.loads(text)
    topology = Topology(prefix)
    connection = await aio_pika.connect(settings.rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        try:
            for e in defs["exchanges"]:
                await channel.declare_exchange(e["name"], ExchangeType(e["type"]), durable=e["durable"])
            for q in defs["queues"]:
                await channel.declare_queue(q["name"], durable=q["durable"], arguments=q["arguments"])
            for b in defs["bindings"]:
                queue = await channel.get_queue(b["destination"])
                await queue.bind(b["source"], routing_key=b["routing_key"], arguments=b["arguments"] or None)
            await topology.declare(channel)  # raises ChannelPreconditionFailed on any difference
        finally:
            await topology.delete(await connection.channel())
