"""Issue 6 acceptance, the hard cases (writers as processes, sandbox as a process):

- the sandbox drops the connection after committing 10 % of creates: still one document per order;
- a writer is SIGKILLed mid-batch and Redis loses its data mid-batch: still one document per order,
  none missing, and no tenant needs to reconnect;
- five writers start with an expired access token: exactly one refresh reaches the sandbox.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from libs.common.store.models import FortnoxToken, TenantRow
from tests.e2e.writer_stack import WriterWorld, shuffled_triples, wait_until
from tests.writer_harness import order_command


@pytest.fixture
def service_env(own_service_env: dict[str, str]) -> dict[str, str]:
    """This module flushes Redis: its own redis-server and RabbitMQ node (tests/servers.py)."""
    return own_service_env


T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
FAST_RECOVERY = {"WOONOX_HTTP_TIMEOUT": "5",
                 "WOONOX_CLAIM_LEASE_MS": "8000"}


def _one_each(documents: list[dict[str, object]], n: int) -> None:
    refs = Counter(str(d["ExternalInvoiceReference1"]) for d in documents)
    assert len(refs) == n, f"{len(refs)} orders booked of {n}"
    doubles = {ref: count for ref, count in refs.items() if count > 1}
    assert not doubles, f"booked twice: {doubles}"


async def test_drop_after_commit_does_not_double_book(world: WriterWorld) -> None:
    company = await world.tenant("shop-d")
    r = await world.http.put(f"{world.sandbox_url}/_sandbox/faults", json={"rules": [
        {"drop_after_commit_share": 0.1, "path_prefix": "/3/orders", "database_number": company.database_number}]})
    r.raise_for_status()
    for name in ("writer-0", "writer-1"):
        world.stack.start(name, "woonox-writer", extra_env=FAST_RECOVERY)
        world.stack.wait_ready(name, timeout=60)
    n = 100
    await world.publish([order_command("shop-d", i) for i in range(n)])

    async def done() -> bool:
        return await world.booked("shop-d") == n

    await wait_until(done, timeout=300, what=f"{n} orders booked", world=world)
    journal = await world.journal(company.database_number)
    drops = [e for e in journal if e.get("fault") == "drop_after_commit"]
    creates = [e for e in journal if e["method"] == "POST" and e["path"] == "/3/orders"]
    _one_each(await world.documents(company), n)
    assert drops, "the fault never fired: the test proves nothing"
    assert len(creates) == n, "every create reached Fortnox once: a dropped one was looked up, not repeated"


async def test_sigkill_and_redis_loss_mid_batch(world: WriterWorld) -> None:
    company = await world.tenant("shop-k")
    for i in range(3):
        world.stack.start(f"writer-{i}", "woonox-writer", extra_env=FAST_RECOVERY)
    for i in range(3):
        world.stack.wait_ready(f"writer-{i}", timeout=60)
    n = 150
    await world.publish(shuffled_triples([order_command("shop-k", i, email=f"c{i % 7}@example.se")
                                          for i in range(n)]))

    async def at_least(k: int) -> bool:
        return await world.booked("shop-k") >= k

    await wait_until(lambda: at_least(30), timeout=120, what="30 orders", world=world)
    world.stack.kill("writer-0")  # SIGKILL mid-batch: its unacked messages come back
    await wait_until(lambda: at_least(60), timeout=120, what="60 orders", world=world)
    await world.redis.flushall()  # this session's own redis-server (service_env above): nothing else is in it
    world.stack.start("writer-3", "woonox-writer", extra_env=FAST_RECOVERY)
    world.stack.wait_ready("writer-3", timeout=60)

    await wait_until(lambda: at_least(n), timeout=420, what=f"all {n} orders", world=world)
    _one_each(await world.documents(company), n)
    customers = Counter(str(c["Email"]) for c in await world.documents(company, "customers"))
    assert set(customers.values()) == {1}, f"customers created twice: {customers}"
    async with world.sessions() as session:
        tenant = await session.get(TenantRow, "shop-k")
        assert tenant is not None and tenant.status == "active", tenant.status_reason if tenant else None


async def test_five_writers_with_an_expired_token_refresh_once(world: WriterWorld) -> None:
    company = await world.tenant("shop-t")
    # Expired on both sides: Fortnox rejects it, and the record says so too.
    r = await world.http.post(f"{world.sandbox_url}/_sandbox/companies/{company.database_number}/expire-tokens")
    r.raise_for_status()
    async with world.sessions.begin() as session:
        await session.execute(update(FortnoxToken).where(FortnoxToken.tenant_id == "shop-t")
                              .values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    await world.publish([order_command("shop-t", i) for i in range(40)])
    world.start_writers(5, env=FAST_RECOVERY)

    async def done() -> bool:
        return await world.booked("shop-t") == 40

    await wait_until(done, timeout=180, what="40 orders", world=world)
    refreshes = [e for e in await world.journal() if e["path"] == "/oauth-v1/token"]
    assert len(refreshes) == 1, refreshes
    assert refreshes[0]["status"] == 200
    # The new pair works after a Redis loss too: no second refresh, nobody locked out.
    async for key in world.redis.scan_iter(match=f"{world.settings.redis_prefix}:*"):
        await world.redis.delete(key)
    await world.publish([order_command("shop-t", 100 + i) for i in range(5)])

    async def more() -> bool:
        return await world.booked("shop-t") == 45

    await wait_until(more, timeout=120, what="5 more orders after the Redis loss", world=world)
    assert len([e for e in await world.journal() if e["path"] == "/oauth-v1/token"]) == 1
