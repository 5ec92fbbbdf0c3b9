"""Fortnox writer: per-tenant throughput against Fortnox's ceiling, requests per order, fairness.

    python -m bench.writer_throughput [--orders 200] [--writers 1 2 4]

For each writer count: one tenant drains a backlog of returning-customer orders; once it is in
steady state an idle tenant sends one order, and the time until it is booked is measured. Figures
come from the sandbox's journal (what Fortnox would have seen): the busy tenant's requests per
second as a share of 5 req/s (25 per 5 s), the most requests in any 5-second window, 429s, and
Fortnox requests per booked order.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import datetime

from rich.console import Console
from rich.table import Table

from bench.report import record
from bench.world import bench_world, parse_at, until
from tests.e2e.writer_stack import WriterWorld, max_in_window
from tests.writer_harness import order_command

# Fortnox: 25 requests per 5 s per tenant (Fortnox developer docs,
# https://www.fortnox.se/developer/guides-and-good-to-know/rate-limits)
CEILING = 5.0


async def run(orders: int, writers: int) -> dict[str, float]:
    async with bench_world(["busy", "idle"]) as world:
        busy = await world.tenant("busy")
        await world.tenant("idle")
        world.start_writers(writers)
        # Warm the customer mapping so the steady state is what a running shop sees.
        await world.publish([order_command("busy", 0, email="regular@example.se")])
        await until(lambda: _booked(world, "busy", 1), 60, stack=world.stack)
        started, started_wall = time.monotonic(), time.time()
        await world.publish([order_command("busy", i, email="regular@example.se") for i in range(1, orders + 1)])
        await until(lambda: _booked(world, "busy", orders // 3), 600, stack=world.stack)
        idle_sent = time.monotonic()
        await world.publish([order_command("idle", 1, email="someone@example.se")])
        await until(lambda: _booked(world, "idle", 1), 120, poll=0.05, stack=world.stack)
        idle_latency = time.monotonic() - idle_sent
        await until(lambda: _booked(world, "busy", orders + 1), 900, stack=world.stack)
        drain = time.monotonic() - started
        journal = [e for e in await world.journal(busy.database_number) if str(e["path"]).startswith("/3/")]
        steady = [e for e in journal if parse_at(e) >= started_wall]
        span = parse_at(steady[-1]) - parse_at(steady[0]) if len(steady) > 1 else 1.0
        rate = (len(steady) - 1) / span if span > 0 else 0.0
        return {
            "writers": writers, "orders": orders, "requests": len(steady), "req_per_order": len(steady) / orders,
            "rate": rate, "share": rate / CEILING, "max_5s": max_in_window([_dt(e) for e in journal]),
            "429s": sum(1 for e in journal if e["status"] == 429), "idle_latency": idle_latency,
            "drain": drain, "theory": orders * (len(steady) / orders) / CEILING,
        }


def _dt(entry: dict[str, object]) -> datetime:
    return datetime.fromisoformat(str(entry["at"]))


async def _booked(world: WriterWorld, tenant: str, n: int) -> bool:
    return bool(await world.booked(tenant) >= n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    rows = [asyncio.run(run(args.orders, n)) for n in args.writers]
    table = Table(title="fortnox-writer: one busy tenant, one idle tenant (goals: ≥95 % of ceiling, 0 × 429, "
                        "≤1.2 req/order, idle ≤2 s, drain ≤1.05× theory)")
    for col in ("writers", "orders", "Fortnox req/s", "share of 5 req/s", "max in 5 s", "429s", "req/order",
                "idle tenant's order (s)", "drain (s)", "drain / theory"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(str(r["writers"]), str(r["orders"]), f"{r['rate']:.2f}", f"{r['share']:.1%}",
                      str(r["max_5s"]), str(r["429s"]), f"{r['req_per_order']:.2f}", f"{r['idle_latency']:.2f}",
                      f"{r['drain']:.1f}", f"{r['drain'] / r['theory']:.2f}")
        record("writer_throughput", r)
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
