"""Fairness: an idle shop's orders while another shop's backlog waits at Fortnox's rate limit, and the
memory of every service process after that load.

    python -m bench.fairness [--backlog 10000] [--idle-orders 5] [--writers 2]

The whole pipeline runs as processes (ingest, mapper, fortnox-writer x N, sandbox). The busy shop's
backlog arrives as signed webhooks (returning customer, known articles), ingest and the mapper absorb
it, and it then waits in the busy shop's own writer queue, drained at 5 req/s. Once that steady state
is reached (the mapper's queue empty, the writer draining) the idle shop sends its orders one at a
time, and each one's latency is measured webhook -> Fortnox document. Then the run STOPS: draining
10,000 orders at 5 req/s takes ~35 minutes, and how long a drain takes against theory is
bench.writer_throughput's figure, not this one's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from rich.console import Console
from rich.table import Table

from bench.pipeline import Pipeline, pipeline
from bench.report import percentile, record
from bench.webhooks import post_all, post_one
from bench.world import parse_at, until
from libs.common.topology import MAPPER, Topology

CEILING = 5.0


async def run(backlog: int, idle_orders: int, writers: int) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    async with pipeline(["busy", "idle"], writers) as p:
        # Warm both shops: customer and articles exist, as in a shop that has been running.
        for tenant in ("busy", "idle"):
            await post_one(p.ingest_port, p.deliveries(tenant, [1], email=f"regular@{tenant}.example")[0])
        await until(lambda: _booked(p, "busy", 1), 120, stack=p.world.stack)
        await until(lambda: _booked(p, "idle", 1), 120, stack=p.world.stack)
        cpu_before = p.cpu()
        mapper_queue = Topology(p.world.settings.broker_prefix).queue(MAPPER)
        deliveries = p.deliveries("busy", range(100, 100 + backlog), email="regular@busy.example")
        posted = time.monotonic()
        ingest_rate = await post_all(p.ingest_port, deliveries)

        async def mapped() -> bool:
            return (await p.queue_depths([]))[mapper_queue] == 0

        await until(mapped, 600, poll=0.5, stack=p.world.stack)
        mapped_in = time.monotonic() - posted
        cpu_after = p.cpu()
        await asyncio.sleep(2)  # a moment for the writer to settle into its rate
        depth = sum((await p.queue_depths(["busy"])).values())
        window_start = time.time()
        latencies = []
        for n in range(idle_orders):
            d = p.deliveries("idle", [10 + n], email="regular@idle.example")[0]
            await post_one(p.ingest_port, d)
            await until(lambda want=2 + n: _booked(p, "idle", want), 60, poll=0.05, stack=p.world.stack)
            latencies.append((await p.documents_at("idle"))[d.order_id] - d.sent_at)
            await asyncio.sleep(1.0)  # orders of an idle shop arrive apart
        window_end = time.time()
        busy = [e for e in await p.requests("busy") if window_start <= parse_at(e) <= window_end]
        booked = len(await p.documents_at("busy"))
        memory = p.memory()
        mapper_cpu = cpu_after["mapper"] - cpu_before["mapper"]
        ingest_cpu = cpu_after["ingest"] - cpu_before["ingest"]
        r = {"backlog": backlog, "writers": writers, "accepted": sum(1 for d in deliveries if d.status == 202),
             "ingest_rate": ingest_rate, "mapped_in": mapped_in, "mapper_rate": backlog / mapped_in,
             "mapper_cpu_ms": mapper_cpu / backlog * 1000, "ingest_cpu_ms": ingest_cpu / backlog * 1000,
             "queued": depth, "idle_p50": percentile(latencies, 0.5), "idle_max": max(latencies),
             "busy_rate": len(busy) / (window_end - window_start), "busy_429": sum(e["status"] == 429 for e in busy),
             "booked": booked, "left_minutes": (backlog + 1 - booked) / CEILING / 60}
        return r, memory


async def _booked(p: Pipeline, tenant: str, n: int) -> bool:
    return len(await p.documents_at(tenant)) >= n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backlog", type=int, default=10_000, help="the busy shop's orders")
    parser.add_argument("--idle-orders", type=int, default=5)
    parser.add_argument("--writers", type=int, default=2)
    args = parser.parse_args()
    r, memory = asyncio.run(run(args.backlog, args.idle_orders, args.writers))
    console = Console(width=200)
    absorbed = Table(title=f"fairness, 1/2: the busy shop's backlog of {r['backlog']:,} signed webhooks absorbed "
                           f"(whole pipeline, {r['writers']} writers)")
    for col in ("accepted (202)", "ingest rate (/s)", "mapped in (s)", "mapper (orders/s)", "mapper CPU/order (ms)",
                "ingest CPU/order (ms)", "then queued for the writer"):
        absorbed.add_column(col, justify="right")
    absorbed.add_row(str(r["accepted"]), f"{r['ingest_rate']:.0f}", f"{r['mapped_in']:.1f}",
                     f"{r['mapper_rate']:.0f}", f"{r['mapper_cpu_ms']:.2f}", f"{r['ingest_cpu_ms']:.2f}",
                     str(r["queued"]))
    console.print(absorbed)
    table = Table(title="fairness, 2/2: the idle shop's orders meanwhile, webhook -> Fortnox document "
                        "(goal: <= 2 s)")
    for col in ("idle orders", "p50 (ms)", "max (ms)", "busy shop meanwhile (req/s)", "429s"):
        table.add_column(col, justify="right")
    table.add_row(str(args.idle_orders), f"{r['idle_p50'] * 1000:.0f}", f"{r['idle_max'] * 1000:.0f}",
                  f"{r['busy_rate']:.2f}", str(r["busy_429"]))
    console.print(table)
    print(f"Stopped here, on purpose: {r['booked']:,} of the busy shop's {r['backlog'] + 1:,} orders booked; the rest "
          f"would take another {r['left_minutes']:.0f} min at 5 req/s. Drain time vs theory: bench.writer_throughput.")
    rss = Table(title="memory of each process after this load (VmRSS from /proc; goal <= 150 MB per service)")
    for col in ("process", "RSS now (MB)", "peak RSS (MB)"):
        rss.add_column(col, justify="right")
    for name, (now, peak) in memory.items():
        label = "sandbox (test double, not a service)" if name == "sandbox" else name
        rss.add_row(label, f"{now:.0f}", f"{peak:.0f}")
    console.print(rss)
    print(f"load average {os.getloadavg()[0]:.1f} (2 cores, shared)")
    record("fairness", {**r, "memory": memory})


if __name__ == "__main__":
    main()
