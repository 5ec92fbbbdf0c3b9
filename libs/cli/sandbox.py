"""`woonox sandbox ...`: drive the Fortnox sandbox (fault injection, journal). Filled in by the sandbox work."""

from __future__ import annotations

import typer

app = typer.Typer(help="The Fortnox sandbox: faults, journal.", no_args_is_help=True)
