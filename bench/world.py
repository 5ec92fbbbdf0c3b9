"""A throwaway woonox deployment for benchmarks: own prefix/schema, a sandbox process, tenants."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import aio_pika
import redis.asyncio as aioredis

from libs.cli.stack import Stack
from libs.common.crypto import generate_key
from libs.common.settings import CommonSettings
from libs.common.store.db import drop_schema, make_engine, make_sessionmaker
from libs.common.store.migrate import upgrade
from libs.common.topology import Topology
from tests.e2e.writer_stack import WriterWorld, make_world


@contextlib.asynccontextmanager
async def bench_world(tenants: list[str]) -> AsyncIterator[WriterWorld]:
    base = CommonSettings()
    prefix = "b" + uuid.uuid4().hex[:8]
    env = {"RABBITMQ_URL": base.rabbitmq_url, "REDIS_URL": base.redis_url, "DATABASE_URL": base.database_url,
           "WOONOX_BROKER_PREFIX": prefix, "WOONOX_REDIS_PREFIX": prefix, "WOONOX_DB_SCHEMA": prefix,
           "WOONOX_SECRET_KEYS": generate_key(), "WOONOX_LOG_LEVEL": "WARNING"}
    settings = CommonSettings(**{  # type: ignore[arg-type]
        "rabbitmq_url": base.rabbitmq_url, "redis_url": base.redis_url, "database_url": base.database_url,
        "broker_prefix": prefix, "redis_prefix": prefix, "db_schema": prefix, "secret_keys": env["WOONOX_SECRET_KEYS"]})
    topology = Topology(prefix)
    engine = make_engine(settings.database_url, prefix)
    redis = aioredis.from_url(settings.redis_url)
    world: WriterWorld | None = None
    # SIGTERM (a timeout, a ^C from a wrapper) unwinds through the clean-up below like ^C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        await upgrade(settings.database_url, prefix)
        await topology.declare_on(settings.rabbitmq_url)
        world = await make_world(settings, make_sessionmaker(engine), redis, env,
                                 Path(tempfile.mkdtemp(prefix="woonox-bench-")))
        yield world
    finally:
        # Leave nothing behind, even when set-up failed half-way (a broker that is down, say).
        if world is not None:
            world.stack.stop_all()
            await world.publisher.close()
            await world.http.aclose()
        with contextlib.suppress(Exception):
            connection = await asyncio.wait_for(aio_pika.connect(settings.rabbitmq_url), 30)
            async with connection:
                await topology.delete(await connection.channel(), tenants=tenants)
        async for key in redis.scan_iter(match=f"{prefix}:*"):
            await redis.delete(key)
        await redis.aclose()
        await engine.dispose()
        await drop_schema(settings.database_url, prefix)


def parse_at(entry: dict[str, object]) -> float:
    return datetime.fromisoformat(str(entry["at"])).timestamp()


async def until(predicate: object, timeout: float, poll: float = 0.2, stack: Stack | None = None) -> bool:
    """Poll `predicate` until true or `timeout`; with `stack`, stop at once if one of its processes died
    (on a shared machine something else may kill them; a benchmark should say so, not hang)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await predicate():  # type: ignore[operator]
            return True
        dead = [f"{n} (exit {p.popen.returncode})" for n, p in (stack.processes.items() if stack else ())
                if not p.alive()]
        if dead:
            raise RuntimeError(f"benchmark aborted: {', '.join(dead)} stopped by something else")
        await asyncio.sleep(poll)
    return False
