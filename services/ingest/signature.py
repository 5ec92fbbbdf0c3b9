"""WooCommerce webhook signatures: base64 HMAC-SHA256 of the raw body, keyed with the webhook's
secret (WooCommerce source, plugins/woocommerce/includes/class-wc-webhook.php). Verified before the body is
parsed, compared in
constant time so the answer time leaks nothing about the expected value."""

from __future__ import annotations

import base64
import hashlib
import hmac

__all__ = ["sign", "verify"]


def sign(body: bytes, secret: bytes) -> str:
    return base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()


def verify(body: bytes, secret: bytes, signature: str | None) -> bool:
    if not signature:
        return False
    expected = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, signature.strip().encode())
