"""Shared bits of every benchmark's report: percentiles and a results file for the summary table.

When BENCH_RESULTS names a file (`python -m bench` sets it), each benchmark appends its figures there
as one JSON line, and `python -m bench` ends with every figure against its goal.
"""

from __future__ import annotations

import json
import os
import statistics
from typing import Any

__all__ = ["percentile", "record"]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[max(0, int(q * 100) - 1)]


def record(bench: str, figures: dict[str, Any]) -> None:
    path = os.environ.get("BENCH_RESULTS")
    if path:
        with open(path, "a") as out:
            out.write(json.dumps({"bench": bench, **figures}, default=str) + "\n")
