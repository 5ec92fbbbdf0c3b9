"""The Docker build context leaves out the venv, git history, caches and local secrets."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    lines = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".venv", ".git", ".env", "**/__pycache__", ".mypy_cache", ".pytest_cache"} <= lines
