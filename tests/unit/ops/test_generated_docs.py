"""docs/asyncapi.json and docs/openapi-ingest.json match the code (regenerate: python -m scripts.gen_docs)."""

from __future__ import annotations

import json

from libs.common import commands
from libs.common.topology import Topology
from scripts.gen_docs import ASYNCAPI, OPENAPI, asyncapi, openapi, render


def test_asyncapi_is_current() -> None:
    assert ASYNCAPI.read_text() == render(asyncapi()), "docs/asyncapi.json is stale: python -m scripts.gen_docs"


def test_openapi_is_current() -> None:
    assert OPENAPI.read_text() == render(openapi()), "docs/openapi-ingest.json is stale: python -m scripts.gen_docs"


def test_asyncapi_documents_every_command_and_consumer_group() -> None:
    doc = json.loads(ASYNCAPI.read_text())
    assert doc["asyncapi"].startswith("3.")
    channels = set(doc["channels"])
    for mtype in (commands.COMMAND_DOCUMENT, commands.COMMAND_ARTICLE, commands.COMMAND_CUSTOMER,
                  commands.COMMAND_STOCK, "woo.order.updated", "fortnox.article.changed"):
        assert mtype in channels, mtype
    for group in Topology("woonox").groups:
        assert any(c.startswith(f"woonox.{group.name}") for c in channels), group.name
    schemas = doc["components"]["schemas"]
    assert "woo_order_id" in schemas["DocumentCommand"]["properties"]
