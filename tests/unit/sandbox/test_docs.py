"""docs/sandbox.md names every endpoint the sandbox serves (the README links that list)."""

from __future__ import annotations

from services.fortnox_sandbox.resources import register_all
from services.fortnox_sandbox.routing import Router
from tests.conftest import ROOT


def test_every_endpoint_is_listed() -> None:
    text = (ROOT / "docs" / "sandbox.md").read_text(encoding="utf-8")
    router = Router()
    register_all(router)
    missing = [f"{e.method} {e.template}" for e in router.endpoints if f"`{e.method} {e.template}`" not in text]
    assert missing == []
