"""structlog configuration: JSON lines, ids bound per message, secrets redacted.

Redaction is by key name and by value shape, so a token that slips into an event dict under an
innocent key (a URL with `?access_token=` or a `Bearer` header) is still masked.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

__all__ = ["configure_logging", "get_logger", "processors", "redact", "stdlib_formatter"]

_SECRET_KEYS = re.compile(
    r"(secret|password|passwd|token|authorization|api[_-]?key|consumer[_-]?key|signature|refresh|code_verifier)",
    re.IGNORECASE,
)
_SECRET_VALUES = [
    re.compile(r"(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE),
    re.compile(r"((?:access_token|refresh_token|client_secret|consumer_secret|consumer_key|code|password)=)[^&\s\"']+",
               re.IGNORECASE),
    # JSON-shaped, as in a response body quoted into an error: "refresh_token": "..."
    re.compile(r"(\"(?:access_token|refresh_token|id_token|client_secret|consumer_secret|consumer_key|password|secret|"
               r"webhook_secret)\"\s*:\s*\")(?:[^\"\\]|\\.)*(?=\")", re.IGNORECASE),
    # URL userinfo: scheme://user:password@host (a broker or database URL in an error)
    re.compile(r"([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^/\s@]+(?=@)", re.IGNORECASE),
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),  # JWTs
]
REDACTED = "***"


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        for pattern in _SECRET_VALUES:
            value = pattern.sub(lambda m: (m.group(1) + REDACTED) if m.groups() else REDACTED, value)
        return value
    if isinstance(value, dict):
        return redact(value)
    if isinstance(value, list | tuple):
        return [_redact_value(v) for v in value]
    return value


def redact(event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event.keys()):
        if key != "event" and _SECRET_KEYS.search(str(key)):
            event[key] = REDACTED
        else:
            event[key] = _redact_value(event[key])
    return event


def _redact_processor(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    return redact(event_dict)


def processors(json: bool = True) -> list[Any]:
    """The processor chain every service logs through; redaction runs right before rendering."""
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        _redact_processor,
        renderer,
    ]


def stdlib_formatter(json: bool = True) -> logging.Formatter:
    """Renders stdlib log records through the structlog chain (JSON lines, secrets redacted)."""
    chain = processors(json)
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *chain[:-2]],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, _redact_processor, chain[-1]],
    )


def configure_logging(service: str, level: str = "INFO", json: bool = True) -> None:
    # Stdlib loggers (uvicorn, aio-pika, httpx) go through the same processors, redaction included:
    # a formatter that renders their records as structlog events.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(stdlib_formatter(json))
    logging.basicConfig(handlers=[handler], level=level.upper(), force=True)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        named = logging.getLogger(name)
        named.handlers = []
        named.propagate = True
    # httpx logs every request URL at INFO: Fortnox searches carry customers' e-mail addresses.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    structlog.configure(
        processors=processors(json),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
