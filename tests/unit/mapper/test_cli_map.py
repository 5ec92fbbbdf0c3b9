"""`woonox map order|product|customer`: the documents, the check table and the exit codes."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from libs.cli.main import app
from libs.common import jsonmoney
from tests.fixtures import example_path, fixture_path, original_digests, sha256_of

ROOT = Path(__file__).resolve().parents[3]
runner = CliRunner()


@pytest.mark.parametrize("name", ["se-private-mixed-vat.json", "se-company-excl-vat-coupon.json",
                                  "eu-business-reverse-charge.json"])
def test_examples_print_the_document_and_a_passing_check(name: str) -> None:
    result = runner.invoke(app, ["map", "order", str(example_path(name)), "--json"])
    assert result.exit_code == 0, result.output
    out = jsonmoney.loads(result.stdout)
    assert out["check"]["ok"] is True
    woo = json.loads(example_path(name).read_text())
    assert out["document"]["ExternalInvoiceReference1"] == f"woonox:shop:order:{woo['id']}"
    total_row = next(r for r in out["check"]["rows"] if r["label"] == "Total")
    assert Decimal(total_row["fortnox"]) == Decimal(woo["total"])
    assert isinstance(out["document"]["OrderRows"][0]["Price"], Decimal)  # a JSON number, exact digits


def test_the_repo_examples_are_the_published_ones() -> None:
    digests = original_digests()
    for name in ("se-private-mixed-vat.json", "se-company-excl-vat-coupon.json", "eu-business-reverse-charge.json"):
        assert sha256_of(example_path(name)) == digests[f"woocommerce/examples/{name}"], name


def test_table_output_shows_the_check() -> None:
    result = runner.invoke(app, ["map", "order", str(example_path("se-private-mixed-vat.json"))])
    assert result.exit_code == 0, result.output
    assert "VAT 25 %" in result.stdout
    assert "109.40" in result.stdout


def test_us_order_without_sku_fails_clearly_and_books_as_export_when_allowed(tmp_path: Path) -> None:
    order = str(fixture_path("woocommerce", "samples", "order--retrieve-an-order.json"))
    result = runner.invoke(app, ["map", "order", order])
    assert result.exit_code == 1
    assert "'Woo Single #1' (product 93) has no SKU" in result.stderr
    as_json = runner.invoke(app, ["map", "order", order, "--json"])
    assert as_json.exit_code == 1
    assert jsonmoney.loads(as_json.stdout)["code"] == "missing-sku"

    settings = tmp_path / "shop.json"
    settings.write_text(json.dumps({"documents": {"allow_free_text_rows": True}}))
    allowed = runner.invoke(app, ["map", "order", order, "--settings", str(settings), "--json"])
    assert allowed.exit_code == 0, allowed.output
    out = jsonmoney.loads(allowed.stdout)
    assert out["check"]["region"] == "export"
    assert out["check"]["ok"] is True
    assert {r["AccountNumber"] for r in out["document"]["OrderRows"]} == {3105, 2890}


def test_invalid_settings_file_names_the_field(tmp_path: Path) -> None:
    settings = tmp_path / "shop.json"
    settings.write_text(json.dumps({"documents": {"kind": "receipt"}}))
    result = runner.invoke(app, ["map", "order", str(example_path("se-private-mixed-vat.json")),
                                 "--settings", str(settings)])
    assert result.exit_code == 1
    assert "documents.kind" in result.stderr


def test_product_and_customer(tmp_path: Path) -> None:
    product = tmp_path / "product.json"
    product.write_text(json.dumps({"id": 5, "name": "Kaffe", "type": "simple", "sku": "KAFFE-450",
                                   "regular_price": "89.00", "tax_class": "zero-rate", "manage_stock": False}))
    result = runner.invoke(app, ["map", "product", str(product), "--json"])
    assert result.exit_code == 0, result.output
    out = jsonmoney.loads(result.stdout)
    assert out["document"]["ArticleNumber"] == "KAFFE-450"
    assert out["check"]["price_excluding_vat"] == Decimal("89.00")

    no_sku = runner.invoke(app, ["map", "product", str(fixture_path("woocommerce", "samples",
                                                                     "product--retrieve-a-product.json"))])
    assert no_sku.exit_code == 1
    assert "'Premium Quality' (product 794) has no SKU" in no_sku.stderr

    customer = runner.invoke(app, ["map", "customer", str(example_path("eu-business-reverse-charge.json")),
                                   "--json"])
    assert customer.exit_code == 0, customer.output
    body = jsonmoney.loads(customer.stdout)["document"]
    assert (body["VATType"], body["VATNumber"], body["Type"]) == ("EUREVERSEDVAT", "DE123456789", "COMPANY")


def test_documented_settings_file_is_valid_and_used() -> None:
    result = runner.invoke(app, ["map", "order", str(example_path("se-private-mixed-vat.json")),
                                 "--settings", str(example_path("shop-settings.json")), "--json"])
    assert result.exit_code == 0, result.output
    out = jsonmoney.loads(result.stdout)
    shipping = next(r for r in out["document"]["OrderRows"] if r["Description"] == "PostNord Ombud")
    assert shipping["AccountNumber"] == 3520
    assert out["document"]["WayOfDelivery"] == "P"
