"""The WooCommerce REST API v3 routes the emulator answers, with WooCommerce's paging headers, filters
and error bodies (WooCommerce REST API docs, https://woocommerce.github.io/woocommerce-rest-api-docs/)."""

from __future__ import annotations

import base64
import binascii
import secrets
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse

from services.woo_emulator.dispatch import Dispatcher
from services.woo_emulator.shop import Shop

__all__ = ["WooError", "rest_router"]


class WooError(HTTPException):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, {"code": code, "message": message, "data": {"status": status}})


def _page(request: Request, response: Response, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    q = request.query_params
    per_page = int(q.get("per_page", 10))
    if not 1 <= per_page <= 100:
        raise WooError(400, "rest_invalid_param", "Invalid parameter(s): per_page")
    page = max(int(q.get("page", 1)), 1)
    total = len(items)
    response.headers["X-WP-Total"] = str(total)
    response.headers["X-WP-TotalPages"] = str(max((total + per_page - 1) // per_page, 1 if total else 0))
    return items[(page - 1) * per_page: page * per_page]


def _filter(request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    q = request.query_params
    gmt = q.get("dates_are_gmt") == "true"
    field = "date_modified_gmt" if gmt else "date_modified"  # the emulated site's time zone is UTC
    if after := q.get("modified_after"):
        items = [i for i in items if i[field] > after.replace("Z", "")[:19]]
    if before := q.get("modified_before"):
        items = [i for i in items if i[field] < before.replace("Z", "")[:19]]
    if status := q.get("status"):
        wanted = set(status.split(","))
        items = [i for i in items if "any" in wanted or i.get("status") in wanted]
    if sku := q.get("sku"):  # WooCommerce's sku filter matches variations too (type variation, parent_id)
        wanted_skus = set(sku.split(","))
        items = [i for i in items if i.get("sku") in wanted_skus]
    if kind := q.get("type"):
        items = [i for i in items if i.get("type") == kind]
    orderby = q.get("orderby", "date")
    key = {"modified": "date_modified_gmt", "date": "date_created_gmt", "id": "id"}.get(orderby, "id")
    items = sorted(items, key=lambda i: (i[key], i["id"]), reverse=q.get("order", "desc") == "desc")
    return items


def rest_router(shop: Shop, dispatcher: Dispatcher) -> APIRouter:
    def authenticate(request: Request) -> None:
        key = request.query_params.get("consumer_key")
        secret = request.query_params.get("consumer_secret")
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                key, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                key = secret = None
        if not (key and secret and secrets.compare_digest(key, shop.consumer_key)
                and secrets.compare_digest(secret, shop.consumer_secret)):
            raise WooError(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
        # WC_REST_Authentication::check_permissions: a key's permission is read, write or read_write;
        # a read key gets every GET and a 401 on anything that writes.
        if request.method not in ("GET", "HEAD", "OPTIONS") and shop.key_permissions == "read":
            raise WooError(401, "woocommerce_rest_authentication_error",
                           "The API key provided does not have write permissions.")
        if request.method == "GET" and shop.key_permissions == "write":
            raise WooError(401, "woocommerce_rest_authentication_error",
                           "The API key provided does not have read permissions.")

    router = APIRouter(prefix="/wp-json/wc/v3", dependencies=[Depends(authenticate)])

    def found(store: dict[int, dict[str, Any]], object_id: int, what: str) -> dict[str, Any]:
        if object_id not in store:
            raise WooError(404, f"woocommerce_rest_{what}_invalid_id", "Invalid ID.")
        return store[object_id]

    @router.get("/orders")
    async def list_orders(request: Request, response: Response) -> list[dict[str, Any]]:
        items = [o for o in shop.orders.values() if o["status"] != "trash" or request.query_params.get("status")]
        return _page(request, response, _filter(request, items))

    @router.get("/orders/{order_id}")
    async def get_order(order_id: int) -> dict[str, Any]:
        return found(shop.orders, order_id, "shop_order")

    @router.put("/orders/{order_id}")
    async def put_order(order_id: int, body: dict[str, Any]) -> dict[str, Any]:
        found(shop.orders, order_id, "shop_order")
        return shop.update_order(order_id, body)

    @router.delete("/orders/{order_id}")
    async def delete_order(order_id: int, force: bool = False) -> dict[str, Any]:
        order = dict(found(shop.orders, order_id, "shop_order"))
        # A permanent delete that skips the trash sends nothing (WooCommerce source,
        # plugins/woocommerce/includes/class-wc-webhook.php).
        if force:
            del shop.orders[order_id]
        else:
            shop.trash_order(order_id)
        return order

    @router.get("/orders/{order_id}/notes")
    async def list_notes(order_id: int) -> list[dict[str, Any]]:
        found(shop.orders, order_id, "shop_order")
        return shop.notes.get(order_id, [])

    @router.post("/orders/{order_id}/notes", status_code=201)
    async def add_note(order_id: int, body: dict[str, Any]) -> dict[str, Any]:
        found(shop.orders, order_id, "shop_order")
        if not body.get("note"):
            raise WooError(400, "rest_missing_callback_param", "Missing parameter(s): note")
        return shop.add_note(order_id, str(body["note"]), bool(body.get("customer_note", False)))

    @router.get("/orders/{order_id}/refunds")
    async def list_refunds(order_id: int) -> list[dict[str, Any]]:
        found(shop.orders, order_id, "shop_order")
        return shop.refunds.get(order_id, [])

    @router.get("/orders/{order_id}/refunds/{refund_id}")
    async def get_refund(order_id: int, refund_id: int) -> dict[str, Any]:
        found(shop.orders, order_id, "shop_order")
        for ref in shop.refunds.get(order_id, []):
            if ref["id"] == refund_id:
                return ref
        raise WooError(404, "woocommerce_rest_invalid_id", "Invalid ID.")

    @router.post("/orders/{order_id}/refunds", status_code=201)
    async def add_refund(order_id: int, body: dict[str, Any]) -> dict[str, Any]:
        found(shop.orders, order_id, "shop_order")
        lines = [(int(i["id"]), int(i.get("quantity") or 0)) for i in body.get("line_items") or []
                 if int(i.get("quantity") or 0) > 0]
        amount = Decimal(str(body["amount"])) if body.get("amount") not in (None, "") else None
        if amount is None and not lines:
            raise WooError(400, "woocommerce_rest_cannot_create_order_refund",
                           "Refund amount must be greater than zero.")
        return shop.add_refund(order_id, amount, str(body.get("reason", "")), lines=lines,
                               restock=bool(body.get("api_restock", True)))

    @router.get("/products")
    async def list_products(request: Request, response: Response) -> list[dict[str, Any]]:
        by_sku = bool(request.query_params.get("sku"))
        items = [p for p in shop.products.values() if (by_sku or not p["parent_id"]) and p["status"] != "trash"]
        return _page(request, response, _filter(request, items))

    @router.get("/products/{product_id}")
    async def get_product(product_id: int) -> dict[str, Any]:
        return found(shop.products, product_id, "product")

    @router.put("/products/{product_id}")
    async def put_product(product_id: int, body: dict[str, Any]) -> dict[str, Any]:
        found(shop.products, product_id, "product")
        return shop.update_product(product_id, body)

    def batch(body: dict[str, Any], parent_id: int | None) -> dict[str, Any]:
        updates = body.get("update", [])
        if len(updates) > 100:
            raise WooError(413, "woocommerce_rest_request_entity_too_large",
                           "Unable to accept more than 100 items for this request.")
        done: list[dict[str, Any]] = []
        for item in updates:
            pid = int(item.get("id", 0))
            target = shop.products.get(pid)
            if target is None or (parent_id is not None and target["parent_id"] != parent_id):
                done.append({"id": pid, "error": {"code": "woocommerce_rest_product_invalid_id",
                                                  "message": "Invalid ID.", "data": {"status": 400}}})
                continue
            done.append(dict(shop.update_product(pid, {k: v for k, v in item.items() if k != "id"})))
        return {"update": done}

    async def answered(result: dict[str, Any]) -> dict[str, Any]:
        if dispatcher.during_request:
            await dispatcher.flush()
        return result

    @router.post("/products/batch")
    async def batch_products(body: dict[str, Any]) -> dict[str, Any]:
        return await answered(batch(body, None))

    @router.get("/products/{product_id}/variations")
    async def list_variations(product_id: int, request: Request, response: Response) -> list[dict[str, Any]]:
        found(shop.products, product_id, "product")
        items = [p for p in shop.products.values() if p["parent_id"] == product_id]
        return _page(request, response, _filter(request, items))

    @router.get("/products/{product_id}/variations/{variation_id}")
    async def get_variation(product_id: int, variation_id: int) -> dict[str, Any]:
        variation = found(shop.products, variation_id, "product_variation")
        if variation["parent_id"] != product_id:
            raise WooError(404, "woocommerce_rest_product_variation_invalid_id", "Invalid ID.")
        return variation

    @router.put("/products/{product_id}/variations/{variation_id}")
    async def put_variation(product_id: int, variation_id: int, body: dict[str, Any]) -> dict[str, Any]:
        found(shop.products, variation_id, "product_variation")
        return shop.update_product(variation_id, body)

    @router.post("/products/{product_id}/variations/batch")
    async def batch_variations(product_id: int, body: dict[str, Any]) -> dict[str, Any]:
        found(shop.products, product_id, "product")
        return await answered(batch(body, product_id))

    @router.get("/customers")
    async def list_customers(request: Request, response: Response) -> list[dict[str, Any]]:
        return _page(request, response, _filter(request, list(shop.customers.values())))

    @router.get("/customers/{customer_id}")
    async def get_customer(customer_id: int) -> dict[str, Any]:
        return found(shop.customers, customer_id, "customer")

    @router.get("/webhooks")
    async def list_webhooks(request: Request, response: Response) -> list[dict[str, Any]]:
        hooks = [{k: v for k, v in h.items() if k not in ("secret", "failure_count")} for h in shop.webhooks.values()]
        return _page(request, response, hooks)

    @router.put("/webhooks/{webhook_id}")
    async def put_webhook(webhook_id: int, body: dict[str, Any]) -> dict[str, Any]:
        hook = found(shop.webhooks, webhook_id, "webhook")
        for key in ("status", "delivery_url", "secret", "name"):
            if key in body:
                hook[key] = body[key]
        # Re-activation keeps `failure_count` and sends no ping (real WooCommerce 10): one more failed
        # delivery disables the webhook again; only a successful delivery resets the count.
        return {k: v for k, v in hook.items() if k not in ("secret", "failure_count")}

    return router


async def woo_error_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return JSONResponse(exc.detail, status_code=exc.status_code)
