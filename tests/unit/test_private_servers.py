"""Resolution of the servers: a given URL that answers is used as is; with nothing to start a server
from, the failure comes at once and names the apt-get line for each missing server."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from libs.cli import private_servers
from libs.cli.private_servers import INSTALL, resolve, server_answers


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again once the socket is


@contextmanager
def _server_saying(first_words: bytes | None) -> Iterator[int]:
    """A listener that answers every connection's first bytes with `first_words` (None: says
    nothing, as a hung RabbitMQ node does); yields its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        held = []
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(conn)
            conn.recv(64)
            if first_words is not None:
                conn.sendall(first_words)
        for conn in held:
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_answering_urls_are_used_and_nothing_is_started() -> None:
    with (_server_saying(b"\x01\x00\x00\x00\x00\x01\xfc") as amqp, _server_saying(b"+PONG\r\n") as red,
          _server_saying(b"N") as pg):
        env = {"RABBITMQ_URL": f"amqp://guest:guest@127.0.0.1:{amqp}/", "REDIS_URL": f"redis://127.0.0.1:{red}/0",
               "DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{pg}/test", "WOONOX_PRIVATE_SERVERS": "1"}
        found = resolve(env)
    assert found.private is None
    assert found.urls == {k: v for k, v in env.items() if k.endswith("_URL")}


def test_a_port_that_accepts_but_never_speaks_does_not_answer() -> None:
    """A hung broker accepts TCP; only its protocol's first words show that it is alive."""
    with _server_saying(None) as silent:
        for kind in ("rabbitmq", "redis", "postgres"):
            assert not server_answers(kind, "127.0.0.1", silent, timeout=0.5), kind
    with _server_saying(b"+PONG\r\n") as red:
        assert server_answers("redis", "127.0.0.1", red)
        assert not server_answers("rabbitmq", "127.0.0.1", red, timeout=0.5)


def test_nothing_to_start_fails_naming_the_install_line_of_each_server(monkeypatch: pytest.MonkeyPatch) -> None:
    port = _closed_port()
    monkeypatch.setattr(private_servers, "binaries_missing", lambda kinds: list(kinds))
    monkeypatch.setattr(private_servers, "_docker_answers", lambda: False)
    env = {"RABBITMQ_URL": f"amqp://guest:guest@127.0.0.1:{port}/", "REDIS_URL": f"redis://127.0.0.1:{port}/0",
           "DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{port}/test", "WOONOX_PRIVATE_SERVERS": "1"}
    with pytest.raises(RuntimeError) as failed:
        resolve(env)
    for line in INSTALL.values():
        assert line in str(failed.value)


def test_a_given_url_that_does_not_answer_is_kept_unless_replacing_is_allowed() -> None:
    port = _closed_port()
    env = {"RABBITMQ_URL": f"amqp://guest:guest@127.0.0.1:{port}/", "REDIS_URL": f"redis://127.0.0.1:{port}/0",
           "DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{port}/test"}
    found = resolve(env)
    assert found.private is None and found.urls == env
