"""Every figure of a `make bench` run against its goal (goals: issue 9 and docs/benchmarks.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["print_summary"]

RSS_GOAL_MB = 150.0


def _load(path: Path) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            row = json.loads(line)
            out.setdefault(row.pop("bench"), []).append(row)
    return out


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _rows(res: dict[str, list[dict[str, Any]]]) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    for r in res.get("writer_throughput", []):
        w = r["writers"]
        rows.append((f"Fortnox rate, {w} writer(s)", ">= 95 % of 5 req/s, 0 x 429, <= 25 in any 5 s",
                     f"{r['share']:.1%}, {r['429s']} x 429, max {r['max_5s']}",
                     _verdict(r["share"] >= 0.95 and r["429s"] == 0 and r["max_5s"] <= 25)))
        rows.append((f"requests per order, {w} writer(s)", "<= 1.2", f"{r['req_per_order']:.2f}",
                     _verdict(r["req_per_order"] <= 1.2)))
        rows.append((f"idle tenant's order (writer only), {w} writer(s)", "<= 2 s", f"{r['idle_latency']:.2f} s",
                     _verdict(r["idle_latency"] <= 2)))
        rows.append((f"drain of {r['orders']} vs theory, {w} writer(s)", "<= 1.05x",
                     f"{r['drain'] / r['theory']:.2f}x ({r['drain']:.0f} s vs {r['theory']:.0f} s)",
                     _verdict(r["drain"] / r["theory"] <= 1.05)))
    ingest = res.get("ingest_webhooks", [])
    if len(ingest) >= 2:
        bare, hook = ingest[0], ingest[1]
        rows.append(("webhook ingest", ">= 2,000/s, p99 <= 50 ms",
                     f"{hook['rate']:,.0f}/s, p99 {hook['p99_ms']:.0f} ms ({hook['ratio']:.2f} of bare "
                     f"{bare['rate']:,.0f}/s)", _verdict(hook["rate"] >= 2000 and hook["p99_ms"] <= 50)))
    for r in res.get("end_to_end", []):
        rows.append(("end to end at low load (webhook -> document)", "(no goal; idle order <= 2 s)",
                     f"p50 {r['p50'] * 1000:.0f} ms, p99 {r['p99'] * 1000:.0f} ms, {r['req_per_order']:.2f} req/order",
                     _verdict(r["p99"] <= 2)))
    for r in res.get("fairness", []):
        rows.append((f"idle tenant while {r['backlog']:,} wait (whole pipeline)", "<= 2 s",
                     f"p50 {r['idle_p50'] * 1000:.0f} ms, max {r['idle_max'] * 1000:.0f} ms; busy shop "
                     f"{r['busy_rate']:.2f} req/s meanwhile", _verdict(r["idle_max"] <= 2)))
        for name, (now, peak) in r["memory"].items():
            if name != "sandbox":
                rows.append((f"RSS {name} after the fairness load", f"<= {RSS_GOAL_MB:.0f} MB",
                             f"{now:.0f} MB (peak {peak:.0f})", _verdict(peak <= RSS_GOAL_MB)))
    for r in res.get("tenant_scaling", []):
        rows.append((f"{r['shops']} shop(s) x {r['per_shop']} orders", "(no goal: how it grows)",
                     f"{r['rate']:.1f} req/s total, {r['per_shop_rate']:.2f} per shop, writers "
                     f"{r['writer_cores']:.2f} cores, {r['writer_ms']:.1f} ms CPU/req; {r['429s']} x 429",
                     r["bound"]))
    return rows


def print_summary(path: Path) -> None:
    table = Table(title="woonox benchmarks: every figure against its goal (ratios from this run)")
    for col in ("figure", "goal", "measured", "verdict"):
        table.add_column(col)
    for row in _rows(_load(path)):
        table.add_row(*row)
    Console(width=200).print(table)
