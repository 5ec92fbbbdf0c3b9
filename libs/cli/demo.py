"""`woonox demo`: the whole pipeline on local servers against the sandbox (see Makefile `demo`)."""

from __future__ import annotations


def demo() -> None:
    """Run the demo."""
    raise NotImplementedError
