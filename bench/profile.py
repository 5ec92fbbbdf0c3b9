"""Where a service's CPU goes under load: py-spy attached to the real process, top functions printed.

    python -m bench.profile writer [--seconds 20]   # 10 shops x 100 orders straight to one writer
    python -m bench.profile pipeline [--seconds 20]  # 4,000 signed webhooks: ingest and mapper at once

Needs py-spy (dev extra) and permission to ptrace the services (same user, or root). Samples at
100 Hz without pausing the process (--nonblocking); shows, per function, the share of samples in
which it was on the stack (inclusive) and on top of it (self), idle event-loop waits left out.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.pipeline import pipeline
from bench.webhooks import post_all
from bench.world import bench_world
from tests.writer_harness import order_command

IDLE = ("select (selectors.py", "_run_once (asyncio/base_events.py", "run_forever")


def spy(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    py_spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen([str(py_spy), "record", "--pid", str(pid), "--duration", str(int(seconds)),
                             "--rate", "100", "--nonblocking", "--format", "raw", "--output", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def top(folded: Path, title: str, n: int = 25) -> None:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = idle = 0
    for line in folded.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = stack.split(";")
        total += count
        if any(frames[-1].startswith(i) for i in IDLE):
            idle += count
            continue
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    busy = max(1, total - idle)
    print(f"\n{title}: {total} samples, {busy / max(1, total):.0%} busy (the rest waiting in the event loop)")
    print(f"{'incl.':>6} {'self':>6}  function (of the busy samples)")
    for frame, count in inclusive.most_common(n):
        print(f"{count / busy:>6.1%} {own[frame] / busy:>6.1%}  {frame[:150]}")
    print("top self time:")
    for frame, count in own.most_common(12):
        print(f"{count / busy:>6.1%}  {frame[:150]}")


async def writer(seconds: float) -> None:
    shops = [f"shop{i}" for i in range(10)]
    async with bench_world(shops) as world:
        for shop in shops:
            await world.tenant(shop)
        world.start_writers(1)
        out = Path(tempfile.mkstemp(suffix=".folded")[1])
        await world.publish([order_command(s, i, email="regular@example.se") for i in range(100) for s in shops])
        proc = spy(world.stack.processes["writer-0"].popen.pid, seconds, out)
        await asyncio.to_thread(proc.wait)
        top(out, "fortnox-writer, 10 shops draining 100 orders each")


async def ingest_and_mapper(seconds: float) -> None:
    async with pipeline(["shop"]) as p:
        outs = {name: Path(tempfile.mkstemp(suffix=".folded")[1]) for name in ("ingest", "mapper")}
        procs = [spy(p.world.stack.processes[name].popen.pid, seconds, out) for name, out in outs.items()]
        await post_all(p.ingest_port, p.deliveries("shop", range(1, 4001), email="regular@example.se"))
        for proc in procs:
            await asyncio.to_thread(proc.wait)
        for name, out in outs.items():
            top(out, f"{name}, 4,000 signed order webhooks")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("target", choices=["writer", "pipeline"])
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    asyncio.run(writer(args.seconds) if args.target == "writer" else ingest_and_mapper(args.seconds))


if __name__ == "__main__":
    main()
