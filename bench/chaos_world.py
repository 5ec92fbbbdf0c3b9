"""The deployment a chaos run works on: its own broker prefix, Redis prefix and schema, the sandbox,
ingest, mapper, writers and poller as processes (their real console scripts), and one shop per
tenant from the load generator. Torn down completely afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import redis.asyncio as aioredis
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bench.loadgen import SHOP_SETTINGS, ShopLoad
from libs.cli.private_servers import PrivateRabbit, PrivateServers
from libs.cli.private_servers import resolve as resolve_servers
from libs.cli.stack import Stack, free_port
from libs.common.crypto import SecretBox, generate_key
from libs.common.fortnox.ratelimit import RateLimiter
from libs.common.fortnox.tokens import TokenManager
from libs.common.settings import CommonSettings
from libs.common.store.db import drop_schema, make_engine, make_sessionmaker
from libs.common.store.migrate import upgrade
from libs.common.store.models import FortnoxToken
from libs.common.store.tenants import TenantNew, TenantStore
from libs.common.topology import Topology
from tests.writer_harness import SandboxCompany, create_company

__all__ = ["ChaosWorld", "chaos_world"]

# Writers give up on a hung Fortnox call after 5 s, so a claim lease of 8 s frees a killed writer's
# orders quickly (the same as tests/e2e/test_writer_chaos.py).
WRITER_ENV = {"WOONOX_HTTP_TIMEOUT": "5", "WOONOX_CLAIM_LEASE_MS": "8000"}
SCRIPTS = {"ingest": "woonox-ingest", "mapper": "woonox-mapper", "poller": "woonox-poller"}


@dataclass
class ChaosWorld:
    settings: CommonSettings
    env: dict[str, str]
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: aioredis.Redis
    stack: Stack
    http: httpx.AsyncClient
    topology: Topology
    shop_port: int
    ingest_port: int
    backfill_seconds: float
    rabbit: PrivateRabbit  # the run's own node: the only broker chaos stops and starts
    companies: dict[str, SandboxCompany] = field(default_factory=dict)
    shops: dict[str, ShopLoad] = field(default_factory=dict)
    extra: dict[str, dict[str, str]] = field(default_factory=dict)  # process name -> its own env
    scripts: dict[str, str] = field(default_factory=dict)  # process name -> console script
    crashed: list[str] = field(default_factory=list)  # processes found dead that chaos did not kill
    restart_failures: list[str] = field(default_factory=list)  # killed processes that did not come back

    @property
    def limiter(self) -> RateLimiter:
        """woonox's own Fortnox rate limiter, for the harness's calls to Fortnox."""
        return RateLimiter(self.redis, self.settings.redis_prefix)

    @property
    def sandbox_url(self) -> str:
        return self.stack.processes["sandbox"].url

    @property
    def ingest_url(self) -> str:
        return f"http://127.0.0.1:{self.ingest_port}"

    async def start(self, name: str, script: str, env: dict[str, str] | None = None, port: int | None = None,
                    path: str = "/readyz") -> None:
        self.scripts[name], self.extra[name] = script, env or {}
        self.stack.start(name, script, extra_env=self.extra[name], port=port)
        await asyncio.to_thread(self.stack.wait_ready, name, 90, path)

    async def restart(self, name: str) -> None:
        """Start a (killed) process again with the same script, environment and port."""
        await self.start(name, self.scripts[name], self.extra[name], self.stack.processes[name].port)

    async def ensure_running(self) -> None:
        for name, proc in list(self.stack.processes.items()):
            if not proc.alive():
                self.crashed.append(f"{name} (exit {proc.popen.returncode})")
                await self.restart(name)

    async def add_tenant(self, tenant: str, load: ShopLoad) -> None:
        company = await create_company(self.http, self.sandbox_url, name=f"{tenant} AB")
        box = SecretBox(self.settings.secret_keys.get_secret_value())
        await TenantStore(self.sessions, box).add(TenantNew(
            id=tenant, shop_url=load.shop.url, webhook_secret=SecretStr(load.webhook_secret),
            woo_consumer_key=SecretStr(load.shop.consumer_key),
            woo_consumer_secret=SecretStr(load.shop.consumer_secret),
            fortnox_api_url=self.sandbox_url, fortnox_auth_url=self.sandbox_url,
            fortnox_client_id=company.client_id, fortnox_client_secret=SecretStr(company.client_secret),
            settings=SHOP_SETTINGS))
        # The shops take Klarna (the default settings map it to mode of payment KLARNA), which a new
        # Fortnox company does not have until the merchant adds it, as here. The call counts against
        # the tenant's 25 per 5 s like the writers' own, so it takes a slot of woonox's limiter: the
        # window check of the journal then measures every request, the harness's included.
        async with self.limiter.slot(company.client_id, tenant, hold=60):
            r = await self.http.post(f"{self.sandbox_url}/3/modesofpayments", json={"ModeOfPayment": {
                "Code": "KLARNA", "Description": "Klarna", "AccountNumber": "1580"}},
                headers={"Authorization": f"Bearer {company.access_token}"}, timeout=60)
        r.raise_for_status()
        await TokenManager(self.sessions, self.redis, box, self.http, self.settings.redis_prefix).store(
            tenant, company.access_token, company.refresh_token, company.expires_in, company.scope)
        self.companies[tenant], self.shops[tenant] = company, load

    async def start_services(self, writers: int) -> None:
        await self.start("ingest", SCRIPTS["ingest"], port=self.ingest_port)
        await self.start("mapper", SCRIPTS["mapper"])
        for i in range(writers):
            await self.start(f"writer-{i}", "woonox-writer", WRITER_ENV)
        port = free_port()
        await self.start("poller", SCRIPTS["poller"], {
            "WOONOX_POLLER_PORT": str(port), "WOONOX_BACKFILL_INTERVAL_SECONDS": str(self.backfill_seconds),
        }, port=port)

    async def token_secrets(self) -> tuple[list[str], dict[str, int]]:
        """Every tenant's current Fortnox token pair (decrypted from the store of record, never
        refreshed by asking) and how many pairs each tenant's record has held (its generation)."""
        box = SecretBox(self.settings.secret_keys.get_secret_value())
        found: list[str] = []
        generations: dict[str, int] = {}
        async with self.sessions() as session:
            for row in (await session.execute(select(FortnoxToken))).scalars():
                found += [box.decrypt(enc) for enc in (row.access_token_enc, row.refresh_token_enc) if enc]
                generations[row.tenant_id] = row.generation
        return found, generations

    async def state(self, tenant: str) -> dict[str, list[dict[str, Any]]]:
        number = self.companies[tenant].database_number
        r = await self.http.get(f"{self.sandbox_url}/_sandbox/companies/{number}/state", timeout=120)
        r.raise_for_status()
        return dict(r.json()["resources"])

    async def journal(self, **params: Any) -> list[dict[str, Any]]:
        r = await self.http.get(f"{self.sandbox_url}/_sandbox/journal", params=params, timeout=300)
        r.raise_for_status()
        return list(r.json()["entries"])


