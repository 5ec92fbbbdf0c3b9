"""The WooCommerce REST API v3 client every part of woonox uses (ingest backfill, the woo-writer,
order notes from the Fortnox writer, reconcile). See `client.WooClient`."""

from libs.common.woo.client import WooClient, WooCredentials, gmt_param
from libs.common.woo.edge_keys import content_digest, echo_key, echo_values, seen_key, snapshot_id
from libs.common.woo.paging import Page

__all__ = ["Page", "WooClient", "WooCredentials", "content_digest", "echo_key", "echo_values", "gmt_param", "seen_key",
           "snapshot_id"]
