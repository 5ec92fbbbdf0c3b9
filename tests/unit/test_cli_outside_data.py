"""Outside data in `woonox status`, `woonox demo` and `woonox map` is shown, never obeyed (issue 16):
an unbalanced `[/b]` does not crash the command, `[link=…]` plants no link, and ESC / C1 control
characters never reach the terminal. Intended markup (the check table's ok / DIFFERS) stays."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from libs.cli import demo, status
from libs.cli import map as map_cli
from libs.cli.main import app
from libs.common.overview import BookingLine, Overview, TenantHealth

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = "[/b]evil[link=https://evil.example]click[/link]\x1b]8;;https://evil.example\x07\x1b[2J\x9b31m"
runner = CliRunner()


def _recording(monkeypatch: pytest.MonkeyPatch, module: Any) -> Console:
    recorder = Console(record=True, force_terminal=True, width=400, color_system="truecolor")
    monkeypatch.setattr(module, "console", recorder)
    if hasattr(module, "err_console"):
        monkeypatch.setattr(module, "err_console", recorder)
    return recorder


def _assert_inert(recorder: Console) -> None:
    text = recorder.export_text(styles=False, clear=False)
    assert "[/b]evil[link=https://evil.example]click[/link]" in text  # shown literally
    styled = recorder.export_text(styles=True, clear=False)
    assert "\x1b]8;" not in styled  # no hyperlink escape (neither planted nor from [link=…])
    assert "\x1b[2J" not in styled and "\x9b" not in styled and "\x07" not in styled


def test_status_shows_a_hostile_tenant_and_booking_literally(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = _recording(monkeypatch, status)
    booking = BookingLine(tenant=HOSTILE, woo_resource="order", woo_id="1", kind="order", fortnox_number=HOSTILE,
                          at=datetime(2026, 12, 1, tzinfo=UTC))
    view = Overview(at=datetime.now(UTC), groups=[], recent_bookings=[],
                    tenants=[TenantHealth(id=HOSTILE, status="suspended", status_reason=HOSTILE,
                                          token_health=HOSTILE, last_booking=booking)])

    async def gather(_: float) -> tuple[Overview, dict[str, float]]:
        return view, {}

    monkeypatch.setattr(status, "_gather", gather)
    result = runner.invoke(app, ["status"])
    assert result.exit_code == status.EXIT_ATTENTION, result.output  # ran to the end: no MarkupError
    _assert_inert(recorder)


def test_demo_shows_a_hostile_fortnox_order_literally(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = _recording(monkeypatch, demo)
    row = {"ArticleNumber": HOSTILE, "Description": HOSTILE, "OrderedQuantity": "1", "Price": HOSTILE,
           "VAT": 25, "AccountNumber": 3001}
    demo._show({"DocumentNumber": "7", "CustomerNumber": "1", "CustomerName": HOSTILE,
                "ExternalInvoiceReference1": HOSTILE, "OrderRows": [row], "Total": HOSTILE, "Currency": "SEK"})
    _assert_inert(recorder)


def test_map_shows_hostile_order_data_literally_and_keeps_its_own_markup(monkeypatch: pytest.MonkeyPatch,
                                                                          tmp_path: Path) -> None:
    recorder = _recording(monkeypatch, map_cli)
    order = json.loads((ROOT / "examples" / "se-private-mixed-vat.json").read_text())
    order["line_items"][0]["name"] = HOSTILE
    order["billing"]["first_name"] = HOSTILE
    order["customer_note"] = HOSTILE
    path = tmp_path / "order.json"
    path.write_text(json.dumps(order))
    result = runner.invoke(app, ["map", "order", str(path)])
    assert result.exit_code == 0, result.output
    _assert_inert(recorder)
    styled = recorder.export_text(styles=True, clear=False)
    assert "\x1b[32mok" in styled and "[green]" not in styled  # the verdict is still our (green) markup
