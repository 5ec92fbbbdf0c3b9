"""Private RabbitMQ, Redis and PostgreSQL for `make test`, `make demo` and the fault-injection tests.

Each server runs from the binaries the machine has, in its own temp dir, on free ports, and is
stopped and removed when done (no process left behind, the temp dir gone). A fault test may stop,
restart or flush these, never a server it did not start.

`resolve` picks, per server: the URL in RABBITMQ_URL / REDIS_URL / DATABASE_URL when it answers;
else the default local port when it answers; else (where private servers are allowed) a private
server from the local binaries; else a testcontainers container where a Docker engine answers; else
it fails at once, naming the apt-get line for each missing server. A given URL that does not answer
is replaced only under WOONOX_PRIVATE_SERVERS=1: otherwise a typo would silently test elsewhere.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["INSTALL", "PrivateServers", "Resolved", "port_answers", "resolve", "server_answers"]

DEFAULTS: dict[str, tuple[str, int]] = {
    "RABBITMQ_URL": ("amqp://guest:guest@127.0.0.1:5672/", 5672),
    "REDIS_URL": ("redis://127.0.0.1:6379/0", 6379),
    "DATABASE_URL": ("postgresql+asyncpg://postgres@127.0.0.1:5432/test", 5432),
}
KIND = {"RABBITMQ_URL": "rabbitmq", "REDIS_URL": "redis", "DATABASE_URL": "postgres"}
INSTALL = {
    "rabbitmq": "apt-get install rabbitmq-server   # RabbitMQ >= 3.10",
    "redis": "apt-get install redis-server",
    "postgres": "apt-get install postgresql",
}
READY_TIMEOUT = 90.0  # a RabbitMQ node boots in ~10 s idle; far longer on a loaded 2-core machine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


# What each server says first. A port that accepts TCP is not enough: a hung RabbitMQ node accepts
# connections and never sends AMQP's Connection.Start, and tests against it would hang instead of
# using a private node.
_HELLO: dict[str, tuple[bytes, tuple[bytes, ...]]] = {
    "rabbitmq": (b"AMQP\x00\x00\x09\x01", (b"\x01\x00\x00",)),  # a method frame on channel 0
    "redis": (b"PING\r\n", (b"+PONG", b"-NOAUTH")),
    "postgres": (b"\x00\x00\x00\x08\x04\xd2\x16\x2f", (b"N", b"S")),  # SSLRequest: 'N' or 'S'
}


def server_answers(kind: str, host: str, port: int, timeout: float = 5.0) -> bool:
    """True when the server on host:port speaks its protocol's first words within `timeout`."""
    hello, expect = _HELLO[kind]
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.settimeout(timeout)
            conn.sendall(hello)
            return conn.recv(64).startswith(expect)
    except OSError:
        return False


DEFAULT_PORTS = {"amqp": 5672, "redis": 6379, "postgresql": 5432}
SCHEME_KIND = {"amqp": "rabbitmq", "redis": "redis", "postgresql": "postgres"}


def _url_answers(url: str) -> bool:
    parts = urlsplit(url)
    scheme = parts.scheme.split("+")[0]
    if scheme not in SCHEME_KIND:
        return port_answers(parts.hostname or "127.0.0.1", parts.port or 0)
    return server_answers(SCHEME_KIND[scheme], parts.hostname or "127.0.0.1", parts.port or DEFAULT_PORTS[scheme])


