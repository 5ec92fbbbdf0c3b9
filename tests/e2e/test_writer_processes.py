"""Issue 6 acceptance: writers as separate processes keep every invariant.

- duplicates, replays and reordering across 4 writers: exactly one document per order, the latest
  snapshot applied, and Fortnox's rate limit never exceeded (0 × 429, ≤ 25 requests in any 5 s);
- a poison message dead-letters with a readable reason while the good ones around it are booked.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from libs.common.topology import FORTNOX_WRITER
from tests.e2e.writer_stack import WriterWorld, max_in_window, shuffled_triples, wait_until
from tests.integration.broker_helpers import drain, header
from tests.writer_harness import order_command

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


async def test_500_orders_three_deliveries_each_four_writers(world: WriterWorld) -> None:
    company = await world.tenant("shop-a")
    world.start_writers(4)
    n = 500
    latest = [order_command("shop-a", 1000 + i, modified=T0 + timedelta(minutes=5), price=f"{100 + i}.00")
              for i in range(n)]
    # An older snapshot of every tenth order arrives too, shuffled in among the rest: it must lose.
    older = [order_command("shop-a", 1000 + i, modified=T0, price="1.00") for i in range(0, n, 10)]
    await world.publish(shuffled_triples(latest + older))

    async def all_booked() -> bool:
        snaps = await world.snapshots("shop-a")
        return len(snaps) == n and all(s == T0 + timedelta(minutes=5) for s in snaps.values())

    await wait_until(all_booked, timeout=600, what="500 orders at their latest snapshot", world=world)

    orders = await world.documents(company)
    refs = Counter(o["ExternalInvoiceReference1"] for o in orders)
    assert len(orders) == n, f"{len(orders)} Fortnox orders for {n} WooCommerce orders"
    assert set(refs.values()) == {1}
    prices = {o["ExternalInvoiceReference1"]: Decimal(str(o["OrderRows"][0]["Price"])) for o in orders}
    assert all(prices[f"woonox:shop-a:order:{1000 + i}"] == Decimal(100 + i) for i in range(n))

    journal = [e for e in await world.journal(company.database_number) if e["path"].startswith("/3/")]
    assert not [e for e in journal if e["status"] == 429]
    assert max_in_window([datetime.fromisoformat(e["at"]) for e in journal]) <= 25
    print(f"\n{len(journal)} Fortnox requests for {n} orders ({len(journal) / n:.2f} per order)")


async def test_poison_message_dead_letters_and_good_ones_are_booked(world: WriterWorld) -> None:
    company = await world.tenant("shop-p")
    world.start_writers(1)
    good = [order_command("shop-p", i) for i in (1, 2, 4, 5)]
    bad = order_command("shop-p", 3, account=3999)  # not in the company's chart of accounts
    await world.publish([good[0], good[1], bad, good[2], good[3]])

    async def good_booked() -> bool:
        return await world.booked("shop-p") == 4

    await wait_until(good_booked, timeout=60, what="the four good orders", world=world)
    dead = await drain(world.settings.rabbitmq_url, world.publisher.topology.dlq(FORTNOX_WRITER), expect=1)
    assert header(dead[0], "x-tenant") == "shop-p"
    assert header(dead[0], "x-death-code") == "2001304"
    assert "account" in header(dead[0], "x-death-reason")
    assert len(await world.documents(company)) == 4
