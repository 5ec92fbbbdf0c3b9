from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from libs.common.settings import CommonSettings
from libs.common.topology import Topology
from tests.conftest import ROOT
from tests.e2e.writer_stack import WriterWorld, close_world, make_world


@pytest.fixture
async def world(request: pytest.FixtureRequest, settings: CommonSettings, database: Any, topology: Topology,
                redis_client: aioredis.Redis, service_env: dict[str, str]) -> AsyncIterator[WriterWorld]:
    log_dir = ROOT / "test-output" / request.node.name
    w = await make_world(settings, database, redis_client, service_env, log_dir)
    try:
        yield w
    finally:
        await close_world(w)
