"""`make bench`: every benchmark, one after the other, each printing its table, then every figure
against its goal (docs/benchmarks.md). Each runs in its own process with its own throwaway
deployment; flags of `python -m bench` are not needed: run a benchmark alone for bigger runs, e.g.
`python -m bench.fairness --backlog 10000 --idle-orders 20` or
`python -m bench.tenant_scaling --shops 100 --orders-per-shop 100`.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench.summary import print_summary
from libs.common.settings import CommonSettings

BENCHES = [
    ["bench.ingest_webhooks"],
    ["bench.writer_throughput", "--orders", "200", "--writers", "1", "2", "4"],
    ["bench.end_to_end", "--orders", "40", "--rate", "2"],
    ["bench.fairness", "--backlog", "10000", "--idle-orders", "5", "--writers", "2"],
    ["bench.tenant_scaling", "--shops", "1", "10", "100", "--orders-per-shop", "100", "50", "20"],
]


def wait_for_servers(timeout: float = 180.0) -> None:
    """Other engineers' chaos runs stop RabbitMQ or Redis for a while: start a benchmark only when
    RabbitMQ, Redis and PostgreSQL accept connections again, and say so when we had to wait."""
    settings = CommonSettings()
    addresses = [(u.hostname or "127.0.0.1", u.port or default) for u, default in (
        (urlsplit(settings.rabbitmq_url), 5672), (urlsplit(settings.redis_url), 6379),
        (urlsplit(settings.database_url), 5432))]
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            for address in addresses:
                socket.create_connection(address, timeout=2).close()
        except OSError:
            time.sleep(1)  # polling a server that is down, bounded by the timeout
            continue
        if time.monotonic() - started > 1:
            print(f"(waited {time.monotonic() - started:.0f} s for RabbitMQ/Redis/PostgreSQL to come back)")
        return
    print(f"(RabbitMQ/Redis/PostgreSQL still unreachable after {timeout:.0f} s; running anyway)")


def main() -> int:
    status = 0
    results = Path(tempfile.mkstemp(prefix="woonox-bench-", suffix=".jsonl")[1])
    env = {**os.environ, "BENCH_RESULTS": str(results)}
    started = time.monotonic()
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}; load average at start {os.getloadavg()[0]:.1f}", flush=True)
    for bench in BENCHES:
        print(f"\n=== python -m {' '.join(bench)}", flush=True)
        wait_for_servers()
        bench_started = time.monotonic()
        status |= subprocess.call([sys.executable, "-m", *bench], env=env)
        print(f"({time.monotonic() - bench_started:.0f} s)", flush=True)
    print(f"\n=== summary ({(time.monotonic() - started) / 60:.1f} min in all; load average now "
          f"{os.getloadavg()[0]:.1f})", flush=True)
    print_summary(results)
    results.unlink()
    return status


if __name__ == "__main__":
    sys.exit(main())