@contextlib.asynccontextmanager
async def chaos_world(log_dir: Path, *, seed: int, backfill_seconds: float) -> AsyncIterator[ChaosWorld]:
    """The run's RabbitMQ and Redis are its own (started here, removed afterwards): chaos stops the
    broker and flushes Redis, which it may do only to servers it started. PostgreSQL is the given
    one (or a private one where none answers), with the run's own schema; no fault touches it."""
    own = PrivateServers()
    try:
        await asyncio.to_thread(own.start, "redis")
        await asyncio.to_thread(own.start, "rabbitmq")
        database = await asyncio.to_thread(resolve_servers)
        try:
            async with _chaos_world(log_dir, own, database.urls["DATABASE_URL"], seed=seed,
                                    backfill_seconds=backfill_seconds) as world:
                yield world
        finally:
            await asyncio.to_thread(database.close)
    finally:
        await asyncio.to_thread(own.close)


@contextlib.asynccontextmanager
async def _chaos_world(log_dir: Path, own: PrivateServers, database_url: str, *, seed: int,
                       backfill_seconds: float) -> AsyncIterator[ChaosWorld]:
    assert own.rabbit is not None and own.redis is not None
    base = CommonSettings(**{  # type: ignore[arg-type]
        "rabbitmq_url": own.rabbit.url, "redis_url": own.redis.url, "database_url": database_url})
    prefix = "c" + uuid.uuid4().hex[:8]
    key = generate_key()
    env = {"RABBITMQ_URL": base.rabbitmq_url, "REDIS_URL": base.redis_url, "DATABASE_URL": base.database_url,
           "WOONOX_BROKER_PREFIX": prefix, "WOONOX_REDIS_PREFIX": prefix, "WOONOX_DB_SCHEMA": prefix,
           "WOONOX_SECRET_KEYS": key, "WOONOX_LOG_LEVEL": "INFO", "WOONOX_SANDBOX_FAULT_SEED": str(seed)}
    settings = CommonSettings(**{  # type: ignore[arg-type]
        "rabbitmq_url": base.rabbitmq_url, "redis_url": base.redis_url, "database_url": base.database_url,
        "broker_prefix": prefix, "redis_prefix": prefix, "db_schema": prefix, "secret_keys": key})
    await upgrade(settings.database_url, prefix)
    topology = Topology(prefix)
    try:
        await asyncio.wait_for(topology.declare_on(settings.rabbitmq_url), 60)
    except TimeoutError as exc:
        raise RuntimeError(f"RabbitMQ at {settings.rabbitmq_url} does not answer: no chaos run possible") from exc
    engine = make_engine(settings.database_url, prefix)
    redis = aioredis.from_url(settings.redis_url)
    http = httpx.AsyncClient(timeout=60)
    world = ChaosWorld(settings, env, engine, make_sessionmaker(engine), redis, Stack(env, log_dir), http,
                       topology, free_port(), free_port(), backfill_seconds, own.rabbit)
    try:
        await world.limiter.fresh_start()  # a new deployment: nothing sent yet, so no window to wait out
        await world.start("sandbox", "woonox-sandbox", path="/healthz")
        yield world
    finally:
        await asyncio.to_thread(world.stack.stop_all)
        await http.aclose()
        try:  # bounded: a broker that stopped answering must not hang the run or hide its outcome
            await asyncio.wait_for(_delete_topology(settings.rabbitmq_url, topology, list(world.companies)), 120)
        except Exception as exc:  # reported; the rest of the clean-up still runs
            print(f"chaos: could not delete the broker topology {prefix}.*: {exc!r}", flush=True)
        async for k in redis.scan_iter(match=f"{prefix}:*"):
            await redis.delete(k)
        await redis.aclose()
        await engine.dispose()
        await drop_schema(settings.database_url, prefix)


async def _delete_topology(url: str, topology: Topology, tenants: list[str]) -> None:
    connection = await aio_pika.connect(url, timeout=30)
    async with connection:
        await topology.delete(await connection.channel(), tenants=tenants)
