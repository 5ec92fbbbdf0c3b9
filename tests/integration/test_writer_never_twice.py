"""Never twice, under any fault: the chain of the long chaos run of 2026-12-01 (issue 14), replayed
step by step against the sandbox.

Shop-4's order 175 got two Fortnox orders: its create was dropped after commit, later attempts found
the order by its reference but failed at a later step, Redis lost its keys, the claims expired, the
writer was killed, and a newer snapshot in another message then created a second order without a
lookup. The mark "a create may have happened" had lived in Redis only (tests/fixtures/chaos-2026-12-01/
holds the sandbox journal of that order).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from libs.common.commands import DocumentCommand
from libs.common.envelope import Envelope
from libs.common.errors import TransientError
from libs.common.settings import CommonSettings
from libs.common.store.bookings import BookingStore
from services.fortnox_sandbox.app import create_app
from services.fortnox_sandbox.settings import SandboxSettings
from services.fortnox_writer.handlers import WriterHandlers
from tests.fixtures import fixture_path
from tests.integration.broker_helpers import wait_for
from tests.writer_harness import add_tenant, create_company, order_command, writer_handlers

pytestmark = pytest.mark.integration

SANDBOX = "http://sandbox.test"
# Short enough to reach by waiting; a lease still outlives every in-process call.
LEASE_MS, DEGRADED_MS = 800, 1_600


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(SandboxSettings())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        yield client


def deliver(handlers: WriterHandlers, cmd: DocumentCommand) -> Any:
    return handlers.handle(Envelope.new(tenant=cmd.tenant, type="fortnox.command.document", body=cmd.to_body()))


async def redeliver_until_applied(handlers: WriterHandlers, cmd: DocumentCommand) -> None:
    """What the broker does with a message that failed transiently: deliver it again."""
    async def applied() -> bool:
        try:
            await deliver(handlers, cmd)
        except TransientError:
            return False
        return True

    await wait_for(applied, timeout=30, what=f"order {cmd.woo_order_id} applied")


async def fortnox_orders(http: httpx.AsyncClient, token: str, reference: str) -> list[dict[str, Any]]:
    r = await http.get(f"{SANDBOX}/3/orders", headers={"Authorization": f"Bearer {token}"},
                       params={"externalinvoicereference1": reference})
    assert r.status_code == 200, r.text
    return [o for o in r.json()["Orders"] if o["ExternalInvoiceReference1"] == reference]


async def lose_redis(redis: aioredis.Redis, prefix: str) -> None:
    # What FLUSHALL does to this deployment (the server is shared, so only this test's keys go).
    async for key in redis.scan_iter(match=f"{prefix}:*"):
        await redis.delete(key)


async def faults(http: httpx.AsyncClient, rules: list[dict[str, Any]]) -> None:
    assert (await http.put(f"{SANDBOX}/_sandbox/faults", json={"rules": rules})).status_code == 200


def test_the_fixture_is_the_pattern_of_the_chaos_run() -> None:
    """The evidence this test replays: one reference, a create dropped after commit, a lookup that
    found it, and a second create that no lookup preceded."""
    journal = json.loads(fixture_path("chaos-2026-12-01", "order-175-journal.json").read_text())
    creates = [e for e in journal["journal"] if e["method"] == "POST" and e["status"] == 201]
    assert journal["documents"] == ["60", "282"] and len(creates) == 2
    assert creates[0]["fault"] == "drop_after_commit"
    before_second = [e for e in journal["journal"] if e["id"] < creates[1]["id"] and e["method"] == "GET"]
    assert before_second and before_second[-1]["response_body"]["Orders"][0]["DocumentNumber"] == "60"


async def test_the_chain_of_faults_books_the_order_once(settings: CommonSettings, database: Any,
                                                       redis_client: aioredis.Redis,
                                                       http: httpx.AsyncClient) -> None:
    company = await create_company(http, SANDBOX)
    await add_tenant(database, settings, redis_client, http, SANDBOX, "shop-4", company)
    first = order_command("shop-4", 175, convert_to_invoice=True)
    newer = order_command("shop-4", 175, convert_to_invoice=True, price="120.00",
                          modified=datetime(2026, 11, 1, 13, 0, tzinfo=UTC))

    def writer() -> WriterHandlers:
        return writer_handlers(database, settings, redis_client, http, lease_ms=LEASE_MS, degraded_ms=DEGRADED_MS)

    w1 = writer()
    # 1. The create is committed in Fortnox, its answer is lost.
    await faults(http, [{"drop_after_commit_next": 1, "path_prefix": "/3/orders"}])
    with pytest.raises(TransientError):
        await deliver(w1, first)
    committed = await fortnox_orders(http, company.access_token, first.external_ref)
    assert len(committed) == 1

    # 2. The redelivery finds it by its reference, then fails at its next step (here: reading it).
    await faults(http, [{"error_share": 1.0, "error_status": 503, "path_prefix": "/3/orders/"}])
    with pytest.raises(TransientError):
        await deliver(w1, first)
    await faults(http, [])
    # What the lookup found is booked at once, before the step that failed.
    found = await BookingStore(database).get("shop-4", "order", "175", "order")
    assert found is not None and found.fortnox_number == str(committed[0]["DocumentNumber"])

    # 3. Redis loses this deployment's keys: the claim and every mark of the attempt.
    await lose_redis(redis_client, settings.redis_prefix)
    # 4. The newer snapshot, in a new message, meets the quarantine after the loss...
    with pytest.raises(TransientError):
        await deliver(w1, newer)
    # 5. ...and the writer is killed: a new one starts, with nothing of the old one in memory.
    w2 = writer()

    async def window_over() -> bool:
        # The claims held before the loss expire, and the degraded window after it ends.
        probe = await w2._ledger.begin("shop-4", "probe")
        await w2._ledger.release(probe)
        return probe.acquired and not probe.degraded

    await w2._epoch.seed()
    await wait_for(window_over, timeout=30, what="the degraded window to end")
    await redeliver_until_applied(w2, newer)

    orders = await fortnox_orders(http, company.access_token, first.external_ref)
    assert len(orders) == 1, f"booked {len(orders)} times: {[o['DocumentNumber'] for o in orders]}"
    r = await http.get(f"{SANDBOX}/3/orders/{orders[0]['DocumentNumber']}",
                       headers={"Authorization": f"Bearer {company.access_token}"})
    assert r.json()["Order"]["OrderRows"][0]["Price"] == 120  # the latest snapshot


def invoice_command(tenant: str, order_id: int, hour: int, price: str) -> DocumentCommand:
    cmd = order_command(tenant, order_id, modified=datetime(2026, 11, 1, 12 + hour, 0, tzinfo=UTC), price=price)
    rows = [{"Description": "Kaffe", "DeliveredQuantity": Decimal("2"), "Price": Decimal(price), "VAT": 25,
             "AccountNumber": 3001}]
    return cmd.model_copy(update={"kind": "invoice", "document": {
        "InvoiceDate": "2026-11-01", "Currency": "SEK", "YourReference": "Anna Andersson", "InvoiceRows": rows}})


async def test_a_lost_reissue_is_found_by_the_next_snapshot(settings: CommonSettings, database: Any,
                                                           redis_client: aioredis.Redis,
                                                           http: httpx.AsyncClient) -> None:
    """A booked invoice changed in WooCommerce is credited and issued anew. When that new invoice's
    answer is lost and a newer snapshot comes, the newer one finds it (and corrects it) instead of
    issuing a second one: the attempt is recorded per credited invoice, not per snapshot."""
    company = await create_company(http, SANDBOX)
    await add_tenant(database, settings, redis_client, http, SANDBOX, "shop-r", company)
    auth = {"Authorization": f"Bearer {company.access_token}"}
    w = writer_handlers(database, settings, redis_client, http)
    first = invoice_command("shop-r", 9, 0, "100.00")

    await deliver(w, first)
    [original] = (await http.get(f"{SANDBOX}/3/invoices", headers=auth)).json()["Invoices"]
    assert (await http.put(f"{SANDBOX}/3/invoices/{original['DocumentNumber']}/bookkeep", headers=auth)).is_success

    await faults(http, [{"drop_after_commit_next": 1, "path_prefix": "/3/invoices"}])
    with pytest.raises(TransientError):
        await deliver(w, invoice_command("shop-r", 9, 1, "110.00"))
    await faults(http, [])
    await deliver(w, invoice_command("shop-r", 9, 2, "120.00"))

    listed = (await http.get(f"{SANDBOX}/3/invoices", headers=auth)).json()["Invoices"]
    invoices = [(await http.get(f"{SANDBOX}/3/invoices/{i['DocumentNumber']}", headers=auth)).json()["Invoice"]
                for i in listed]
    live = [i for i in invoices if str(i.get("Credit")).lower() != "true"  # Fortnox writes "true"/"false"
            and not int(i.get("CreditInvoiceReference") or 0) and not i.get("Cancelled")]
    assert len(live) == 1, f"live invoices for one order: {[(i['DocumentNumber'], i['Total']) for i in live]}"
    assert live[0]["InvoiceRows"][0]["Price"] == 120  # the newest snapshot
    booking = await BookingStore(database).get("shop-r", "order", "9", "invoice")
    assert booking is not None and booking.fortnox_number == str(live[0]["DocumentNumber"])
