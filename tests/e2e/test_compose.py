"""docker-compose.yml is well-formed, and every service's command is a real console script of
pyproject.toml that starts here against the local RabbitMQ, Redis and PostgreSQL.

No Docker engine runs here, so the file is validated structurally (the compose CLI is not
installed either) and each command is started as a process with the compose service's own
environment, the env file's keys, this test's servers and prefix, and a free port.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from libs.common.store.db import drop_schema
from libs.common.store.migrate import upgrade
from libs.common.topology import Topology
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
SCRIPTS: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
ONE_SHOT = {name for name, s in SERVICES.items() if s.get("restart") == "no"}
WOONOX = sorted(name for name, s in SERVICES.items() if s.get("image", "").startswith("woonox"))
START_TIMEOUT = 60.0


def _env_file() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
             if line.strip() and not line.startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


def test_every_service_is_buildable_and_checked() -> None:
    for name, service in SERVICES.items():
        assert "image" in service or "build" in service, f"{name}: no image or build"
        if name not in ONE_SHOT:
            assert "healthcheck" in service, f"{name}: no healthcheck"
            assert service["healthcheck"]["test"], name
        for dep, cond in (service.get("depends_on") or {}).items():
            assert dep in SERVICES, f"{name} depends on unknown {dep}"
            assert cond["condition"] in {"service_healthy", "service_completed_successfully"}, (name, dep)
            if cond["condition"] == "service_completed_successfully":
                assert dep in ONE_SHOT, f"{name} waits for {dep} to complete, but {dep} is long-running"
            else:
                assert dep not in ONE_SHOT
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in COMPOSE["volumes"], f"{name} uses undeclared volume {source}"


def test_stack_shape() -> None:
    for scalable in ("fortnox-writer", "woo-writer", "mapper", "poller"):
        assert "container_name" not in SERVICES[scalable], f"{scalable} must scale: no container_name"
        assert "ports" not in SERVICES[scalable], f"{scalable} must scale: no fixed host ports"
    assert {"sandbox", "ingest", "mapper", "fortnox-writer", "woo-writer", "poller", "migrate"} <= set(WOONOX)
    assert SERVICES["rabbitmq"]["image"].startswith("rabbitmq:3.10")
    assert SERVICES["redis"]["image"].startswith("redis:7")
    assert SERVICES["postgres"]["image"].startswith("postgres:15")
    assert any("/var/lib/postgresql/data" in v for v in SERVICES["postgres"]["volumes"])
    assert SERVICES["migrate"]["command"] == ["woonox", "db", "upgrade"]
    for name in ("prometheus", "grafana"):
        assert SERVICES[name]["profiles"] == ["monitoring"]
    for name in WOONOX:
        service = SERVICES[name]
        assert service["env_file"] == [".env"], name
        assert "stop_grace_period" in service, name
        if name not in ONE_SHOT and name != "sandbox":
            assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
    # Every key the stack reads from .env is documented in .env.example, with no real secret in it.
    for key, value in _env_file().items():
        if "PASSWORD" in key or "SECRET" in key or "TOKEN" in key:
            assert value.startswith("change-me"), key
    mounted = " ".join(SERVICES["rabbitmq"]["volumes"]) + " ".join(SERVICES["rabbitmq-users"]["volumes"])
    assert "./deploy/rabbitmq" in mounted


def test_compose_cli_accepts_the_file(tmp_path: Path) -> None:
    """`docker compose config` (or Debian's docker-compose) validates against the compose schema;
    no Docker engine is needed for that."""
    if shutil.which("docker-compose"):
        command = ["docker-compose", "config", "-q"]
    elif subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode == 0:
        command = ["docker", "compose", "config", "-q"]
    else:
        pytest.skip("no compose CLI: apt-get install docker-compose (CI installs it)")
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    (tmp_path / "deploy").symlink_to(ROOT / "deploy")
    for profile in ([], ["--profile", "monitoring"]):
        done = subprocess.run([*command[:-2], *profile, *command[-2:]], cwd=tmp_path, capture_output=True,
                              text=True, check=False, timeout=60)
        assert done.returncode == 0, done.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _command_env(service: dict[str, Any], service_env: dict[str, str], tmp_path: Path) -> tuple[dict[str, str], int]:
    env = {**os.environ, **_env_file(), **{k: str(v) for k, v in (service.get("environment") or {}).items()},
           **service_env}
    port = _free_port()
    for key in list(env):
        if key.startswith("WOONOX_") and key.endswith("_HOST"):
            env[key] = "127.0.0.1"
        elif key == "WOONOX_ADMIN_PORT":  # ingest's operator listener needs a port of its own
            env[key] = str(_free_port())
        elif key.startswith("WOONOX_") and key.endswith("_PORT"):
            env[key] = str(port)
        elif key == "WOONOX_ADMIN_TOKEN":  # what an operator does with .env.example's change-me
            env[key] = secrets.token_urlsafe(32)
        elif key.endswith("_SQLITE_PATH"):
            env[key] = str(tmp_path / "state.sqlite")
    return env, port


def _executable(script: str) -> str:
    found = shutil.which(script, path=str(Path(sys.executable).parent))
    assert found, f"console script {script} is not installed: pip install -e '.[dev]'"
    return found


@pytest.mark.parametrize("name", WOONOX)
async def test_command_starts_against_local_servers(
    name: str, service_env: dict[str, str], topology: Topology, tmp_path: Path
) -> None:
    service = SERVICES[name]
    if "migrate" in (service.get("depends_on") or {}):
        # As in compose: the one-shot migrate service has run before this one starts.
        await upgrade(service_env["DATABASE_URL"], service_env["WOONOX_DB_SCHEMA"])
    command: list[str] = service["command"]
    assert command[0] in SCRIPTS, f"{name}: {command[0]} is not a console script of pyproject.toml"
    env, port = _command_env(service, service_env, tmp_path)
    log = (tmp_path / "out.log").open("w+")
    try:
        if name in ONE_SHOT:
            done = subprocess.run([_executable(command[0]), *command[1:]], env=env, stdout=log,
                                  stderr=subprocess.STDOUT, timeout=START_TIMEOUT, check=False)
            log.seek(0)
            assert done.returncode == 0, f"{name} exited {done.returncode}:\n{log.read()[-3000:]}"
            return
        proc = subprocess.Popen([_executable(command[0]), *command[1:]], env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + START_TIMEOUT
            async with httpx.AsyncClient(timeout=2) as client:
                while True:
                    assert proc.poll() is None, f"{name} exited {proc.returncode}:\n{_tail(log)}"
                    try:
                        if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert time.monotonic() < deadline, f"{name}: no /healthz within {START_TIMEOUT}s:\n{_tail(log)}"
                    await _pause()
        finally:
            proc.terminate()
            try:
                code = proc.wait(timeout=45)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise AssertionError(f"{name} ignored SIGTERM for 45 s:\n{_tail(log)}") from None
        assert code in (0, -15), f"{name} did not stop cleanly on SIGTERM ({code}):\n{_tail(log)}"
    finally:
        log.close()
        await drop_schema(service_env["DATABASE_URL"], service_env["WOONOX_DB_SCHEMA"])


def _tail(log: Any) -> str:
    log.flush()
    log.seek(0)
    return str(log.read()[-3000:])


async def _pause() -> None:
    import asyncio

    await asyncio.sleep(0.2)  # polling interval of a bounded wait, not a synchronisation
