"""The Fortnox API v3 client the writer, the pollers and the CLI use.

Every call: wait for the tenant's rate-limit slot (shared by all replicas), attach the tenant's
access token, translate the answer into `libs.common.fortnox.errors`. A 401 gets one retry with a
fresh token. Transport failures are transient, but note what they mean for a create: the write
may have been committed before the connection dropped (the sandbox's "drop after commit" fault),
which is why the writer's ledger looks a document up before creating it again.

Paths and wrapping follow Fortnox (`{"Order": {...}}`, `{"Orders": [...], "MetaInformation": ...}`);
resource names are the plural path segment (`orders`, `invoices`, `offers`, `customers`, ...).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import quote

import httpx

from libs.common import jsonmoney, metrics
from libs.common.fortnox.errors import (
    FortnoxRateLimited,
    FortnoxTransient,
    FortnoxUnauthorized,
    from_response,
)
from libs.common.fortnox.ratelimit import RateLimiter
from libs.common.fortnox.tokens import TokenManager
from libs.common.store.tenants import Tenant

__all__ = ["DOCUMENT_RESOURCES", "REFERENCE_FIELD", "FortnoxClient"]

# kind -> (path segment, singular wrapper, list wrapper, rows field)
DOCUMENT_RESOURCES: dict[str, tuple[str, str, str, str]] = {
    "order": ("orders", "Order", "Orders", "OrderRows"),
    "invoice": ("invoices", "Invoice", "Invoices", "InvoiceRows"),
    "offer": ("offers", "Offer", "Offers", "OfferRows"),
}
# Where the writer stamps its reference: offers lack ExternalInvoiceReference1 (openapi.json, Offer).
REFERENCE_FIELD = {"order": "ExternalInvoiceReference1", "invoice": "ExternalInvoiceReference1",
                   "offer": "YourReferenceNumber"}
# Fortnox's largest `limit` (Fortnox developer docs,
# https://www.fortnox.se/developer/guides-and-good-to-know/parameters)
MAX_PAGE = 500


class FortnoxClient:
    def __init__(self, http: httpx.AsyncClient, tenant: Tenant, tokens: TokenManager,
                 limiter: RateLimiter | None, *, timeout: float = 30.0) -> None:
        self._http = http
        self.tenant = tenant
        self._tokens = tokens
        self._limiter = limiter
        self._timeout = timeout
        self.requests = 0  # calls made through this client (benchmarks count requests per order)

    async def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                      json: Any = None, what: str = "") -> dict[str, Any]:
        what = what or f"{method} {path}"
        token: str | None = None
        for attempt in (1, 2):
            # The token first: a refresh can take seconds, and a slot taken before it would reach
            # Fortnox late, bunched with later ones, and break its window.
            token = (await self._tokens.invalidate(self.tenant, token) if attempt == 2 and token
                     else await self._tokens.access_token(self.tenant))
            async with self._slot():
                self.requests += 1
                try:
                    # The whole call within the timeout: the limiter counts it as in flight until then.
                    async with asyncio.timeout(self._timeout):
                        response = await self._http.request(
                            method, f"{self.tenant.fortnox_api_url}{path}", params=params,
                            content=jsonmoney.dumps(json) if json is not None else None,
                            headers={"Authorization": f"Bearer {token}", "Accept": "application/json",
                                     "Content-Type": "application/json"},
                            timeout=self._timeout,
                        )
                except (httpx.HTTPError, TimeoutError) as exc:
                    metrics.FORTNOX_REQUESTS.labels(self.tenant.id, "transport-error").inc()
                    raise FortnoxTransient(f"Fortnox {what}: no answer ({type(exc).__name__}: {exc})") from exc
            metrics.FORTNOX_REQUESTS.labels(self.tenant.id, str(response.status_code)).inc()
            if response.status_code < 300:
                return dict(jsonmoney.loads(response.content)) if response.content else {}
            error = from_response(response.status_code, response.content, what)
            if isinstance(error, FortnoxUnauthorized) and attempt == 1:
                continue
            if isinstance(error, FortnoxRateLimited) and self._limiter is not None:
                await self._limiter.penalize(self.tenant.fortnox_client_id, self.tenant.id)
            raise error
        raise AssertionError("unreachable")

    def _slot(self) -> contextlib.AbstractAsyncContextManager[object]:
        if self._limiter is None:
            return contextlib.nullcontext()
        return self._limiter.slot(self.tenant.fortnox_client_id, self.tenant.id, hold=self._timeout)

    # -- generic resource access -------------------------------------------------------------

    async def get(self, resource: str, key: str | int, wrapper: str) -> dict[str, Any]:
        body = await self.request("GET", f"/3/{resource}/{quote(str(key), safe='')}", what=f"get {resource} {key}")
        return dict(body.get(wrapper) or {})

    async def create(self, resource: str, wrapper: str, fields: dict[str, Any]) -> dict[str, Any]:
        body = await self.request("POST", f"/3/{resource}", json={wrapper: fields}, what=f"create {resource}")
        return dict(body.get(wrapper) or {})

    async def update(self, resource: str, key: str | int, wrapper: str, fields: dict[str, Any]) -> dict[str, Any]:
        body = await self.request("PUT", f"/3/{resource}/{quote(str(key), safe='')}", json={wrapper: fields},
                                  what=f"update {resource} {key}")
        return dict(body.get(wrapper) or {})

    async def action(self, resource: str, key: str | int, action: str, wrapper: str) -> dict[str, Any]:
        body = await self.request("PUT", f"/3/{resource}/{quote(str(key), safe='')}/{action}",
                                  what=f"{action} {resource} {key}")
        return dict(body.get(wrapper) or {})

    async def list_all(self, resource: str, wrapper: str, **filters: Any) -> list[dict[str, Any]]:
        """All pages of a list (one resource filter per call, as Fortnox allows)."""
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            body = await self.request("GET", f"/3/{resource}", params={**filters, "limit": MAX_PAGE, "page": page},
                                      what=f"list {resource}")
            items += list(body.get(wrapper) or [])
            meta = body.get("MetaInformation") or {}
            if int(meta.get("@TotalPages", 1) or 1) <= page:
                break
            page += 1
        return items

    # -- what the writer needs ---------------------------------------------------------------

    async def company(self) -> dict[str, Any]:
        body = await self.request("GET", "/3/companyinformation", what="company information")
        return dict(body.get("CompanyInformation") or {})

    async def find_documents(self, kind: str, external_ref: str, *,
                             customer_number: str | None = None) -> list[dict[str, Any]]:
        """Documents stamped with `external_ref`, compared exactly and without cancelled ones:
        Fortnox's filter is a substring match (Fortnox developer docs,
        https://www.fortnox.se/developer/guides-and-good-to-know/parameters)."""
        resource, wrapper, list_wrapper, _ = DOCUMENT_RESOURCES[kind]
        field = REFERENCE_FIELD[kind]
        if kind == "offer":
            # Offers have no ExternalInvoiceReference1 and no filter on their reference field:
            # list the customer's offers and read each.
            filters = {"customernumber": customer_number} if customer_number else {}
            candidates = await self.list_all(resource, list_wrapper, **filters)
            full = [await self.get(resource, c["DocumentNumber"], wrapper) for c in candidates]
            return [d for d in full if d.get(field) == external_ref and not d.get("Cancelled")]
        hits = await self.list_all(resource, list_wrapper, externalinvoicereference1=external_ref)
        return [h for h in hits if h.get(field) == external_ref and not h.get("Cancelled")]

    async def find_customers(self, filters: dict[str, str]) -> list[dict[str, Any]]:
        return await self.list_all("customers", "Customers", **filters)

    async def payments_for(self, invoice_number: str | int) -> list[dict[str, Any]]:
        hits = await self.list_all("invoicepayments", "InvoicePayments", invoicenumber=str(invoice_number))
        return [p for p in hits if str(p.get("InvoiceNumber")) == str(invoice_number)]
