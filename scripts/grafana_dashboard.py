"""The Grafana dashboard (deploy/grafana/dashboards/woonox.json), generated so every panel queries a
metric that libs/common/metrics.py really exports (tests/unit/ops/test_dashboard.py checks it).

    python -m scripts.grafana_dashboard [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["DASHBOARD", "PANELS", "dashboard", "render"]

DASHBOARD = Path(__file__).resolve().parents[1] / "deploy" / "grafana" / "dashboards" / "woonox.json"
DS = {"type": "prometheus", "uid": "prometheus"}

# (title, unit, [(expression, legend)]) — rows of two panels each.
PANELS: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("Webhooks received by answer", "reqps", [("sum by (status) (rate(woonox_webhooks_total[5m]))", "{{status}}")]),
    ("Messages published by type", "ops", [("sum by (type) (rate(woonox_messages_published_total[5m]))",
                                            "{{type}}")]),
    ("Messages consumed by group and outcome", "ops", [
        ("sum by (group, outcome) (rate(woonox_messages_consumed_total[5m]))", "{{group}} {{outcome}}")]),
    ("Dead-lettered by group and code", "ops", [
        ("sum by (group, code) (rate(woonox_dead_lettered_total[5m]))", "{{group}} {{code}}")]),
    ("Processing latency p50 / p99", "s", [
        ("histogram_quantile(0.5, sum by (le, group) (rate(woonox_processing_seconds_bucket[5m])))", "p50 {{group}}"),
        ("histogram_quantile(0.99, sum by (le, group) (rate(woonox_processing_seconds_bucket[5m])))",
         "p99 {{group}}")]),
    ("Fortnox requests by status (429 = rate limited)", "reqps", [
        ("sum by (status) (rate(woonox_fortnox_requests_total[5m]))", "{{status}}")]),
    ("Fortnox requests per tenant (ceiling 5/s)", "reqps", [
        ("sum by (tenant) (rate(woonox_fortnox_requests_total[1m]))", "{{tenant}}")]),
    ("Rate-limit wait p50 / p99", "s", [
        ("histogram_quantile(0.5, sum by (le) (rate(woonox_rate_limit_wait_seconds_bucket[5m])))", "p50"),
        ("histogram_quantile(0.99, sum by (le) (rate(woonox_rate_limit_wait_seconds_bucket[5m])))", "p99")]),
    ("Fortnox token refreshes by result", "ops", [
        ("sum by (result) (rate(woonox_token_refreshes_total[15m]))", "{{result}}")]),
    ("Queue depth (ready messages)", "short", [
        ('sum by (queue) (rabbitmq_queue_messages_ready{queue!~".*\\\\.(dlq|retry\\\\..*)"})', "{{queue}}"),
        ("max by (queue) (woonox_queue_depth)", "{{queue}} (woonox status)")]),
    ("Shop webhooks found disabled and re-activated", "short", [
        ("sum (increase(woonox_webhooks_reactivated_total[1h]))", "re-activated")]),
    ("Dead letters waiting", "short", [
        ('sum by (queue) (rabbitmq_queue_messages_ready{queue=~".*\\\\.dlq"})', "{{queue}}")]),
]


def _panel(i: int, title: str, unit: str, targets: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "id": i + 1, "type": "timeseries", "title": title, "datasource": DS,
        "gridPos": {"h": 8, "w": 12, "x": 12 * (i % 2), "y": 8 * (i // 2)},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
        "targets": [{"refId": chr(65 + j), "datasource": DS, "expr": expr, "legendFormat": legend}
                    for j, (expr, legend) in enumerate(targets)],
    }


def dashboard() -> dict[str, Any]:
    return {
        "uid": "woonox", "title": "woonox", "tags": ["woonox"], "schemaVersion": 39, "version": 1,
        "editable": True, "refresh": "30s", "time": {"from": "now-6h", "to": "now"},
        "panels": [_panel(i, *p) for i, p in enumerate(PANELS)],
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description="write the woonox Grafana dashboard")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    if parser.parse_args().check:
        if not DASHBOARD.exists() or DASHBOARD.read_text() != render():
            print(f"{DASHBOARD} is out of date: run python -m scripts.grafana_dashboard", file=sys.stderr)
            return 1
        return 0
    DASHBOARD.write_text(render())
    print(f"wrote {DASHBOARD}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
