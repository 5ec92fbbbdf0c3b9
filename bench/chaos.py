"""The chaos runner: `python -m bench.chaos --help`.

A bounded run of many orders over several tenants (bench/loadgen.py) through the real services as
processes (bench/chaos_world.py), while it SIGKILLs writers and the mapper, restarts its own RabbitMQ
node (`rabbitmqctl -n NODE stop_app` / `start_app`), flushes its own Redis, makes the sandbox answer 5xx and 429 bursts
and drop connections after committing, and expires tokens (bench/chaos_faults.py). Then it waits
for the queues to drain and checks every invariant (bench/chaos_checks.py), printing a table.
Exit code 0 only when every invariant holds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from bench.chaos_checks import Check, dead_letter_checks, documents_checks, expected_of, journal_checks, secrets_check
from bench.chaos_faults import Chaos, work_queue_depth
from bench.chaos_world import ChaosWorld, chaos_world
from bench.loadgen import ShopLoad, serve_shops
from libs.common.dead_letters import DeadLetters

__all__ = ["ChaosConfig", "ChaosReport", "main", "run"]


class ChaosConfig(BaseModel):
    tenants: int = Field(3, ge=1, le=50)
    orders: int = Field(300, ge=1, description="orders across all tenants")
    duration: float = Field(60.0, gt=0, description="seconds of load and chaos")
    seed: int = 1
    writers: int = Field(2, ge=1)
    rabbit_outage: float = Field(4.0, ge=0, description="seconds RabbitMQ is stopped each time; 0 = never")
    drop_rate: float = Field(0.03, ge=0, le=1, description="webhook deliveries never sent")
    fail_rate: float = Field(0.02, ge=0, le=1, description="webhook deliveries that fail")
    duplicate_share: float = Field(0.05, ge=0, le=1, description="webhook deliveries sent twice")
    backfill_seconds: float = Field(10.0, gt=0, description="the poller's backfill interval")
    drain_timeout: float = Field(420.0, gt=0, description="seconds to wait for the queues to drain")
    baseline: bool = Field(False, description="no chaos at all (the same load, for comparison)")
    log_dir: Path | None = None


@dataclass
class ChaosReport:
    checks: list[Check]
    figures: dict[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def table(self) -> str:
        width = max(len(c.name) for c in self.checks)
        lines = [f"{'invariant'.ljust(width)}  result  figures", "-" * (width + 60)]
        lines += [f"{c.name.ljust(width)}  {'PASS' if c.ok else 'FAIL'}    {c.figures}" for c in self.checks]
        head = ", ".join(f"{k} {v}" for k, v in self.figures.items())
        return f"{head}\n\n" + "\n".join(lines)


async def _load(world: ChaosWorld, config: ChaosConfig) -> None:
    """Make every shop's share of the orders (exactly `config.orders` in all), spread over the
    duration, flushing once a second."""
    shops = list(world.shops.values())
    quota = {s.tenant: config.orders // len(shops) + (i < config.orders % len(shops)) for i, s in enumerate(shops)}
    started = time.monotonic()
    while True:
        elapsed = time.monotonic() - started
        busy = [s for s in shops if s.orders_made < quota[s.tenant]]
        if not busy or elapsed >= config.duration:
            break
        ticks_left = max(1.0, config.duration - elapsed)
        for load in busy:
            for _ in range(math.ceil((quota[load.tenant] - load.orders_made) / 0.7 / ticks_left)):
                if load.orders_made >= quota[load.tenant]:
                    break
                load.step()
        await asyncio.gather(*(s.flush() for s in shops))
        await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started - elapsed)))


async def _drain(world: ChaosWorld, config: ChaosConfig, load_end: float) -> dict[str, float]:
    """Until the work queues are empty and Fortnox has been quiet for two looks in a row, after at
    least two backfill runs since the last change (bounded by drain_timeout)."""
    deadline = time.monotonic() + config.drain_timeout
    quiet, last_id = 0, -1
    depth = -1
    while time.monotonic() < deadline:
        await world.ensure_running()
        for load in world.shops.values():
            await load.flush()
        depth = await work_queue_depth(world.rabbit, world.settings.broker_prefix)
        latest = await world.journal(last=1)
        top = int(latest[-1]["id"]) if latest else 0
        waited = time.monotonic() - load_end > 2 * config.backfill_seconds
        quiet = quiet + 1 if (depth == 0 and top == last_id and waited) else 0
        last_id = top
        if quiet >= 2:
            break
        await asyncio.sleep(3)
    return {"drain seconds": round(time.monotonic() - load_end, 1), "left in work queues": depth}


async def run(config: ChaosConfig) -> ChaosReport:
    log_dir = config.log_dir or Path(tempfile.mkdtemp(prefix="woonox-chaos-"))
    async with chaos_world(log_dir, seed=config.seed, backfill_seconds=config.backfill_seconds) as world:
        for i in range(config.tenants):
            tenant = f"shop-{i}"
            load = ShopLoad.create(tenant, f"http://127.0.0.1:{world.shop_port}", world.ingest_url, world.http,
                                   seed=config.seed * 1000 + i, drop_rate=config.drop_rate,
                                   fail_rate=config.fail_rate, duplicate_share=config.duplicate_share)
            await world.add_tenant(tenant, load)
            load.seed_catalogue()
        async with serve_shops(list(world.shops.values()), world.shop_port):
            await world.start_services(config.writers)
            chaos = Chaos(world, config.seed, config.rabbit_outage)
            started = time.monotonic()
            try:
                await asyncio.gather(_load(world, config),
                                     chaos.run(config.duration, config.writers, enabled=not config.baseline))
            finally:
                await chaos.calm()
            load_seconds = time.monotonic() - started
            drained = await _drain(world, config, time.monotonic())
            report = await _check(world, chaos, log_dir)
        report.figures = {
            "tenants": config.tenants, "orders": sum(s.orders_made for s in world.shops.values()),
            "load seconds": round(load_seconds, 1), **drained,
            "webhooks lost (dropped/failed)": sum(s.lost_deliveries() for s in world.shops.values()),
            "webhooks sent twice": sum(s.duplicates_sent for s in world.shops.values()),
            "chaos": ", ".join(f"{k}×{v}" for k, v in chaos.done.items()),
            "logs": str(log_dir),
        }
        report.checks.append(Check("queues drained", drained["left in work queues"] == 0,
                                   f"{drained['left in work queues']} messages left after "
                                   f"{drained['drain seconds']} s"))
        report.checks.append(Check("every killed service came back", not world.restart_failures,
                                   f"{len(world.restart_failures)} restarts not ready within 90 s"
                                   + (f": {'; '.join(world.restart_failures)}" if world.restart_failures else "")))
        report.checks.append(Check("no service died unless killed", not world.crashed,
                                   f"{len(world.crashed)} unexpected exits"
                                   + (f": {', '.join(world.crashed)}" if world.crashed else "")))
    return report


async def _check(world: ChaosWorld, chaos: Chaos, log_dir: Path) -> ChaosReport:
    states = {t: (expected_of(load), await world.state(t)) for t, load in world.shops.items()}
    checks = documents_checks(states)
    async with DeadLetters(world.settings.rabbitmq_url, world.topology) as dlq:
        checks += dead_letter_checks(await dlq.list())
    tokens, generations = await world.token_secrets()
    journal = await world.journal()
    # Kept for the post-mortem: what Fortnox was asked, and when each fault began.
    (log_dir / "journal.json").write_text(json.dumps(journal))
    (log_dir / "timeline.txt").write_text("".join(f"{t.isoformat()} {name}\n" for t, name in chaos.timeline))
    checks += journal_checks(journal, {t: c.database_number for t, c in world.companies.items()},
                             {t: c.client_id for t, c in world.companies.items()}, chaos.expiries, generations,
                             chaos.timeline)
    secrets = {
        "webhook secrets": [s.webhook_secret for s in world.shops.values()],
        "woo consumer secrets": [s.shop.consumer_secret for s in world.shops.values()],
        "fortnox client secrets": [c.client_secret for c in world.companies.values()],
        "fortnox tokens": tokens + [t for c in world.companies.values() for t in (c.access_token, c.refresh_token)
                                    if t],
        "encryption key": [world.settings.secret_keys.get_secret_value()],
    }
    checks.append(secrets_check(sorted(log_dir.glob("*.log")), secrets))
    return ChaosReport(checks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    fields = ChaosConfig.model_fields
    for name, info in fields.items():
        if name == "log_dir":
            continue
        if info.annotation is bool:
            parser.add_argument(f"--{name.replace('_', '-')}", action="store_true", help=info.description)
            continue
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(info.default), default=info.default,
                            help=f"{info.description or name} (default {info.default})")
    parser.add_argument("--log-dir", type=Path, default=None, help="service logs (default: a new temp dir)")
    args = parser.parse_args(argv)
    config = ChaosConfig(**vars(args))
    print(f"chaos: {config.model_dump_json()} on {os.uname().nodename} ({os.cpu_count()} cores)", flush=True)
    report = asyncio.run(run(config))
    print(report.table(), flush=True)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
