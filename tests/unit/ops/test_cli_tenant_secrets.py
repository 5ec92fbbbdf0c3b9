"""`woonox tenant add` takes no secret on the command line (issue 16)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from libs.cli import tenant


def test_webhook_secret_is_not_a_command_line_option() -> None:
    result = CliRunner().invoke(tenant.app, ["add", "shop", "--shop-url", "https://shop.example",
                                             "--webhook-secret", "on-the-command-line"])
    assert result.exit_code == 2
    assert "No such option" in result.output


def test_the_secret_is_read_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text("short-secret\n")
    assert tenant._webhook_secret(path) == "short-secret"
    long = tmp_path / "long"
    long.write_text("x" * 32)
    assert tenant._webhook_secret(long) == "x" * 32
