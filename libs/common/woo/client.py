"""WooCommerce REST API v3 over httpx: Basic auth, paging, `modified_after` with `dates_are_gmt`,
retries with growing delay on 5xx, 429 and timeouts (WooCommerce REST API docs, https://woocommerce.github.io/woocommerce-rest-api-docs/).

Errors are translated at this boundary: what a retry may fix becomes `TransientError` once the
retries are spent; a 4xx becomes `PermanentError` carrying WooCommerce's own code and message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
from pydantic import SecretStr
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from libs.common.errors import PermanentError, TransientError
from libs.common.outbound import BlockedAddress, check_url, guarded_client
from libs.common.woo.paging import MAX_PER_PAGE, Page, json_body

__all__ = ["WooClient", "WooCredentials", "gmt_param"]

API = "/wp-json/wc/v3"
log = structlog.get_logger("woonox.woo.client")
# A page of 100 orders is rarely above 2 MB; a body beyond this is a shop (or an attacker's host)
# trying to fill our memory, and is read no further.
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
# X-WP-TotalPages is the shop's word: one walk reads at most this many pages. The backfill's cursor
# moves page by page, so the next run goes on where this one stopped.
MAX_PAGES = 200


@dataclass(frozen=True)
class WooCredentials:
    shop_url: str
    consumer_key: SecretStr
    consumer_secret: SecretStr
    # Some hosts strip the Authorization header; WooCommerce then accepts the keys in the query string.
    query_auth: bool = False


class _Retryable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def gmt_param(moment: datetime) -> str:
    """A `modified_after`-style value in GMT, as WooCommerce reads it with `dates_are_gmt=true`."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None, microsecond=0).isoformat()


