"""What applying one command needs: the tenant, its Fortnox client, the ledger and the booking map."""

from __future__ import annotations

from dataclasses import dataclass

from libs.common.fortnox.client import FortnoxClient
from libs.common.shop_settings import ShopSettings
from libs.common.store.bookings import BookingStore
from libs.common.store.tenants import Tenant
from services.fortnox_writer.ledger import Ledger


@dataclass
class WriterContext:
    tenant: Tenant
    shop: ShopSettings
    client: FortnoxClient
    ledger: Ledger
    bookings: BookingStore
