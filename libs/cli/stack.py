"""Start woonox's services as local processes (the demo, end-to-end tests, benchmarks).

Each service is its real console script, run with the environment given and a free port, and is
ready when its /readyz answers 200. Stopping sends SIGTERM (a graceful shutdown: consumers stop,
handlers in flight finish) and waits, then SIGKILL past the grace period.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

__all__ = ["Process", "Stack", "free_port"]

# console script -> the env var that sets its port
PORT_VARS = {
    "woonox-sandbox": "WOONOX_SANDBOX_PORT",
    "woonox-ingest": "WOONOX_INGEST_PORT",
    "woonox-mapper": "WOONOX_MAPPER_PORT",
    "woonox-writer": "WOONOX_WRITER_PORT",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _script(name: str) -> str:
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise FileNotFoundError(f"console script {name} not found: is woonox installed (pip install -e .)?")
    return found


@dataclass
class Process:
    name: str
    script: str
    port: int
    popen: subprocess.Popen[bytes]
    log_path: Path
    admin_port: int | None = None  # ingest's second, operators' listener

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin_url(self) -> str:
        if self.admin_port is None:
            raise ValueError(f"{self.name} has no admin listener")
        return f"http://127.0.0.1:{self.admin_port}"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class Stack:
    env: Mapping[str, str]
    log_dir: Path
    processes: dict[str, Process] = field(default_factory=dict)

    def start(self, name: str, script: str, *, extra_env: Mapping[str, str] | None = None,
              port: int | None = None) -> Process:
        port = port or free_port()
        env = {**os.environ, **self.env, **(extra_env or {})}
        if script in PORT_VARS:
            env[PORT_VARS[script]] = str(port)
        admin_port = None
        if script == "woonox-ingest":  # its admin listener needs a free port too
            admin_port = int(env.get("WOONOX_ADMIN_PORT") or free_port())
            env["WOONOX_ADMIN_PORT"] = str(admin_port)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("ab") as log:
            popen = subprocess.Popen([_script(script)], env=env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        proc = Process(name, script, port, popen, log_path, admin_port)
        self.processes[name] = proc
        return proc

    def wait_ready(self, name: str, timeout: float = 30.0, path: str = "/readyz") -> None:
        proc = self.processes[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not proc.alive():
                raise RuntimeError(f"{name} exited with {proc.popen.returncode}:\n{proc.log()[-3000:]}")
            try:
                if httpx.get(proc.url + path, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)  # polling a readiness endpoint, bounded by the deadline
        raise TimeoutError(f"{name} not ready after {timeout}s:\n{proc.log()[-3000:]}")

    def kill(self, name: str) -> None:
        """SIGKILL: the crash case, no graceful shutdown."""
        proc = self.processes[name]
        if proc.alive():
            os.killpg(proc.popen.pid, signal.SIGKILL)
            proc.popen.wait(10)

    def stop(self, name: str, grace: float = 30.0) -> int | None:
        proc = self.processes.pop(name)
        if proc.alive():
            os.killpg(proc.popen.pid, signal.SIGTERM)
            try:
                proc.popen.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(proc.popen.pid, signal.SIGKILL)
                proc.popen.wait(10)
        return proc.popen.returncode

    def stop_all(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop(name)
