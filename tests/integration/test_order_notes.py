"""The shop sees what woonox booked: a writer result becomes exactly one WooCommerce order note."""

from __future__ import annotations

from typing import Any

import httpx

from libs.common.commands import RESULT_DOCUMENT, DocumentResult
from libs.common.envelope import Envelope
from libs.common.settings import CommonSettings
from libs.common.topology import RESULTS, Topology
from services.woo_writer.app import create_service
from services.woo_writer.settings import WooWriterSettings
from tests.integration.broker_helpers import consumed, wait_for
from tests.integration.test_woo_world import TENANT, world


async def test_result_becomes_one_order_note(settings: CommonSettings, topology: Topology, database: Any,
                                             redis_client: Any) -> None:
    async with world(settings, database) as w:
        order = w.shop.create_order(None, [], status="completed")
        shop_http = httpx.AsyncClient(transport=httpx.ASGITransport(app=w.emulator.app))
        service = create_service(WooWriterSettings(), http=shop_http)
        result = DocumentResult(tenant=TENANT, woo_order_id=order["id"], kind="order", outcome="created", number="17",
                                invoice="1042", payment="5", warnings=["0,02 kr öresutjämning"])
        envelope = Envelope.new(tenant=TENANT, type=RESULT_DOCUMENT, body=result.to_body())
        before = consumed(RESULTS, TENANT)
        async with service.running():
            await service.publisher.publish(envelope)
            await service.publisher.publish(envelope)  # redelivered: still one note

            async def both_handled() -> bool:
                return consumed(RESULTS, TENANT) - before >= 2

            await wait_for(both_handled, what="both deliveries handled")
        notes = w.shop.notes[order["id"]]
        assert len(notes) == 1
        assert notes[0]["note"].startswith("Bokförd i Fortnox som order 17, faktura 1042, betalning 5")
        assert "öresutjämning" in notes[0]["note"]
        await shop_http.aclose()
