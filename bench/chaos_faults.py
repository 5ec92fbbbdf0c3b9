"""What goes wrong during a chaos run, on a seeded schedule: processes SIGKILLed, RabbitMQ's app
stopped and started, Redis lost, the sandbox's faults (5xx, 429 bursts, drop after commit) and
expired tokens.

RabbitMQ and Redis are the run's own (bench/chaos_world.py starts them): chaos stops and starts
only that node (`rabbitmqctl -n` its name, with its own Erlang cookie) and FLUSHALLs only that Redis.
The broker is always started again, also when the run fails.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from bench.chaos_world import ChaosWorld
from libs.cli.private_servers import PrivateRabbit

__all__ = ["Chaos", "rabbit_app", "work_queue_depth"]

WORK_GROUPS = (".mapper", ".fortnox-writer")


async def rabbit_app(rabbit: PrivateRabbit, action: str) -> None:
    """`rabbitmqctl -n NODE stop_app` / `start_app` on the run's own node."""
    await asyncio.to_thread(rabbit.ctl, action)


async def work_queue_depth(rabbit: PrivateRabbit, prefix: str) -> int:
    """Messages (ready and unacknowledged) in the mapper's and the writers' queues and their retry
    queues; -1 when the broker cannot say."""
    try:
        out = await asyncio.to_thread(rabbit.ctl, "list_queues", "-q", "name", "messages", "--no-table-headers",
                                      timeout=60)
    except (RuntimeError, subprocess.SubprocessError, OSError):
        return -1
    total = 0
    for line in out.splitlines():
        name, _, count = line.rpartition("\t")
        if name.startswith(prefix + ".") and any(g in name for g in WORK_GROUPS) and not name.endswith(".dlq"):
            total += int(count or 0)
    return total


class Chaos:
    def __init__(self, world: ChaosWorld, seed: int, rabbit_outage: float) -> None:
        self.world = world
        self.rng = random.Random(seed)
        self.rabbit_outage = rabbit_outage
        self.rules: dict[str, list[dict[str, Any]]] = {}
        self.done: Counter[str] = Counter()
        self.expiries: Counter[str] = Counter()
        self.timeline: list[tuple[datetime, str]] = []  # when each event began (UTC)
        self._rabbit_down = False

    async def _faults(self, name: str, rules: list[dict[str, Any]] | None) -> None:
        if rules:
            self.rules[name] = rules
        else:
            self.rules.pop(name, None)
        flat = [r for rs in self.rules.values() for r in rs]
        r = await self.world.http.put(f"{self.world.sandbox_url}/_sandbox/faults", json={"rules": flat})
        r.raise_for_status()

    async def sandbox_5xx(self) -> None:
        await self._faults("5xx", [{"error_share": 0.3, "error_status": self.rng.choice((500, 502, 503))}])
        await asyncio.sleep(5)
        await self._faults("5xx", None)

    async def burst_429(self) -> None:
        await self._faults("429", [{"burst_429": 8, "database_number": c.database_number}
                                   for c in self.world.companies.values()])

    async def drop_after_commit(self) -> None:
        await self._faults("drop", [{"drop_after_commit_share": 0.2}])
        await asyncio.sleep(10)
        await self._faults("drop", None)

    async def expire_tokens(self) -> None:
        tenant = self.rng.choice(sorted(self.world.companies))
        number = self.world.companies[tenant].database_number
        r = await self.world.http.post(f"{self.world.sandbox_url}/_sandbox/companies/{number}/expire-tokens")
        r.raise_for_status()
        self.expiries[tenant] += 1

    async def _kill(self, name: str) -> None:
        proc = self.world.stack.processes[name]
        if not proc.alive():
            self.world.crashed.append(f"{name} (exit {proc.popen.returncode})")
        self.world.stack.kill(name)
        await asyncio.sleep(2)
        try:
            await self.world.restart(name)
        except (TimeoutError, RuntimeError) as exc:  # e.g. the broker stopped answering: noted, the run goes on
            self.world.restart_failures.append(f"{name}: {str(exc).splitlines()[0]}")

    async def kill_writer(self, writers: int) -> None:
        await self._kill(f"writer-{self.rng.randrange(writers)}")

    async def kill_mapper(self) -> None:
        await self._kill("mapper")

    async def rabbit_restart(self) -> None:
        if self.rabbit_outage <= 0:
            return
        self._rabbit_down = True
        try:
            await rabbit_app(self.world.rabbit, "stop_app")
            await asyncio.sleep(self.rabbit_outage)
        finally:
            await rabbit_app(self.world.rabbit, "start_app")
            self._rabbit_down = False

    async def redis_loss(self) -> None:
        await self.world.redis.flushall()  # the run's own redis-server: nothing else is in it

    def plan(self, writers: int) -> list[tuple[float, str, Callable[[], Awaitable[None]]]]:
        """One round: (fraction of the round, name, action)."""
        return [
            (0.08, "sandbox 5xx burst", self.sandbox_5xx),
            (0.18, "drop after commit", self.drop_after_commit),
            (0.32, "SIGKILL writer", lambda: self.kill_writer(writers)),
            (0.40, "429 burst", self.burst_429),
            (0.46, "token expiry", self.expire_tokens),
            (0.54, "SIGKILL mapper", self.kill_mapper),
            (0.62, "RabbitMQ restart", self.rabbit_restart),
            (0.76, "Redis loss", self.redis_loss),
            (0.86, "SIGKILL writer", lambda: self.kill_writer(writers)),
        ]

    async def run(self, duration: float, writers: int, *, enabled: bool = True) -> None:
        if not enabled:
            return
        rounds = max(1, round(duration / 90))
        span = duration / rounds
        loop = asyncio.get_running_loop()
        start = loop.time()
        for r in range(rounds):
            for fraction, name, action in self.plan(writers):
                at = start + span * (r + fraction + self.rng.uniform(-0.03, 0.03))
                await asyncio.sleep(max(0.0, at - loop.time()))
                self.timeline.append((datetime.now(UTC), name))
                await action()
                self.done[name] += 1

    async def calm(self) -> None:
        """No faults left: the broker running, the sandbox answering normally."""
        if self._rabbit_down:
            await rabbit_app(self.world.rabbit, "start_app")
            self._rabbit_down = False
        self.rules.clear()
        r = await self.world.http.delete(f"{self.world.sandbox_url}/_sandbox/faults")
        r.raise_for_status()
