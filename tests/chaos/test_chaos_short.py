"""The short chaos run of `make test` (the long one: `python -m bench.chaos`, docs/chaos.md).

Four shops, 160 orders (mixed VAT, new and returning customers and guests, variations, completions
with payment, partial refunds) delivered as WooCommerce webhooks with dropped, failed and duplicate
deliveries, while a writer is SIGKILLed twice and the mapper once, the run's own RabbitMQ node is
stopped for a few seconds, the run's own Redis is FLUSHALLed (bench/chaos_world.py starts both),
the sandbox answers a 5xx burst, 429 bursts and drops connections after committing, and one
tenant's tokens expire. Then every invariant of docs/architecture.md must hold (bench/chaos_checks.py).
"""

from __future__ import annotations

import pytest

from bench.chaos import ChaosConfig, run
from tests.conftest import ROOT

pytestmark = [pytest.mark.chaos, pytest.mark.e2e, pytest.mark.integration]


@pytest.mark.timeout(900)
async def test_short_chaos_keeps_every_invariant(request: pytest.FixtureRequest) -> None:
    config = ChaosConfig(tenants=4, orders=160, duration=45, seed=1,
                         log_dir=ROOT / "test-output" / request.node.name)
    report = await run(config)
    print(report.table())
    # The run must really have been chaotic, or a PASS proves nothing.
    assert report.figures["orders"] == 160
    assert str(report.figures["chaos"]).count("×") == 8, report.figures["chaos"]
    assert int(str(report.figures["webhooks lost (dropped/failed)"])) > 0
    failed = [c.name for c in report.checks if not c.ok]
    assert not failed, f"invariants broken: {failed}\n{report.table()}"
