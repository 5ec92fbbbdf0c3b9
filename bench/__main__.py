"""`make bench`: every benchmark, one after the other, each printing its table."""

from __future__ import annotations

import subprocess
import sys

BENCHES = [
    ["bench.ingest_webhooks"],
    ["bench.writer_throughput", "--orders", "200", "--writers", "1", "2", "4"],
]


def main() -> int:
    status = 0
    for bench in BENCHES:
        print(f"\n=== python -m {' '.join(bench)}", flush=True)
        status |= subprocess.call([sys.executable, "-m", *bench])
    return status


if __name__ == "__main__":
    sys.exit(main())
