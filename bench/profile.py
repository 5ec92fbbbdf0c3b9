"""Where a service's CPU goes under load: py-spy attached to the real process, top functions printed.

    python -m bench.profile writer [--seconds 20]   # 10 shops x 100 orders straight to one writer
    python -m bench.profile pipeline [--seconds 20]  # 4,000 signed webhooks: ingest and mapper at once
    python -m bench.profile handlers                 # the writer's handler in this process, no broker:
                                                     # 20 shops x 20 orders, CPU per command

Needs py-spy (dev extra) and permission to ptrace the services (same user, or root). Samples at
100 Hz without pausing the process (--nonblocking); shows, per function, the share of samples in
which it was on the stack (inclusive) and on top of it (self), idle event-loop waits left out.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import redis.asyncio as aioredis

from bench.pipeline import pipeline
from bench.webhooks import post_all
from bench.world import bench_world
from libs.cli.stack import Stack
from libs.common.crypto import generate_key
from libs.common.envelope import Envelope
from libs.common.settings import CommonSettings
from libs.common.store.db import drop_schema, make_engine, make_sessionmaker
from libs.common.store.migrate import upgrade
from tests.writer_harness import add_tenant, create_company, order_command, writer_handlers

# Which library a sample is in (a sample counts for each one on its stack). SQLAlchemy's async layer
# runs statements in greenlets, which py-spy shows as stacks of their own: shares by library are
# therefore truer than the inclusive share of a caller.
LIBRARIES = {"SQLAlchemy": ("sqlalchemy/",), "asyncpg": ("asyncpg/",),
             "httpx/httpcore/h11": ("httpx/", "httpcore/", "h11/"),
             "redis": ("redis/",), "pydantic": ("pydantic",), "structlog/logging": ("structlog/", "logging/"),
             "aio-pika/aiormq/FastStream": ("aio_pika/", "aiormq/", "pamqp/", "faststream/"),
             "Starlette/uvicorn": ("starlette/", "uvicorn/", "fastapi/"), "json": ("json/", "jsonmoney")}
IDLE = ("select (selectors.py", "_run_once (asyncio/base_events.py", "run_forever")


def spy(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    py_spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen([str(py_spy), "record", "--pid", str(pid), "--duration", str(int(seconds)),
                             "--rate", "100", "--nonblocking", "--format", "raw", "--output", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def top(folded: Path, title: str, n: int = 25) -> None:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = idle = 0
    for line in folded.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = stack.split(";")
        total += count
        if any(frames[-1].startswith(i) for i in IDLE):
            idle += count
            continue
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    busy = max(1, total - idle)
    print(f"\n{title}: {total} samples, {busy / max(1, total):.0%} busy (the rest waiting in the event loop)")
    print(f"{'incl.':>6} {'self':>6}  function (of the busy samples)")
    for frame, count in inclusive.most_common(n):
        print(f"{count / busy:>6.1%} {own[frame] / busy:>6.1%}  {frame[:150]}")
    libraries: collections.Counter[str] = collections.Counter()
    for line in folded.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        for name, needles in LIBRARIES.items():
            if any(n in stack for n in needles):
                libraries[name] += int(count_text)
    print("by library (share of busy samples with it on the stack):")
    for name, count in libraries.most_common():
        print(f"{count / busy:>6.1%}  {name}")
    print("top self time:")
    for frame, count in own.most_common(12):
        print(f"{count / busy:>6.1%}  {frame[:150]}")


async def writer(seconds: float) -> None:
    shops = [f"shop{i}" for i in range(10)]
    async with bench_world(shops) as world:
        for shop in shops:
            await world.tenant(shop)
        world.start_writers(1)
        out = Path(tempfile.mkstemp(suffix=".folded")[1])
        await world.publish([order_command(s, i, email="regular@example.se") for i in range(100) for s in shops])
        proc = spy(world.stack.processes["writer-0"].popen.pid, seconds, out)
        await asyncio.to_thread(proc.wait)
        top(out, "fortnox-writer, 10 shops draining 100 orders each")


async def ingest_and_mapper(seconds: float) -> None:
    async with pipeline(["shop"]) as p:
        outs = {name: Path(tempfile.mkstemp(suffix=".folded")[1]) for name in ("ingest", "mapper")}
        procs = [spy(p.world.stack.processes[name].popen.pid, seconds, out) for name, out in outs.items()]
        await post_all(p.ingest_port, p.deliveries("shop", range(1, 4001), email="regular@example.se"))
        for proc in procs:
            await asyncio.to_thread(proc.wait)
        for name, out in outs.items():
            top(out, f"{name}, 4,000 signed order webhooks")


async def handlers(seconds: float) -> None:
    """The writer's own work per command without RabbitMQ (consume/ack excluded): handle() called
    directly, 40 at a time, against the sandbox process, Redis and PostgreSQL."""
    shops = [f"shop{i}" for i in range(20)]
    base = CommonSettings()
    prefix = "p" + uuid.uuid4().hex[:8]
    settings = CommonSettings(**{  # type: ignore[arg-type]
        "rabbitmq_url": base.rabbitmq_url, "redis_url": base.redis_url, "database_url": base.database_url,
        "broker_prefix": prefix, "redis_prefix": prefix, "db_schema": prefix, "secret_keys": generate_key()})
    await upgrade(settings.database_url, prefix)
    engine = make_engine(settings.database_url, prefix)
    sessions = make_sessionmaker(engine)
    redis = aioredis.from_url(settings.redis_url)
    stack = Stack({"WOONOX_LOG_LEVEL": "WARNING"}, Path(tempfile.mkdtemp(prefix="woonox-profile-")))
    http = httpx.AsyncClient()
    try:
        stack.start("sandbox", "woonox-sandbox")
        stack.wait_ready("sandbox", path="/healthz")
        for shop in shops:
            company = await create_company(http, stack.processes["sandbox"].url)
            await add_tenant(sessions, settings, redis, http, stack.processes["sandbox"].url, shop, company)
        handler = writer_handlers(sessions, settings, redis, http)
        envelopes = [Envelope.new(tenant=c.tenant, type="fortnox.command.document", body=c.to_body())
                     for c in (order_command(s, i, email="regular@example.se") for i in range(21) for s in shops)]
        for envelope in envelopes[:len(shops)]:  # warm: customers exist, as for a running shop
            await handler.handle(envelope)
        out = Path(tempfile.mkstemp(suffix=".folded")[1])
        proc = spy(os.getpid(), seconds, out)
        await asyncio.sleep(1)  # py-spy attaches
        sem = asyncio.Semaphore(40)

        async def one(envelope: Envelope) -> None:
            async with sem:
                await handler.handle(envelope)

        cpu, wall = time.process_time(), time.perf_counter()
        rest = envelopes[len(shops):]
        await asyncio.gather(*(one(e) for e in rest))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        await asyncio.to_thread(proc.wait)
        print(f"{len(rest)} commands in {wall:.1f} s: {cpu / len(rest) * 1000:.1f} ms of this process's CPU per "
              f"command ({cpu / wall:.2f} cores); the sandbox and servers not counted")
        top(out, "fortnox-writer's handle(), in process")
    finally:
        stack.stop_all()
        await http.aclose()
        async for key in redis.scan_iter(match=f"{prefix}:*"):
            await redis.delete(key)
        await redis.aclose()
        await engine.dispose()
        await drop_schema(settings.database_url, prefix)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("target", choices=["writer", "pipeline", "handlers"])
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    targets = {"writer": writer, "pipeline": ingest_and_mapper, "handlers": handlers}
    asyncio.run(targets[args.target](args.seconds))


if __name__ == "__main__":
    main()
