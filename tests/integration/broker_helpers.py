"""Reading queues in integration tests: bounded waits on conditions, never sleeps."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from libs.common import metrics
from libs.common.topology import ConsumerGroup, Topology


@contextlib.asynccontextmanager
async def tenant_queue(url: str, topology: Topology, group: ConsumerGroup, tenant: str) -> AsyncIterator[str]:
    """One tenant's queue of a per-tenant group, declared for a test and deleted after it."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        name = await topology.declare_tenant(channel, group, tenant)
        yield name
        await channel.queue_delete(name)


async def wait_for(condition: Callable[[], Awaitable[bool]], *, timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while True:
        if await condition():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        await asyncio.sleep(0.05)


async def drain(url: str, queue: str, *, expect: int, timeout: float = 20.0) -> list[AbstractIncomingMessage]:
    """Get `expect` messages from `queue` (acking them), waiting at most `timeout`."""
    got: list[AbstractIncomingMessage] = []
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        q = await channel.declare_queue(queue, passive=True)

        async def enough() -> bool:
            while len(got) < expect:
                message = await q.get(fail=False, no_ack=True)
                if message is None:
                    return False
                got.append(message)
            return True

        await wait_for(enough, timeout=timeout, what=f"{expect} messages in {queue} (got {len(got)})")
    return got


async def depth(url: str, queue: str) -> int:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        q = await channel.declare_queue(queue, passive=True)
        return int(q.declaration_result.message_count or 0)


def consumed(group: ConsumerGroup, tenant: str) -> float:
    """Messages this process's consumers of `group` finished for `tenant` (acked, retried or
    dead-lettered). A queue's ready count leaves out a message in a consumer's hands, so it cannot
    say that the work is done; read this before and after, and wait for the difference."""
    return sum(sample.value for metric in metrics.MESSAGES_CONSUMED.collect() for sample in metric.samples
               if sample.name.endswith("_total") and sample.labels["group"] == group.name
               and sample.labels["tenant"] == tenant)


def header(message: AbstractIncomingMessage, key: str) -> Any:
    value = (message.headers or {}).get(key)
    return value.decode() if isinstance(value, bytes) else value
