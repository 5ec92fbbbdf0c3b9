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


def test_json_shaped_tokens_consumer_keys_and_url_userinfo_are_masked() -> None:
    event = redact({"event": "x", "error": 'Fortnox answered {"access_token": "at-1", "refresh_token":"rt-2"}',
                    "url": "https://shop/x?consumer_key=ck_live_3&consumer_secret=cs_4",
                    "broker": "amqp://woonox:pw-5@rabbitmq:5672/"})
    text = json.dumps(event)
    for secret in ("at-1", "rt-2", "ck_live_3", "cs_4", "pw-5"):
        assert secret not in text, secret
    assert "rabbitmq:5672" in text and "woonox" in text


def test_stdlib_records_are_json_and_redacted() -> None:
    import logging

    from libs.common.logging import stdlib_formatter

    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(stdlib_formatter(json=True))
    logger = logging.getLogger("aio_pika.test")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("lost connection to amqp://svc:hunter2@rabbitmq/ refresh_token=rt9")
    finally:
        logger.removeHandler(handler)
    record = json.loads(out.getvalue().strip())
    assert record["level"] == "warning" and record["logger"] == "aio_pika.test"
    assert "hunter2" not in record["event"] and "rt9" not in record["event"]
