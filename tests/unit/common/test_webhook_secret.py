"""Issue 16: webhook secrets woonox makes are at least 32 characters; shorter supplied ones warn."""

from __future__ import annotations

from pydantic import SecretStr

from libs.common.store.tenants import MIN_WEBHOOK_SECRET, TenantNew, generate_webhook_secret


def test_generated_webhook_secrets_are_long_and_random() -> None:
    made = {generate_webhook_secret() for _ in range(50)}
    assert len(made) == 50 and min(len(s) for s in made) >= MIN_WEBHOOK_SECRET == 32


def test_a_supplied_short_secret_warns_with_its_length_only() -> None:
    short = TenantNew(id="s", shop_url="https://shop.example", webhook_secret=SecretStr("eight888"))
    assert short.warnings() == ["webhook_secret has 8 characters: use 32 or more random ones "
                                "(set the same in WooCommerce's webhook)"]
    assert TenantNew(id="s", shop_url="https://shop.example", webhook_secret=SecretStr("x" * 32)).warnings() == []
