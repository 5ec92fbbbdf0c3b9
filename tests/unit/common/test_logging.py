"""Secrets never reach a log line: by key name and by value shape."""

from __future__ import annotations

import json

import pytest
import structlog

from libs.common.logging import configure_logging, redact


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


def test_configured_logger_writes_json_without_the_secret(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("test", "INFO", json=True)
    structlog.get_logger("t").info("token_refreshed", refresh_token="very-secret", tenant="shop")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["tenant"] == "shop" and record["service"] == "test"
    assert "very-secret" not in line
