"""Resolution of the servers: a given URL that answers is used as is; with nothing to start a server
from, the failure comes at once and names the apt-get line for each missing server."""

from __future__ import annotations

import socket

import pytest

from libs.cli import private_servers
from libs.cli.private_servers import INSTALL, resolve


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again once the socket is


def test_answering_urls_are_used_and_nothing_is_started() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        env = {"RABBITMQ_URL": f"amqp://guest:guest@127.0.0.1:{port}/", "REDIS_URL": f"redis://127.0.0.1:{port}/0",
               "DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{port}/test", "WOONOX_PRIVATE_SERVERS": "1"}
        found = resolve(env)
    assert found.private is None
    assert found.urls == {k: v for k, v in env.items() if k.endswith("_URL")}


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
