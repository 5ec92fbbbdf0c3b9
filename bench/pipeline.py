"""The whole pipeline for benchmarks: the sandbox, ingest, mapper and fortnox-writer(s) as processes,
tenants with a webhook secret, and readers of what Fortnox saw (the sandbox journal), of queue depths
and of each process's memory and CPU.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aio_pika

from bench.procstat import cpu_seconds, memory_mb
from bench.webhooks import Delivery, delivery, order_body
from bench.world import bench_world, parse_at
from libs.common.topology import FORTNOX_WRITER, MAPPER, Topology
from tests.e2e.writer_stack import WriterWorld
from tests.writer_harness import SandboxCompany, add_tenant, create_company

__all__ = ["SECRET", "Pipeline", "pipeline"]

SECRET = "bench-webhook-secret"
SERVICES = (("ingest", "woonox-ingest"), ("mapper", "woonox-mapper"))
# The example guest order has products without SKU; a shop selling those allows free-text rows.
SHOP_SETTINGS = {"documents": {"allow_free_text_rows": True}}


@dataclass
class Pipeline:
    world: WriterWorld
    companies: dict[str, SandboxCompany] = field(default_factory=dict)

    @property
    def ingest_port(self) -> int:
        return self.world.stack.processes["ingest"].port

    def deliveries(self, tenant: str, ids: range | list[int], *, email: str | None = None,
                   examples: tuple[str, ...] | None = None) -> list[Delivery]:
        out = []
        for n, order_id in enumerate(ids):
            kwargs: dict[str, Any] = {"email": email}
            if examples:
                kwargs["example"] = examples[n % len(examples)]
            out.append(delivery(tenant, order_id, order_body(order_id, **kwargs), SECRET, self.ingest_port))
        return out

    async def documents_at(self, tenant: str) -> dict[int, float]:
        """Order id -> when Fortnox created its document (the first 201 create in the journal)."""
        found: dict[int, float] = {}
        prefix = f"woonox:{tenant}:order:"
        for entry in await self._journal(tenant, method="POST"):
            body = entry["response_body"]
            if entry["status"] != 201 or not isinstance(body, dict):
                continue
            for doc in body.values():
                ref = doc.get("ExternalInvoiceReference1") if isinstance(doc, dict) else None
                if isinstance(ref, str) and ref.startswith(prefix):
                    found.setdefault(int(ref[len(prefix):]), parse_at(entry))
        return found

    async def requests(self, tenant: str) -> list[dict[str, Any]]:
        """Every Fortnox API request the tenant's company received (token calls excluded)."""
        return [e for e in await self._journal(tenant) if str(e["path"]).startswith("/3/")]

    async def _journal(self, tenant: str, **params: Any) -> list[dict[str, Any]]:
        http, url = self.world.http, self.world.sandbox_url
        r = await http.get(f"{url}/_sandbox/journal",
                           params={"database_number": self.companies[tenant].database_number, **params}, timeout=120)
        r.raise_for_status()
        return list(r.json()["entries"])

    async def queue_depths(self, tenants: list[str]) -> dict[str, int]:
        """Messages ready in the mapper's queue and in each tenant's writer queue."""
        topology = Topology(self.world.settings.broker_prefix)
        names = [topology.queue(MAPPER)] + [topology.tenant_queue(FORTNOX_WRITER, t) for t in tenants]
        connection = await aio_pika.connect(self.world.settings.rabbitmq_url)
        async with connection:
            channel = await connection.channel()
            out = {}
            for name in names:
                queue = await channel.declare_queue(name, passive=True)
                out[name] = int(queue.declaration_result.message_count or 0)
            return out

    def memory(self) -> dict[str, tuple[float, float]]:
        return {name: memory_mb(p.popen.pid) for name, p in self.world.stack.processes.items() if p.alive()}

    def cpu(self) -> dict[str, float]:
        return {name: cpu_seconds(p.popen.pid) for name, p in self.world.stack.processes.items() if p.alive()}


@contextlib.asynccontextmanager
async def pipeline(tenants: list[str], writers: int = 1) -> AsyncIterator[Pipeline]:
    async with bench_world(tenants) as world:
        p = Pipeline(world)
        for tenant in tenants:
            company = await create_company(world.http, world.sandbox_url)
            await add_tenant(world.sessions, world.settings, world.redis, world.http, world.sandbox_url, tenant,
                             company, shop_settings=SHOP_SETTINGS, webhook_secret=SECRET)
            p.companies[tenant] = company
        for name, script in SERVICES:
            world.stack.start(name, script)
        for name, _ in SERVICES:
            world.stack.wait_ready(name, timeout=60)
        world.start_writers(writers)
        yield p
