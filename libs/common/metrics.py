"""Prometheus metrics shared by every service (each process exposes its own /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "DEAD_LETTERED",
    "FORTNOX_REQUESTS",
    "MESSAGES_CONSUMED",
    "MESSAGES_PUBLISHED",
    "PROCESSING_SECONDS",
    "RATE_LIMIT_WAIT",
    "TOKEN_REFRESHES",
    "WEBHOOKS",
    "WEBHOOKS_REACTIVATED",
]

MESSAGES_CONSUMED = Counter(
    "woonox_messages_consumed_total", "Messages consumed, by consumer group, type, tenant and outcome",
    ["group", "type", "tenant", "outcome"],
)
MESSAGES_PUBLISHED = Counter("woonox_messages_published_total", "Messages published, by type", ["type"])
DEAD_LETTERED = Counter(
    "woonox_dead_lettered_total", "Messages dead-lettered, by group, type, tenant and code",
    ["group", "type", "tenant", "code"]
)
PROCESSING_SECONDS = Histogram(
    "woonox_processing_seconds", "Handler time per message", ["group", "type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
WEBHOOKS = Counter("woonox_webhooks_total", "Webhook deliveries by answer status", ["status"])
WEBHOOKS_REACTIVATED = Counter("woonox_webhooks_reactivated_total", "Shop webhooks found disabled and re-activated",
                               ["tenant"])
FORTNOX_REQUESTS = Counter("woonox_fortnox_requests_total", "Fortnox API calls by tenant and status",
                           ["tenant", "status"])
RATE_LIMIT_WAIT = Histogram(
    "woonox_rate_limit_wait_seconds", "Time a writer waited for its tenant's rate-limit slot",
    buckets=(0, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10),
)
TOKEN_REFRESHES = Counter("woonox_token_refreshes_total", "Fortnox token refreshes by result", ["result"])
QUEUE_DEPTH = Gauge("woonox_queue_depth", "Messages ready in a queue", ["queue"])