class WooClient:
    def __init__(self, credentials: WooCredentials, *, http: httpx.AsyncClient | None = None,
                 timeout: float = 30.0, attempts: int = 4, max_wait: float = 8.0,
                 max_bytes: int = MAX_RESPONSE_BYTES, max_pages: int = MAX_PAGES) -> None:
        try:
            check_url(credentials.shop_url)
        except ValueError as exc:
            raise PermanentError(f"shop URL refused: {exc}", code="woo-url-refused") from None
        self._creds = credentials
        self._own_http = http is None
        # The default client checks every resolved address (libs.common.outbound); a caller passing
        # its own client should build it with `guarded_client` too.
        self._http = http or guarded_client(timeout=timeout)
        self._max_bytes = max_bytes
        self._max_pages = max_pages
        self._base = credentials.shop_url.rstrip("/") + API
        self._attempts = attempts
        self._max_wait = max_wait

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def __aenter__(self) -> WooClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    def _auth(self, params: dict[str, Any]) -> httpx.BasicAuth | None:
        key = self._creds.consumer_key.get_secret_value()
        secret = self._creds.consumer_secret.get_secret_value()
        if self._creds.query_auth:
            params.update(consumer_key=key, consumer_secret=secret)
            return None
        return httpx.BasicAuth(key, secret)

    async def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                      json: Any = None) -> httpx.Response:
        query = dict(params or {})
        auth = self._auth(query)
        url = self._base + path
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self._attempts),
                wait=wait_exponential(multiplier=0.25, max=self._max_wait),
                retry=retry_if_exception_type(_Retryable),
                reraise=True,
            ):
                with attempt:
                    return await self._once(method, url, query, json, auth)
        except _Retryable as exc:
            raise TransientError(f"WooCommerce {method} {path}: {exc.reason}", code="woo-unavailable") from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(self, method: str, url: str, params: dict[str, Any], json: Any,
                    auth: httpx.BasicAuth | None) -> httpx.Response:
        try:
            request = self._http.build_request(method, url, params=params, json=json)
            response = await self._http.send(request, auth=auth or httpx.USE_CLIENT_DEFAULT,
                                             follow_redirects=False, stream=True)
            try:
                response = await self._capped(request, response)
            finally:
                await response.aclose()
        except BlockedAddress as exc:
            raise PermanentError(f"WooCommerce {method}: {exc}", code="woo-url-refused") from None
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise _Retryable(f"cannot connect ({exc!r})") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise _Retryable(f"answered {response.status_code}")
        if response.status_code >= 300:
            raise _permanent(method, url, response)
        return response

    async def _capped(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        """The response read to at most `max_bytes` (decoded), as a plain in-memory response."""
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            raise self._too_big(request)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self._max_bytes:
                raise self._too_big(request)
            chunks.append(chunk)
        headers = [(k, v) for k, v in response.headers.multi_items()
                   if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
        return httpx.Response(response.status_code, headers=headers, content=b"".join(chunks), request=request)

    def _too_big(self, request: httpx.Request) -> PermanentError:
        return PermanentError(f"WooCommerce {request.method} {request.url.path}: the answer is larger than "
                              f"{self._max_bytes} bytes; not read further", code="woo-too-large")

    # --- reading -------------------------------------------------------------------------------

    async def get(self, path: str, **params: Any) -> Any:
        return json_body(await self.request("GET", path, params=params))

    async def page(self, path: str, page: int = 1, per_page: int = MAX_PER_PAGE, **params: Any) -> Page:
        response = await self.request("GET", path, params={**params, "page": page, "per_page": per_page})
        return Page.from_response(response, page)

    async def pages(self, path: str, *, per_page: int = MAX_PER_PAGE, **params: Any) -> AsyncIterator[Page]:
        number = 1
        while True:
            current = await self.page(path, number, per_page, **params)
            yield current
            if current.last:
                return
            if number >= self._max_pages:
                log.warning("woo_page_cap", path=path, pages=number, claimed=current.total_pages)
                return
            number += 1

    async def modified_since(self, resource: str, since: datetime, **params: Any) -> AsyncIterator[Page]:
        """Pages of `orders` or `products` modified after `since`, oldest first.

        `dates_are_gmt=true` makes WooCommerce read the filter in GMT instead of the site's time zone
        (WooCommerce REST API docs, https://woocommerce.github.io/woocommerce-rest-api-docs/#orders);
        `orderby=modified&order=asc` lets the caller advance a cursor page by page."""
        async for current in self.pages(f"/{resource}", modified_after=gmt_param(since), dates_are_gmt="true",
                                        orderby="modified", order="asc", **params):
            yield current

    async def customers_modified_since(self, since: datetime) -> AsyncIterator[list[dict[str, Any]]]:
        """Customers have no `modified_after` filter in REST v3: read them all, keep the changed ones."""
        cut = gmt_param(since)
        async for current in self.pages("/customers", orderby="id", order="asc", role="all"):
            yield [c for c in current.items if str(c.get("date_modified_gmt") or "") > cut]

    async def order(self, order_id: int) -> dict[str, Any]:
        return dict(await self.get(f"/orders/{order_id}"))

    async def product(self, product_id: int) -> dict[str, Any]:
        return dict(await self.get(f"/products/{product_id}"))

    async def webhooks(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        async for current in self.pages("/webhooks"):
            found += current.items
        return found

    # --- writing -------------------------------------------------------------------------------

    async def update_product(self, product_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
        return dict(json_body(await self.request("PUT", f"/products/{product_id}", json=dict(changes))))

    async def batch_products(self, update: list[dict[str, Any]], parent_id: int | None = None) -> list[dict[str, Any]]:
        """`POST /products/batch` (or a parent's `/variations/batch`): up to 100 updates in one call.
        Returns the updated objects; an item WooCommerce refused comes back with an `error` key."""
        path = f"/products/{parent_id}/variations/batch" if parent_id else "/products/batch"
        body = json_body(await self.request("POST", path, json={"update": update}))
        return list(body.get("update", [])) if isinstance(body, dict) else []

    async def add_order_note(self, order_id: int, note: str, *, customer_note: bool = False) -> dict[str, Any]:
        response = await self.request("POST", f"/orders/{order_id}/notes",
                                      json={"note": note, "customer_note": customer_note})
        return dict(json_body(response))

    async def update_webhook(self, webhook_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
        return dict(json_body(await self.request("PUT", f"/webhooks/{webhook_id}", json=dict(changes))))


def _permanent(method: str, url: str, response: httpx.Response) -> PermanentError:
    path = url.split(API, 1)[-1]
    if 300 <= response.status_code < 400:
        return PermanentError(f"WooCommerce {method} {path} redirected to {response.headers.get('location')!r}: "
                              "fix the shop URL (https, www)", code="woo-redirect")
    try:
        body = response.json()
    except ValueError:
        body = {}
    code = body.get("code") if isinstance(body, dict) else None
    message = body.get("message") if isinstance(body, dict) else None
    return PermanentError(
        f"WooCommerce {method} {path} answered {response.status_code}: {message or response.text[:200]}",
        code=str(code or f"woo-{response.status_code}"),
    )
