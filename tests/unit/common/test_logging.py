"""Secrets never reach a log line: by key name and by value shape."""

from __future__ import annotations

import io
import json

import structlog

from libs.common.logging import processors, redact


def test_secret_keys_are_masked() -> None:
    event = redact({"event": "x", "client_secret": "abc", "access_token": "t", "webhook_secret": "w",
                    "Authorization": "Bearer zzz", "tenant": "shop"})
    assert event == {"event": "x", "client_secret": "***", "access_token": "***", "webhook_secret": "***",
                     "Authorization": "***", "tenant": "shop"}


def test_secret_values_under_innocent_keys_are_masked() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJ0ZW5hbnQiOjF9.c2lnbmF0dXJlLXZhbHVl"
    event = redact({"event": "call", "url": "https://x/cb?code=abc123&state=s", "header": "Bearer abc.def",
                    "body": f"got {jwt}", "nested": {"list": ["refresh_token=r1&x=1"]}})
    text = json.dumps(event)
    for secret in ("abc123", "abc.def", jwt, "r1"):
        assert secret not in text


def test_service_log_chain_writes_json_without_the_secret() -> None:
    out = io.StringIO()
    logger = structlog.wrap_logger(structlog.PrintLogger(out), processors=processors(json=True))
    logger.info("token_refreshed", refresh_token="very-secret", tenant="shop", url="https://x/?code=c0de")
    line = out.getvalue().strip()
    record = json.loads(line)
    assert record["tenant"] == "shop" and record["event"] == "token_refreshed"
    assert "very-secret" not in line and "c0de" not in line
