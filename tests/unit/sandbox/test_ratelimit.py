"""Fortnox developer docs, https://www.fortnox.se/developer/guides-and-good-to-know/rate-limits:
25 requests in any 5-second sliding window per (client, tenant), then 429."""

from __future__ import annotations

from typing import Any

import httpx

from tests.unit.sandbox.conftest import FakeClock, Tenant, make_tenant


async def _statuses(client: httpx.AsyncClient, tenant: Tenant, n: int) -> list[int]:
    return [(await client.get("/3/companyinformation", headers=tenant.headers)).status_code for _ in range(n)]


async def test_26_requests_in_a_window_get_exactly_one_429(sandbox_app: Any, client: httpx.AsyncClient,
                                                           tenant: Tenant) -> None:
    clock = FakeClock()
    sandbox_app.state.sandbox.state.clock = clock
    statuses = await _statuses(client, tenant, 26)
    assert statuses.count(429) == 1
    assert statuses[-1] == 429
    r = await client.get("/3/companyinformation", headers=tenant.headers)
    assert r.status_code == 429
    assert "retry-after" not in r.headers
    assert "x-ratelimit-remaining" not in r.headers


async def test_window_slides_rather_than_resetting(sandbox_app: Any, client: httpx.AsyncClient,
                                                   tenant: Tenant) -> None:
    clock = FakeClock()
    sandbox_app.state.sandbox.state.clock = clock
    clock.now = 1004.0  # late in a would-be fixed bucket [1000, 1005)
    assert (await _statuses(client, tenant, 25)).count(200) == 25
    clock.now = 1006.0  # a fixed bucket would have reset here; the sliding window has not moved past 1004
    assert await _statuses(client, tenant, 1) == [429]
    clock.now = 1009.01  # 1004 is now more than 5 s ago
    assert (await _statuses(client, tenant, 25)).count(200) == 25


async def test_limit_is_per_client_and_tenant(sandbox_app: Any, client: httpx.AsyncClient, tenant: Tenant) -> None:
    sandbox_app.state.sandbox.state.clock = FakeClock()
    other = await make_tenant(client, "Annan AB")
    assert (await _statuses(client, tenant, 26)).count(429) == 1
    assert (await _statuses(client, other, 25)).count(200) == 25
