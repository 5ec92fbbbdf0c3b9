"""`woonox map order|product|customer FILE`: what the mapper would send to Fortnox."""

from __future__ import annotations

import typer

app = typer.Typer(help="Show the Fortnox document the mapper makes of a WooCommerce object.", no_args_is_help=True)