def _wait(what: str, ready: Callable[[], bool], alive: Callable[[], bool], log: Path | None,
          timeout: float = READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if not alive():
            tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise RuntimeError(f"private {what} exited while starting:\n{tail}")
        time.sleep(0.2)  # polling a server's readiness, bounded by the deadline
    raise TimeoutError(f"private {what} not ready after {timeout:.0f}s")


def _stop_popen(popen: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    if popen.poll() is not None:
        return
    with suppress(ProcessLookupError):
        os.killpg(popen.pid, signal.SIGTERM)
    try:
        popen.wait(grace)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(popen.pid, signal.SIGKILL)
        popen.wait(10)


@dataclass
class PrivateRedis:
    root: Path
    port: int = field(default_factory=_free_port)
    popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        log = self.root / "redis.log"
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                 "--dir", str(self.root), "--save", "", "--appendonly", "no", "--daemonize", "no"],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        popen = self.popen
        _wait("redis-server", self._pong, lambda: popen.poll() is None, log)

    def _pong(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.popen is not None:
            _stop_popen(self.popen)
            self.popen = None


def _rabbit_script(name: str) -> str:
    """The real script, not Debian's /usr/sbin wrapper, which as root switches to the system
    `rabbitmq` user and its HOME (and so to the machine's node and Erlang cookie)."""
    bundled = glob.glob(f"/usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin/{name}")
    for candidate in (f"/usr/lib/rabbitmq/bin/{name}", *bundled):
        if os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(name)
    return found


@dataclass
class PrivateRabbit:
    """A RabbitMQ node of its own: node name, AMQP, distribution and epmd ports, data and logs under
    `root`, its own Erlang cookie (HOME is `root`), so rabbitmqctl here reaches no other node."""

    root: Path
    port: int = field(default_factory=_free_port)
    dist_port: int = field(default_factory=_free_port)
    epmd_port: int = field(default_factory=_free_port)
    node: str = field(default_factory=lambda: f"woonox-{secrets.token_hex(4)}@localhost")
    popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def env(self) -> dict[str, str]:
        r = self.root
        return {**os.environ, "HOME": str(r), "RABBITMQ_NODENAME": self.node, "RABBITMQ_USE_LONGNAME": "false",
                "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1", "RABBITMQ_NODE_PORT": str(self.port),
                "RABBITMQ_DIST_PORT": str(self.dist_port), "ERL_EPMD_PORT": str(self.epmd_port),
                "ERL_EPMD_ADDRESS": "127.0.0.1", "ERL_FLAGS": "-kernel inet_dist_use_interface {127,0,0,1}",
                "RABBITMQ_MNESIA_BASE": str(r / "mnesia"), "RABBITMQ_LOG_BASE": str(r / "log"),
                "RABBITMQ_CONFIG_FILE": str(r / "rabbitmq.conf"),
                "RABBITMQ_CONF_ENV_FILE": str(r / "rabbitmq-env.conf"),
                "RABBITMQ_ADVANCED_CONFIG_FILE": str(r / "advanced.config"),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(r / "enabled_plugins"),
                "RABBITMQ_PID_FILE": str(r / "rabbit.pid")}

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\nlog.console = false\n")
        (self.root / "rabbitmq-env.conf").write_text("")  # not the machine's /etc/rabbitmq/rabbitmq-env.conf
        (self.root / "enabled_plugins").write_text("[].\n")  # queue depths come from passive declares
        log = self.root / "rabbitmq-server.out"
        with log.open("ab") as out:
            self.popen = subprocess.Popen([_rabbit_script("rabbitmq-server")], env=self.env(), cwd=self.root,
                                          stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        popen = self.popen
        _wait(f"RabbitMQ node {self.node}", self.amqp_answers, lambda: popen.poll() is None, log)

    def amqp_answers(self) -> bool:
        """The AMQP 0-9-1 protocol header answered with a Connection.Start frame (type 1)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(b"AMQP\x00\x00\x09\x01")
                return s.recv(1) == b"\x01"
        except OSError:
            return False

    def ctl(self, *args: str, timeout: float = 120.0) -> str:
        """rabbitmqctl against this node only (its name and cookie)."""
        done = subprocess.run([_rabbit_script("rabbitmqctl"), "-n", self.node, *args], env=self.env(),
                              capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl -n {self.node} {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def stop(self) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            with suppress(RuntimeError, subprocess.SubprocessError, OSError):
                self.ctl("stop", timeout=60)
            _stop_popen(self.popen)
        self.popen = None
        epmd = shutil.which("epmd") or next(iter(glob.glob("/usr/lib/erlang/erts-*/bin/epmd")), None)
        if epmd:  # the node started an epmd on its private port; it outlives the node
            with suppress(subprocess.SubprocessError, OSError):
                subprocess.run([epmd, "-port", str(self.epmd_port), "-kill"], env=self.env(),
                               capture_output=True, timeout=10, check=False)


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4])
                   if p.split("/")[4].isdigit() else 0)
    return found[-1] if found else shutil.which(name)


@dataclass
class PrivatePostgres:
    """initdb + pg_ctl in a temp dir, on a free port; as root, run as the `postgres` user (PostgreSQL
    refuses to run as root) in a temp dir that user owns."""

    root: Path
    port: int = field(default_factory=_free_port)
    started: bool = False

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/test"

    def _run(self, *cmd: str, timeout: float = READY_TIMEOUT) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*prefix, *cmd], capture_output=True, text=True, timeout=timeout, check=False,
                              cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr.strip() or done.stdout.strip()}")

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        data = self.root / "data"
        initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        assert initdb and pg_ctl
        self._run(initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(pg_ctl, "-D", str(data), "-o", options, "-l", str(self.root / "postgres.log"), "-w",
                  "-t", str(int(READY_TIMEOUT)), "start")
        self.started = True
        createdb = _pg_bin("createdb")
        assert createdb
        self._run(createdb, "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "test")

    def stop(self) -> None:
        if self.started:
            pg_ctl = _pg_bin("pg_ctl")
            assert pg_ctl
            with suppress(RuntimeError, subprocess.SubprocessError):
                self._run(pg_ctl, "-D", str(self.root / "data"), "-m", "fast", "-w", "-t", "60", "stop")
            self.started = False


def binaries_missing(kinds: list[str]) -> list[str]:
    """The servers of `kinds` whose binaries this machine lacks."""
    have = {"redis": lambda: bool(shutil.which("redis-server")),
            "rabbitmq": lambda: _has_rabbit(),
            "postgres": lambda: bool(_pg_bin("initdb") and _pg_bin("pg_ctl"))}
    return [k for k in kinds if not have[k]()]


def _has_rabbit() -> bool:
    try:
        _rabbit_script("rabbitmq-server")
        _rabbit_script("rabbitmqctl")
        return True
    except FileNotFoundError:
        return False


class PrivateServers:
    """Servers this process started, in one temp dir; `close` stops them all and removes it."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="woonox-servers-"))
        os.chmod(self.root, 0o755)  # noqa: S103  # the postgres user must reach its own subdirectory
        self.redis: PrivateRedis | None = None
        self.rabbit: PrivateRabbit | None = None
        self.postgres: PrivatePostgres | None = None
        self._containers: list[Any] = []

    def start(self, kind: str) -> str:
        """Start one server of `kind` ("redis", "rabbitmq", "postgres"); its URL."""
        try:
            if kind == "redis":
                self.redis = PrivateRedis(self.root / "redis")
                self.redis.start()
                return self.redis.url
            if kind == "rabbitmq":
                self.rabbit = PrivateRabbit(self.root / "rabbitmq")
                self.rabbit.start()
                return self.rabbit.url
            self.postgres = PrivatePostgres(self.root / "postgres")
            self.postgres.start()
            return self.postgres.url
        except BaseException:
            self.close()
            raise

    def container(self, kind: str) -> str:
        url, handle = _container(kind)
        self._containers.append(handle)
        return url

    def close(self) -> None:
        for server in (self.redis, self.rabbit, self.postgres):
            if server is not None:
                server.stop()
        self.redis = self.rabbit = self.postgres = None
        while self._containers:
            with suppress(Exception):
                self._containers.pop().stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PrivateServers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env().ping()
        return True
    except Exception:
        return False


def _container(kind: str) -> tuple[str, Any]:
    if kind == "rabbitmq":
        from testcontainers.rabbitmq import RabbitMqContainer

        rabbit = RabbitMqContainer("rabbitmq:3.10-management").start()
        return f"amqp://guest:guest@{rabbit.get_container_host_ip()}:{rabbit.get_exposed_port(5672)}/", rabbit
    if kind == "redis":
        from testcontainers.redis import RedisContainer

        cache = RedisContainer("redis:7").start()
        return f"redis://{cache.get_container_host_ip()}:{cache.get_exposed_port(6379)}/0", cache
    from testcontainers.postgres import PostgresContainer

    pg = PostgresContainer("postgres:15", driver="asyncpg").start()
    return str(pg.get_connection_url()), pg


@dataclass
class Resolved:
    urls: dict[str, str]
    private: PrivateServers | None

    def close(self) -> None:
        if self.private is not None:
            self.private.close()


def resolve(env: Mapping[str, str] | None = None, *, allow_private: bool = True) -> Resolved:
    """Where RabbitMQ, Redis and PostgreSQL are, starting the missing ones (see the module's doc)."""
    env = os.environ if env is None else env
    replace_given = env.get("WOONOX_PRIVATE_SERVERS", "") == "1"
    urls: dict[str, str] = {}
    missing: list[str] = []
    for var, (default, port) in DEFAULTS.items():
        given = env.get(var)
        if given and (_url_answers(given) or not replace_given):
            urls[var] = given  # a given URL that does not answer fails in the first test, naming it
        elif not given and server_answers(KIND[var], "127.0.0.1", port):
            urls[var] = default
        else:
            missing.append(var)
    if not missing:
        return Resolved(urls, None)
    kinds = [KIND[v] for v in missing]
    lacking = binaries_missing(kinds) if allow_private else kinds
    if lacking and not _docker_answers():
        lines = "\n".join(f"  {INSTALL[k]}" for k in lacking)
        raise RuntimeError(
            f"no {', '.join(missing)} answers and none can be started here. Set the URL, run the server on "
            f"its default port, run a Docker engine (testcontainers), or install the server:\n{lines}")
    private = PrivateServers()
    try:
        for var, kind in zip(missing, kinds, strict=True):
            urls[var] = private.container(kind) if kind in lacking else private.start(kind)
    except BaseException:
        private.close()
        raise
    return Resolved(urls, private)
