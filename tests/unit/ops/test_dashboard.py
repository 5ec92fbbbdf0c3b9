"""The Grafana dashboard queries only metrics woonox exports, and shows every one of them."""

from __future__ import annotations

import json
import re

from prometheus_client import REGISTRY

import libs.common.metrics  # noqa: F401  (registers the metrics)
from scripts.grafana_dashboard import DASHBOARD, render


def _exported() -> set[str]:
    names: set[str] = set()
    for collector in REGISTRY.collect():
        if collector.name.startswith("woonox_"):
            names.add(collector.name + ("_total" if collector.type == "counter" else ""))
    return names


def test_dashboard_file_is_current() -> None:
    assert DASHBOARD.read_text() == render(), "run: python -m scripts.grafana_dashboard"


def test_every_query_uses_an_exported_metric_and_every_metric_is_shown() -> None:
    exprs = [t["expr"] for p in json.loads(DASHBOARD.read_text())["panels"] for t in p["targets"]]
    used = {re.sub(r"_(bucket|sum|count)$", "", m) for e in exprs for m in re.findall(r"woonox_[a-z_]+", e)}
    exported = _exported()
    assert used <= exported, f"queries of unknown metrics: {used - exported}"
    assert exported <= used, f"metrics without a panel: {exported - used}"
