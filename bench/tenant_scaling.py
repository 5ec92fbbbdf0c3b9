"""How the writers' throughput grows with shops (tenants): 1, 10, 100 shops at once.

    python -m bench.tenant_scaling [--shops 1 10 100] [--orders-per-shop 100 50 20] [--writers 2]

Each shop gets its own Fortnox company in the sandbox and a backlog of returning-customer orders,
published as commands straight to the writers (the mapper is not what this measures). Fortnox allows
each shop 5 req/s, so the ceiling grows with the shops (5 x shops); with enough shops the writers'
own CPU becomes the limit on this 2-core machine (shared with the sandbox, RabbitMQ, Redis and
PostgreSQL). For each run: total Fortnox req/s and per shop, the writers' CPU (cores busy and CPU ms
per request, from /proc), the time Fortnox's rate limit alone would need, and what bound the run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from bench.procstat import cpu_seconds, machine_busy_seconds, memory_mb
from bench.report import record
from bench.world import bench_world, parse_at, until
from libs.common.store.models import Booking
from tests.e2e.writer_stack import WriterWorld, max_in_window
from tests.writer_harness import order_command

CEILING = 5.0
WINDOW, BURST = 5.1, 25  # the writer's limiter: 25 per 5.1 s (docs/writer.md)


async def run(shops: int, per_shop: int, writers: int) -> dict[str, float]:
    tenants = [f"shop{i:03d}" for i in range(shops)]
    async with bench_world(tenants) as world:
        for tenant in tenants:
            await world.tenant(tenant)
        names = world.start_writers(writers)
        await world.publish([order_command(t, 0, email="regular@example.se") for t in tenants])
        await until(lambda: _booked(world, shops), 300, stack=world.stack)
        await asyncio.sleep(WINDOW + 0.5)  # the warm-up's requests leave every shop's rate window
        pids = {n: world.stack.processes[n].popen.pid for n in [*names, "sandbox"]}
        cpu_before = {n: cpu_seconds(pid) for n, pid in pids.items()}
        machine_before = machine_busy_seconds()
        started, started_wall = time.monotonic(), time.time()
        await world.publish([order_command(t, i, email="regular@example.se")
                             for i in range(1, per_shop + 1) for t in tenants])
        await until(lambda: _booked(world, shops * (per_shop + 1)), 900, poll=0.25, stack=world.stack)
        wall = time.monotonic() - started
        cpu = {n: cpu_seconds(pid) - cpu_before[n] for n, pid in pids.items()}
        machine = (machine_busy_seconds() - machine_before) / wall
        journal = [e for e in await world.journal() if str(e["path"]).startswith("/3/") and parse_at(e) >= started_wall]
        elapsed = max(parse_at(e) for e in journal) - started_wall
        by_shop: dict[int, list[float]] = {}
        for e in journal:
            by_shop.setdefault(int(e["database_number"]), []).append(parse_at(e))
        writer_cpu = sum(cpu[n] for n in names)
        return {
            "shops": shops, "per_shop": per_shop, "writers": writers, "requests": len(journal), "elapsed": elapsed,
            "rate": len(journal) / elapsed, "per_shop_rate": len(journal) / elapsed / shops,
            "limit_alone": (per_shop - 1) // BURST * WINDOW, "writer_cores": writer_cpu / wall,
            "writer_ms": writer_cpu / len(journal) * 1000, "sandbox_cores": cpu["sandbox"] / wall,
            "machine_cores": machine,
            "429s": sum(1 for e in journal if e["status"] == 429),
            "max_5s": max(_max_5s(times) for times in by_shop.values()),
            "writer_rss": max(memory_mb(world.stack.processes[n].popen.pid)[0] for n in names),
            "load": os.getloadavg()[0],
        }


def _max_5s(times: list[float]) -> int:
    return max_in_window([datetime.fromtimestamp(t, UTC) for t in times])


async def _booked(world: WriterWorld, n: int) -> bool:
    async with world.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(Booking).where(
            Booking.woo_resource == "order", Booking.kind == "order", Booking.snapshot_hash.is_not(None)))
    return int(count or 0) >= n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shops", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--orders-per-shop", type=int, nargs="+", default=[100, 50, 20],
                        help="one per --shops entry (the last one repeats)")
    parser.add_argument("--writers", type=int, default=2)
    args = parser.parse_args()
    per_shop = args.orders_per_shop + [args.orders_per_shop[-1]] * len(args.shops)
    rows = [asyncio.run(run(s, per_shop[i], args.writers)) for i, s in enumerate(args.shops)]
    table = Table(title=f"throughput as shops grow ({args.writers} writers, 2 shared cores; Fortnox allows 5 req/s "
                        "per shop)")
    for col in ("shops", "orders/shop", "Fortnox requests", "elapsed (s)", "rate limit alone needs (s)",
                "total req/s", "per shop req/s", "ceiling (5 x shops)", "writer CPU (cores)", "writer CPU/req (ms)",
                "sandbox CPU (cores)", "machine busy (cores of 2)", "429s", "max in 5 s (any shop)",
                "writer RSS (MB)", "bound by", "load avg"):
        table.add_column(col, justify="right")
    for r in rows:
        bound = "Fortnox rate limit" if r["elapsed"] <= r["limit_alone"] * 1.1 + 1.0 else "writers' CPU"
        table.add_row(str(r["shops"]), str(r["per_shop"]), str(r["requests"]), f"{r['elapsed']:.1f}",
                      f"{r['limit_alone']:.1f}", f"{r['rate']:.1f}", f"{r['per_shop_rate']:.2f}",
                      f"{r['shops'] * CEILING:.0f}", f"{r['writer_cores']:.2f}", f"{r['writer_ms']:.1f}",
                      f"{r['sandbox_cores']:.2f}", f"{r['machine_cores']:.2f}", str(r["429s"]), str(r["max_5s"]),
                      f"{r['writer_rss']:.0f}", bound,
                      f"{r['load']:.1f}")
        record("tenant_scaling", {**r, "bound": bound})
    Console(width=220).print(table)
    capacity = [2.0 / (r["writer_ms"] / 1000) for r in rows if r["writer_ms"] > 0]
    if capacity:
        print(f"At the writers' measured CPU cost the 2 cores could carry at most ~{min(capacity):.0f} Fortnox req/s "
              f"(~{min(capacity) / CEILING:.0f} shops at full rate) if nothing else ran on them.")


if __name__ == "__main__":
    main()
