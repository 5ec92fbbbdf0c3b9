"""A tenant's WooCommerce REST client, built from its (decrypted) keys in the store of record."""

from __future__ import annotations

import httpx

from libs.common.errors import PermanentError
from libs.common.store.tenants import Tenant
from libs.common.woo import WooClient, WooCredentials

__all__ = ["woo_client_for"]


def woo_client_for(tenant: Tenant, http: httpx.AsyncClient) -> WooClient:
    if tenant.woo_consumer_key is None or tenant.woo_consumer_secret is None:
        raise PermanentError(
            f"tenant {tenant.id!r} has no WooCommerce API keys: the backfill cannot read the shop "
            "(add them with the admin API or `woonox tenant add --replace`)",
            code="no-woo-keys",
        )
    return WooClient(WooCredentials(tenant.shop_url, tenant.woo_consumer_key, tenant.woo_consumer_secret), http=http)
