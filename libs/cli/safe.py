"""Outside data (dead-letter reasons, shop names, Fortnox answers) shown in a terminal.

Rich reads `[b]`, `[/b]` and `[link=...]` in strings as markup: an unbalanced tag crashes the
command, a link tag plants a clickable URL. Raw ESC and other control characters reach the terminal
as commands. Every table cell built from outside data goes through `cell`: a `Text` (never parsed
as markup) with control characters replaced."""

from __future__ import annotations

import re
from typing import Any

from rich.text import Text

__all__ = ["cell", "clean"]

# C0 controls but tab and newline, DEL, and C1 controls (0x80-0x9f: CSI 0x9b alone starts a sequence).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(value: Any) -> str:
    return _CONTROL.sub("\ufffd", "" if value is None else str(value))


def cell(value: Any) -> Text:
    return Text(clean(value))
