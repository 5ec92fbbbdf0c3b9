"""Dead-letter reasons and other outside data cannot crash a table or drive the terminal."""

from __future__ import annotations

import io

from rich.console import Console

from libs.cli.dlq import _table
from libs.common.dead_letters import DeadLetter

HOSTILE = "bad [/b] [link=https://evil.example]click[/link] \x1b]8;;https://evil.example\x07x\x1b[2J\x9b31m"


def _render(letter: DeadLetter) -> str:
    out = io.StringIO()
    Console(file=out, force_terminal=True, width=400, color_system=None).print(_table([letter], "t"))
    return out.getvalue()


def test_markup_and_escape_codes_in_a_reason_are_shown_inert() -> None:
    letter = DeadLetter(id="m[b]1", dlq="q.dlq", queue="q", tenant="shop", reason=HOSTILE, code="c")
    text = _render(letter)
    assert "[/b]" in text and "[link=https://evil.example]" in text  # shown literally, not parsed
    assert "m[b]1" in text
    assert "\x1b]8;;" not in text and "\x1b[2J" not in text and "\x9b" not in text and "\x07" not in text
