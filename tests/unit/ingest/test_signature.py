from __future__ import annotations

import base64
import hashlib
import hmac

from services.ingest.signature import sign, verify


def test_signature_is_base64_hmac_sha256_of_raw_body() -> None:
    body = b'{"id": 1}'
    expected = base64.b64encode(hmac.new(b"k", body, hashlib.sha256).digest()).decode()
    assert sign(body, b"k") == expected
    assert verify(body, b"k", expected)


def test_wrong_secret_body_or_missing_signature_fail() -> None:
    body = b'{"id": 1}'
    good = sign(body, b"k")
    assert not verify(body, b"other", good)
    assert not verify(b'{"id": 2}', b"k", good)
    assert not verify(body, b"k", None)
    assert not verify(body, b"k", "")
    assert not verify(body, b"k", "ünicode")
