"""`make demo` on a machine where nothing answers on the servers' ports: the demo starts private
RabbitMQ, Redis and PostgreSQL (libs/cli/private_servers.py), books its order, and leaves nothing
running and no temp dir behind."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from libs.cli.private_servers import binaries_missing

pytestmark = pytest.mark.e2e

CLOSED = {"RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:1/", "REDIS_URL": "redis://127.0.0.1:1/0",
          "DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:1/test"}


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            seen = (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()
        except OSError:
            continue
        if text.encode() in seen:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{proc.name}: {command}")
    return found


def test_demo_starts_its_own_servers_books_the_order_and_leaves_nothing() -> None:
    lacking = binaries_missing(["redis", "rabbitmq", "postgres"])
    if lacking:
        pytest.skip(f"needs the servers' binaries: {', '.join(lacking)}")
    env = {**os.environ, **CLOSED, "WOONOX_PRIVATE_SERVERS": "1", "COLUMNS": "400"}
    env.pop("WOONOX_SECRET_KEYS", None)
    done = subprocess.run([str(Path(sys.executable).with_name("woonox")), "demo"], env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(r"Fortnox order \d+ for customer", done.stdout), done.stdout[-3000:]
    where = re.search(r"private servers in (\S+)", done.stdout)
    assert where, done.stdout[-3000:]
    root = where.group(1)
    assert not Path(root).exists()
    assert _processes_mentioning(root) == []
