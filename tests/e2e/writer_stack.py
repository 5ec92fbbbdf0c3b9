"""Writers as separate processes against the sandbox process, real RabbitMQ, Redis and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.cli.stack import Stack
from libs.common.commands import DocumentCommand
from libs.common.envelope import Envelope, deterministic_id
from libs.common.publisher import Publisher
from libs.common.settings import CommonSettings
from libs.common.store.models import Booking
from libs.common.topology import Topology
from tests.writer_harness import SandboxCompany, add_tenant, create_company

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class WriterWorld:
    settings: CommonSettings
    sessions: async_sessionmaker[AsyncSession]
    redis: aioredis.Redis
    stack: Stack
    http: httpx.AsyncClient
    publisher: Publisher

    @property
    def sandbox_url(self) -> str:
        return self.stack.processes["sandbox"].url

    async def tenant(self, tenant_id: str, **kwargs: Any) -> SandboxCompany:
        company = await create_company(self.http, self.sandbox_url, **kwargs)
        await add_tenant(self.sessions, self.settings, self.redis, self.http, self.sandbox_url, tenant_id, company)
        return company

    def start_writers(self, n: int, first: int = 0, env: dict[str, str] | None = None) -> list[str]:
        names = [f"writer-{i}" for i in range(first, first + n)]
        for name in names:
            self.stack.start(name, "woonox-writer", extra_env=env or {})
        for name in names:
            self.stack.wait_ready(name, timeout=60)
        return names

    async def publish(self, commands: list[DocumentCommand], *, concurrency: int = 50) -> None:
        sem = asyncio.Semaphore(concurrency)

        async def one(cmd: DocumentCommand) -> None:
            async with sem:
                await self.publisher.publish(Envelope.new(
                    tenant=cmd.tenant, type="fortnox.command.document", body=cmd.to_body(),
                    id=deterministic_id(cmd.tenant, cmd.woo_order_id, cmd.snapshot_modified.isoformat())))

        await asyncio.gather(*(one(c) for c in commands))

    async def booked(self, tenant: str) -> int:
        async with self.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(Booking).where(
                Booking.tenant_id == tenant, Booking.woo_resource == "order", Booking.kind == "order",
                Booking.snapshot_hash.is_not(None))) or 0)

    async def snapshots(self, tenant: str) -> dict[str, datetime | None]:
        async with self.sessions() as session:
            rows = (await session.execute(select(Booking.woo_id, Booking.snapshot_modified).where(
                Booking.tenant_id == tenant, Booking.woo_resource == "order", Booking.kind == "order"))).all()
            return {r[0]: r[1] for r in rows}

    async def journal(self, database_number: int | None = None) -> list[dict[str, Any]]:
        params = {"database_number": database_number} if database_number else {}
        r = await self.http.get(f"{self.sandbox_url}/_sandbox/journal", params=params, timeout=60)
        r.raise_for_status()
        return list(r.json()["entries"])

    async def documents(self, company: SandboxCompany, resource: str = "orders") -> list[dict[str, Any]]:
        r = await self.http.get(f"{self.sandbox_url}/_sandbox/companies/{company.database_number}/state", timeout=60)
        r.raise_for_status()
        return list(r.json()["resources"].get(resource, []))


async def wait_until(condition: Callable[[], Awaitable[bool]], *, timeout: float, what: str,
                     world: WriterWorld | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            logs = ""
            if world is not None:
                logs = "\n".join(f"--- {n}\n{p.log()[-2000:]}" for n, p in world.stack.processes.items())
            raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{logs}")
        await asyncio.sleep(0.5)


def max_in_window(times: list[datetime], window: float = 5.0) -> int:
    """The most requests in any `window`-second sliding window."""
    ts = sorted(t.timestamp() for t in times)
    best, j = 0, 0
    for i, t in enumerate(ts):
        while ts[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


def shuffled_triples(commands: list[DocumentCommand], seed: int = 7) -> list[DocumentCommand]:
    """Each command three times, in a shuffled order (duplicates and reordering)."""
    out = [c for c in commands for _ in range(3)]
    random.Random(seed).shuffle(out)
    return out


async def make_world(settings: CommonSettings, sessions: async_sessionmaker[AsyncSession], redis: aioredis.Redis,
                     service_env: dict[str, str], log_dir: Path, *, sandbox_env: dict[str, str] | None = None
                     ) -> WriterWorld:
    stack = Stack(service_env, log_dir)
    stack.start("sandbox", "woonox-sandbox", extra_env=sandbox_env or {})
    stack.wait_ready("sandbox", path="/healthz")
    publisher = Publisher(settings.rabbitmq_url, Topology(settings.broker_prefix))
    await publisher.connect()
    return WriterWorld(settings, sessions, redis, stack, httpx.AsyncClient(), publisher)


async def close_world(world: WriterWorld) -> None:
    world.stack.stop_all()
    await world.publisher.close()
    await world.http.aclose()
