"""`make bench`: every benchmark, one after the other, each printing its table, then every figure
against its goal (docs/benchmarks.md). Each runs in its own process with its own throwaway
deployment; flags of `python -m bench` are not needed: run a benchmark alone for bigger runs, e.g.
`python -m bench.fairness --backlog 10000 --idle-orders 20` or
`python -m bench.tenant_scaling --shops 100 --orders-per-shop 100`.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.summary import print_summary

BENCHES = [
    ["bench.ingest_webhooks"],
    ["bench.writer_throughput", "--orders", "200", "--writers", "1", "2", "4"],
    ["bench.end_to_end", "--orders", "40", "--rate", "2"],
    ["bench.fairness", "--backlog", "10000", "--idle-orders", "5", "--writers", "2"],
    ["bench.tenant_scaling", "--shops", "1", "10", "100", "--orders-per-shop", "100", "50", "20"],
]


def main() -> int:
    status = 0
    results = Path(tempfile.mkstemp(prefix="woonox-bench-", suffix=".jsonl")[1])
    env = {**os.environ, "BENCH_RESULTS": str(results)}
    started = time.monotonic()
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}; load average at start {os.getloadavg()[0]:.1f}", flush=True)
    for bench in BENCHES:
        print(f"\n=== python -m {' '.join(bench)}", flush=True)
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
