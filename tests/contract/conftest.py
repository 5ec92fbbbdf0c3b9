"""The contract suite drives the sandbox in-process with its own response validation on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.fortnox_sandbox.app import create_app
from services.fortnox_sandbox.settings import SandboxSettings
from tests.contract.openapi_check import OpenApi


@pytest.fixture(scope="session")
def openapi() -> OpenApi:
    return OpenApi()


@pytest.fixture
def sandbox_app() -> Any:
    return create_app(SandboxSettings(validate_requests=True, validate_responses=True, rate_limit=100_000))


@pytest.fixture
async def client(sandbox_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox_app), base_url="http://sandbox") as c:
        yield c
