"""`woonox sandbox faults/journal/company` against a sandbox served by uvicorn on a real socket."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner

from libs.cli.main import app as woonox
from services.fortnox_sandbox.app import create_app
from services.fortnox_sandbox.settings import SandboxSettings

runner = CliRunner()


@pytest.fixture
def live_url() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(SandboxSettings()), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:  # a bounded wait on a condition, not a sleep as synchronisation
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_faults_set_show_clear(live_url: str) -> None:
    r = runner.invoke(woonox, ["sandbox", "faults", "set", "--url", live_url, "--error-share", "0.5",
                               "--path-prefix", "/3/orders", "--database-number", "7"])
    assert r.exit_code == 0, r.output
    shown = runner.invoke(woonox, ["sandbox", "faults", "show"], env={"WOONOX_SANDBOX_URL": live_url})
    rules = json.loads(shown.output)["rules"]
    assert [(x["error_share"], x["path_prefix"], x["database_number"]) for x in rules] == [(0.5, "/3/orders", 7)]
    added = runner.invoke(woonox, ["sandbox", "faults", "set", "--url", live_url, "--latency-ms", "5", "--add"])
    assert len(json.loads(added.output)["rules"]) == 2
    assert runner.invoke(woonox, ["sandbox", "faults", "clear", "--url", live_url]).exit_code == 0
    assert httpx.get(f"{live_url}/_sandbox/faults").json() == {"rules": []}


def test_company_add_and_journal(live_url: str) -> None:
    r = runner.invoke(woonox, ["sandbox", "company", "add", "Demo AB", "--client-id", "woonox", "--url", live_url],
                      env={"WOONOX_SANDBOX_CLIENT_SECRET": "s3cret"})
    assert r.exit_code == 0, r.output
    token = json.loads(r.output)["access_token"]
    httpx.get(f"{live_url}/3/companyinformation", headers={"Authorization": f"Bearer {token}"})
    listed = runner.invoke(woonox, ["sandbox", "journal", "--url", live_url, "--json", "--method", "GET"])
    entries = json.loads(listed.output)["entries"]
    assert [(e["path"], e["status"]) for e in entries] == [("/3/companyinformation", 200)]
    table = runner.invoke(woonox, ["sandbox", "journal", "--url", live_url])
    assert table.exit_code == 0
    assert "/3/compan" in table.output  # the table folds long paths to the terminal's width
    assert runner.invoke(woonox, ["sandbox", "journal", "--url", live_url, "--clear"]).exit_code == 0
    assert httpx.get(f"{live_url}/_sandbox/journal").json() == {"entries": []}


def test_unreachable_sandbox_is_a_clear_error() -> None:
    r = runner.invoke(woonox, ["sandbox", "faults", "show", "--url", "http://127.0.0.1:9"])
    assert r.exit_code == 1
    assert "cannot reach the sandbox" in r.output


def test_company_set_switches_rounding(live_url: str) -> None:
    r = httpx.post(f"{live_url}/_sandbox/companies", json={"name": "R AB", "client_id": "c", "client_secret": "s"})
    number = r.json()["database_number"]
    out = runner.invoke(woonox, ["sandbox", "company", "set", str(number), "--rounding", "--url", live_url])
    assert out.exit_code == 0, out.output
    companies = httpx.get(f"{live_url}/_sandbox/companies").json()["companies"]
    assert [c["rounding"] for c in companies] == [True]
